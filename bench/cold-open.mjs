// A fresh process running the built package (dist), as users run it: load the package, open
// (quiverdb read-only, or raw hnswlib-node readIndex) and answer one query, then answer 200 more.
// An optional fourth argument names the package entry to load instead of ../dist/index.js (another
// build, for bench/open-time.ts). Prints { importMs, ms, fromStart, rss }: loading the package; open to first answer; process
// start to first answer (node's own start, loading, open and the query); RSS after the query
// phase. Mode 'quiver' opens with the default verification (the first search waits until the
// stored vectors have matched their checksums); 'quiver-lazy' with verify: 'lazy' (the graph may
// answer before that). Plain JavaScript, so neither side carries the TypeScript loader's memory.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const [mode, target, dimArg, entry] = process.argv.slice(2);
const dim = Number(dimArg);
// performance.now() counts from the process's start.
const loading = performance.now();
const { HierarchicalNSW } = mode === 'raw' ? createRequire(import.meta.url)('hnswlib-node') : {};
const { open } = mode === 'raw' ? {} : await import(entry ? pathToFileURL(entry).href : '../dist/index.js');
const importMs = performance.now() - loading;
// The same seeded queries for both sides (mulberry32).
let seed = 7;
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
};
const queries = Array.from({ length: 200 }, () => Float32Array.from({ length: dim }, random));
const query = new Float32Array(dim).fill(0.5);
const t = performance.now();
let ms;
let fromStart;
if (mode === 'raw') {
  const index = new HierarchicalNSW('cosine', dim);
  await index.readIndex(target, true);
  const point = (q) => {
    const out = new Array(dim);
    for (let i = 0; i < dim; i++) out[i] = q[i];
    return out;
  };
  index.searchKnn(point(query), 10);
  fromStart = performance.now();
  ms = fromStart - t;
  for (const q of queries) index.searchKnn(point(q), 10);
} else {
  const db = await open(target, { readOnly: true, ...(mode === 'quiver-lazy' ? { verify: 'lazy' } : {}) });
  const vault = db.vault('bench');
  await vault.search(query, { k: 10 });
  fromStart = performance.now();
  ms = fromStart - t;
  // The stored vectors reach memory in the background after open; RSS is taken once they are
  // all in (an exact search waits for them), so it counts them.
  await vault.search(query, { k: 1, exact: true });
  for (const q of queries) await vault.search(q, { k: 10 });
}
console.log(JSON.stringify({ importMs, ms, fromStart, rss: process.memoryUsage().rss }));
