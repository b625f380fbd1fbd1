#!/usr/bin/env python3
"""Draws the fan-out against a rate-limited nna-emu as a standalone SVG (no plotting
library needed) and prints a short markdown summary.

    plot.py --events EVENTS.txt --emu-log EMU.jsonl --rate 200 --burst 20 --out OUT.svg

EVENTS.txt is written by `nna_fanout --events`: lines `S` (workspace counters sampled
every few ms), `E` (workspace hook events), `D` (a future completed); EMU.jsonl is the
emulator's `--log` (one line per request with its status). Three panels share the time
axis: requests in flight with the adaptive cap; completions per second against the
server's limit, with the limiter's paced rate; 429 answers per second. Shaded bands are
the times the workspace's 429 gate was closed.
"""
import argparse
import json
import math
import sys
from xml.sax.saxutils import escape

ATTEMPT, RETRY, GATE_CLOSED, GATE_OPENED, CAP_CHANGED, RATE_CHANGED = 0, 1, 2, 3, 4, 5


def load_events(path):
    samples, events, done = [], [], []
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        f = line.split()
        t = float(f[1])
        if f[0] == "S":
            samples.append({"t": t, "inflight": int(f[5]), "cap": int(f[6]), "rate": float(f[7]),
                            "queued": int(f[8]), "sent": int(f[9]), "ok": int(f[10]),
                            "limited": int(f[11])})
        elif f[0] == "E":
            events.append({"t": t, "kind": int(f[2]), "value": float(f[3]), "status": int(f[4])})
        elif f[0] == "D":
            done.append({"t": t, "status": int(f[4])})
    return samples, events, done


def load_emu(path):
    rows = []
    try:
        for line in open(path):
            if not line.strip():
                continue
            try:  # the emulator may still be writing its last line
                j = json.loads(line)
            except json.JSONDecodeError:
                continue
            rows.append((float(j["t"]), int(j["status"])))
    except FileNotFoundError:
        pass
    if rows:
        t0 = rows[0][0]
        rows = [(t - t0, s) for t, s in rows]
    return rows


def bins(times, width, end):
    n = max(1, int(math.ceil(end / width)))
    out = [0] * n
    for t in times:
        i = min(n - 1, max(0, int(t / width)))
        out[i] += 1
    return [c / width for c in out]


def gate_intervals(events, end):
    iv, start = [], None
    for e in events:
        if e["kind"] == GATE_CLOSED and e["status"] == 429 and start is None:
            start = e["t"]
        elif e["kind"] == GATE_OPENED and start is not None:
            iv.append((start, e["t"]))
            start = None
    if start is not None:
        iv.append((start, end))
    return iv


def nice_step(span, target=6):
    raw = span / target if span > 0 else 1
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


class Panel:
    def __init__(self, svg, x0, y0, w, h, tmax, ymax, title, ylabel):
        self.svg, self.x0, self.y0, self.w, self.h = svg, x0, y0, w, h
        self.tmax, self.ymax = tmax, ymax if ymax > 0 else 1
        self.legend = []
        svg.append(f'<text x="{x0}" y="{y0 - 8}" class="title">{escape(title)}</text>')
        svg.append(f'<rect x="{x0}" y="{y0}" width="{w}" height="{h}" class="frame"/>')
        step = nice_step(self.ymax, 4)
        v = 0.0
        while v <= self.ymax * 1.0001:
            y = self.y(v)
            svg.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + w}" y2="{y:.1f}" class="grid"/>')
            svg.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">'
                       f'{v:g}</text>')
            v += step
        svg.append(f'<text transform="translate({x0 - 46},{y0 + h / 2}) rotate(-90)" '
                   f'class="label" text-anchor="middle">{escape(ylabel)}</text>')

    def x(self, t):
        return self.x0 + self.w * min(max(t / self.tmax, 0), 1)

    def y(self, v):
        return self.y0 + self.h * (1 - min(max(v / self.ymax, 0), 1.02))

    def shade(self, intervals):
        for a, b in intervals:
            self.svg.append(f'<rect x="{self.x(a):.1f}" y="{self.y0}" '
                            f'width="{max(self.x(b) - self.x(a), 1):.1f}" height="{self.h}" '
                            'class="gate"/>')

    def line(self, pts, cls, name, step=False):
        if not pts:
            return
        d, prev = [], None
        for t, v in pts:
            if step and prev is not None:
                d.append(f"L{self.x(t):.1f},{self.y(prev):.1f}")
            d.append(("M" if not d else "L") + f"{self.x(t):.1f},{self.y(v):.1f}")
            prev = v
        self.svg.append(f'<path d="{" ".join(d)}" class="{cls}"/>')
        self.legend.append((cls, name))

    def bars(self, values, width, cls, name):
        for i, v in enumerate(values):
            if v <= 0:
                continue
            x = self.x(i * width)
            self.svg.append(f'<rect x="{x:.1f}" y="{self.y(v):.1f}" '
                            f'width="{max(self.x((i + 1) * width) - x - 0.5, 0.8):.1f}" '
                            f'height="{self.y0 + self.h - self.y(v):.1f}" class="{cls}"/>')
        self.legend.append((cls, name))

    def hline(self, v, cls, name):
        y = self.y(v)
        self.svg.append(f'<line x1="{self.x0}" y1="{y:.1f}" x2="{self.x0 + self.w}" '
                        f'y2="{y:.1f}" class="{cls}"/>')
        self.legend.append((cls, name))

    def draw_legend(self):
        x = self.x0 + 10
        for cls, name in self.legend:
            self.svg.append(f'<line x1="{x}" y1="{self.y0 + 14}" x2="{x + 18}" '
                            f'y2="{self.y0 + 14}" class="{cls} key"/>')
            self.svg.append(f'<text x="{x + 22}" y="{self.y0 + 18}" class="tick">'
                            f'{escape(name)}</text>')
            x += 30 + 6.2 * len(name)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--events", required=True)
    p.add_argument("--emu-log")
    p.add_argument("--rate", type=float, default=200)
    p.add_argument("--burst", type=float, default=20)
    p.add_argument("--title", default="fan-out against a rate-limited nna-emu")
    p.add_argument("--out", required=True)
    p.add_argument("--bin", type=float, default=0.0)
    a = p.parse_args()

    samples, events, done = load_events(a.events)
    emu = load_emu(a.emu_log) if a.emu_log else []
    end = max([s["t"] for s in samples] + [d["t"] for d in done] + [t for t, _ in emu] + [1])
    width = a.bin or (0.25 if end <= 30 else 0.5 if end <= 90 else 1.0)
    gates = gate_intervals(events, end)

    comp = bins([d["t"] for d in done if d["status"] == 200 or d["status"] // 100 == 2],
                width, end)
    emu_ok = bins([t for t, s in emu if 200 <= s < 300], width, end) if emu else []
    emu_429 = bins([t for t, s in emu if s == 429], width, end) if emu else []
    cli_429 = bins([e["t"] for e in events if e["kind"] == RETRY and e["status"] == 429],
                   width, end)
    r429 = emu_429 if emu else cli_429

    W, left, right = 960, 80, 30
    pw, ph, gap, top = W - left - right, 170, 62, 80
    H = top + 3 * ph + 2 * gap + 50
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
           f'viewBox="0 0 {W} {H}" font-family="sans-serif">',
           "<style>"
           ".title{font-size:13px;font-weight:bold}.tick{font-size:11px;fill:#333}"
           ".label{font-size:12px;fill:#333}.frame{fill:none;stroke:#999}"
           ".grid{stroke:#e4e4e4}.gate{fill:#f4c7c3;opacity:.55}"
           ".inflight{fill:none;stroke:#1f77b4;stroke-width:1.6}"
           ".cap{fill:none;stroke:#ff7f0e;stroke-width:1.4;stroke-dasharray:5 3}"
           ".comp{fill:none;stroke:#2ca02c;stroke-width:1.6}"
           ".srv{fill:none;stroke:#17becf;stroke-width:1.2;stroke-dasharray:2 2}"
           ".limit{stroke:#d62728;stroke-width:1.2;stroke-dasharray:6 4}"
           ".rate{fill:none;stroke:#9467bd;stroke-width:1.4;stroke-dasharray:5 3}"
           ".r429{fill:#d62728;stroke:#d62728}.key{stroke-width:3}"
           "</style>",
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{left}" y="24" font-size="15" font-weight="bold">{escape(a.title)}</text>',
           f'<text x="{left}" y="42" class="tick">shaded: the workspace\'s 429 gate is closed '
           f'(Retry-After); bins of {width:g} s</text>']

    # Exact requests in flight from the event stream: +1 when an attempt is sent, -1 when
    # it ends (a retry is scheduled or the operation completes); the maximum of each bin.
    steps = [(e["t"], 1) for e in events if e["kind"] == ATTEMPT]
    steps += [(e["t"], -1) for e in events if e["kind"] == RETRY]
    steps += [(d["t"], -1) for d in done]
    steps.sort(key=lambda x: (x[0], -x[1]))
    nb = max(1, int(math.ceil(end / width)))
    peak, cur, i = [0] * nb, 0, 0
    for b in range(nb):
        peak[b] = cur
        while i < len(steps) and steps[i][0] < (b + 1) * width:
            cur += steps[i][1]
            peak[b] = max(peak[b], cur)
            i += 1
    ymax1 = max(peak + [s["cap"] for s in samples] + [1]) * 1.1
    p1 = Panel(svg, left, top, pw, ph, end, ymax1, "Requests in flight", "requests")
    p1.shade(gates)
    p1.line([(b * width, v) for b, v in enumerate(peak)], "inflight",
            "in flight (maximum per bin)", step=True)
    p1.line([(s["t"], s["cap"]) for s in samples], "cap", "adaptive cap", step=True)
    p1.draw_legend()

    rates = [(s["t"], s["rate"]) for s in samples if s["rate"] > 0]
    ymax2 = max(comp + emu_ok + [a.rate * 1.25] + [r for _, r in rates]) * 1.1
    p2 = Panel(svg, left, top + ph + gap, pw, ph, end, ymax2,
               "Completions per second", "per second")
    p2.shade(gates)
    p2.hline(a.rate, "limit", f"server limit {a.rate:g}/s (burst {a.burst:g})")
    p2.line([(i * width, v) for i, v in enumerate(comp)], "comp", "runs completed (client)",
            step=True)
    if emu_ok:
        p2.line([(i * width, v) for i, v in enumerate(emu_ok)], "srv", "2xx sent (server log)",
                step=True)
    if rates:
        p2.line(rates, "rate", "limiter's paced rate", step=True)
    p2.draw_legend()

    ymax3 = max(r429 + [1]) * 1.15
    p3 = Panel(svg, left, top + 2 * (ph + gap), pw, ph, end, ymax3,
               "429 answers per second", "per second")
    p3.shade(gates)
    p3.bars(r429, width, "r429", "429 (server log)" if emu else "429 (client)")
    p3.draw_legend()

    y = top + 3 * ph + 2 * gap
    step = nice_step(end, 10)
    t = 0.0
    while t <= end + 1e-9:
        x = p3.x(t)
        svg.append(f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 5}" stroke="#999"/>')
        svg.append(f'<text x="{x:.1f}" y="{y + 18}" class="tick" text-anchor="middle">{t:g}</text>')
        t += step
    svg.append(f'<text x="{left + pw / 2}" y="{y + 36}" class="label" text-anchor="middle">'
               "seconds since the fan-out was submitted</text>")
    svg.append("</svg>")
    with open(a.out, "w") as f:
        f.write("\n".join(svg) + "\n")

    # ---- summary
    n_ok = sum(1 for d in done if d["status"] // 100 == 2)
    n429 = sum(1 for _, s in emu if s == 429) if emu else sum(1 for e in events if e["kind"] == RETRY and e["status"] == 429)
    reqs = len(emu)
    closures = len(gates)
    paused = sum(b - a_ for a_, b in gates)
    rate_changes = [e for e in events if e["kind"] == RATE_CHANGED]
    cap_changes = [e for e in events if e["kind"] == CAP_CHANGED]
    last = done[-1]["t"] if done else end
    ideal = max(0.0, (len(done) - a.burst) / a.rate) if a.rate > 0 else 0
    out = sys.stdout
    out.write(f"- {len(done):,} runs ({n_ok:,} succeeded) in {last:.1f} s = "
              f"{len(done) / last if last else 0:.0f} runs/s against a limit of {a.rate:g}/s "
              f"(burst {a.burst:g}); the limit alone allows it in about {ideal:.1f} s.\n")
    if emu:
        out.write(f"- The server saw {reqs:,} requests: {n429:,} answered 429 "
                  f"({n429 / max(reqs, 1) * 100:.1f} %).\n")
    out.write(f"- The 429 gate closed {closures} times, {paused:.1f} s in total; the cap changed "
              f"{len(cap_changes)} times (lowest {min([e['value'] for e in cap_changes], default=float('nan')):g}); "
              f"the paced rate changed {len(rate_changes)} times")
    if rates:
        rs = [r for _, r in rates]
        out.write(f" (from {rs[0]:.1f}/s, lowest {min(rs):.1f}/s, last {rs[-1]:.1f}/s)")
    out.write(".\n")
    # completions per second over the middle of the run (after the first second)
    mid = [v for i, v in enumerate(comp) if 1.0 <= i * width < last - 1.0]
    if mid:
        out.write(f"- Steady completions: median {sorted(mid)[len(mid) // 2]:.0f}/s over "
                  f"1 s .. {last - 1:.0f} s.\n")


if __name__ == "__main__":
    main()
