#!/usr/bin/env bash
# bench/tls.sh (also: bench/run --tls) — the fan-out over HTTPS: libnna against the raw
# libcurl client (bench/raw_curl.c) through the same TLS front, for three fronts on
# 127.0.0.1:
#   emu-tls     nna-emu's own TLS (libmicrohttpd + GnuTLS), HTTP/1.1
#   nghttpx-h1  nghttpx terminating TLS, ALPN http/1.1 only, in front of a plain nna-emu
#   nghttpx-h2  the same nghttpx setup offering h2
# Each measurement also counts the TCP connections the run opened and, through nghttpx,
# how many of them did a full TLS handshake (the others resumed a session).
#
#   NNA_BUILDDIR=/path/to/build bench/tls.sh [--quick]
#
# Environment: NNA_BENCH_TLS_N (5000), NNA_BENCH_ROUNDS (3), NNA_BENCH_TLS_CAP (64),
# NNA_BENCH_OUT (bench/results). Writes $OUT/tls.md and $OUT/tls.jsonl; the other
# sections' files are left alone. Needs the openssl command; nghttpx (nghttp2-proxy) for
# the nghttpx rows (skipped with a note without it).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
B=${NNA_BUILDDIR:-$PWD}
OUT=${NNA_BENCH_OUT:-$HERE/results}
N=${NNA_BENCH_TLS_N:-5000}
ROUNDS=${NNA_BENCH_ROUNDS:-3}
CAP=${NNA_BENCH_TLS_CAP:-64}
while [ $# -gt 0 ]; do
    case "$1" in
    --tls) ;;
    --quick) N=1000; ROUNDS=1 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench/tls.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

FANOUT=$B/bench/nna_fanout
RAW=$B/bench/raw_curl
EMU=$B/tools/emu/nna-emu
for p in "$FANOUT" "$RAW" "$EMU"; do
    [ -x "$p" ] || { echo "bench/tls.sh: $p missing: run 'make bench-programs' in the build dir (or set NNA_BUILDDIR)" >&2; exit 2; }
done
NGHTTPX=$(command -v nghttpx || true)
[ -n "$NGHTTPX" ] || [ ! -x /usr/sbin/nghttpx ] || NGHTTPX=/usr/sbin/nghttpx
PY=python3

mkdir -p "$OUT"
TMP=$(mktemp -d)
JSONL=$TMP/tls.jsonl
PIDS=()
cleanup() {
    for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
log() { printf '[tls] %s\n' "$*" >&2; }

sh "$HERE/../tests/tls/mkcerts.sh" "$TMP/pki"
PKI=$TMP/pki

start_emu() { # extra options...; sets PORT
    local portfile=$TMP/port.$RANDOM
    "$EMU" --port 0 --quiet --max-tasks 5000000 "$@" >"$portfile" &
    PIDS+=($!)
    for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.05; done
    read -r PORT <"$portfile"
    [ -n "$PORT" ] || { echo "bench/tls.sh: nna-emu did not start" >&2; exit 1; }
}

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

start_nghttpx() { # alpn backend-port log; sets NPORT
    NPORT=$(free_port)
    "$NGHTTPX" --conf=/dev/null "--frontend=127.0.0.1,$NPORT" "--backend=127.0.0.1,$2" \
        "--npn-list=$1" --single-process --workers=1 --no-ocsp \
        "--accesslog-file=$3" '--accesslog-format=$remote_port $tls_session_reused' \
        "--errorlog-file=$TMP/nghttpx.err" "$PKI/server.key" "$PKI/server.pem" &
    PIDS+=($!)
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$NPORT") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "bench/tls.sh: nghttpx did not start" >&2; exit 1
}

start_emu; PLAIN=$PORT
start_emu --tls-cert "$PKI/server.pem" --tls-key "$PKI/server.key"; TLSPORT=$PORT
FRONTS="emu-tls"
if [ -n "$NGHTTPX" ]; then
    start_nghttpx http/1.1 "$PLAIN" "$TMP/h1.log"; H1PORT=$NPORT
    start_nghttpx h2 "$PLAIN" "$TMP/h2.log"; H2PORT=$NPORT
    FRONTS="emu-tls nghttpx-h1 nghttpx-h2"
else
    log "nghttpx not found (apt-get install nghttp2-proxy): nghttpx rows skipped"
fi

emu_conns() { curl -sk "https://127.0.0.1:$TLSPORT/_emu/counters" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["connections"])'; }
reset() {
    curl -s -X POST "http://127.0.0.1:$PLAIN/_emu/reset" >/dev/null
    curl -sk -X POST "https://127.0.0.1:$TLSPORT/_emu/reset" >/dev/null
}
# connections and full handshakes in an nghttpx access log (one line per request)
log_counts() { awk '!seen[$1]++ { c++; if ($2 != "r") f++ } END { printf "%d %d", c, f }' "$1"; }

measure() { # round front client
    local r=$1 front=$2 client=$3 url prog conns full json before
    case $front in
    emu-tls) url=https://127.0.0.1:$TLSPORT ;;
    nghttpx-h1) url=https://127.0.0.1:$H1PORT; : >"$TMP/h1.log" ;;
    nghttpx-h2) url=https://127.0.0.1:$H2PORT; : >"$TMP/h2.log" ;;
    esac
    case $client in raw_curl) prog=$RAW ;; libnna) prog=$FANOUT ;; esac
    reset
    before=$(emu_conns)
    json=$("$prog" --url "$url" --n "$N" --cap "$CAP" --cacert "$PKI/ca.pem" || true)
    [ -n "$json" ] || { log "warning: $front $client round $r produced no result"; return 0; }
    case $front in
    # the counter read after the run is a connection too; libmicrohttpd does not say
    # whether a handshake resumed (-1: not known)
    emu-tls) conns=$(( $(emu_conns) - before - 1 )); full=-1 ;;
    nghttpx-h1) sleep 0.2; read -r conns full <<<"$(log_counts "$TMP/h1.log")" ;;
    nghttpx-h2) sleep 0.2; read -r conns full <<<"$(log_counts "$TMP/h2.log")" ;;
    esac
    echo "{\"section\":\"tls\",\"round\":$r,\"front\":\"$front\",\"connections\":$conns,\"full_handshakes\":$full,${json#\{}" >>"$JSONL"
}

log "N=$N cap=$CAP rounds=$ROUNDS fronts: $FRONTS"
for r in $(seq "$ROUNDS"); do
    for front in $FRONTS; do
        # alternate which client goes first
        if [ $((r % 2)) -eq 1 ]; then order="raw_curl libnna"; else order="libnna raw_curl"; fi
        for c in $order; do measure "$r" "$front" "$c"; done
    done
    log "round $r done"
done
cp "$JSONL" "$OUT/tls.jsonl"
"$PY" "$HERE/tls_report.py" "$OUT/tls.jsonl" --n "$N" --cap "$CAP" --rounds "$ROUNDS" >"$OUT/tls.md"
log "wrote $OUT/tls.md"
cat "$OUT/tls.md"
