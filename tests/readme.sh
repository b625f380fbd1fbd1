#!/bin/sh
# The README's C example compiles against the current public headers.
set -u
src=${srcdir:-.}
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^```c$/ {on=1; next} /^```$/ {if (on) exit} on {print}' "$src/README.md" > "$tmp/readme.c"
[ -s "$tmp/readme.c" ] || { echo "no C example found in README.md"; echo "readme: 0 passed, 1 failed"; exit 1; }
if $CC -std=gnu11 -Wall -Wextra -Werror -I"$src/include" $(pkg-config --cflags libcjson) -c "$tmp/readme.c" -o "$tmp/readme.o"; then
    echo "readme: 1 passed, 0 failed"
else
    echo "readme: 0 passed, 1 failed"; exit 1
fi
