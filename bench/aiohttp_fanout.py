#!/usr/bin/env python3
"""Fan-out with Python asyncio + aiohttp: N run creations, `cap` in flight (a pool of
`cap` worker tasks sharing one keep-alive session, the idiomatic bounded fan-out), each
reply parsed as JSON. Prints one JSON line like the C clients.

    aiohttp_fanout.py --url http://127.0.0.1:PORT --n 20000 --cap 64
"""
import argparse
import asyncio
import json
import resource
import time

import aiohttp

AGENT = "11111111-1111-4111-8111-111111111111"
BODY = json.dumps({"query": "Summarise this document"}, separators=(",", ":"))
HEADERS = {"Authorization": "Bearer test-key", "Content-Type": "application/json",
           "Accept": "application/json"}


def cpu():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def main(a):
    url = f"{a.url}/api/v1/agents/{AGENT}/run"
    ok = failed = 0
    remaining = a.n
    connector = aiohttp.TCPConnector(limit=a.cap)
    async with aiohttp.ClientSession(connector=connector, headers=HEADERS) as s:
        async def worker():
            nonlocal ok, failed, remaining
            while remaining > 0:
                remaining -= 1
                try:
                    async with s.post(url, data=BODY) as r:
                        j = await r.json()
                        if r.status == 200 and j.get("task_id"):
                            ok += 1
                            continue
                except Exception:  # a failure is counted, never retried
                    pass
                failed += 1

        c0, t0 = cpu(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(min(a.cap, a.n))))
        secs, cpus = time.perf_counter() - t0, cpu() - c0
    return ok, failed, secs, cpus


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--cap", type=int, default=64)
    a = p.parse_args()
    ok, failed, secs, cpus = asyncio.run(main(a))
    print(json.dumps({"client": "aiohttp", "n": a.n, "cap": a.cap, "ok": ok, "failed": failed,
                      "secs": round(secs, 6), "rps": round(a.n / secs, 1),
                      "cpu_us": round(cpus * 1e6 / a.n, 3),
                      "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
