import * as fs from 'node:fs';
import { require, DATA, addon, usearch, HERE } from './paths.mjs';
const m = addon('qmap_avx2');
const DIM = 384, qf = new Float32Array(fs.readFileSync(`${DATA}/n100000/queries.f32`).buffer.slice(0));
const norm = (q) => { let s = 0; for (const x of q) s += x * x; s = 1 / Math.sqrt(s); return q.map((x) => x * s); };
for (const [name, sums] of [['good', `${DATA}/n100000/graph.hnsw.sums`], ['corrupt', `${DATA}/corrupt.hnsw.sums`]]) {
  const g = m.open(name === 'good' ? `${DATA}/n100000/graph.hnsw` : `${DATA}/corrupt.hnsw`, DIM, sums);
  let ok = 0, err = null;
  for (let i = 0; i < 500; i++) { try { m.search(g, norm(qf.subarray(i * DIM, (i + 1) * DIM)), 10, 128); ok++; } catch (e) { err = `${e.code}: ${e.message} (after ${ok} good answers)`; break; } }
  // Exhaustive: brute touch via many random queries is not guaranteed to reach the page; report what happened.
  console.log(name, ok, err);
}
// unchecked: the same corrupt file without sums answers (possibly wrongly) and never notices
const g2 = m.open(`${DATA}/corrupt.hnsw`, DIM); let n = 0; for (let i = 0; i < 500; i++) { m.search(g2, norm(qf.subarray(i * DIM, (i + 1) * DIM)), 10, 128); n++; } console.log('corrupt without sums answered', n);
