// Data for the prototype: node --import tsx bench/mmap-proto/build.mjs [n]
import * as fs from 'node:fs';
import { clustered } from '../data.ts';
import { require, DATA, addon, usearch, HERE } from './paths.mjs';
const { HierarchicalNSW, BruteforceSearch } = require('hnswlib-node');
const N = Number(process.argv[2] ?? 100000), DIM = 384, NQ = 500, dir = `${DATA}/n${N}`;
fs.mkdirSync(dir, { recursive: true });
const all = clustered(N + NQ, DIM, 64, 7);
const data = all.slice(0, N), queries = all.slice(N);
const flat = new Float32Array(N * DIM); data.forEach((v, i) => flat.set(v, i * DIM));
fs.writeFileSync(`${dir}/vectors.f32`, flat);
const qf = new Float32Array(NQ * DIM); queries.forEach((v, i) => qf.set(v, i * DIM));
fs.writeFileSync(`${dir}/queries.f32`, qf);
const arr = (v) => { const a = new Array(v.length); for (let i = 0; i < v.length; i++) a[i] = v[i]; return a; };
let t = performance.now();
const g = new HierarchicalNSW('cosine', DIM); g.initIndex(N, 16, 200, 100);
data.forEach((v, i) => g.addPoint(arr(v), i));
console.log('hnswlib build s', ((performance.now() - t) / 1000).toFixed(1));
g.writeIndexSync(`${dir}/graph.hnsw`);
t = performance.now();
const b = new BruteforceSearch('cosine', DIM); b.initIndex(N); data.forEach((v, i) => b.addPoint(arr(v), i));
const gt = queries.map((q) => b.searchKnn(arr(q), 10).neighbors);
fs.writeFileSync(`${dir}/truth.json`, JSON.stringify(gt));
console.log('truth s', ((performance.now() - t) / 1000).toFixed(1));
const { Index } = (usearch() ?? {});
if (Index) {
t = performance.now();
const u = new Index({ metric: 'cos', connectivity: 16, dimensions: DIM, expansion_add: 200, expansion_search: 64 });
u.add(BigUint64Array.from({ length: N }, (_, i) => BigInt(i)), flat, 1);
console.log('usearch build s (1 thread)', ((performance.now() - t) / 1000).toFixed(1));
u.save(`${dir}/graph.usearch`);
}
console.log(fs.readdirSync(dir).map((f) => `${f} ${fs.statSync(`${dir}/${f}`).size}`).join('\n'));
