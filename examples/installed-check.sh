#!/bin/sh
# Builds examples against the INSTALLED library, the way a user does:
#   make install DESTDIR=<tmp>, then cc blocking.c $(pkg-config --cflags --libs nna)
#   (and uv_fanout.c with nna-uv when libuv is built), and runs them against nna-emu.
# Checks that libnna-uv and the libuv program never link libev.
#   examples/installed-check.sh        (from the build directory; `make check` runs it)
# Exit 77 (skipped) without pkg-config.
set -u
top=${NNA_TOP_BUILDDIR:-$(pwd)}
src=${srcdir:-$top}
src=$(cd "$src" && pwd)
agent=${NNA_AGENT_ID:-11111111-1111-4111-8111-111111111111}
command -v pkg-config >/dev/null 2>&1 || { echo "SKIP: no pkg-config"; exit 77; }
tmp=$(mktemp -d)
emu_pid=
cleanup() {
    [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "PASS: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# The compiler and sanitizer flags of this build (an ASan library needs an ASan program).
mkvar() { sed -n "s/^$1 = //p" "$top/Makefile" | head -n 1; }
CC=$(mkvar CC); CC=${CC:-cc}
SAN=$(mkvar SAN_FLAGS)
have_uv=no
[ -f "$top/lib/libnna-uv.la" ] && have_uv=yes

root=$tmp/root
if ! env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL ${MAKE:-make} -C "$top" install DESTDIR="$root" \
        > "$tmp/install.log" 2>&1; then
    tail -n 30 "$tmp/install.log"; echo "FAIL: make install"; exit 1
fi
prefix=$(pkg-config --variable=prefix "$top/nna.pc")
libdir=$(pkg-config --variable=libdir "$top/nna.pc")
bindir=$(pkg-config --variable=exec_prefix "$top/nna.pc")/bin
# The installed .pc files, relocated into DESTDIR the way a user would for a moved tree.
mkdir -p "$tmp/pc"
for pc in "$root$libdir"/pkgconfig/*.pc; do
    sed "s|^prefix=.*|prefix=$root$prefix|" "$pc" > "$tmp/pc/$(basename "$pc")"
done
export PKG_CONFIG_PATH="$tmp/pc"
export LD_LIBRARY_PATH="$root$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# 1. blocking.c with pkg-config nna
flags=$(pkg-config --cflags --libs nna) || { echo "FAIL: pkg-config nna"; exit 1; }
if $CC -std=c99 -Wall -Wextra -Werror $SAN "$src/examples/blocking.c" $flags -o "$tmp/blocking" 2>"$tmp/cc.err"; then
    ok "blocking.c builds with: pkg-config --cflags --libs nna"
else
    bad "blocking.c against the installed nna: $(cat "$tmp/cc.err")"
fi
# the libev programs too (they use libev directly, so they add -lev themselves)
for p in batch ev_server; do
    if $CC -std=gnu11 -Wall -Wextra -Werror $SAN "$src/examples/$p.c" $flags -lev -o "$tmp/$p" 2>"$tmp/cc.err"; then
        ok "$p.c builds with: pkg-config --cflags --libs nna; -lev"
    else
        bad "$p.c against the installed nna: $(cat "$tmp/cc.err")"
    fi
done

# 2. uv_fanout.c with pkg-config nna-uv; neither it nor libnna-uv may need libev
if [ $have_uv = yes ]; then
    uflags=$(pkg-config --cflags --libs nna-uv) || bad "pkg-config nna-uv"
    if $CC -std=gnu11 -Wall -Wextra -Werror $SAN "$src/examples/uv_fanout.c" $uflags -o "$tmp/uv_fanout" 2>"$tmp/cc.err"; then
        ok "uv_fanout.c builds with: pkg-config --cflags --libs nna-uv"
        if readelf -d "$root$libdir/libnna-uv.so" "$tmp/uv_fanout" | grep NEEDED | grep -q libev; then
            bad "libnna-uv or uv_fanout needs libev"
        elif ldd "$tmp/uv_fanout" | grep -q libev; then
            bad "uv_fanout loads libev: $(ldd "$tmp/uv_fanout")"
        else
            ok "libnna-uv and uv_fanout do not link libev"
        fi
    else
        bad "uv_fanout.c against the installed nna-uv: $(cat "$tmp/cc.err")"
    fi
fi

# 3. run them against the installed nna-emu
: > "$tmp/emu.out"
"$root$bindir/nna-emu" --port 0 --quiet > "$tmp/emu.out" 2>&1 &
emu_pid=$!
i=0
while [ "$(wc -l < "$tmp/emu.out")" -lt 1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port=$(head -n 1 "$tmp/emu.out")
[ -n "$port" ] || { echo "FAIL: nna-emu did not start"; exit 1; }
export NANONETS_BASE_URL="http://127.0.0.1:$port" NANONETS_API_KEY=test-key NNA_AGENT_ID="$agent"
if [ -x "$tmp/blocking" ]; then
    if out=$("$tmp/blocking" "$agent" "installed" 2>&1) && echo "$out" | grep -q "^task "; then
        ok "installed blocking runs ($out)"
    else
        bad "installed blocking: $out"
    fi
fi
if [ -x "$tmp/uv_fanout" ]; then
    if out=$("$tmp/uv_fanout" -n 200 -c 8 2>&1) && echo "$out" | grep -q "^runs: 200 created, 0 failed"; then
        ok "installed uv_fanout runs ($(echo "$out" | head -n 1))"
    else
        bad "installed uv_fanout: $out"
    fi
fi

echo "installed-check: $pass passed, $fail failed"
[ $fail -eq 0 ]
