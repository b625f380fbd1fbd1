#!/bin/sh
# Installing into a prefix of one's own works the way a new user tries it:
#   1. make install prefix=DIR   (this build, configured for another prefix)
#   2. ./configure --prefix=DIR && make install   (a second, minimal build)
# each time: DIR/bin/nna runs without LD_LIBRARY_PATH, DIR/lib/pkgconfig/nna.pc names DIR,
# a program using cJSON types builds with $(pkg-config --cflags --libs nna) alone, and the
# man pages are there. Exit 77 (skipped) without pkg-config.
set -u
top=${NNA_TOP_BUILDDIR:-$(pwd)}
command -v pkg-config >/dev/null 2>&1 || { echo "SKIP: no pkg-config"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "PASS: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
mkvar() { sed -n "s/^$1 = //p" "$top/Makefile" | head -n 1; }
CC=$(mkvar CC); CC=${CC:-cc}
SAN=$(mkvar SAN_FLAGS)
make_() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${MAKE:-make} "$@"; }

cat > "$tmp/uses_cjson.c" <<'C'
/* A program that reads a result's JSON: cJSON types are part of the API. */
#include <stdio.h>
#include <cjson/cJSON.h>
#include <nna/nna.h>
int main(void)
{
    cJSON *j = cJSON_Parse("{\"status\":\"completed\"}");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "status");
    printf("libnna %s %s\n", nna_version(), cJSON_IsString(s) ? s->valuestring : "?");
    cJSON_Delete(j);
    return 0;
}
C

# Checks the install in $1 (how it was made: $2).
check_prefix() {
    dir=$1 how=$2
    out=$(env -u LD_LIBRARY_PATH "$dir/bin/nna" version 2>&1) && echo "$out" | grep -q "^nna .*(libnna " \
        && ok "$how: bin/nna runs without LD_LIBRARY_PATH ($out)" \
        || bad "$how: bin/nna version: $out"
    p=$(PKG_CONFIG_PATH="$dir/lib/pkgconfig" pkg-config --variable=prefix nna)
    [ "$p" = "$dir" ] && ok "$how: nna.pc prefix is $dir" || bad "$how: nna.pc prefix is '$p', not $dir"
    flags=$(PKG_CONFIG_PATH="$dir/lib/pkgconfig" pkg-config --cflags --libs nna)
    if $CC -std=c99 -Wall -Wextra -Werror $SAN "$tmp/uses_cjson.c" $flags -o "$tmp/uses_cjson" 2>"$tmp/cc.err"; then
        out=$(LD_LIBRARY_PATH="$dir/lib" "$tmp/uses_cjson" 2>&1) && ok "$how: cJSON program builds with pkg-config nna alone ($out)" \
            || bad "$how: cJSON program runs: $out"
    else
        bad "$how: cc uses_cjson.c \$(pkg-config --cflags --libs nna): $(cat "$tmp/cc.err")"
    fi
    for m in man1/nna.1 man1/nna-emu.1 man3/libnna.3; do
        [ -f "$dir/share/man/$m" ] && ok "$how: $m installed" || bad "$how: no $dir/share/man/$m"
    done
}

# 1. make install prefix=DIR from this build.
if make_ -C "$top" install prefix="$tmp/a" > "$tmp/a.log" 2>&1; then
    check_prefix "$tmp/a" "make install prefix="
else
    tail -n 20 "$tmp/a.log"; bad "make install prefix=$tmp/a"
fi

# 2. ./configure --prefix=DIR with this build's other options, then install what is checked
#    (libnna and nna only: the other programs and libnna-uv would only add build time).
#    From a clean copy of the sources (make distdir): the source tree may be configured in
#    place (configure refuses a second build from it) or read-only with a relative --srcdir.
args=$("$top/config.status" --config | sed -E "s/'?--srcdir=[^' ]*'?//g")
mkdir "$tmp/build"
if make_ -C "$top" distdir distdir="$tmp/src" > "$tmp/b.log" 2>&1 &&
   (cd "$tmp/build" && eval "\"$tmp/src/configure\" $args --prefix=\"$tmp/b\" -q" >> "$tmp/b.log" 2>&1 &&
    make_ -j2 install-exec-am install-data-am bin_PROGRAMS=tools/nna/nna \
        lib_LTLIBRARIES=lib/libnna.la >> "$tmp/b.log" 2>&1); then
    check_prefix "$tmp/b" "configure --prefix"
else
    tail -n 20 "$tmp/b.log"; bad "configure --prefix=$tmp/b && make install"
fi

echo "install: $pass passed, $fail failed"
[ $fail -eq 0 ]
