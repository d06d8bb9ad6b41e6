// Two segment graphs over the same 100k vectors: base = rows 0..89999, delta = rows 90000..99999.
import * as fs from 'node:fs';
import { require, DATA, addon, usearch, HERE } from './paths.mjs';
const { HierarchicalNSW } = require('hnswlib-node');
const N = 100000, DIM = 384, dir = `${DATA}/n${N}`, SPLIT = Number(process.argv[2] ?? 90000);
const flat = new Float32Array(fs.readFileSync(`${dir}/vectors.f32`).buffer.slice(0));
const arr = (i) => Array.from(flat.subarray(i * DIM, (i + 1) * DIM));
for (const [name, lo, hi] of [['base', 0, SPLIT], ['delta', SPLIT, N]]) {
  const g = new HierarchicalNSW('cosine', DIM); g.initIndex(hi - lo, 16, 200, 100);
  for (let i = lo; i < hi; i++) g.addPoint(arr(i), i);
  g.writeIndexSync(`${dir}/seg-${name}.hnsw`);
}
console.log('ok');
