// Page checks' cost on search: one process maps the same saved graph twice, once checked whole
// at open (no sidecar; no check per visit) and once through its sidecar (each level-0 page
// checked on first use, then one byte test per visited record), and searches both in
// interleaved chunks after an untimed warm-up pass over every query.
// node --import tsx bench/graph-open/page-check-ab.ts <db dir> [rounds]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MappedGraph } from '../../src/native/mapped-graph.js';
import { decodeGraphSidecar } from '../../src/segments/graph-sidecar.js';

const [dir, roundsArg] = process.argv.slice(2);
const rounds = Number(roundsArg ?? 3);
const seg = path.join(dir!, 'segments');
const graphFile = path.join(seg, fs.readdirSync(seg).find((f) => f.endsWith('.hnsw'))!);
const sidecar = decodeGraphSidecar(fs.readFileSync(`${graphFile}.meta`), 'meta');
const dim = 384;
const whole = MappedGraph.open(graphFile, 'whole', 'cosine', dim);
const paged = MappedGraph.open(graphFile, 'paged', 'cosine', dim, sidecar);
let seed = 7;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
const queries = Array.from({ length: 500 }, () => Float32Array.from({ length: dim }, rand));
const engines = { whole, paged } as const;
for (const g of Object.values(engines)) for (const q of queries) g.search(q, 10, 64, null, null, null);
console.log(`load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const ef of [32, 64, 128]) {
  const time = { whole: 0, paged: 0 };
  for (let r = 0; r < rounds; r++) {
    for (let c = 0; c < queries.length; c += 50) {
      const order = (c / 50 + r) % 2 ? (['whole', 'paged'] as const) : (['paged', 'whole'] as const);
      for (const name of order) {
        const t = performance.now();
        for (let i = c; i < c + 50; i++) engines[name].search(queries[i]!, 10, ef, null, null, null);
        time[name] += performance.now() - t;
      }
    }
  }
  const n = rounds * queries.length;
  console.log(`ef ${ef}: whole-checked ${(n / (time.whole / 1000)).toFixed(0)} QPS, page-checked ${(n / (time.paged / 1000)).toFixed(0)} QPS, paged / whole ${(time.whole / time.paged).toFixed(3)}`);
}
console.log(`load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
