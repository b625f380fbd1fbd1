#!/bin/sh
# The shipped documentation stands on its own: it cites no document that is not shipped
# (the internal API reference agents-api.md, DESIGN.md, "spec §N"), names no path of a
# developer's machine, and the README lists every exit code of nna.
set -u
src=${srcdir:-.}
fail=0
docs="$src/README.md $src/docs/*.md"
if hits=$(grep -nE 'agents-api\.md|DESIGN\.md|spec §|\[EMU\]' $docs); then
    echo "FAIL: citations of unshipped documents:"; echo "$hits"; fail=1
fi
if hits=$(grep -nE '/work/|\.\./shared/|/tmp/b\b' $docs); then
    echo "FAIL: machine paths:"; echo "$hits"; fail=1
fi
for code in 0 1 2 3 4 5 6 7 8 9; do
    grep -A3 '^Exit codes:' "$src/README.md" | tr '\n' ' ' | grep -qE "(: | )$code " ||
        { echo "FAIL: README does not list exit code $code"; fail=1; }
done
[ $fail -eq 0 ] && echo "PASS: the docs cite only what ships, name no machine paths, list every exit code"
exit $fail
