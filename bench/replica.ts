/**
 * npm run bench:replica [-- --n 100000 --dim 384 --ops 600 --pairs 5 --cold 0]   (needs S3_ENDPOINT & co, as the tests)
 * 1. Shipping overhead: the same ingest (batches of 100 inserts) with and without `replicate`, in
 *    interleaved pairs (order alternating); the median of the pairs' rate ratios is the overhead.
 *    Writer CPU is this process's (its shipping thread included), and its main thread's alone (the
 *    one inserting, Linux /proc); the S3 server's (RGW_CONF set: its daemons' /proc times) is
 *    reported beside it, since on one machine it competes for the same cores.
 * 2. Replica lag: a writer inserts one record at a time at a steady pace, stamped with Date.now();
 *    a replica process refreshes in a loop and records when each record first becomes visible.
 * 3. Cold open: n x dim shipped with one checkpoint; a fresh process opens the replica from the
 *    bucket into an empty cache and answers one query.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from '../src/index.js';
import { S3Store } from '../src/object-store/s3-store.js';
import { clustered } from './data.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const SELF = fileURLToPath(import.meta.url);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;
const s3 = () => ({ endpoint: process.env.S3_ENDPOINT, region: process.env.S3_REGION ?? 'us-east-1', credentials: { accessKeyId: process.env.S3_ACCESS_KEY ?? '', secretAccessKey: process.env.S3_SECRET_KEY ?? '' } });
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'quiver-bench-replica-'));

async function freshUrl(name: string): Promise<string> {
  const url = `s3://quiver-bench/${name}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const store = await S3Store.open(url, s3());
  await store.createBucket();
  store.close();
  return url;
}

function child(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--no-warnings', '--import', 'tsx', SELF, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child ${argv[0]} exited ${code}`))));
  });
}

interface Run {
  rate: number;
  /** This process's CPU seconds for the run (the writer's own cost, whatever the server's). */
  cpu: number;
  /** The S3 server's CPU seconds over the run, when its daemons are on this host (null: unknown). */
  server: number | null;
  /** CPU seconds of this process's main thread alone, the one inserting into the graph (null: no /proc). */
  main: number | null;
}

/** CPU seconds of this process's main thread so far (Linux: its /proc task, whose id is the pid). */
function mainThreadCpu(): number | null {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** CPU seconds of the local radosgw's daemons so far: scripts/ci/start-rgw.sh's pid files beside RGW_CONF. */
function serverCpu(): number | null {
  const conf = process.env.RGW_CONF;
  if (!conf) return null;
  const run = path.join(path.dirname(conf), 'run');
  let ticks = 0;
  try {
    for (const name of fs.readdirSync(run).filter((n) => n.endsWith('.pid'))) {
      const pid = fs.readFileSync(path.join(run, name), 'utf8').trim();
      const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    }
  } catch {
    return null;
  }
  return ticks / 100; // USER_HZ
}

async function ingest(replicate: boolean, vectors: Float32Array[]): Promise<Run> {
  const dir = path.join(tmp(), 'db');
  const url = replicate ? await freshUrl('overhead') : '';
  const db = await open(dir, { dimension: vectors[0]!.length, ...(replicate ? { replicate: { url, ...s3() } } : {}) });
  await db.createVault('docs');
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const s0 = serverCpu();
  const m0 = mainThreadCpu();
  for (let i = 0; i < vectors.length; i += 100) {
    await db.batch(vectors.slice(i, i + 100).map((vector, j) => ({ op: 'insert' as const, vault: 'docs', id: `r${i + j}`, vector: Array.from(vector), payload: { i: i + j } })));
  }
  await db.settle();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const s1 = serverCpu();
  const m1 = mainThreadCpu();
  await db.close();
  fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  return { rate: vectors.length / seconds, cpu: (cpu.user + cpu.system) / 1e6, server: s0 === null || s1 === null ? null : s1 - s0, main: m0 === null || m1 === null ? null : m1 - m0 };
}

async function lagWriter(url: string, ops: number, rate: number): Promise<void> {
  const db = await open(path.join(tmp(), 'db'), { dimension: 16, replicate: { url, ...s3() } });
  const docs = await db.createVault('docs');
  await docs.insert('start', new Array(16).fill(0.5), { t: Date.now() });
  await new Promise((r) => setTimeout(r, 3000));
  for (let i = 0; i < ops; i++) {
    await docs.insert(`r${i}`, Array.from({ length: 16 }, (_, k) => Math.sin(i + k)), { t: Date.now() });
    await new Promise((r) => setTimeout(r, 1000 / rate));
  }
  await new Promise((r) => setTimeout(r, 3000));
  await db.close();
}

async function lagReader(url: string, ops: number): Promise<void> {
  let db = null;
  while (!db) db = await open(url, { readOnly: true, cacheDir: tmp(), s3: s3() }).catch(async () => (await new Promise((r) => setTimeout(r, 200)), null));
  const docs = () => db!.vault('docs');
  const lags: number[] = [];
  let next = 0;
  const end = Date.now() + 120_000;
  while (next < ops && Date.now() < end) {
    await db.refresh();
    const now = Date.now();
    while (next < ops && db.hasVault('docs') && docs().get(`r${next}`)) {
      lags.push(now - (docs().get(`r${next}`)!.payload as { t: number }).t);
      next++;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  process.stdout.write(JSON.stringify(lags));
  await db.close();
}

async function coldOpen(url: string, dim: number): Promise<void> {
  const t0 = performance.now();
  const db = await open(url, { readOnly: true, cacheDir: tmp(), s3: s3() });
  await db.vault('docs').search(Array.from({ length: dim }, (_, i) => Math.cos(i)), { k: 10 });
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, rssMb: process.memoryUsage().rss / 2 ** 20 }));
  await db.close();
}

async function main(): Promise<void> {
  if (!process.env.S3_ENDPOINT) throw new Error('bench:replica needs S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY (scripts/ci/start-rgw.sh writes them to its s3.env)');
  const mode = args[0];
  if (mode === 'lag-writer') return lagWriter(args[1]!, Number(args[2]), Number(args[3]));
  if (mode === 'lag-reader') return lagReader(args[1]!, Number(args[2]));
  if (mode === 'cold-open') return coldOpen(args[1]!, Number(args[2]));

  const n = flag('n', 100_000);
  const dim = flag('dim', 384);
  const ingestN = flag('ingest', 20_000);
  const ops = flag('ops', 600);
  const pairCount = flag('pairs', 5);
  const coldOpen_ = flag('cold', 1) !== 0;
  const rate = flag('rate', 50);
  console.log(`bench:replica against ${process.env.S3_ENDPOINT} (cold open ${n} x ${dim}, ingest ${ingestN} x ${dim}, lag ${ops} ops at ${rate}/s)`);

  // 1. overhead: interleaved pairs, the order alternating so drift in the machine's load falls on both sides.
  const vectors = clustered(ingestN, dim, 50, 1);
  const pairs: { plain: Run; shipped: Run }[] = [];
  for (let round = 0; round < pairCount; round++) {
    const first = round % 2 === 0;
    const a = await ingest(first ? false : true, vectors);
    const b = await ingest(first ? true : false, vectors);
    pairs.push(first ? { plain: a, shipped: b } : { plain: b, shipped: a });
  }
  const ratios = pairs.map((p) => p.shipped.rate / p.plain.rate);
  const cpuRatios = pairs.map((p) => p.shipped.cpu / p.plain.cpu);
  const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(3)).join(' ');
  console.log(`ingest ${ingestN} x ${dim}, batches of 100, ${pairCount} interleaved pairs: median ${median(pairs.map((p) => p.plain.rate)).toFixed(0)} rec/s plain, ${median(pairs.map((p) => p.shipped.rate)).toFixed(0)} rec/s replicating`);
  console.log(`  rate ratio replicating/plain: median ${median(ratios).toFixed(3)} (overhead ${((1 - median(ratios)) * 100).toFixed(1)}%, target <= 5%); pairs ${fmt(ratios)}`);
  console.log(`  writer CPU ratio: median ${median(cpuRatios).toFixed(3)} (+${((median(cpuRatios) - 1) * 100).toFixed(1)}%: the shipper's own cost in the writer process); pairs ${fmt(cpuRatios)}`);
  if (pairs[0]!.plain.main !== null) {
    const mainRatios = pairs.map((p) => p.shipped.main! / p.plain.main!);
    console.log(`  writer main-thread CPU ratio: median ${median(mainRatios).toFixed(3)} (+${((median(mainRatios) - 1) * 100).toFixed(1)}%: shipping's cost on the thread that inserts); pairs ${fmt(mainRatios)}`);
  }
  if (pairs[0]!.plain.server !== null) {
    const serverShipped = median(pairs.map((p) => p.shipped.server!));
    const serverPlain = median(pairs.map((p) => p.plain.server!));
    const writerExtra = median(pairs.map((p) => p.shipped.cpu - p.plain.cpu));
    console.log(`  S3 server CPU (radosgw + ceph-osd + ceph-mon, same cores): median ${serverShipped.toFixed(2)} s per replicating run (${serverPlain.toFixed(2)} s idle during a plain one), against ${writerExtra.toFixed(2)} s extra in the writer`);
  }

  // 2. lag
  const lagUrl = await freshUrl('lag');
  const [, lagsJson] = await Promise.all([child(['lag-writer', lagUrl, String(ops), String(rate)]), child(['lag-reader', lagUrl, String(ops)])]);
  const lags = (JSON.parse(lagsJson) as number[]).map((ms) => ms / 1000);
  console.log(`replica lag (replicateIntervalMs 1000, refresh loop): p50 ${pct(lags, 0.5).toFixed(2)} s, p99 ${pct(lags, 0.99).toFixed(2)} s over ${lags.length} records`);

  // 3. cold open
  if (!coldOpen_) return;
  const url = await freshUrl('cold');
  const big = clustered(n, dim, 100, 2);
  const db = await open(path.join(tmp(), 'db'), { dimension: dim, replicate: { url, ...s3() } });
  const docs = await db.createVault('docs');
  for (let i = 0; i < n; i += 1000) await docs.insertMany(big.slice(i, i + 1000).map((v, j) => ({ id: `r${i + j}`, vector: Array.from(v) })));
  await db.settle();
  await db.checkpoint();
  const until = Date.now() + 600_000;
  while (db.stats().replication!.lagLsn > 0 || db.stats().replication!.shippedLsn < db.stats().lastLsn) {
    if (Date.now() > until) throw new Error('shipping did not finish');
    await new Promise((r) => setTimeout(r, 200));
  }
  const cold: { ms: number; rssMb: number }[] = [];
  for (let i = 0; i < 3; i++) cold.push(JSON.parse(await child(['cold-open', url, String(dim)])) as { ms: number; rssMb: number });
  await db.close();
  console.log(`cold open of a ${n} x ${dim} replica from the bucket to first answer: median ${median(cold.map((c) => c.ms)).toFixed(0)} ms (runs: ${cold.map((c) => c.ms.toFixed(0)).join(', ')}), RSS ${median(cold.map((c) => c.rssMb)).toFixed(0)} MB`);
}

await main();
