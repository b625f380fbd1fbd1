#!/bin/sh
# Builds every fuzz/fuzz_*.c as a libFuzzer binary with ASan + UBSan.
#
# Each target names what it needs in comment lines near its top:
#   // FUZZ-SOURCES: lib/x.c lib/y.c     (library sources compiled in, paths from the top)
#   // FUZZ-LIBS: -lcjson -lm             (extra link flags)
# so a new target needs no change here.
#
# Usage: fuzz/build.sh [target...]   (default: all; a target is e.g. fuzz_httpdate)
# Environment: CC (default clang), FUZZ_OUT (default fuzz/bin), EXTRA_CFLAGS.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
CC=${CC:-clang}
out=${FUZZ_OUT:-fuzz/bin}
mkdir -p "$out"

flags="-g -O1 -std=gnu11 -Wall -Wextra -Werror -fno-omit-frame-pointer
       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I include -I lib ${EXTRA_CFLAGS:-}"

# Value of a "// KEY:" header line of file $2 (empty when absent).
field() {
    sed -n "s|^// $1:[[:space:]]*||p" "$2" | head -n 1
}

if [ $# -gt 0 ]; then
    targets=""
    for t in "$@"; do targets="$targets fuzz/${t%.c}.c"; done
else
    targets=$(ls fuzz/fuzz_*.c)
fi

for src in $targets; do
    name=$(basename "$src" .c)
    srcs=$(field FUZZ-SOURCES "$src")
    libs=$(field FUZZ-LIBS "$src")
    echo "fuzz: building $name"
    # shellcheck disable=SC2086 # word splitting of the flag lists is intended
    $CC $flags -o "$out/$name" "$src" $srcs $libs
done
