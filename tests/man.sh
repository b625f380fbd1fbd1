#!/bin/sh
# The manual pages render without warnings (groff -man -ww), and every function the shared
# library exports (lib/nna.sym) is named on a section-3 page. Exit 77 without groff.
set -u
top=${NNA_TOP_BUILDDIR:-$(pwd)}
src=${srcdir:-.}
command -v groff >/dev/null 2>&1 || { echo "SKIP: no groff"; exit 77; }
fail=0
for page in "$src"/man/*.[13]; do
    warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
    if [ -n "$warn" ]; then
        echo "FAIL: $page: $warn"; fail=1
    elif ! groff -man -Tutf8 -P-cbou "$page" 2>/dev/null | grep -q "^NAME"; then
        echo "FAIL: $page renders nothing"; fail=1
    else
        echo "PASS: $page renders"
    fi
done
sym=$top/lib/nna.sym
[ -f "$sym" ] || { echo "FAIL: no $sym (build first)"; exit 1; }
missing=
for f in $(cat "$sym"); do
    grep -q "\\b$f\\b" "$src"/man/*.3 || missing="$missing $f"
done
if [ -n "$missing" ]; then
    echo "FAIL: exported functions on no man page:$missing"; fail=1
else
    echo "PASS: every exported function ($(wc -l < "$sym")) is on a man page"
fi
exit $fail
