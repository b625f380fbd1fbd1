#!/bin/sh
# Runs every example against a local nna-emu and checks exit codes and outputs.
#   examples/run-examples.sh            (from the build directory; `make check` runs it)
# Environment: NNA_TOP_BUILDDIR (set by `make check`), else the current directory.
set -u
top=${NNA_TOP_BUILDDIR:-$(pwd)}
emu=$top/tools/emu/nna-emu
ex=$top/examples
agent=${NNA_AGENT_ID:-11111111-1111-4111-8111-111111111111}
tmp=$(mktemp -d)
emu_pid= srv_pid=
pass=0 fail=0

cleanup() {
    [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null
    [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok()  { pass=$((pass + 1)); echo "PASS: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# Waits (up to 10 s) for a complete first line in a file and prints it.
first_line() {
    i=0
    while [ $i -lt 100 ]; do
        if [ "$(wc -l < "$1")" -ge 1 ]; then head -n 1 "$1"; return 0; fi
        sleep 0.1; i=$((i + 1))
    done
    return 1
}

[ -x "$emu" ] || { echo "nna-emu not built: $emu"; exit 99; }
: > "$tmp/emu.out"
"$emu" --port 0 --quiet > "$tmp/emu.out" 2>"$tmp/emu.err" &
emu_pid=$!
port=$(first_line "$tmp/emu.out") || { echo "nna-emu did not start"; cat "$tmp/emu.err"; exit 99; }
export NANONETS_BASE_URL="http://127.0.0.1:$port"
export NANONETS_API_KEY=test-key
export NNA_AGENT_ID="$agent"
uuid='[0-9a-f]\{8\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{4\}-[0-9a-f]\{12\}'

# blocking: one run, nna_future_wait on a private loop
if out=$("$ex/blocking" "$agent" "Summarise the invoice" 2>&1) &&
   echo "$out" | grep -q "^task $uuid "; then
    ok "blocking ($out)"
else
    bad "blocking: $out"
fi
# ... and a failure is reported with a non-zero exit
if out=$("$ex/blocking" 33333333-3333-4333-8333-333333333333 "inactive agent" 2>&1); then
    bad "blocking on an inactive agent exited 0: $out"
else
    echo "$out" | grep -q "HTTP 403" && ok "blocking reports a 403" || bad "blocking failure text: $out"
fi

# batch: fan-out on libev
if out=$("$ex/batch" 200 2>&1) && echo "$out" | grep -q "^200/200 runs created"; then
    ok "batch ($out)"
else
    bad "batch: $out"
fi

# uv_fanout: 1,000 runs on libuv under a cap of 16 (only when libuv is built)
if [ -x "$ex/uv_fanout" ]; then
    if out=$("$ex/uv_fanout" -n 1000 -c 16 2>&1) &&
       echo "$out" | grep -q "^runs: 1000 created, 0 failed of 1000" &&
       peak=$(echo "$out" | sed -n 's/.*peak in flight \([0-9]*\) (cap 16).*/\1/p') &&
       [ -n "$peak" ] && [ "$peak" -le 16 ]; then
        ok "uv_fanout ($(echo "$out" | head -n 2 | tr '\n' ' '))"
    else
        bad "uv_fanout: $out"
    fi
else
    echo "SKIP: uv_fanout (built without libuv)"
fi

# ev_server: a libev HTTP server that answers each request with a new agent run
if command -v curl >/dev/null 2>&1; then
    : > "$tmp/srv.out"
    "$ex/ev_server" -p 0 > "$tmp/srv.out" 2>"$tmp/srv.err" &
    srv_pid=$!
    if sport=$(first_line "$tmp/srv.out"); then
        base="http://127.0.0.1:$sport"
        curls=
        for i in 1 2 3 4 5; do     # five concurrent requests
            curl -s -m 20 -X POST --data "request $i: extract the totals" "$base/run" > "$tmp/r$i" &
            curls="$curls $!"
        done
        wait_ok=1
        for j in $curls; do wait "$j" || wait_ok=0; done
        n=0
        for i in 1 2 3 4 5; do grep -q "\"task_id\": \"$uuid\"" "$tmp/r$i" && n=$((n + 1)); done
        if [ $n -eq 5 ] && [ $wait_ok -eq 1 ]; then ok "ev_server answered 5 requests with task ids"
        else bad "ev_server: $n/5 answers with a task id: $(cat "$tmp"/r*)"; fi
        h=$(curl -s -m 5 "$base/health")
        echo "$h" | grep -q '"ok": true' && ok "ev_server health ($h)" || bad "ev_server health: $h"
        curl -s -m 5 -X POST "$base/quit" >/dev/null
        i=0
        while kill -0 "$srv_pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
        if kill -0 "$srv_pid" 2>/dev/null; then
            bad "ev_server did not exit after /quit"
        elif wait "$srv_pid"; then
            ok "ev_server exited 0 after /quit"
        else
            bad "ev_server exit status $?: $(cat "$tmp/srv.err")"
        fi
        srv_pid=
    else
        bad "ev_server did not start: $(cat "$tmp/srv.err")"
    fi
else
    echo "SKIP: ev_server (no curl)"
fi

echo "examples: $pass passed, $fail failed"
[ $fail -eq 0 ]
