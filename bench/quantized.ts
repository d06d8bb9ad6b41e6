// npm run bench:quantized -- --db <dir> [--queries 200] [--rounds 3] [--touch 2000]
//
// Issue #19, "beyond RAM": a database with index quantization 'int8' (FORMAT.md "Graph codes")
// against the same database searched on its float32 graph, in the same run:
//  - recall@10 against exact ground truth, and QPS, at ef 32 / 64 / 128: both read-only handles
//    open in this process, searched in alternating blocks (QUIVER_CODES=0 opens the float32 one);
//  - memory: a fresh reader process for each (and a bare node), answering --touch queries at
//    ef 128, then PSS from /proc/<pid>/smaps_rollup and the resident bytes of each mapped file;
//    per vector, against the target of D + 64 bytes plus graph links.
// The database is one `bench:checkpoint --build N` made (clusteredStream(384, 64, 7), ids r<i>):
// the queries are the generator's next vectors, held out. A database without codes is turned
// quantized in place first (a writer opened with quantization 'int8', one checkpoint: its kept
// graph gets its codes). Ground truth is cached beside the database (<db>.truth-<Q>.json).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { clusteredStream } from './data.js';
import { open } from '../src/index.js';
import { decodeManifest } from '../src/segments/manifest.js';

const require = createRequire(import.meta.url);
const { BruteforceSearch } = require('hnswlib-node') as typeof import('hnswlib-node');
const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const dir = path.resolve(flag('db', ''));
const QUERIES = Number(flag('queries', '200'));
const ROUNDS = Number(flag('rounds', '3'));
const TOUCH = Number(flag('touch', '2000'));
const DIM = 384;
const mb = (b: number) => (b / 2 ** 20).toFixed(1);
const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
if (!fs.existsSync(path.join(dir, 'IDENTITY'))) throw new Error('--db <dir>: a database bench:checkpoint --build made');
if (!fs.existsSync(path.join(HERE, '..', 'dist', 'index.js'))) throw new Error('dist/ is not built: npm run build');

const manifest = () => decodeManifest(fs.readFileSync(path.join(dir, 'quiver.manifest'))).vaults[0]!;
let entry = manifest();
const graphFile = path.join(dir, entry.graph!.path);
const header = Buffer.alloc(96);
{
  const fd = fs.openSync(graphFile, 'r');
  fs.readSync(fd, header, 0, 96, 0);
  fs.closeSync(fd);
}
const N = Number(header.readBigUInt64LE(16));
const per = Number(header.readBigUInt64LE(24));
const links0 = Number(header.readBigUInt64LE(40));
const upperBytes = entry.graph!.bytes - 96 - N * per;
console.log(`bench:quantized ${dir}: ${N} x ${DIM} cosine; ${QUERIES} held-out queries, ${ROUNDS} rounds; load ${loadavg()}`);

// ---- queries and exact ground truth (cached) ----
const gen = clusteredStream(DIM, 64, 7);
const truthFile = `${dir}.truth-${QUERIES}.json`;
let truth: string[][] | null = fs.existsSync(truthFile) ? (JSON.parse(fs.readFileSync(truthFile, 'utf8')) as string[][]) : null;
const brute = truth ? null : new BruteforceSearch('cosine', DIM);
brute?.initIndex(N);
const t0 = performance.now();
for (let i = 0; i < N; i++) {
  const v = gen();
  brute?.addPoint(Array.from(v), i);
}
const queries = Array.from({ length: QUERIES }, gen);
if (!truth) {
  truth = queries.map((q) => brute!.searchKnn(Array.from(q), 10).neighbors.map((i) => `r${i}`));
  fs.writeFileSync(truthFile, JSON.stringify(truth));
  console.log(`ground truth by brute force: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
const queriesFile = `${dir}.queries-${QUERIES}.bin`;
{
  const b = Buffer.alloc(8 + QUERIES * DIM * 4);
  b.writeUInt32LE(DIM, 0);
  b.writeUInt32LE(QUERIES, 4);
  queries.forEach((q, i) => Buffer.from(q.buffer, q.byteOffset, q.byteLength).copy(b, 8 + i * DIM * 4));
  fs.writeFileSync(queriesFile, b);
}

// ---- the codes ----
if (!entry.codes) {
  const t = performance.now();
  const db = await open(dir, { index: { type: 'hnsw', quantization: 'int8' } });
  const r = await db.checkpoint();
  await db.close();
  entry = manifest();
  console.log(`turned quantized in place: one checkpoint, ${((performance.now() - t) / 1000).toFixed(1)} s, ${mb(r.bytesWritten)} MB written`);
}
const codesBytes = entry.codes!.bytes;
console.log(`disk: graph ${mb(entry.graph!.bytes)} MB (level-0 ${per} B a vector: links ${links0}, vector ${4 * DIM}, label 8; upper levels ${mb(upperBytes)} MB), codes ${mb(codesBytes)} MB (${(codesBytes / N).toFixed(1)} B a vector)`);

// ---- speed and recall, both handles in this process, alternating blocks ----
async function reader(codes: boolean) {
  process.env.QUIVER_CODES = codes ? '1' : '0';
  const db = await open(dir, { readOnly: true });
  if ((db.stats().vaults[0]!.index.quantized === true) !== codes) throw new Error(`the ${codes ? 'int8' : 'float32'} reader did not open as asked`);
  return db;
}
// Both measured warm: the graph and the codes read once into the page cache first (this machine
// drops its page cache between runs), and a first round of every cell not counted.
for (const file of [graphFile, path.join(dir, entry.codes!.path)]) {
  const fd = fs.openSync(file, 'r');
  const chunk = Buffer.allocUnsafe(8 << 20);
  for (let at = 0; fs.readSync(fd, chunk, 0, chunk.byteLength, at) > 0; at += chunk.byteLength);
  fs.closeSync(fd);
}
const handles = { float32: await reader(false), int8: await reader(true) };
const rows: Record<string, { hits: number; ms: number }> = {};
for (let round = -1; round < ROUNDS; round++) {
  for (const ef of [32, 64, 128]) {
    const order = (round + ef) % 2 === 0 ? (['float32', 'int8'] as const) : (['int8', 'float32'] as const);
    for (const mode of order) {
      const v = handles[mode].vault('v');
      const key = `${mode} ${ef}`;
      const t = performance.now();
      const got = [];
      for (const q of queries) got.push(await v.search(q, { k: 10, ef }));
      if (round < 0) continue;
      const row = (rows[key] ??= { hits: 0, ms: 0 });
      row.ms += performance.now() - t;
      got.forEach((hits, i) => (row.hits += hits.filter((h) => truth![i]!.includes(h.id)).length));
    }
  }
}
await handles.float32.close();
await handles.int8.close();
console.log(`\nrecall@10 and QPS, in this process, warm (${ROUNDS} rounds x ${QUERIES} queries a cell, after one uncounted); load ${loadavg()}`);
console.log('| ef | recall float32 | recall int8 | int8 - float32 | QPS float32 | QPS int8 | int8 ÷ float32 |');
console.log('|---|---|---|---|---|---|---|');
for (const ef of [32, 64, 128]) {
  const f = rows[`float32 ${ef}`]!;
  const q = rows[`int8 ${ef}`]!;
  const recall = (r: { hits: number }) => r.hits / (10 * QUERIES * ROUNDS);
  const qps = (r: { ms: number }) => (QUERIES * ROUNDS) / (r.ms / 1000);
  console.log(`| ${ef} | ${recall(f).toFixed(4)} | ${recall(q).toFixed(4)} | ${(recall(q) - recall(f)).toFixed(4)} | ${qps(f).toFixed(0)} | ${qps(q).toFixed(0)} | ${(qps(q) / qps(f)).toFixed(2)}x |`);
}

// ---- memory: one fresh reader process at a time ----
interface Report { first: number; qps: number; rollup: Record<string, number>; files: Record<string, { rss: number; pss: number }>; quantized: boolean }
function child(codes: boolean | null): Promise<Report> {
  const script = codes === null ? ['-e', "const fs=require('fs');const r={};for(const l of fs.readFileSync('/proc/self/smaps_rollup','utf8').split('\\n')){const m=/^(\\w+):\\s+(\\d+) kB/.exec(l);if(m)r[m[1]]=Number(m[2])*1024}console.log(JSON.stringify({first:0,qps:0,rollup:r,files:{},quantized:false}))"] : [path.join(HERE, 'quantized-reader.mjs'), dir, queriesFile, String(Date.now()), String(TOUCH), '128'];
  const proc = spawn(process.execPath, script, { env: { ...process.env, QUIVER_CODES: codes ? '1' : '0' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => proc.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Report) : reject(new Error(`reader exited ${code}`)))));
}
const bare = await child(null);
console.log(`\none fresh reader process each, ${TOUCH} queries at ef 128 after its first answer; load ${loadavg()}`);
console.log('| reader | first answer after spawn, ms | QPS | PSS MB | PSS anon MB | PSS file MB | codes resident MB | graph resident MB | PSS ÷ vector, B (net of bare node) | index resident ÷ vector, B |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
const budget = DIM + 64 + links0 + upperBytes / N;
for (const codes of [true, false]) {
  const r = await child(codes);
  if (r.quantized !== codes) throw new Error('a reader did not open as asked');
  const q8 = r.files['vault.hnsw.q8']?.rss ?? 0;
  const graph = r.files['vault.hnsw']?.rss ?? 0;
  const net = r.rollup.Pss! - bare.rollup.Pss!;
  console.log(`| ${codes ? 'int8' : 'float32'} | ${r.first} | ${r.qps.toFixed(0)} | ${mb(r.rollup.Pss!)} | ${mb(r.rollup.Pss_Anon!)} | ${mb(r.rollup.Pss_File!)} | ${mb(q8)} | ${mb(graph)} | ${(net / N).toFixed(0)} | ${((q8 + graph) / N).toFixed(0)} |`);
}
console.log(`bare node: PSS ${mb(bare.rollup.Pss!)} MB. Target (#19): at most D + 64 bytes a vector plus graph links = ${DIM} + 64 + ${links0} + ${(upperBytes / N).toFixed(1)} (upper levels) = ${budget.toFixed(0)} B a vector; load ${loadavg()}`);
