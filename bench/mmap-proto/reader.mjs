// One reader process: open, first answer, warm queries, then report and wait to be measured.
const spawnedAt = Number(process.argv[4]);
import * as fs from 'node:fs';
import { require, DATA, addon, usearch, HERE } from './paths.mjs';
const mode = process.argv[2], N = Number(process.argv[3]), DIM = 384, dir = `${DATA}/n${N}`;
const qf = new Float32Array(fs.readFileSync(`${dir}/queries.f32`).buffer.slice(0));
const qs = Array.from({ length: qf.length / DIM }, (_, i) => qf.subarray(i * DIM, (i + 1) * DIM));
const norm = (q) => { let s = 0; for (const x of q) s += x * x; s = 1 / Math.sqrt(s); return q.map((x) => x * s); };
let search;
const t0 = performance.now();
if (mode === 'hnswlib') {
  const { HierarchicalNSW } = require('hnswlib-node');
  const h = new HierarchicalNSW('cosine', DIM); h.readIndexSync(`${dir}/graph.hnsw`); h.setEf(128);
  search = (q) => h.searchKnn(Array.from(q), 10).neighbors;
} else if (mode === 'c-mmap') {
  const m = addon('qmap_avx2');
  const g = m.open(`${dir}/graph.hnsw`, DIM); search = (q) => m.search(g, norm(q), 10, 128);
} else if (mode === 'js-mmap') {
  const m = addon('qmap');
  const { openView } = await import('./hnsw-view.mjs');
  const v = openView(m.map(`${dir}/graph.hnsw`), DIM); search = (q) => v.search(norm(q), 10, 128);
} else if (mode === 'usearch') {
  const { Index } = (usearch() ?? {});
  const u = new Index({ metric: 'cos', connectivity: 16, dimensions: DIM, expansion_add: 200, expansion_search: 128 });
  u.view(`${dir}/graph.usearch`); search = (q) => u.search(q, 10, 1).keys;
} else search = () => [];
search(qs[0]);
const first = { sinceSpawn: Date.now() - spawnedAt, sinceScript: performance.now() - t0 };
for (let r = 0; r < 2; r++) for (const q of qs) search(q);
process.stdout.write(JSON.stringify({ pid: process.pid, first }) + '\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
