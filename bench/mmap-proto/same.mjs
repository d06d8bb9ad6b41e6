import * as fs from 'node:fs';
import { require, DATA, addon, usearch, HERE } from './paths.mjs';
const { HierarchicalNSW } = require('hnswlib-node');
const m = addon('qmap_avx2');
const dir = `${DATA}/n100000`, DIM = 384;
const qf = new Float32Array(fs.readFileSync(`${dir}/queries.f32`).buffer.slice(0));
const h = new HierarchicalNSW('cosine', DIM); h.readIndexSync(`${dir}/graph.hnsw`);
const g = m.open(`${dir}/graph.hnsw`, DIM);
const norm = (q) => { let s = 0; for (const x of q) s += x * x; s = 1 / Math.sqrt(s); return q.map((x) => x * s); };
for (const ef of [32, 64, 128]) { h.setEf(ef); let same = 0, sameSet = 0;
  for (let i = 0; i < 500; i++) { const q = qf.subarray(i * DIM, (i + 1) * DIM); const a = h.searchKnn(Array.from(q), 10).neighbors, b = Array.from(m.search(g, norm(q), 10, ef));
    if (a.join() === b.join()) same++; if ([...a].sort().join() === [...b].sort().join()) sameSet++; }
  console.log(`ef ${ef}: identical ordered top-10 ${same}/500, identical sets ${sameSet}/500`); }
