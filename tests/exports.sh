#!/bin/sh
# The shared libraries export the public API and nothing else of ours.
set -u
build=${NNA_TOP_BUILDDIR:-.}
pass=0 fail=0
for so in "$build"/lib/.libs/libnna.so "$build"/lib/.libs/libnna-uv.so; do
    [ -f "$so" ] || continue
    extra=$(nm -D --defined-only "$so" | awk '{print $3}' | grep '^nna_' | sort | comm -23 - "$build/lib/nna.sym")
    if [ -n "$extra" ]; then
        fail=$((fail + 1)); echo "FAIL: $(basename "$so") exports internals:"; echo "$extra" | head
    else
        pass=$((pass + 1))
    fi
    # and the public entry points are there
    if nm -D --defined-only "$so" | grep -q ' nna_client_new_custom$'; then pass=$((pass + 1)); else
        fail=$((fail + 1)); echo "FAIL: $(basename "$so") lacks nna_client_new_custom"; fi
done
echo "exports: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
