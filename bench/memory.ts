// npm run bench:memory [-- --quick] [--n N] [--dim D] [--readers 1,4,8] [--rounds R] [--only speed|memory]
//
// Issue #19: readers that search their checkpoint's graph memory-mapped through the native addon
// (native/qmap.c), against raw hnswlib-node and quiverdb's fallback reader (QUIVER_NATIVE=0:
// hnswlib-node readIndex, a private copy), in the same run:
//  - the writer (bench/memory-build.ts, its own process): peak RSS, ingest rate, and per checkpoint
//    while ingesting the last tenth (at most 100k): bytes written, time, longest event-loop stall;
//  - disk bytes by kind (bench/memory-disk.ts);
//  - PSS (from /proc/<pid>/smaps_rollup, so shared pages count once) of 1, 4 and 8 reader
//    processes alive at once, and each one's time from spawn to first answer (bench/memory-procs.ts);
//  - two mapped readers answering at once against one alone: QPS and PSS;
//  - QPS and recall@10 at ef 32/64/128, interleaved in chunks, in one process (bench/memory-speed.ts).
// The database and the ground truth are cached by size under /tmp/quiver-bench-memory/n<N>-d<D>.
// Run it under the bench lock: flock /work/bench.lock npm run bench:memory -- ...
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { clusteredStream } from './data.js';
import { nativeGraphs } from '../src/native/mapped-graph.js';
import { diskByKind } from './memory-disk.js';
import { fleet, memAvailableMb, pairs, type Mode, type Setup } from './memory-procs.js';
import { speed } from './memory-speed.js';

const require = createRequire(import.meta.url);
const { BruteforceSearch } = require('hnswlib-node') as typeof import('hnswlib-node');
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
// A private-copy reader holds the graph and the vectors on its heap (about 3.3 GB at 1M x 384):
// past this size only one of each runs, so that the bench cannot exhaust a shared machine.
const PRIVATE_FLEET_MAX_N = 300_000;
const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const mb = (b: number) => (b / 2 ** 20).toFixed(1);

console.log(`bench:memory N ${N} x ${DIM} cosine, M ${M}, efConstruction ${EF_CONSTRUCTION}; native addon ${nativeGraphs() ? 'built' : 'NOT built'}; load ${loadavg()}`);
if (!nativeGraphs()) throw new Error('the native addon is not built: npm run build:native');
if (!fs.existsSync(path.join(HERE, '..', 'dist', 'index.js'))) throw new Error('dist/ is not built: npm run build');

// ---- the database (cached by size: building 1M x 384 takes most of an hour) ----
const work = path.join(os.tmpdir(), 'quiver-bench-memory', `n${N}-d${DIM}`);
const dir = path.join(work, 'db');
const buildFile = path.join(work, 'build.json');
if (!fs.existsSync(path.join(work, 'done'))) {
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  console.log(`building the database (cached in ${work}); load ${loadavg()}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(HERE, 'memory-build.ts'), dir, String(N), String(DIM), String(EF_CONSTRUCTION), buildFile], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`the build exited ${r.status}`);
  fs.writeFileSync(path.join(work, 'build-load'), loadavg());
  fs.writeFileSync(path.join(work, 'done'), '');
}
const segments = path.join(dir, 'segments');
const graphFile = path.join(segments, fs.readdirSync(segments).find((f) => f.endsWith('.hnsw'))!);
const vectorBytes = N * DIM * 4;
const idBytes = Array.from({ length: N }, (_, i) => `r${i}`.length).reduce((a, b) => a + b, 0);

// ---- queries and ground truth (cached: brute force over 1M takes minutes) ----
// The base vectors stream past into the brute-force index and are not kept.
const truthFile = path.join(work, 'truth.json');
const queriesFile = path.join(work, 'queries.bin');
const gen = clusteredStream(DIM, 64, 7);
let truth: number[][] | null = fs.existsSync(truthFile) ? (JSON.parse(fs.readFileSync(truthFile, 'utf8')) as number[][]) : null;
const brute = truth ? null : new BruteforceSearch('cosine', DIM);
brute?.initIndex(N);
for (let i = 0; i < N; i++) {
  const v = gen();
  brute?.addPoint(Array.from(v), i);
}
const queries = Array.from({ length: QUERIES }, gen);
if (!truth) {
  truth = queries.map((q) => brute!.searchKnn(Array.from(q), 10).neighbors);
  fs.writeFileSync(truthFile, JSON.stringify(truth));
}
{
  const b = Buffer.alloc(8 + queries.length * DIM * 4);
  b.writeUInt32LE(DIM, 0);
  b.writeUInt32LE(queries.length, 4);
  queries.forEach((q, i) => Buffer.from(q.buffer, q.byteOffset, q.byteLength).copy(b, 8 + i * DIM * 4));
  fs.writeFileSync(queriesFile, b);
}

// ---- the writer and the disk ----
if (fs.existsSync(buildFile)) {
  const b = JSON.parse(fs.readFileSync(buildFile, 'utf8')) as {
    ingestPerSecond: number; ingestSeconds: number; vmHwm: number; rssSampledMax: number; stallMaxWholeMs: number;
    checkpoints: { at: number; ms: number; bytesWritten: number; ioBytes: number; stallMs: number }[];
    tail: { inserted: number; insertedBytes: number; seconds: number; ioBytes: number; checkpoints: number };
  };
  const buildLoad = fs.existsSync(path.join(work, 'build-load')) ? fs.readFileSync(path.join(work, 'build-load'), 'utf8') : '?';
  const graph = fs.statSync(graphFile).size;
  console.log(`\nwriter (its own process; checkpoint at every 64 MiB of log; load at the end of the build ${buildLoad}):`);
  console.log(`  ingest ${b.ingestPerSecond.toFixed(0)} vectors/s (${b.ingestSeconds.toFixed(0)} s to durable, checkpoints included); peak RSS (VmHWM) ${mb(b.vmHwm)} MB = ${(b.vmHwm / graph).toFixed(2)}x vectors + graph (${mb(graph)} MB); sampled RSS max ${mb(b.rssSampledMax)} MB; longest event-loop stall ${b.stallMaxWholeMs.toFixed(0)} ms`);
  const tail = b.checkpoints.filter((c, i) => i < b.checkpoints.length - 1 && c.at > N - b.tail.inserted);
  if (tail.length) {
    const longest = tail.reduce((a, c) => (c.ms > a.ms ? c : a));
    const stall = Math.max(...tail.map((c) => c.stallMs));
    const perCp = tail.reduce((a, c) => a + c.ioBytes, 0) / tail.length;
    console.log(`  last ${b.tail.inserted} inserted: ${tail.length} checkpoint(s), ${mb(perCp)} MB written each on average (${tail.map((c) => mb(c.ioBytes)).join(', ')}); longest ${(longest.ms / 1000).toFixed(1)} s; longest event-loop stall during one ${stall.toFixed(0)} ms`);
  }
  console.log(`  last ${b.tail.inserted}: ${mb(b.tail.ioBytes)} MB written for ${mb(b.tail.insertedBytes)} MB inserted = ${(b.tail.ioBytes / b.tail.insertedBytes).toFixed(1)} bytes written per inserted byte (log and checkpoints)`);
} else console.log('\nwriter: no build.json in the cache (built by an older bench): delete the cache to measure the writer');
const disk = diskByKind(dir, vectorBytes, idBytes);
console.log(`\ndisk by kind (${dir}):`);
for (const l of disk.lines) console.log(l);
const vectorsPlusGraph = vectorBytes + Math.max(0, disk.graph - vectorBytes);

// ---- memory: K reader processes alive at once ----
const setup: Setup = { dir, graphFile, queriesFile, touches: Math.min(1000, 4 * QUERIES) };
if (ONLY !== 'speed') {
  console.log(`\nPSS of K readers alive at once (each: open, first answer, up to ${setup.touches} queries at ef 128; quiverdb readers then one exact search); load ${loadavg()}`);
  console.log('| readers | mode | PSS total MB | PSS anon MB | PSS file MB | RSS each MB | first answer after spawn, ms |');
  console.log('|---|---|---|---|---|---|---|');
  // Private memory grows with K, file pages are shared: that is what K readers need.
  const one = new Map<Mode, { anon: number; file: number }>();
  let onePss = 0;
  const firsts = new Map<Mode, number[]>();
  for (const mode of ['bare node', 'mapped', 'private', 'raw'] as const) {
    for (const k of mode === 'raw' ? [1] : READERS) {
      if (mode !== 'mapped' && mode !== 'bare node' && k > 1 && N > PRIVATE_FLEET_MAX_N) continue;
      const o = one.get(mode) ?? { anon: (2.5 * disk.graph) / 2 ** 20, file: 0 };
      const need = k * o.anon + o.file;
      if (need > memAvailableMb() - 2048) {
        console.log(`| ${k} | ${mode} | skipped: needs about ${need.toFixed(0)} MB, ${memAvailableMb().toFixed(0)} MB available | | | | |`);
        continue;
      }
      const f = await fleet(mode, k, setup);
      if (k === 1) one.set(mode, { anon: f.anon, file: f.file });
      if (k === 1) firsts.set(mode, []);
      firsts.get(mode)?.push(...f.firsts);
      console.log(f.row);
      if (k === 1 && mode === 'mapped') onePss = f.pss;
      if (mode === 'mapped' && onePss) console.log(`|   | ${k} mapped ÷ 1 mapped | ${(f.pss / onePss).toFixed(2)}x | | | | |`);
    }
  }
  if (onePss) console.log(`one mapped reader's PSS ÷ (vectors + graph links, ${mb(vectorsPlusGraph)} MB) = ${((onePss * 2 ** 20) / vectorsPlusGraph).toFixed(2)}x (target <= 1.2x)`);
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const m = firsts.get('mapped');
  const r = firsts.get('raw');
  if (m?.length && r?.length) console.log(`open to first answer, median over the runs above: mapped ${median(m)} ms, raw hnswlib-node ${median(r)} ms (${(median(m) / median(r)).toFixed(2)}x)`);
  console.log(`load after: ${loadavg()}`);

  const PAIR_QUERIES = quick ? 500 : 4000;
  console.log(`\ntwo mapped readers answering at once (each ${PAIR_QUERIES} queries at ef 64) against one alone, alternated; load ${loadavg()}`);
  const got = await pairs(setup, PAIR_QUERIES, 64, quick ? 2 : 4);
  const avg = (k: number, key: 'qps' | 'pss') => got.filter((g) => g.k === k).reduce((a, g) => a + g[key], 0) / got.filter((g) => g.k === k).length;
  console.log(`  runs: ${got.map((g) => `${g.k}: ${g.qps.toFixed(0)} QPS, ${g.pss.toFixed(0)} MB`).join('; ')}`);
  console.log(`  combined QPS ${avg(2, 'qps').toFixed(0)} ÷ one ${avg(1, 'qps').toFixed(0)} = ${(avg(2, 'qps') / avg(1, 'qps')).toFixed(2)}x (target >= 1.8x); PSS ${avg(2, 'pss').toFixed(0)} ÷ ${avg(1, 'pss').toFixed(0)} MB = ${(avg(2, 'pss') / avg(1, 'pss')).toFixed(2)}x (target <= 1.3x); load after ${loadavg()}`);
}

// Memory first: PSS splits a shared page among every process mapping it, and the speed phase
// leaves this process mapping the graph until garbage collection, which would halve the readers'
// file pages.
if (ONLY !== 'memory') {
  await speed(dir, graphFile, DIM, queries, truth, ROUNDS, N <= PRIVATE_FLEET_MAX_N);
}
