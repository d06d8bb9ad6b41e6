/**
 * npm run bench:everyday [-- --n 100000 --dim 64]
 * The everyday API at 100k records, each figure beside a peer measured in the same run:
 *  - count(filter) and eraseWhere on an indexed field (target: at most 2 ms per 1% of matches),
 *    against the same calls on an unindexed copy (a flat-index database: every payload read),
 *  - scan of every record in pages of 1,000 (target: at least 200k records/s), against ids()
 *    plus get() of each,
 *  - patchWhere touching 10% (target: under 2 s, acknowledged without rebuilding the graph),
 *    against rewriting another 10% with insertMany (the vector sent again, the graph updated).
 * Each write is timed as a caller sees it: from the call to its promise resolving, i.e. logged,
 * applied and acknowledged in the default durability ('standard'); eraseWhere also shows the
 * process CPU time of the same calls.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { open, type Filter, type RecordInput } from '../src/index.js';
import { seededRandom } from '../src/util/random.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = arg('n', 100_000);
const DIM = arg('dim', 64);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
/** Median and best of several runs: on a shared machine the best is the cost, the median the experience. */
const both = (xs: number[], digits: number) => `median ${median(xs).toFixed(digits)} ms, best ${Math.min(...xs).toFixed(digits)} ms`;
const time = async (fn: () => unknown): Promise<number> => {
  const t = performance.now();
  await fn();
  return performance.now() - t;
};
/**
 * The process's CPU time (all threads: the collector's helpers too) over a call. On a loaded
 * machine the wall time of a millisecond call includes the time the scheduler gave other
 * processes; this shows what the call itself cost beside it.
 */
const cpuOf = async (fn: () => unknown): Promise<number> => {
  const c = process.cpuUsage();
  await fn();
  const u = process.cpuUsage(c);
  return (u.user + u.system) / 1000;
};
/** `runs` timings of fn, one after another. */
const times = async (runs: number, fn: (i: number) => unknown): Promise<number[]> => {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) out.push(await time(() => fn(i)));
  return out;
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quiver-bench-everyday-'));
try {
  const r = seededRandom(7);
  const db = await open(path.join(dir, 'db'), { dimension: DIM, durability: 'standard' });
  const v = await db.createVault('v');
  // The peer: the same records without payload indexes (and without a graph, which these calls never use).
  const peerDb = await open(path.join(dir, 'peer'), { dimension: DIM, durability: 'standard', index: 'flat' });
  const plain = await peerDb.createVault('plain');
  // bucket: 100 values of 1% each; decile: 10 values of 10% each.
  const record = (i: number) => ({ id: `r${String(i).padStart(7, '0')}`, vector: Float32Array.from({ length: DIM }, () => r() * 2 - 1), payload: { bucket: `b${i % 100}`, decile: i % 10, n: i, note: 'some text' } });
  const t0 = performance.now();
  for (let i = 0; i < N; i += 5000) {
    const chunk = Array.from({ length: Math.min(5000, N - i) }, (_, j) => record(i + j));
    await v.insertMany(chunk);
    await plain.insertMany(chunk);
  }
  await db.settle();
  await v.createIndex('bucket');
  await v.createIndex('decile');
  // A steady state: the load folded into segments (no auto-checkpoint fires during the
  // measurements), and the collector past the garbage of loading.
  await db.checkpoint();
  await peerDb.checkpoint();
  for (let b = 60; b < 66; b++) await v.eraseWhere({ bucket: `b${b}` });
  for (let b = 60; b < 66; b++) await plain.eraseWhere({ bucket: `b${b}` });
  await v.patchWhere({ bucket: 'b70' }, { set: { warm: true } });
  v.count({ bucket: 'b71' });
  console.log(`load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  console.log(`${N} records x ${DIM} dims (HNSW, indexes on bucket and decile; the peer: a flat copy without indexes), loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s; ${os.cpus()[0]?.model}, ${os.cpus().length} cores`);
  const rows: [string, string, string, string][] = [];

  // count(filter): 1%, 5%, 10% of the vault.
  const filters: [string, Filter][] = [['1%', { bucket: 'b3' }], ['5%', { bucket: { $in: ['b10', 'b11', 'b12', 'b13', 'b14'] } }], ['10%', { decile: 4 }]];
  for (const [share, filter] of filters) {
    await times(5, () => v.count(filter));
    const runs = await times(21, () => v.count(filter));
    const indexed = median(runs);
    const scanned = median(await times(5, () => plain.count(filter)));
    const pct = Number(share.slice(0, -1));
    rows.push([`count(filter) matching ${share}, indexed`, `${both(runs, 3)} (${(indexed / pct).toFixed(3)} ms per 1%)`, `${scanned.toFixed(2)} ms without index`, `${(scanned / indexed).toFixed(0)}x`]);
  }

  // scan in pages of 1,000.
  const scanMs = await time(() => {
    for (let p = v.scan({ limit: 1000 }); ; p = v.scan({ limit: 1000, after: p.next })) if (!p.next) break;
  });
  const peerMs = await time(() => {
    for (const id of v.ids()) v.get(id);
  });
  rows.push([`scan ${N} in pages of 1,000`, `${((N / scanMs) * 1000 / 1000).toFixed(0)}k records/s (${scanMs.toFixed(0)} ms)`, `ids() + get(): ${((N / peerMs) * 1000 / 1000).toFixed(0)}k/s`, `${(peerMs / scanMs).toFixed(2)}x`]);

  // patchWhere over 10% (decile 7), then the settle it leaves behind (the graph's queue: none).
  const patchMs = await time(() => v.patchWhere({ decile: 7 }, { set: { 'meta.seen': true, note: 'patched' } }));
  const settleMs = await time(() => db.settle());
  // The peer: the same change to another 10% (decile 8) by sending each record again.
  const tenth: RecordInput[] = v.scan({ filter: { decile: 8 }, limit: 10_000, withVectors: true }).records.map((rec) => ({ id: rec.id, vector: rec.vector!, payload: { ...rec.payload!, meta: { seen: true }, note: 'patched' } }));
  const rewriteMs = await time(() => v.insertMany(tenth));
  const rewriteSettle = await time(() => db.settle());
  rows.push([`patchWhere 10% (${N / 10} records)`, `${patchMs.toFixed(0)} ms; settle after it ${settleMs.toFixed(1)} ms (graph untouched)`, `insertMany of another 10%: ${rewriteMs.toFixed(0)} ms + settle ${rewriteSettle.toFixed(0)} ms`, `${((rewriteMs + rewriteSettle) / (patchMs + settleMs)).toFixed(1)}x`]);

  // eraseWhere: 1% buckets, one at a time (each a different bucket), and a 10% decile.
  // The graph's deletion marks are deferred (made before its next search, or in the background):
  // each erase is timed alone, then the settle that makes its marks, so both costs show.
  const eraseRuns: number[] = [];
  const eraseCpu: number[] = [];
  const markRuns: number[] = [];
  for (let i = 0; i < 9; i++) {
    let wall = 0;
    eraseCpu.push(await cpuOf(async () => (wall = await time(() => v.eraseWhere({ bucket: `b${50 + i}` })))));
    eraseRuns.push(wall);
    markRuns.push(await time(() => db.settle()));
  }
  const erase1 = median(eraseRuns);
  const eraseScan = median(await times(3, (i) => plain.eraseWhere({ bucket: `b${50 + i}` })));
  rows.push([`eraseWhere matching 1% (${N / 100} records), indexed`, `${both(eraseRuns, 2)} per 1% (CPU ${median(eraseCpu).toFixed(2)} ms); the graph's marks after it ${both(markRuns, 2)}`, `${eraseScan.toFixed(2)} ms without index`, `${(eraseScan / erase1).toFixed(1)}x`]);
  // Decile 9: buckets b9, b19, ..., b99 (10%, less those erased above), counted first.
  const erased10 = v.count({ decile: 9 });
  let erase10 = 0;
  const cpu10 = await cpuOf(async () => (erase10 = await time(() => v.eraseWhere({ decile: 9 }))));
  const mark10 = await time(() => db.settle());
  const erase10Scan = await time(() => plain.eraseWhere({ decile: 9 }));
  const pct10 = (erased10 / N) * 100;
  rows.push([`eraseWhere matching ${pct10.toFixed(1)}%, indexed`, `${erase10.toFixed(1)} ms (${(erase10 / pct10).toFixed(2)} ms per 1%; CPU ${cpu10.toFixed(1)} ms); the graph's marks after it ${mark10.toFixed(1)} ms`, `${erase10Scan.toFixed(1)} ms without index`, `${(erase10Scan / erase10).toFixed(1)}x`]);

  console.log('| operation | quiverdb | peer in the same run | ratio |\n|---|---|---|---:|');
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
  await db.close();
  await peerDb.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
