#!/bin/sh
# Every complete C program in docs/embedding.md (a ```c block with a main function)
# compiles against the current public headers, as tests/readme.sh does for the README.
set -u
src=${srcdir:-.}
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -v dir="$tmp" '/^```c$/ {n++; on=1; next} /^```$/ {on=0} on {print > (dir "/embedding" n ".c")}' \
    "$src/docs/embedding.md"
pass=0 fail=0
for f in "$tmp"/embedding*.c; do
    [ -f "$f" ] || continue
    grep -q 'main(' "$f" || continue
    extra=
    if grep -q '<uv.h>' "$f"; then
        pkg-config --exists libuv 2>/dev/null || continue
        extra=$(pkg-config --cflags libuv)
    fi
    if $CC -std=gnu11 -Wall -Wextra -Werror -I"$src/include" $extra -c "$f" -o "$f.o"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); echo "FAIL: docs/embedding.md example $(basename "$f")"
    fi
done
echo "embedding: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -ge 2 ]
