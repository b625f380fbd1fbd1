// Fan-out with Node.js http.request on a keep-alive Agent (maxSockets = cap): N run
// creations, `cap` in flight, each reply collected and parsed with JSON.parse.
// Prints one JSON line like the C clients.
//   node node_http.mjs --url http://127.0.0.1:PORT --n 20000 --cap 64
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const arg = (name, def) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : def;
};
const base = new URL(arg('--url'));
const n = Number(arg('--n', 20000));
const cap = Number(arg('--cap', 64));
const path = '/api/v1/agents/11111111-1111-4111-8111-111111111111/run';
const body = JSON.stringify({ query: 'Summarise this document' });
const agent = new http.Agent({ keepAlive: true, maxSockets: cap });
const options = {
  agent, host: base.hostname, port: base.port, path, method: 'POST',
  headers: { Authorization: 'Bearer test-key', 'Content-Type': 'application/json',
             Accept: 'application/json', 'Content-Length': Buffer.byteLength(body) },
};

function post() {
  return new Promise((resolve) => {
    const req = http.request(options, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        try {
          const j = JSON.parse(Buffer.concat(chunks).toString());
          resolve(res.statusCode === 200 && !!j.task_id);
        } catch (e) { resolve(false); }
      });
      res.on('error', () => resolve(false));
    });
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

let remaining = n, ok = 0, failed = 0;
async function worker() {
  while (remaining > 0) {
    remaining--;
    if (await post()) ok++; else failed++;
  }
}

const c0 = process.cpuUsage(), t0 = performance.now();
await Promise.all(Array.from({ length: Math.min(cap, n) }, worker));
const secs = (performance.now() - t0) / 1000;
const c = process.cpuUsage(c0);
agent.destroy();
console.log(JSON.stringify({ client: 'node_http', n, cap, ok, failed, secs,
  rps: n / secs, cpu_us: (c.user + c.system) / n, maxrss_kb: process.resourceUsage().maxRSS }));
