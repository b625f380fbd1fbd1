#!/bin/sh
# Every C example in the README compiles against the current public headers.
set -u
src=${srcdir:-.}
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk -v dir="$tmp" '/^```c$/ {n++; on=1; next} /^```$/ {on=0} on {print > (dir "/readme" n ".c")}' "$src/README.md"
pass=0 fail=0
for f in "$tmp"/readme*.c; do
    [ -f "$f" ] || continue
    extra=
    if grep -q '<uv.h>' "$f"; then
        pkg-config --exists libuv 2>/dev/null || continue
        extra=$(pkg-config --cflags libuv)
    fi
    if $CC -std=gnu11 -Wall -Wextra -Werror -I"$src/include" $extra -c "$f" -o "$f.o"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); echo "FAIL: README example $(basename "$f")"
    fi
done
echo "readme: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
