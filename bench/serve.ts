/**
 * npm run bench:serve [-- --n 20000 --dim 128 --queries 2000]
 * `quiver serve --read-only` (the built CLI, in its own process) answering Qdrant's search
 * endpoint on loopback at 1, 8 and 32 concurrent clients, against the same searches made
 * in-process on a read-only handle, and raw hnswlib-node. Three clients drive it, so the
 * client's share of the overhead shows: Qdrant's own (undici fetch and its validation), a
 * minimal keep-alive node:http client, and a raw `net` client writing request bytes built before
 * the clock starts (bench/raw-client.ts). Beside quiver serve, the same clients drive the floors
 * of bench/serve-floor.ts: a bare node:http server and a bare `net` server, each with a canned
 * reply. Reports QPS, p50, p99 and the server's CPU time per query; the HTTP overhead is the p50
 * difference to in-process at one client, given for each client.
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
import { rawClient, requestBytes } from './raw-client.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const N = flag('n', 20_000);
const DIM = flag('dim', 128);
const QUERIES = flag('queries', 2_000);
const K = 10;
const WARM = 200;
const SEARCH_PATH = '/collections/bench/points/search';
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const FLOOR = fileURLToPath(new URL('./serve-floor.ts', import.meta.url));
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

interface Run {
  qps: number;
  p50: number;
  p99: number;
  /** The server process's CPU time per query in microseconds (all its threads), or NaN off Linux. */
  serverCpuUs: number;
}

/** On-CPU nanoseconds of every thread of a process, from /proc (Linux); NaN elsewhere. */
function cpuNs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    let sum = 0;
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) sum += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    return sum;
  } catch {
    return NaN;
  }
}

/** `clients` loops, each issuing its share of queries `from..to` one after another. */
async function drive(clients: number, from: number, to: number, one: (i: number, client: number) => Promise<unknown>, serverPid?: number): Promise<Run> {
  const latencies: number[] = [];
  let next = from;
  const cpu0 = cpuNs(serverPid);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = next++; i < to; i = next++) {
        const t = performance.now();
        await one(i, c);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { qps: (to - from) / seconds, p50: pct(latencies, 0.5), p99: pct(latencies, 0.99), serverCpuUs: (cpuNs(serverPid) - cpu0) / (to - from) / 1000 };
}

interface Driver {
  one: (i: number, client: number) => Promise<unknown>;
  close: () => void;
}

/**
 * The minimal client: node:http with a keep-alive Agent holding one socket per concurrent client,
 * POSTing the same JSON body Qdrant's client sends, reading the whole reply and parsing it.
 */
function minimalClient(base: string, clients: number, queries: Float32Array[]): Driver {
  const u = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const one = (i: number): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const body = JSON.stringify({ vector: Array.from(queries[i]!), limit: K, with_payload: true });
      const req = http.request({ host: u.hostname, port: u.port, path: SEARCH_PATH, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const reply = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { result?: unknown[] };
          if (res.statusCode !== 200 || !Array.isArray(reply.result)) reject(new Error(`search answered ${res.statusCode}`));
          else resolve(reply);
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  return { one, close: () => agent.destroy() };
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

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quiver-bench-serve-'));
const dbDir = path.join(dir, 'db');
try {
  const data = clustered(N, DIM, 50, 7);
  const queries = clustered(QUERIES + WARM, DIM, 50, 8);
  {
    const db = await open(dbDir, { dimension: DIM, metric: 'cosine' });
    const v = await db.createVault('bench');
    for (let i = 0; i < N; i += 2000) await v.insertMany(data.slice(i, i + 2000).map((vector, j) => ({ id: String(i + j), vector, payload: { n: i + j } })));
    await db.checkpoint();
    await db.close();
  }

  const children = {
    serve: spawn(process.execPath, [CLI, 'serve', dbDir, '--read-only', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] }),
    http: spawn(process.execPath, ['--import', 'tsx', FLOOR, 'http'], { stdio: ['ignore', 'pipe', 'inherit'] }),
    net: spawn(process.execPath, ['--import', 'tsx', FLOOR, 'net'], { stdio: ['ignore', 'pipe', 'inherit'] }),
  };
  const urls = { serve: await listening(children.serve), http: await listening(children.http), net: await listening(children.net) };
  type Server = keyof typeof urls;

  const host = new URL(urls.serve).host;
  const prepared = queries.map((q) => requestBytes(host, SEARCH_PATH, JSON.stringify({ vector: Array.from(q), limit: K, with_payload: true })));
  const clientKinds: { name: string; servers: Server[]; make: (url: string, clients: number) => Promise<Driver> }[] = [
    {
      name: "Qdrant's JS client",
      servers: ['serve', 'http'],
      make: async (url, clients) => {
        const cs = Array.from({ length: clients }, () => new QdrantClient({ url, checkCompatibility: false }));
        return { one: (i, c) => cs[c]!.search('bench', { vector: Array.from(queries[i]!), limit: K, with_payload: true }), close: () => {} };
      },
    },
    { name: 'minimal node:http client', servers: ['serve', 'http'], make: async (url, clients) => minimalClient(url, clients, queries) },
    {
      name: 'raw net client',
      servers: ['serve', 'http', 'net'],
      make: async (url, clients) => {
        const c = await rawClient(url, clients, prepared);
        return { one: (i, client) => c.send(i, client), close: c.close };
      },
    },
  ];

  const db = await open(dbDir, { readOnly: true });
  const vault = db.vault('bench');
  const raw = new hnswlib.HierarchicalNSW('cosine', DIM);
  raw.initIndex(N, 16, 200);
  data.forEach((v, i) => raw.addPoint(toArray(v), i));
  raw.setEf(64);
  const rawQueries = queries.map(toArray);

  const over: { clients: number; client: string; runs: Partial<Record<Server, Run>> }[] = [];
  const local: { clients: number; inProcess: Run; raw: Run }[] = [];
  for (const clients of [1, 8, 32]) {
    for (const kind of clientKinds) {
      const runs: Partial<Record<Server, Run>> = {};
      for (const server of kind.servers) {
        const d = await kind.make(urls[server], clients);
        await drive(clients, 0, WARM, d.one); // connections, JIT
        runs[server] = await drive(clients, WARM, WARM + QUERIES, d.one, children[server].pid);
        d.close();
      }
      over.push({ clients, client: kind.name, runs });
    }
    const inProcess = await drive(clients, WARM, WARM + QUERIES, (i) => vault.search(queries[i]!, { k: K }));
    const rawRun = await drive(clients, WARM, WARM + QUERIES, async (i) => raw.searchKnn(rawQueries[i]!, K));
    local.push({ clients, inProcess, raw: rawRun });
  }
  await db.close();
  for (const child of Object.values(children)) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }

  const f = (x: number, d = 3) => x.toFixed(d);
  const row = (r: Run | undefined) => (r ? `${f(r.qps, 0)} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.serverCpuUs, 0)}` : '- | - | - | -');
  console.log(`quiver serve --read-only, Qdrant search (k=${K}, with_payload) over loopback; ${N} x ${DIM} cosine, ${QUERIES} queries per row`);
  console.log('clients | in-process QPS | p50 ms | p99 ms | raw hnswlib QPS');
  for (const { clients, inProcess, raw } of local) console.log(`${String(clients).padStart(7)} | ${f(inProcess.qps, 0)} | ${f(inProcess.p50)} | ${f(inProcess.p99)} | ${f(raw.qps, 0)}`);
  console.log('clients | client | quiver serve QPS | p50 ms | p99 ms | server CPU us/q | bare node:http QPS | p50 ms | p99 ms | CPU us/q | bare net QPS | p50 ms | p99 ms | CPU us/q');
  for (const { clients, client, runs } of over) console.log(`${String(clients).padStart(7)} | ${client} | ${row(runs.serve)} | ${row(runs.http)} | ${row(runs.net)}`);
  const inProcess = local[0]!.inProcess.p50;
  for (const { client, runs } of over.filter((o) => o.clients === 1)) {
    const serve = runs.serve!;
    const overhead = serve.p50 - inProcess;
    const own = serve.p50 - runs.http!.p50 - inProcess;
    const net = runs.net ? `; node:http's own share (bare node:http minus bare net) ${f(runs.http!.p50 - runs.net.p50)} ms` : '';
    console.log(
      `HTTP overhead at p50, one client, ${client}: ${f(overhead)} ms per query over in-process (target <= 0.3 ms with this client: ${overhead <= 0.3 ? 'met' : 'NOT met'}); the bare node:http floor with the same client is ${f(runs.http!.p50)} ms, leaving ${f(own)} ms for quiver serve itself${net}`,
    );
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
