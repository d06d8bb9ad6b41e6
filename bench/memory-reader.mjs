// One reader process for bench/memory.ts: `node memory-reader.mjs <dir> <queries.bin> <spawnedAt>
// <touches> <quiver|raw> [graph.hnsw]`. It opens the database read-only through the built package
// (dist/), or, as `raw`, loads the saved graph into hnswlib-node (readIndex, a private copy);
// answers one query (the first answer, timed from the parent's spawn); then enough more at ef 128
// to touch most of the graph; reports; and stays alive until its stdin closes so the parent can
// read /proc/<pid>/smaps_rollup with every reader alive at once. A line `go <count> <ef>` on stdin
// runs that many more queries and reports their QPS (two readers answering at once).
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
const [dir, queriesFile, spawnedAt, touches, mode = 'quiver', graphFile] = process.argv.slice(2);
const t0 = performance.now();
const raw = fs.readFileSync(queriesFile);
const dim = raw.readUInt32LE(0);
const count = raw.readUInt32LE(4);
const query = (i) => new Float32Array(raw.buffer, raw.byteOffset + 8 + (i % count) * dim * 4, dim);
let search;
let close;
let settle = async () => undefined;
let mapped = () => false;
if (mode === 'raw') {
  const { HierarchicalNSW } = createRequire(import.meta.url)('hnswlib-node');
  const index = new HierarchicalNSW('cosine', dim);
  await index.readIndex(graphFile);
  let ef = -1;
  search = async (q, k, e) => {
    if (e !== ef) index.setEf((ef = e));
    return index.searchKnn(Array.from(q), k);
  };
  close = async () => undefined;
} else {
  const { open } = await import('../dist/index.js');
  const db = await open(dir, { readOnly: true });
  const v = db.vault('v');
  search = (q, k, ef) => v.search(q, { k, ef });
  close = () => db.close();
  // An exact search waits for the segment's vectors, which a reader may load privately: the
  // figure is the steady state, not a half-loaded one.
  settle = () => v.search(query(0), { k: 1, exact: true });
  mapped = () => db.stats().vaults[0].index.mapped === true;
}
await search(query(0), 10, 10);
const first = { sinceSpawn: Date.now() - Number(spawnedAt), sinceScript: Math.round(performance.now() - t0) };
for (let i = 1; i < Number(touches); i++) await search(query(i), 10, 128);
await settle();
process.stdout.write(JSON.stringify({ pid: process.pid, first, mapped: mapped() }) + '\n');
let buffered = '';
process.stdin.on('data', async (d) => {
  buffered += d;
  let nl;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const [cmd, n, ef] = buffered.slice(0, nl).split(' ');
    buffered = buffered.slice(nl + 1);
    if (cmd !== 'go') continue;
    const t = performance.now();
    for (let i = 0; i < Number(n); i++) await search(query(i), 10, Number(ef));
    process.stdout.write(JSON.stringify({ qps: Number(n) / ((performance.now() - t) / 1000) }) + '\n');
  }
});
process.stdin.on('end', () => close().then(() => process.exit(0)));
