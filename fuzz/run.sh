#!/bin/sh
# Builds and runs every fuzz target for SECONDS seconds each (default 20), starting from
# the seed corpus fuzz/corpus/<target>/ (never modified: new inputs go to a scratch corpus
# under $FUZZ_OUT). Exits non-zero when any target crashes; the reproducer is left as
# $FUZZ_OUT/<target>-crash-* (or -leak-, -timeout-, -oom-) and its path printed (re-run it
# with: $FUZZ_OUT/<target> <file>). One result line per target, for CI to count:
#   fuzz-result: <target> ok
#   fuzz-result: <target> FAILED reproducer: <path> [...]
# Needs only clang with libFuzzer and the library's sources (no configure, no make), so it
# works on a clean clone or after `make distclean`.
#
# Usage: fuzz/run.sh [SECONDS] [target...]
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
secs=${1:-20}
[ $# -gt 0 ] && shift
out=${FUZZ_OUT:-fuzz/bin}
export FUZZ_OUT="$out"

sh fuzz/build.sh "$@"

if [ $# -gt 0 ]; then
    names=""
    for t in "$@"; do names="$names ${t%.c}"; done
else
    names=$(ls fuzz/fuzz_*.c | xargs -n 1 basename | sed 's/\.c$//')
fi

status=0
stamp="$out/.run-stamp"
for name in $names; do
    : > "$stamp"
    work="$out/corpus-$name"
    mkdir -p "$work"
    seeds="fuzz/corpus/$name"
    [ -d "$seeds" ] || seeds=""
    dict=""
    [ -f "fuzz/$name.dict" ] && dict="-dict=fuzz/$name.dict"
    echo "fuzz: running $name for ${secs}s"
    # shellcheck disable=SC2086 # $dict and $seeds are empty or one word
    if "$out/$name" -max_total_time="$secs" -print_final_stats=1 \
            -artifact_prefix="$out/$name-" $dict "$work" $seeds; then
        echo "fuzz-result: $name ok"
    else
        # The reproducers this run wrote (older ones from earlier runs are not blamed).
        repro=$(find "$out" -maxdepth 1 -name "$name-*" -type f -newer "$stamp" | tr '\n' ' ')
        echo "fuzz-result: $name FAILED reproducer: ${repro:-none written}"
        status=1
    fi
done
rm -f "$stamp"
exit $status
