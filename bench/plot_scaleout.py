#!/usr/bin/env python3
"""Draws docs/scale-out.svg: the requests in flight at the emulator over time (the most
in any 50 ms) and the answers per second, from the emulator's request log kept by the
4-process scale-out test:

    NNA_SCALEOUT_LOG=/tmp/scaleout-log.json tests/scaleout/test_scaleout
    bench/plot_scaleout.py /tmp/scaleout-log.json --cap 32 --rate 200 --out docs/scale-out.svg

Standalone SVG, no plotting library needed."""
import argparse
import json

ap = argparse.ArgumentParser()
ap.add_argument("log")
ap.add_argument("--cap", type=float, default=32)
ap.add_argument("--rate", type=float, default=200)
ap.add_argument("--out", default="scale-out.svg")
a = ap.parse_args()
data = json.load(open(a.log))["data"]
iv = [(e["t"] - e["latency_ms"] / 1000 + 0.0015, e["t"], e["status"]) for e in data]
t0 = min(s for s, _, _ in iv)
t1 = max(t for _, t, _ in iv)
span = t1 - t0
step = 0.05
nb = int(span / step) + 1
edges = sorted([(s - t0, 1) for s, _, _ in iv] + [(t - t0, -1) for _, t, _ in iv],
               key=lambda x: (x[0], x[1]))
peak = [0] * nb
cur = 0
for t, d in edges:
    cur += d
    b = min(nb - 1, int(t / step))
    peak[b] = max(peak[b], cur)
persec = [0] * (int(span) + 1)
r429 = [0] * (int(span) + 1)
for _, t, st in iv:
    i = min(len(persec) - 1, int(t - t0))
    if st == 429:
        r429[i] += 1
    else:
        persec[i] += 1

W, H, L, PAD = 860, 430, 60, 30
ph = (H - 3 * PAD) / 2
def x(t):
    return L + (W - L - 20) * t / span
out = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">' % (W, H),
       '<rect width="100%" height="100%" fill="white"/>']
def panel(y0, ymax, series, xs, color, limit, label, lim_label):
    out.append('<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="none" stroke="#999"/>' % (L, y0, W - L - 20, ph))
    def y(v):
        return y0 + ph - ph * v / ymax
    pts = " ".join("%.1f,%.1f" % (x(t), y(v)) for t, v in zip(xs, series))
    out.append('<polyline fill="none" stroke="%s" stroke-width="1.2" points="%s"/>' % (color, pts))
    out.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#c00" stroke-dasharray="5,4"/>' % (L, W - 20, y(limit), y(limit)))
    out.append('<text x="%d" y="%.1f" fill="#c00">%s</text>' % (W - 200, y(limit) - 4, lim_label))
    out.append('<text x="8" y="%.1f">%s</text>' % (y0 + 12, label))
    for v in (0, ymax / 2, ymax):
        out.append('<text x="%d" y="%.1f" text-anchor="end">%g</text>' % (L - 4, y(v) + 4, round(v)))
panel(PAD, a.cap * 1.25, peak, [i * step for i in range(nb)], "#1f5fbf", a.cap,
      "in flight", "cap %d (shared)" % a.cap)
panel(2 * PAD + ph, a.rate * 1.25, persec, [i + 0.5 for i in range(len(persec))], "#2a8f2a",
      a.rate, "answers/s", "server limit %d/s" % a.rate)
for i, n in enumerate(r429):
    if n:
        out.append('<text x="%.1f" y="%.1f" fill="#c00" font-size="10">429x%d</text>' % (x(i), 2 * PAD + 2 * ph - 4, n))
for s in range(0, int(span) + 1, 2):
    out.append('<text x="%.1f" y="%d" text-anchor="middle">%d s</text>' % (x(s), H - 6, s))
out.append('<text x="%d" y="18" font-weight="bold">4 nna batch processes x 1,000 runs, one workspace budget in Redis (emulator: %d req/s, cap %d)</text>' % (L, a.rate, a.cap))
out.append("</svg>")
open(a.out, "w").write("\n".join(out) + "\n")
print("in flight peak %d, span %.2f s, 429s %d" % (max(peak), span, sum(r429)))
