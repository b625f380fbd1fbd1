#!/bin/sh
# libnna links only what it calls: TLS is libcurl's, so neither the shared libraries nor
# their pkg-config files name OpenSSL (libssl/libcrypto) themselves.
set -u
build=${NNA_TOP_BUILDDIR:-.}
pass=0 fail=0
for so in "$build"/lib/.libs/libnna.so "$build"/lib/.libs/libnna-uv.so; do
    [ -f "$so" ] || continue
    if readelf -d "$so" | grep NEEDED | grep -E -q 'libcrypto|libssl'; then
        fail=$((fail + 1)); echo "FAIL: $(basename "$so") links OpenSSL directly:"
        readelf -d "$so" | grep NEEDED
    else
        pass=$((pass + 1))
    fi
done
for pc in "$build"/nna.pc "$build"/nna-uv.pc; do
    [ -f "$pc" ] || continue
    if grep -E -q 'libcrypto|libssl|openssl' "$pc"; then
        fail=$((fail + 1)); echo "FAIL: $(basename "$pc") requires OpenSSL"
    else
        pass=$((pass + 1))
    fi
done
echo "linkdeps: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
