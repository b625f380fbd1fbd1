#!/bin/sh
# Every public header compiles alone, as C and as C++, with strict warnings.
set -u
src=${srcdir:-.}
CC=${CC:-cc}
CXX=${CXX:-c++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
for h in "$src"/include/nna/*.h; do
    name=$(basename "$h")
    extra=""
    case "$name" in uv.h) extra=$(pkg-config --cflags libuv 2>/dev/null) ;; esac
    case "$name" in uv.h) pkg-config --exists libuv 2>/dev/null || continue ;; esac
    printf '#include <nna/%s>\n#include <nna/%s>\nint nna_header_check_;\n' "$name" "$name" > "$tmp/c.c"
    printf '#include <nna/%s>\nint nna_header_check_;\n' "$name" > "$tmp/cc.cc"
    if $CC -std=c99 -pedantic -Wall -Wextra -Werror -I"$src/include" $extra $(pkg-config --cflags libcjson) -c "$tmp/c.c" -o "$tmp/c.o" 2>"$tmp/err"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); echo "FAIL (C): $name"; cat "$tmp/err"
    fi
    if $CXX -std=c++11 -pedantic -Wall -Wextra -Werror -I"$src/include" $extra -c "$tmp/cc.cc" -o "$tmp/cc.o" 2>"$tmp/err"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1)); echo "FAIL (C++): $name"; cat "$tmp/err"
    fi
done
echo "headers: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
