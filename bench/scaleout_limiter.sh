#!/bin/sh
# Limiter-level scale-out bench (docs/scale-out.md): the Redis backend without HTTP.
# bench/nna_limbench drives the workspace limiter on a real libev loop against a real
# redis-server on a random 127.0.0.1 port, with zero-cost transfers that complete on the
# next loop iteration: every admission takes a leased slot and a reserved send, reports
# its first attempt to the shared retry budget, and its success on completion.
#   saturate: as many admissions a second as the loop allows, cap 64 and 256, 1 and 4
#             processes (each process 4 x cap ops queued; one cap shared by all);
#   paced:    exactly 40,000 admissions/s offered (split over the processes), the
#             admission wait (arrival to send) and redis-server's CPU while it runs.
# Usage: NNA_BUILDDIR=/tmp/b bench/scaleout_limiter.sh [SECONDS_PER_RUN] (default 5)
# (make bench-programs builds bench/nna_limbench). Prints a markdown table.
set -eu
B=${NNA_BUILDDIR:-.}
S=${1:-5}
D=$(mktemp -d)
RP=$(( 20000 + $$ % 30000 ))
redis-server --port $RP --bind 127.0.0.1 --save '' --appendonly no >/dev/null & RED=$!
trap 'kill $RED 2>/dev/null || true; rm -rf "$D"' EXIT
i=0; while ! redis-cli -p $RP ping >/dev/null 2>&1; do i=$((i + 1)); [ $i -lt 50 ] || exit 1; sleep 0.1; done
HZ=$(getconf CLK_TCK)
ticks() { awk '{print $14 + $15}' /proc/$RED/stat; }
run() { # procs cap total-rate (0 = saturate) limiter-url-or-empty
    redis-cli -p $RP flushall >/dev/null
    r=0; [ "$3" = 0 ] || r=$(echo "$3 / $1" | bc -l)
    c0=$(ticks); t0=$(date +%s.%N)
    i=0; pids=""
    while [ $i -lt $1 ]; do
        "$B/bench/nna_limbench" --limiter "$4" --cap $2 --seconds $S --rate $r > "$D/o$i" & pids="$pids $!"
        i=$((i + 1))
    done
    for p in $pids; do wait $p; done
    c1=$(ticks); t1=$(date +%s.%N)
    cat "$D"/o* | python3 -c "
import json, sys
rs = [json.loads(l) for l in sys.stdin if l.strip()]
ops = sum(r['ops'] for r in rs)
rt = sum(r['round_trips'] for r in rs)
cpu = sum(r['cpu_us_per_op'] * r['ops'] for r in rs) / max(ops, 1)
rcpu = ($c1 - $c0) / $HZ / ($t1 - $t0) * 100
w = lambda k: max(r[k] for r in rs)
print('| %d | %s | %d | %s | %.0f | %.4f | %.1f | %.1f | %s |' % ($1, rs[0]['backend'], $2,
      'saturate' if $3 == 0 else '%d/s' % $3, sum(r['ops_per_s'] for r in rs),
      rt / max(ops, 1), cpu, rcpu,
      '-' if $3 == 0 else '%.0f / %.0f / %.0f (missed %d)' % (
          sum(r['wait_mean_us'] * r['ops'] for r in rs) / max(ops, 1), w('wait_p50_us'),
          w('wait_p99_us'), sum(r['missed'] for r in rs))))"
    rm -f "$D"/o*
}
U=redis://127.0.0.1:$RP
echo "| processes | backend | cap | offered | admissions/s | Redis round trips / admission | client CPU us / admission | redis-server CPU % | admission wait us: mean / p50 / p99 |"
echo "|---|---|---|---|---|---|---|---|---|"
for p in 1 4; do
    for cap in 64 256; do
        run $p $cap 0 ""
        run $p $cap 0 $U
    done
done
for p in 1 4; do
    run $p 64 40000 ""
    run $p 64 40000 $U
done
