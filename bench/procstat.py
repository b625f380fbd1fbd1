#!/usr/bin/env python3
"""Runs an external load generator and reports it like the other clients (one JSON
line): wall time, CPU of the child process per request, its peak RSS.

    procstat.py --client wrk --cap 64 -- wrk -t1 -c64 -d2s -s wrk_post.lua URL
    procstat.py --client curl_parallel --n 20000 --cap 64 -- curl -Z ... -w '%{http_code}\\n'

wrk: requests and rate are read from its report. curl: one status code per line on
stdout; `ok` counts the 200s.
"""
import json
import re
import resource
import subprocess
import sys
import time


def main():
    argv = sys.argv[1:]
    sep = argv.index("--")
    opts, cmd = argv[:sep], argv[sep + 1:]
    o = dict(zip(opts[0::2], opts[1::2]))
    client = o["--client"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    secs = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out = {"client": client, "cap": int(o.get("--cap", 0))}
    if client == "wrk":
        m = re.search(r"(\d+) requests in ([\d.]+)s", p.stdout)
        r = re.search(r"Requests/sec:\s+([\d.]+)", p.stdout)
        n = int(m.group(1)) if m else 0
        errs = re.search(r"Non-2xx or 3xx responses: (\d+)", p.stdout)
        sock = re.search(r"Socket errors: (.*)", p.stdout)
        out.update(n=n, ok=n - (int(errs.group(1)) if errs else 0),
                   failed=(int(errs.group(1)) if errs else 0) + (1 if sock else 0),
                   secs=float(m.group(2)) if m else secs, rps=float(r.group(1)) if r else 0)
    else:
        codes = p.stdout.split()
        n = int(o.get("--n", len(codes)))
        ok = sum(1 for c in codes if c == "200")
        out.update(n=n, ok=ok, failed=n - ok, secs=round(secs, 6), rps=round(n / secs, 1))
    out["cpu_us"] = round(cpu * 1e6 / max(out["n"], 1), 3)
    out["maxrss_kb"] = after.ru_maxrss
    if p.returncode != 0:
        out["error"] = (p.stderr or p.stdout)[-300:]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
