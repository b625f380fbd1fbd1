// Fan-out with Node.js global fetch (undici, keep-alive by default): N run creations,
// `cap` in flight (a pool of `cap` async workers), each reply parsed with res.json().
// Prints one JSON line like the C clients.
//   node node_fetch.mjs --url http://127.0.0.1:PORT --n 20000 --cap 64
import { performance } from 'node:perf_hooks';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const base = arg('--url');
const n = Number(arg('--n', 20000));
const cap = Number(arg('--cap', 64));
const url = `${base}/api/v1/agents/11111111-1111-4111-8111-111111111111/run`;
const body = JSON.stringify({ query: 'Summarise this document' });
const headers = { Authorization: 'Bearer test-key', 'Content-Type': 'application/json',
                  Accept: 'application/json' };

let remaining = n, ok = 0, failed = 0;
async function worker() {
  while (remaining > 0) {
    remaining--;
    try {
      const r = await fetch(url, { method: 'POST', headers, body });
      const j = await r.json();
      if (r.status === 200 && j.task_id) { ok++; continue; }
    } catch (e) { /* counted, never retried */ }
    failed++;
  }
}

const c0 = process.cpuUsage(), t0 = performance.now();
await Promise.all(Array.from({ length: Math.min(cap, n) }, worker));
const secs = (performance.now() - t0) / 1000;
const c = process.cpuUsage(c0);
console.log(JSON.stringify({ client: 'node_fetch', n, cap, ok, failed, secs,
  rps: n / secs, cpu_us: (c.user + c.system) / n, maxrss_kb: process.resourceUsage().maxRSS }));
