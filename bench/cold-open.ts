/** A fresh process: open (quiver read-only, or raw readIndex) and answer one query; prints { ms, rss }. */
import { open } from '../src/index.js';
import { hnswlib, toArray } from './peer.js';

const [mode, target, dimArg] = process.argv.slice(2);
const dim = Number(dimArg);
const query = new Float32Array(dim).fill(0.5);
const t = performance.now();
if (mode === 'raw') {
  const index = new hnswlib.HierarchicalNSW('cosine', dim);
  await index.readIndex(target!, true);
  index.searchKnn(toArray(query), 10);
} else {
  const db = await open(target!, { readOnly: true });
  await db.vault('bench').search(query, { k: 10 });
}
const ms = performance.now() - t;
console.log(JSON.stringify({ ms, rss: process.memoryUsage().rss }));
