#!/usr/bin/env python3
"""Turns bench/run's measurements into bench/results/latest.md.

    report.py callgrind --n N NNA.out RAW.out      # callgrind comparison (markdown)
    report.py table --jsonl latest.jsonl ...       # the whole report (markdown)
"""
import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import sys

# ---- callgrind ------------------------------------------------------------------------

LINE = re.compile(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(.*)$")
# Event dispatch wrappers: their inclusive cost is curl_multi_socket_action's.
WRAPPERS = {"on_io", "nna_loop_io_ready", "on_io_ready", "on_timer", "nna_loop_timer_fired",
            "on_timer_fired", "drain", "drain.part.0"}


def obj_class(obj):
    base = os.path.basename(obj)
    if base.startswith("libnna"):
        return "libnna (lib/*.c)"
    for key, name in (("libcurl", "libcurl"), ("libc.so", "libc (malloc, string, stdio)"),
                      ("libcjson", "cJSON"), ("libev", "libev"), ("ld-linux", "ld.so"),
                      ("nna_fanout", "benchmark program"), ("raw_curl", "benchmark program")):
        if key in base:
            return name
    return "other (kernel entry, vdso, unknown)"


def annotate(path, inclusive=False):
    args = ["callgrind_annotate", "--auto=no", "--threshold=100"]
    if inclusive:
        args.append("--inclusive=yes")
    out = subprocess.run(args + [path], capture_output=True, text=True).stdout
    total, fns = 0, collections.Counter()
    for line in out.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        n = int(m.group(1).replace(",", ""))
        rest = m.group(2).strip()
        if rest.startswith("PROGRAM TOTALS"):
            total = n
            continue
        mo = re.match(r"^(.*?)\s*\[(.*?)\]\s*$", rest)
        name, obj = (mo.group(1), mo.group(2)) if mo else (rest, "?")
        if ":" in name:
            f, fn = name.rsplit(":", 1)
            name = (os.path.basename(f) + ":" + fn) if f != "???" else fn
        fns[(obj, name)] += n
    return total, fns


def alloc_calls(path):
    """Calls to malloc/calloc/realloc and free, from the callgrind file's call records."""
    names, fn, cfn = {}, None, None
    counts = collections.Counter()

    def name_of(s):
        m = re.match(r"\((\d+)\)(?:\s+(.*))?", s)
        if not m:
            return s
        if m.group(2):
            names[m.group(1)] = m.group(2)
        return names.get(m.group(1), "?")

    with open(path) as f:
        for line in f:
            if line.startswith("fn="):
                fn = name_of(line[3:].strip())
            elif line.startswith("cfn="):
                cfn = name_of(line[4:].strip())
            elif line.startswith("calls=") and cfn in ("malloc", "calloc", "realloc", "free"):
                counts[cfn] += int(line[6:].split()[0])
    return counts


def callgrind_report(n, nna_path, raw_path):
    out = []
    nt, nf = annotate(nna_path)
    rt, rf = annotate(raw_path)
    ni_t, ni = annotate(nna_path, inclusive=True)
    by_n, by_r = collections.Counter(), collections.Counter()
    for (obj, _), v in nf.items():
        by_n[obj_class(obj)] += v
    for (obj, _), v in rf.items():
        by_r[obj_class(obj)] += v
    out.append(f"Instructions (Ir) per completed request, callgrind, N = {n:,}, cap 64, "
               "collected only inside `bench_measured()` (submission + the loop run; client "
               "creation and teardown excluded); nna-emu runs outside valgrind.\n")
    out.append("| exclusive Ir / request, by object | libnna client | raw client | difference |")
    out.append("|---|---:|---:|---:|")
    for k in sorted(set(by_n) | set(by_r), key=lambda k: -(by_n[k] + by_r[k])):
        out.append(f"| {k} | {by_n[k] / n:,.0f} | {by_r[k] / n:,.0f} | "
                   f"{(by_n[k] - by_r[k]) / n:+,.0f} |")
    out.append(f"| **total** | **{nt / n:,.0f}** | **{rt / n:,.0f}** | "
               f"**{(nt - rt) / n:+,.0f} ({nt / rt:.2f}×)** |")
    na, ra = alloc_calls(nna_path), alloc_calls(raw_path)
    nallocs = (na["malloc"] + na["calloc"] + na["realloc"]) / n
    rallocs = (ra["malloc"] + ra["calloc"] + ra["realloc"]) / n
    out.append(f"\nAllocations (malloc + calloc + realloc calls) per request: libnna "
               f"{nallocs:.1f}, raw {rallocs:.1f} ({nallocs - rallocs:+.1f}).\n")

    own = [(v, name) for (obj, name), v in nf.items() if obj_class(obj).startswith("libnna")]
    own.sort(reverse=True)
    out.append("libnna's own code, exclusive Ir per request (top 20):\n")
    out.append("| function | Ir / request |")
    out.append("|---|---:|")
    for v, name in own[:20]:
        out.append(f"| `{name}` | {v / n:,.0f} |")
    out.append(f"| (all of lib/*.c) | {sum(v for v, _ in own) / n:,.0f} |")

    inc = [(v, name) for (obj, name), v in ni.items()
           if obj_class(obj).startswith("libnna") and name.split(":")[-1] not in WRAPPERS]
    inc.sort(reverse=True)
    out.append("\nlibnna functions, inclusive Ir per request (callees in curl, libc and cJSON "
               "included; the socket/timer dispatch wrappers, which contain all of "
               "`curl_multi_socket_action`, left out; top 25):\n")
    out.append("| function | Ir / request |")
    out.append("|---|---:|")
    for v, name in inc[:25]:
        out.append(f"| `{name}` | {v / n:,.0f} |")

    delta = collections.Counter()
    for k in set(nf) | set(rf):
        delta[k[1] + " [" + obj_class(k[0]).split(" ")[0] + "]"] += (nf[k] - rf[k])
    out.append("\nLargest per-function differences (libnna client minus raw client, exclusive "
               "Ir per request; libcurl has no symbols in Debian, its internal functions show "
               "as addresses):\n")
    out.append("| function | difference |")
    out.append("|---|---:|")
    for name, v in delta.most_common(20):
        out.append(f"| `{name}` | {v / n:+,.0f} |")
    return "\n".join(out) + "\n"


# ---- the table ----------------------------------------------------------------------------

LABELS = {
    "raw_curl": "raw libcurl multi_socket + libev (reference)",
    "libnna": "**libnna** (nna_agents_run, workspace cap)",
    "aiohttp": "Python asyncio + aiohttp",
    "node_http": "Node.js http, keep-alive Agent",
    "node_fetch": "Node.js fetch (undici)",
    "curl_parallel": "curl --parallel (no JSON parsing)",
    "wrk": "wrk -t1 (ceiling; no JSON parsing)",
}
ORDER = list(LABELS)


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt(x, spec=",.0f"):
    return "–" if x != x else format(x, spec)


def table_report(a):
    rows = [json.loads(l) for l in open(a.jsonl) if l.strip()]
    out = []
    out.append("# libnna fan-out benchmark\n")
    out.append(f"Generated by `bench/run` in {float(a.seconds):.0f} s. Every client talks to the "
               "same local `nna-emu` (no rate limit, no faults, no added latency; its task "
               "store reset before each run) on 127.0.0.1; client and server share the "
               "machine's cores, so absolute numbers are noisy — compare the ratios, which "
               "come from the same interleaved rounds. Each run: `POST "
               "/api/v1/agents/{id}/run` with `{\"query\":\"Summarise this document\"}`, "
               "reply parsed as JSON (except curl and wrk).\n")

    fan = [r for r in rows if r["section"] == "fanout"]
    caps = sorted({r["cap"] for r in fan})
    out.append(f"## Fan-out: N = {a.n:,} run creations, all submitted at once\n")
    out.append(f"Medians of {a.rounds} interleaved rounds (client order rotated each round). "
               "CPU = user + system time of the client process per request (getrusage; for "
               "curl and wrk, of the child process). wrk runs for 2 s instead of N requests.\n")
    summary = {}
    for cap in caps:
        out.append(f"### {cap} in flight\n")
        out.append("| client | runs/s | × raw | CPU µs / request | × raw | max RSS (MiB) | "
                   "failed |")
        out.append("|---|---:|---:|---:|---:|---:|---:|")
        by = collections.defaultdict(list)
        for r in fan:
            if r["cap"] == cap:
                by[r["client"]].append(r)
        ref = by.get("raw_curl", [])
        ref_rps = med([r["rps"] for r in ref])
        ref_cpu = med([r["cpu_us"] for r in ref])
        for c in ORDER:
            rs = by.get(c)
            if not rs:
                continue
            rps = med([r["rps"] for r in rs])
            cpu = med([r["cpu_us"] for r in rs])
            rss = med([r["maxrss_kb"] for r in rs]) / 1024
            failed = sum(r.get("failed", 0) for r in rs)
            summary[(c, cap)] = (rps, cpu)
            out.append(f"| {LABELS[c]} | {fmt(rps)} | {rps / ref_rps:.2f} | {fmt(cpu, '.1f')} | "
                       f"{cpu / ref_cpu:.2f} | {fmt(rss, '.1f')} | {failed} |")
        out.append("")

    # ---- scale
    sc = [r for r in rows if r["section"] == "scale"]
    mem = {r["client"]: r for r in rows if r["section"] == "mem"}
    up = [r for r in rows if r["section"] == "upfront"]
    if sc:
        out.append(f"## Scale: {a.scale_n:,} operations submitted at once, cap 256\n")
        out.append("| client | N | runs/s | CPU µs / request | submission µs / op | max RSS (MiB) |")
        out.append("|---|---:|---:|---:|---:|---:|")
        cpu_at = {}
        for c in ("libnna", "raw_curl"):
            for n in (a.scale_small, a.scale_n):
                rs = [r for r in sc if r["client"] == c and r["n"] == n]
                if not rs:
                    continue
                cpu_at[(c, n)] = med([r["cpu_us"] for r in rs])
                out.append(f"| {LABELS[c]} | {n:,} | {fmt(med([r['rps'] for r in rs]))} | "
                           f"{cpu_at[(c, n)]:.1f} | {med([r['submit_us'] for r in rs]):.2f} | "
                           f"{med([r['maxrss_kb'] for r in rs]) / 1024:.1f} |")
        for r in up:
            out.append(f"| raw, all N easy handles added up front | {r['n']:,} | {fmt(r['rps'])} | "
                       f"{r['cpu_us']:.1f} | {r['submit_us']:.2f} | {r['maxrss_kb'] / 1024:.1f} |")
        for c in ("libnna", "raw_curl"):
            if (c, a.scale_small) in cpu_at and (c, a.scale_n) in cpu_at:
                ch = cpu_at[(c, a.scale_n)] / cpu_at[(c, a.scale_small)] - 1
                summary[("cpu_growth", c)] = ch
                out.append(f"\nCPU per request, {a.scale_small:,} → {a.scale_n:,} queued, "
                           f"{c}: {ch * 100:+.1f} %")
        out.append(f"\n(medians of {a.rounds} rounds; the up-front rows are single runs)\n")
        if mem:
            out.append("### Memory (separate runs with `--mem`: heap = malloc'd bytes in use, "
                       "from mallinfo2; RSS from /proc/self/statm)\n")
            out.append("| | libnna | raw client (queue) | raw, all handles up front |")
            out.append("|---|---:|---:|---:|")
            cols = [mem.get("libnna"), mem.get("raw_curl"), mem.get("raw_curl_upfront")]

            def row(label, key, spec=",.0f", scale=1.0):
                vals = ["–" if c is None or key not in c or (c is cols[2] and key in
                        ("heap_per_inflight", "heap_retained_per_op")) else
                        format(c[key] * scale, spec) for c in cols]
                out.append(f"| {label} | " + " | ".join(vals) + " |")
            row("heap bytes per queued operation", "bytes_per_queued")
            row("RSS bytes per submitted operation (after submitting − before)",
                "rss_bytes_per_queued")
            row("heap bytes per request in flight (operation, easy handle, buffers, "
                "connection; median early in the run, queued operations subtracted)",
                "heap_per_inflight")
            row("heap bytes still held after the run, per completed operation",
                "heap_retained_per_op", ",.1f")
            row("RSS before submitting (MiB)", "rss_before_kb", ",.1f", 1 / 1024)
            row("RSS after submitting all (MiB)", "rss_after_kb", ",.1f", 1 / 1024)
            row("max RSS (MiB)", "maxrss_kb", ",.1f", 1 / 1024)
            out.append("")
            if mem.get("libnna") and mem.get("raw_curl"):
                m, rw = mem["libnna"], mem["raw_curl"]
                summary["per_queued"] = m["bytes_per_queued"]
                summary["inflight_own"] = m["heap_per_inflight"] - rw["heap_per_inflight"]
                summary["retained_own"] = m["heap_retained_per_op"] - rw["heap_retained_per_op"]

    # ---- targets
    out.append("## Targets\n")
    out.append("| target | measured | |")
    out.append("|---|---|---|")

    def verdict(ok):
        return "met" if ok else "**missed**"
    for cap in caps:
        if ("libnna", cap) in summary and ("raw_curl", cap) in summary:
            r = summary[("libnna", cap)][0] / summary[("raw_curl", cap)][0]
            out.append(f"| throughput ≥ 0.9× raw at cap {cap} | {r:.2f}× | {verdict(r >= 0.9)} |")
        if ("libnna", cap) in summary and ("aiohttp", cap) in summary:
            r = summary[("libnna", cap)][0] / summary[("aiohttp", cap)][0]
            out.append(f"| throughput ≥ 8× aiohttp at cap {cap} | {r:.1f}× | {verdict(r >= 8)} |")
    cg = None
    if a.callgrind and os.path.exists(a.callgrind):
        cg = open(a.callgrind).read()
        m = re.search(r"\*\*total\*\* \| \*\*([\d,]+)\*\* \| \*\*([\d,]+)\*\*", cg)
        if m:
            x, y = (int(v.replace(",", "")) for v in m.groups())
            out.append(f"| CPU ≤ 1.10× raw in instructions (callgrind, cap 64) | "
                       f"{x:,} vs {y:,} Ir/request = {x / y:.2f}× (library share {x - y:+,}) | "
                       f"{verdict(x / y <= 1.10)} |")
    for cap in caps:
        if ("libnna", cap) in summary and ("raw_curl", cap) in summary:
            r = summary[("libnna", cap)][1] / summary[("raw_curl", cap)][1]
            out.append(f"| (wall-clock CPU µs/request, getrusage, cap {cap}) | {r:.2f}× raw | "
                       "informative |")
    if "per_queued" in summary:
        url = len("http://127.0.0.1:65535/api/v1/agents/11111111-1111-4111-8111-111111111111/run") + 1
        body = len('{"query":"Summarise this document"}') + 1
        allow = 256 + url + body
        out.append(f"| ≤ 256 B per queued op + its path ({url} B) and body ({body} B) = {allow} B | "
                   f"{summary['per_queued']:.0f} B | {verdict(summary['per_queued'] <= allow)} |")
    if "inflight_own" in summary:
        v = summary["inflight_own"]
        out.append(f"| ≤ 1 KiB owned by the library per request in flight (libnna − raw, "
                   f"heap per request in flight) | {v:,.0f} B | {verdict(v <= 1024)} |")
    if ("cpu_growth", "libnna") in summary:
        g = summary[("cpu_growth", "libnna")]
        out.append(f"| CPU per request flat (±10 %) from {a.scale_small:,} to {a.scale_n:,} "
                   f"queued | {g * 100:+.1f} % | {verdict(abs(g) <= 0.10)} |")
    out.append("")

    if cg:
        out.append("## CPU profile (callgrind)\n")
        out.append(cg)
    if a.ratelimit and os.path.exists(a.ratelimit):
        out.append("## Against a rate-limited emulator\n")
        out.append("![fan-out against nna-emu --rate 200 --burst 20](ratelimit.svg)\n")
        out.append(open(a.ratelimit).read())
    return "\n".join(out) + "\n"


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("callgrind")
    c.add_argument("--n", type=int, required=True)
    c.add_argument("nna")
    c.add_argument("raw")
    t = sub.add_parser("table")
    t.add_argument("--jsonl", required=True)
    t.add_argument("--n", type=int, required=True)
    t.add_argument("--rounds", type=int, required=True)
    t.add_argument("--scale-n", type=int, default=100000)
    t.add_argument("--scale-small", type=int, default=10000)
    t.add_argument("--cg-n", type=int, default=2000)
    t.add_argument("--callgrind")
    t.add_argument("--ratelimit")
    t.add_argument("--seconds", default="0")
    a = p.parse_args()
    if a.cmd == "callgrind":
        sys.stdout.write(callgrind_report(a.n, a.nna, a.raw))
    else:
        sys.stdout.write(table_report(a))


if __name__ == "__main__":
    main()
