// npm run bench:memory [-- --quick] [--n N] [--dim D] [--readers 1,4,8] [--rounds R] [--only speed|memory]
//
// Issue #19, step 1: readers that search their checkpoint's graph memory-mapped through the native
// addon (native/qmap.c), against raw hnswlib-node and against quiverdb's own fallback reader
// (QUIVER_NATIVE=0: hnswlib-node readIndex, a private copy), in the same run:
//  - QPS and recall@10 at ef 32/64/128, interleaved in chunks, in one process;
//  - PSS (from /proc/<pid>/smaps_rollup, so shared pages count once) of 1, 4 and 8 reader
//    processes alive at once, and each one's time from spawn to first answer.
// Run it under the bench lock: flock /work/bench.lock npm run bench:memory -- ...
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { clustered } from './data.js';
import { open } from '../src/index.js';
import { MappedGraph, nativeGraphs } from '../src/native/mapped-graph.js';

const require = createRequire(import.meta.url);
const { HierarchicalNSW, BruteforceSearch } = require('hnswlib-node') as typeof import('hnswlib-node');
const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const quick = args.includes('--quick');
const N = Number(flag('n', quick ? '5000' : '100000'));
const DIM = Number(flag('dim', quick ? '64' : '384'));
const READERS = flag('readers', quick ? '1,2' : '1,4,8').split(',').map(Number);
const ROUNDS = Number(flag('rounds', quick ? '1' : '3'));
const QUERIES = quick ? 100 : 500;
const ONLY = flag('only', 'both');
const M = 16;
const EF_CONSTRUCTION = quick ? 100 : 200;
const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

console.log(`bench:memory N ${N} x ${DIM} cosine, M ${M}, efConstruction ${EF_CONSTRUCTION}; native addon ${nativeGraphs() ? 'built' : 'NOT built'}; load ${loadavg()}`);
if (!nativeGraphs()) throw new Error('the native addon is not built: npm run build:native');
if (!fs.existsSync(path.join(HERE, '..', 'dist', 'index.js'))) throw new Error('dist/ is not built: npm run build');

// ---- the database (cached by size: building 100k x 384 takes minutes) ----
const work = path.join(os.tmpdir(), 'quiver-bench-memory', `n${N}-d${DIM}`);
const dir = path.join(work, 'db');
const all = clustered(N + QUERIES, DIM, 64, 7);
const base = all.slice(0, N);
const queries = all.slice(N);
if (!fs.existsSync(path.join(work, 'done'))) {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const t = performance.now();
  const db = await open(dir, { dimension: DIM, index: { type: 'hnsw', M, efConstruction: EF_CONSTRUCTION } });
  const v = await db.createVault('v');
  for (let i = 0; i < N; i += 2000) await v.insertMany(base.slice(i, i + 2000).map((vector, j) => ({ id: `r${i + j}`, vector })));
  await db.settle();
  await db.checkpoint();
  await db.close();
  fs.writeFileSync(path.join(work, 'done'), '');
  console.log(`built the database in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}
const segments = path.join(dir, 'segments');
const graphFile = path.join(segments, fs.readdirSync(segments).find((f) => f.endsWith('.hnsw'))!);
const segmentFile = path.join(segments, fs.readdirSync(segments).find((f) => f.endsWith('.segment'))!);
const mb = (b: number) => (b / 2 ** 20).toFixed(1);
console.log(`graph ${mb(fs.statSync(graphFile).size)} MB, segment ${mb(fs.statSync(segmentFile).size)} MB, raw vectors ${mb(N * DIM * 4)} MB`);

// ---- ground truth ----
const truth: number[][] = [];
{
  const brute = new BruteforceSearch('cosine', DIM);
  brute.initIndex(N);
  for (let i = 0; i < N; i++) brute.addPoint(Array.from(base[i]!), i);
  for (const q of queries) truth.push(brute.searchKnn(Array.from(q), 10).neighbors);
}

// ---- speed: one process, every engine over the same graph file ----
// Memory first: PSS splits a shared page among every process mapping it, and the speed phase
// leaves this process mapping the graph until garbage collection, which would halve the readers'
// file pages.
if (ONLY !== 'speed') await memory();
if (ONLY !== 'memory') await speed();

async function speed(): Promise<void> {
type Engine = { name: string; search: (q: Float32Array, ef: number) => Promise<number[]> | number[] };
const raw = new HierarchicalNSW('cosine', DIM);
await raw.readIndex(graphFile);
let rawEf = -1;
const label = (id: string) => Number(id.slice(1));
delete process.env.QUIVER_NATIVE;
const mappedDb = await open(dir, { readOnly: true });
process.env.QUIVER_NATIVE = '0';
const plainDb = await open(dir, { readOnly: true });
delete process.env.QUIVER_NATIVE;
if (mappedDb.stats().vaults[0]!.index.mapped !== true) throw new Error('the mapped reader did not map its graph');
const bare = MappedGraph.open(graphFile, path.basename(graphFile), 'cosine', DIM);
const engines: Engine[] = [
  {
    name: 'raw hnswlib-node (private copy)',
    search: (q, ef) => {
      if (ef !== rawEf) raw.setEf((rawEf = ef));
      const a = new Array<number>(q.length);
      for (let i = 0; i < q.length; i++) a[i] = q[i]!;
      return raw.searchKnn(a, 10).neighbors;
    },
  },
  {
    // The addon alone on the same file: the search without quiverdb's hits, records and planner.
    name: 'native addon alone (MappedGraph.search)',
    search: (q, ef) => bare.search(q, 10, ef, null, null, null).map((h) => h.label),
  },
  { name: 'quiverdb reader, mapped (native)', search: async (q, ef) => (await mappedDb.vault('v').search(q, { k: 10, ef })).map((h) => label(h.id)) },
  { name: 'quiverdb reader, QUIVER_NATIVE=0', search: async (q, ef) => (await plainDb.vault('v').search(q, { k: 10, ef })).map((h) => label(h.id)) },
];
const recall = (got: number[][]) => got.reduce((s, g, i) => s + g.filter((l) => truth[i]!.includes(l)).length, 0) / (10 * got.length);
const CHUNK = 50;
console.log(`\nQPS, interleaved in chunks of ${CHUNK} queries, order rotated, ${ROUNDS} round(s) after an untimed warm-up; load ${loadavg()}`);
console.log('| engine | ef 32 QPS (x raw) | ef 64 QPS (x raw) | ef 128 QPS (x raw) | recall@10 32 / 64 / 128 |');
console.log('|---|---|---|---|---|');
const rows = engines.map(() => ({ qps: [] as number[], recall: [] as number[] }));
for (const ef of [32, 64, 128]) {
  for (const e of engines) for (const q of queries) await e.search(q, ef); // warm-up
  const time = engines.map(() => 0);
  const answers = engines.map(() => new Array<number[]>(queries.length));
  let turn = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (let from = 0; from < queries.length; from += CHUNK, turn++) {
      for (let j = 0; j < engines.length; j++) {
        const e = (j + turn) % engines.length;
        const t = performance.now();
        for (let i = from; i < Math.min(from + CHUNK, queries.length); i++) answers[e]![i] = await engines[e]!.search(queries[i]!, ef);
        time[e]! += performance.now() - t;
      }
    }
  }
  engines.forEach((_, e) => {
    rows[e]!.qps.push((ROUNDS * queries.length) / (time[e]! / 1000));
    rows[e]!.recall.push(recall(answers[e]!));
  });
}
engines.forEach((e, i) => {
  const cells = rows[i]!.qps.map((q, j) => `${q.toFixed(0)} (${(q / rows[0]!.qps[j]!).toFixed(2)})`);
  console.log(`| ${e.name} | ${cells.join(' | ')} | ${rows[i]!.recall.map((r) => r.toFixed(3)).join(' / ')} |`);
});
console.log(`load after: ${loadavg()}`);
await mappedDb.close();
await plainDb.close();
}

// ---- memory: K reader processes alive at once ----
async function memory(): Promise<void> {
const queriesFile = path.join(work, 'queries.bin');
{
  const b = Buffer.alloc(8 + queries.length * DIM * 4);
  b.writeUInt32LE(DIM, 0);
  b.writeUInt32LE(queries.length, 4);
  queries.forEach((q, i) => Buffer.from(q.buffer, q.byteOffset, q.byteLength).copy(b, 8 + i * DIM * 4));
  fs.writeFileSync(queriesFile, b);
}
function rollup(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').split('\n')) {
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) / 1024;
  }
  return out;
}
async function readers(mode: 'mapped' | 'hnswlib' | 'bare node', k: number): Promise<string> {
  const kids = [];
  const reports: Promise<{ pid: number; first: { sinceSpawn: number; sinceScript: number }; mapped: boolean }>[] = [];
  for (let i = 0; i < k; i++) {
    const env = { ...process.env, ...(mode === 'hnswlib' ? { QUIVER_NATIVE: '0' } : {}) };
    const argv = mode === 'bare node' ? ['-e', 'process.stdout.write(JSON.stringify({pid:process.pid,first:{sinceSpawn:0,sinceScript:0},mapped:false})+"\\n");process.stdin.resume()'] : [path.join(HERE, 'memory-reader.mjs'), dir, queriesFile, String(Date.now()), String(Math.min(1000, 4 * queries.length))];
    const p = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'], env });
    kids.push(p);
    reports.push(
      new Promise((resolve, reject) => {
        let b = '';
        p.stdout.on('data', (d) => {
          b += d;
          if (b.includes('\n')) resolve(JSON.parse(b));
        });
        p.on('exit', (code) => reject(new Error(`reader exited ${code}`)));
      }),
    );
  }
  const got = await Promise.all(reports);
  const r = got.map((g) => rollup(g.pid));
  const sum = (key: string) => r.reduce((a, x) => a + (x[key] ?? 0), 0);
  for (const p of kids) p.stdin.end();
  await Promise.all(kids.map((p) => new Promise((resolve) => p.on('exit', resolve))));
  if (mode === 'mapped' && !got.every((g) => g.mapped)) throw new Error('a mapped reader did not map');
  const firsts = got.map((g) => g.first.sinceSpawn).sort((a, b) => a - b);
  return `| ${k} | ${mode} | ${sum('Pss').toFixed(1)} | ${sum('Pss_Anon').toFixed(1)} | ${sum('Pss_File').toFixed(1)} | ${(sum('Rss') / k).toFixed(1)} | ${mode === 'bare node' ? '-' : `${firsts[0]}-${firsts.at(-1)}`} |`;
}
console.log(`\nPSS of K readers alive at once (each: open, first answer, up to 1000 queries at ef 128, one exact search); load ${loadavg()}`);
console.log('| readers | mode | PSS total MB | PSS anon MB | PSS file MB | RSS each MB | first answer after spawn, ms |');
console.log('|---|---|---|---|---|---|---|');
for (const mode of ['bare node', 'mapped', 'hnswlib'] as const) for (const k of READERS) console.log(await readers(mode, k));
console.log(`load after: ${loadavg()}`);
}
