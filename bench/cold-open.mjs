// A fresh process running the built package (dist), as users run it: open (quiverdb read-only,
// or raw hnswlib-node readIndex) and answer one query; prints { ms, rss }. Mode 'quiver' opens
// with the default verification (the first search waits until the stored vectors have matched
// their checksums); 'quiver-lazy' with verify: 'lazy' (the graph may answer before that). Plain JavaScript, so
// neither side carries the TypeScript loader's memory.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [mode, target, dimArg] = process.argv.slice(2);
// Loading code is not opening: both sides load their modules before the clock starts.
const { HierarchicalNSW } = require('hnswlib-node');
const { open } = mode === 'raw' ? {} : await import('../dist/index.js');
const dim = Number(dimArg);
const query = new Float32Array(dim).fill(0.5);
const t = performance.now();
if (mode === 'raw') {
  const index = new HierarchicalNSW('cosine', dim);
  await index.readIndex(target, true);
  const point = new Array(dim);
  for (let i = 0; i < dim; i++) point[i] = query[i];
  index.searchKnn(point, 10);
  console.log(JSON.stringify({ ms: performance.now() - t, rss: process.memoryUsage().rss }));
} else {
  const db = await open(target, { readOnly: true, ...(mode === 'quiver-lazy' ? { verify: 'lazy' } : {}) });
  await db.vault('bench').search(query, { k: 10 });
  const ms = performance.now() - t;
  // The stored vectors reach memory in the background after open; RSS is taken once they are
  // all in (an exact search waits for them), so it counts them.
  await db.vault('bench').search(query, { k: 1, exact: true });
  console.log(JSON.stringify({ ms, rss: process.memoryUsage().rss }));
}
