/**
 * npm run bench:serve [-- --n 20000 --dim 128 --queries 2000]
 * `quiver serve --read-only` (the built CLI, in its own process) answering Qdrant's search
 * endpoint to @qdrant/js-client-rest clients on loopback, at 1, 8 and 32 concurrent clients,
 * against the same searches made in-process on a read-only handle, and raw hnswlib-node.
 * Each server is driven twice: by Qdrant's client (undici fetch and its own validation), and by
 * a minimal keep-alive node:http client (one POST per query, the whole reply read and parsed), so
 * the client's share of the overhead shows. Reports QPS, p50 and p99; the HTTP overhead is the p50
 * difference to in-process at one client, given for both clients.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as http from 'node:http';
import { fileURLToPath } from 'node:url';
import { QdrantClient } from '@qdrant/js-client-rest';
import { open } from '../src/index.js';
import { clustered } from './data.js';
import { hnswlib, toArray } from './peer.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const N = flag('n', 20_000);
const DIM = flag('dim', 128);
const QUERIES = flag('queries', 2_000);
const K = 10;
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

interface Run {
  qps: number;
  p50: number;
  p99: number;
}

/** `clients` loops, each issuing its share of the queries one after another. */
async function drive(clients: number, queries: Float32Array[], one: (q: Float32Array, client: number) => Promise<unknown>): Promise<Run> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = next++; i < queries.length; i = next++) {
        const t = performance.now();
        await one(queries[i]!, c);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { qps: queries.length / seconds, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99) };
}

/**
 * The minimal client: node:http with a keep-alive Agent holding one socket per concurrent client,
 * POSTing the same JSON body Qdrant's client sends, reading the whole reply and parsing it.
 */
function minimalClient(base: string, clients: number): { search: (q: Float32Array) => Promise<unknown>; close: () => void } {
  const u = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const search = (q: Float32Array): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ vector: Array.from(q), limit: K, with_payload: true });
      const req = http.request(
        { host: u.hostname, port: u.port, path: '/collections/bench/points/search', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const reply = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result?: unknown[] };
            if (res.statusCode !== 200 || !Array.isArray(reply.result)) reject(new Error(`search answered ${res.statusCode}`));
            else resolve(reply);
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  return { search, close: () => agent.destroy() };
}

/**
 * The floor: a bare node:http server in its own process answering every request with a canned
 * 10-hit search reply, driven by the same client. What loopback HTTP, JSON and the client cost
 * on this machine with no database behind them.
 */
if (args[0] === '--floor-server') {
  const http = await import('node:http');
  const reply = JSON.stringify({ result: Array.from({ length: K }, (_, i) => ({ id: i, version: 0, score: 0.5, payload: { n: i }, vector: null })), status: 'ok', time: 0 });
  const s = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply) }).end(reply));
  });
  s.listen(0, '127.0.0.1', () => console.log(`listening on http://127.0.0.1:${(s.address() as { port: number }).port}`));
  process.once('SIGTERM', () => s.close(() => process.exit(0)));
} else {
  await main();
}

function listening(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

async function main(): Promise<void> {
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quiver-bench-serve-'));
const dbDir = path.join(dir, 'db');
try {
  const data = clustered(N, DIM, 50, 7);
  const queries = clustered(QUERIES, DIM, 50, 8);
  {
    const db = await open(dbDir, { dimension: DIM, metric: 'cosine' });
    const v = await db.createVault('bench');
    for (let i = 0; i < N; i += 2000) await v.insertMany(data.slice(i, i + 2000).map((vector, j) => ({ id: String(i + j), vector, payload: { n: i + j } })));
    await db.checkpoint();
    await db.close();
  }

  const server = spawn(process.execPath, [CLI, 'serve', dbDir, '--read-only', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await listening(server);
  const floorServer = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--floor-server'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const floorUrl = await listening(floorServer);

  const db = await open(dbDir, { readOnly: true });
  const vault = db.vault('bench');
  const raw = new hnswlib.HierarchicalNSW('cosine', DIM);
  raw.initIndex(N, 16, 200);
  data.forEach((v, i) => raw.addPoint(toArray(v), i));
  raw.setEf(64);
  const rawQueries = queries.map(toArray);

  const results: { clients: number; http: Run; floor: Run; mini: Run; miniFloor: Run; inProcess: Run; raw: Run }[] = [];
  for (const clients of [1, 8, 32]) {
    const http = Array.from({ length: clients }, () => new QdrantClient({ url, checkCompatibility: false }));
    const search = (q: Float32Array, c: number) => http[c]!.search('bench', { vector: Array.from(q), limit: K, with_payload: true });
    await drive(clients, queries.slice(0, 200), search); // warm-up: connections, JIT
    const httpRun = await drive(clients, queries, search);
    const floorClients = Array.from({ length: clients }, () => new QdrantClient({ url: floorUrl, checkCompatibility: false }));
    const floorSearch = (q: Float32Array, c: number) => floorClients[c]!.search('bench', { vector: Array.from(q), limit: K, with_payload: true });
    await drive(clients, queries.slice(0, 200), floorSearch);
    const floor = await drive(clients, queries, floorSearch);
    const mini = minimalClient(url, clients);
    await drive(clients, queries.slice(0, 200), mini.search);
    const miniRun = await drive(clients, queries, mini.search);
    mini.close();
    const miniFloorClient = minimalClient(floorUrl, clients);
    await drive(clients, queries.slice(0, 200), miniFloorClient.search);
    const miniFloor = await drive(clients, queries, miniFloorClient.search);
    miniFloorClient.close();
    const inProcess = await drive(clients, queries, (q) => vault.search(q, { k: K }));
    let r = 0;
    const rawRun = await drive(clients, queries, async () => raw.searchKnn(rawQueries[r++ % QUERIES]!, K));
    results.push({ clients, http: httpRun, floor, mini: miniRun, miniFloor, inProcess, raw: rawRun });
  }
  await db.close();
  for (const child of [server, floorServer]) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }

  const f = (x: number, d = 3) => x.toFixed(d);
  console.log(`quiver serve --read-only, Qdrant search (k=${K}, with_payload) over loopback; ${N} x ${DIM} cosine, ${QUERIES} queries per row`);
  console.log('clients | Qdrant client: serve QPS | p50 ms | p99 ms | bare node:http QPS | p50 ms | p99 ms | minimal client: serve QPS | p50 ms | p99 ms | bare node:http QPS | p50 ms | p99 ms | in-process QPS | p50 ms | p99 ms | raw hnswlib QPS');
  for (const { clients, http, floor, mini, miniFloor, inProcess, raw } of results) {
    const row = (r: Run) => `${f(r.qps, 0)} | ${f(r.p50)} | ${f(r.p99)}`;
    console.log(`${String(clients).padStart(7)} | ${row(http)} | ${row(floor)} | ${row(mini)} | ${row(miniFloor)} | ${row(inProcess)} | ${f(raw.qps, 0)}`);
  }
  const one = results[0]!;
  const verdict = (client: string, serve: Run, floorRun: Run): void => {
    const overhead = serve.p50 - one.inProcess.p50;
    const own = serve.p50 - floorRun.p50 - one.inProcess.p50;
    console.log(
      `HTTP overhead at p50, one client, measured with ${client}: ${f(overhead)} ms per query over in-process (target <= 0.3 ms with this client: ${overhead <= 0.3 ? 'met' : 'NOT met'}); the bare node:http floor with the same client is ${f(floorRun.p50)} ms, leaving ${f(own)} ms for quiver serve itself`,
    );
  };
  verdict("Qdrant's JS client", one.http, one.floor);
  verdict('the minimal keep-alive node:http client', one.mini, one.miniFloor);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
}
