// The speed phase of bench/memory.ts: QPS and recall@10 at ef 32/64/128 in one process, every
// engine over the same saved graph, interleaved in chunks with the order rotated, so drift in the
// machine's load falls on all of them: raw hnswlib-node (readIndex, a private copy), the native
// addon alone, quiverdb's mapped reader, and quiverdb's fallback reader (QUIVER_NATIVE=0).
import * as path from 'node:path';
import * as os from 'node:os';
import { createRequire } from 'node:module';
import { open } from '../src/index.js';
import { MappedGraph } from '../src/native/mapped-graph.js';
import type { DbState } from '../src/vault/db-state.js';

const require = createRequire(import.meta.url);
const { HierarchicalNSW } = require('hnswlib-node') as typeof import('hnswlib-node');
const loadavg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

export interface SpeedRow {
  name: string;
  qps: number[];
  recall: number[];
}

export async function speed(dir: string, graphFile: string, DIM: number, queries: Float32Array[], truth: number[][], ROUNDS: number, withPrivate: boolean): Promise<SpeedRow[]> {
/** `graph`: the engine answers graph labels, which are record numbers only in a build that was never resumed. */
type Engine = { name: string; graph?: true; search: (q: Float32Array, ef: number) => Promise<number[]> | number[] };
const raw = new HierarchicalNSW('cosine', DIM);
await raw.readIndex(graphFile);
let rawEf = -1;
const label = (id: string) => Number(id.slice(1));
delete process.env.QUIVER_NATIVE;
const mappedDb = await open(dir, { readOnly: true });
process.env.QUIVER_NATIVE = '0';
const plainDb = withPrivate ? await open(dir, { readOnly: true }) : null;
delete process.env.QUIVER_NATIVE;
if (mappedDb.stats().vaults[0]!.index.mapped !== true) throw new Error('the mapped reader did not map its graph');
// A graph label to its record's number, through the reader's own record store (internal; for
// scoring only, after the timed searches): a resumed build's labels are not its records' numbers.
const store = (mappedDb as unknown as { parts: { state: DbState } }).parts.state.vaults.values().next().value!.records;
const recordOfLabel = (l: number) => label(store.byLabelGet(l)?.id ?? 'r-1');
const bare = MappedGraph.open(graphFile, path.basename(graphFile), 'cosine', DIM);
const engines: Engine[] = [
  {
    name: 'raw hnswlib-node (private copy)',
    graph: true,
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
    graph: true,
    search: (q, ef) => bare.search(q, 10, ef, null, null, null).map((h) => h.label),
  },
  { name: 'quiverdb reader, mapped (native)', search: async (q, ef) => (await mappedDb.vault('v').search(q, { k: 10, ef })).map((h) => label(h.id)) },
];
if (plainDb) engines.push({ name: 'quiverdb reader, QUIVER_NATIVE=0', search: async (q, ef) => (await plainDb.vault('v').search(q, { k: 10, ef })).map((h) => label(h.id)) });
const recall = (got: number[][]) => got.reduce((s, g, i) => s + g.filter((l) => truth[i]!.includes(l)).length, 0) / (10 * got.length);
const CHUNK = 50;
console.log(`\nQPS, interleaved in chunks of ${CHUNK} queries, order rotated, ${ROUNDS} round(s) after an untimed warm-up; load ${loadavg()}`);
console.log('| engine | ef 32 QPS (x raw) | ef 64 QPS (x raw) | ef 128 QPS (x raw) | recall@10 32 / 64 / 128 |');
console.log('|---|---|---|---|---|');
const rows: SpeedRow[] = engines.map((e) => ({ name: e.name, qps: [], recall: [] }));
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
    rows[e]!.recall.push(recall(engines[e]!.graph ? answers[e]!.map((a) => a.map(recordOfLabel)) : answers[e]!));
  });
}
engines.forEach((e, i) => {
  const cells = rows[i]!.qps.map((q, j) => `${q.toFixed(0)} (${(q / rows[0]!.qps[j]!).toFixed(2)})`);
  console.log(`| ${e.name} | ${cells.join(' | ')} | ${rows[i]!.recall.map((r) => r.toFixed(3)).join(' / ')} |`);
});
console.log(`load after: ${loadavg()}`);
await mappedDb.close();
await plainDb?.close();
return rows;
}

