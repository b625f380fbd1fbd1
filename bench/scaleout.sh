#!/bin/sh
# Scale-out bench (docs/scale-out.md): throughput of `nna batch` in-process vs with the
# Redis limiter backend, at 1 and 4 processes, against an unlimited nna-emu (no rate
# limit, no latency: the limiter's own cost shows), and Redis round trips per request
# (EVALSHA + EVAL calls / requests at the emulator). Usage:
#   NNA_BUILDDIR=/tmp/b bench/scaleout.sh [RUNS_PER_PROCESS]   (default 2000)
# Prints a markdown table (bench/results/scaleout.md keeps the last one).
set -eu
B=${NNA_BUILDDIR:-.}
N=${1:-2000}
D=$(mktemp -d)
trap 'kill $EMU $RED 2>/dev/null || true; rm -rf "$D"' EXIT
RP=$(( 20000 + $$ % 30000 ))
redis-server --port $RP --bind 127.0.0.1 --save '' --appendonly no >/dev/null & RED=$!
"$B/tools/emu/nna-emu" --port 0 --quiet > "$D/port" & EMU=$!
sleep 0.5
EP=$(head -1 "$D/port")
export NANONETS_API_KEY=test-key NANONETS_BASE_URL=http://127.0.0.1:$EP
python3 -c "
import json,sys
for i in range($N): print(json.dumps({'agent_id':'11111111-1111-4111-8111-111111111111','query':'b%d'%i}))" > "$D/in"
run() { # procs limiter
    redis-cli -p $RP flushall >/dev/null; redis-cli -p $RP config resetstat >/dev/null
    curl -s -XPOST http://127.0.0.1:$EP/_emu/reset >/dev/null
    rm -f "$D"/out* "$D"/err*   # (a finished batch's journal refuses a second run)
    s=$(date +%s.%N)
    i=0; pids=""
    while [ $i -lt $1 ]; do
        "$B/tools/nna/nna" $2 --max-inflight 64 --no-progress batch --input "$D/in" --output "$D/out$i" 2>"$D/err$i" & pids="$pids $!"
        i=$((i + 1))
    done
    for p in $pids; do wait $p || { cat "$D"/err* >&2; exit 1; }; done
    e=$(date +%s.%N)
    req=$(curl -s http://127.0.0.1:$EP/_emu/counters | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])')
    calls=$(redis-cli -p $RP info commandstats | awk -F'[=,:]' '/^cmdstat_eval/ {n += $3} END {print n + 0}')
    echo "$1 $(echo "$e - $s" | bc) $req $calls"
}
echo "| processes | backend | runs | seconds | runs/s | Redis round trips / request |"
echo "|---|---|---|---|---|---|"
for p in 1 4; do
    set -- $(run $p "")
    t_in=$2
    echo "| $p | in-process | $((p * N)) | $2 | $(echo "$p * $N / $2" | bc) | - |"
    set -- $(run $p "--limiter redis://127.0.0.1:$RP")
    echo "| $p | Redis | $((p * N)) | $2 | $(echo "$p * $N / $2" | bc) | $(echo "scale=3; $4 / $3" | bc) |"
    echo "| $p | ratio Redis / in-process | | | $(echo "scale=2; $t_in / $2" | bc) | |"
done
