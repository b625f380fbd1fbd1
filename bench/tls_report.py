#!/usr/bin/env python3
"""bench/tls_report.py TLS.JSONL --n N --cap C --rounds R: the markdown table of
bench/tls.sh — per front and client, the median over rounds of requests/s and CPU per
request, the connections opened and full TLS handshakes (medians), and libnna's
throughput relative to the raw libcurl client through the same front."""
import argparse
import json
import statistics


def main():
    p = argparse.ArgumentParser()
    p.add_argument("jsonl")
    p.add_argument("--n", type=int)
    p.add_argument("--cap", type=int)
    p.add_argument("--rounds", type=int)
    a = p.parse_args()
    rows = {}
    with open(a.jsonl) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            m = json.loads(line)
            rows.setdefault((m["front"], m["client"]), []).append(m)
    fronts = []
    for front, _ in rows:
        if front not in fronts:
            fronts.append(front)

    def med(ms, key):
        return statistics.median(m[key] for m in ms)

    print(f"# Fan-out over HTTPS: {a.n:,} runs at cap {a.cap}, median of {a.rounds} round(s)\n")
    print("| front | client | req/s | CPU µs/req | failed | connections | full TLS handshakes | libnna / raw |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for front in fronts:
        raw = rows.get((front, "raw_curl"))
        for client in ("raw_curl", "libnna"):
            ms = rows.get((front, client))
            if not ms:
                continue
            rps = med(ms, "rps")
            full = med(ms, "full_handshakes")
            ratio = f"{rps / med(raw, 'rps'):.2f}x" if client == "libnna" and raw else ""
            print(f"| {front} | {client} | {rps:,.0f} | {med(ms, 'cpu_us'):.1f} | "
                  f"{max(m['failed'] for m in ms)} | {med(ms, 'connections'):.0f} | "
                  f"{'n/a' if full < 0 else f'{full:.0f}'} | {ratio} |")
    print("\nemu-tls: nna-emu's own TLS (libmicrohttpd/GnuTLS, HTTP/1.1); nghttpx-h1 / "
          "nghttpx-h2: nghttpx terminating TLS (ALPN http/1.1 only / h2) before a plain "
          "nna-emu. Both clients verify against the test CA and share one TLS session cache "
          "between their handles; libnna also holds its other requests until the first "
          "https response begins, 1 s at most (so they resume its session or multiplex on "
          "its connection). Connections and handshakes are counted by the server side "
          "(nna-emu's counter, nghttpx's access log). All on one 2-core machine shared "
          "with the servers: the ratios matter more than the absolute figures.")


if __name__ == "__main__":
    main()
