// Deleted marks: hnswlib-node marks 10% of labels deleted and saves; the C search over the saved
// file must return exactly hnswlib-node's results (deleted nodes traversed, never returned).
import * as fs from 'node:fs';
import { require, DATA, addon } from './paths.mjs';
const { HierarchicalNSW } = require('hnswlib-node');
const m = addon('qmap_avx2');
const dir = `${DATA}/n100000`, DIM = 384, out = `${DATA}/deleted.hnsw`;
const qf = new Float32Array(fs.readFileSync(`${dir}/queries.f32`).buffer.slice(0));
const h = new HierarchicalNSW('cosine', DIM); h.readIndexSync(`${dir}/graph.hnsw`);
let del = 0; for (let l = 7; l < 100000; l += 10) { h.markDelete(l); del++; }
h.writeIndexSync(out);
const g = m.open(out, DIM, undefined, del);
const norm = (q) => { let s = 0; for (const x of q) s += x * x; s = 1 / Math.sqrt(s); return q.map((x) => x * s); };
for (const ef of [32, 64, 128]) { h.setEf(ef); let same = 0, anyDeleted = 0;
  for (let i = 0; i < 500; i++) { const q = qf.subarray(i * DIM, (i + 1) * DIM); const a = h.searchKnn(Array.from(q), 10).neighbors, b = Array.from(m.search(g, norm(q), 10, ef));
    if (a.join() === b.join()) same++; if (b.some((x) => x % 10 === 7)) anyDeleted++; }
  console.log(`ef ${ef}: ${del} deleted; identical ordered top-10 ${same}/500; results holding a deleted label ${anyDeleted}`); }
fs.rmSync(out);
