// Interleaved QPS and recall@10: hnswlib-node (private copy) vs searches over the mapped file.
import * as fs from 'node:fs';
import { openView } from './hnsw-view.mjs';
import { require, DATA, addon, usearch, HERE } from './paths.mjs';
const { HierarchicalNSW } = require('hnswlib-node');
const qmap = addon('qmap');
const qmapAvx = addon('qmap_avx2');
const { Index } = (usearch() ?? {});
const N = Number(process.argv[2] ?? 100000), DIM = 384, dir = `${DATA}/n${N}`;
const ROUNDS = Number(process.argv[3] ?? 3), EFS = [32, 64, 128];
const qf = new Float32Array(fs.readFileSync(`${dir}/queries.f32`).buffer.slice(0));
const NQ = qf.length / DIM;
const queries = Array.from({ length: NQ }, (_, i) => qf.subarray(i * DIM, (i + 1) * DIM));
const truth = JSON.parse(fs.readFileSync(`${dir}/truth.json`, 'utf8'));
const arr = (v) => { const a = new Array(v.length); for (let i = 0; i < v.length; i++) a[i] = v[i]; return a; };
const qn = new Float32Array(DIM);
const norm = (q) => { let s = 0; for (let i = 0; i < DIM; i++) s += q[i] * q[i]; s = 1 / Math.sqrt(s); for (let i = 0; i < DIM; i++) qn[i] = q[i] * s; return qn; };
const recall = (found) => { let h = 0; found.forEach((f, i) => { const t = new Set(truth[i]); for (const x of f) if (t.has(Number(x))) h++; }); return h / (found.length * 10); };

const h = new HierarchicalNSW('cosine', DIM); h.readIndexSync(`${dir}/graph.hnsw`);
const cG = qmap.open(`${dir}/graph.hnsw`, DIM), cA = qmapAvx.open(`${dir}/graph.hnsw`, DIM);
const cV = qmapAvx.open(`${dir}/graph.hnsw`, DIM, `${dir}/graph.hnsw.sums`);
const sB = qmapAvx.open(`${dir}/seg-base.hnsw`, DIM), sD = qmapAvx.open(`${dir}/seg-delta.hnsw`, DIM);
const dB = new Float32Array(10), dD = new Float32Array(10);
const twoSeg = (q, ef) => { const n = norm(q); const a = qmapAvx.search(sB, n, 10, ef, null, dB), b = qmapAvx.search(sD, n, 10, ef, null, dD);
  const m = []; for (let i = 0; i < a.length; i++) m.push([dB[i], a[i]]); for (let i = 0; i < b.length; i++) m.push([dD[i], b[i]]);
  return m.sort((x, y) => x[0] - y[0]).slice(0, 10).map((x) => x[1]); };
const js = openView(qmap.map(`${dir}/graph.hnsw`), DIM);
const us = !Index ? null : Object.fromEntries(EFS.map((ef) => { const u = new Index({ metric: 'cos', connectivity: 16, dimensions: DIM, expansion_add: 200, expansion_search: ef }); u.view(`${dir}/graph.usearch`); return [ef, u]; }));
// 10% selectivity filter: label % 10 === 3 (labels == internal ids in this index)
const allow = new Uint8Array(N); for (let i = 3; i < N; i += 10) allow[i] = 1;
const engines = {
  'hnswlib-node': (q, ef) => { h.setEf(ef); return h.searchKnn(arr(q), 10).neighbors; },
  'C over mmap': (q, ef) => qmap.search(cG, norm(q), 10, ef),
  'C+AVX2 over mmap': (q, ef) => qmapAvx.search(cA, norm(q), 10, ef),
  'C+AVX2 page-verified': (q, ef) => qmapAvx.search(cV, norm(q), 10, ef),
  'C+AVX2 2 segs 90k+10k': twoSeg,
  'JS over mmap': (q, ef) => js.search(norm(q), 10, ef),
  'usearch view (own graph)': (q, ef) => Array.from(us[ef].search(q, 10, 1).keys),
  'hnswlib-node filter cb 10%': (q, ef) => { h.setEf(ef); return h.searchKnn(arr(q), 10, (l) => l % 10 === 3).neighbors; },
  'C over mmap bitmap 10%': (q, ef) => qmap.search(cG, norm(q), 10, ef, allow),
  'JS over mmap bitmap 10%': (q, ef) => js.search(norm(q), 10, ef, allow),
};
if (!us) delete engines['usearch view (own graph)'];
const ftruth = JSON.parse(fs.readFileSync(`${dir}/truth-f10.json`, 'utf8'));
// Fine interleaving against a loaded machine: every engine runs each 50-query chunk in turn
// (order rotated), and an engine's QPS is its total queries over its total time.
const names = Object.keys(engines), CH = 50;
const time = {}, found = {};
// Warm-up, untimed: first touches of mapped pages (and page checks) are open cost, not query cost.
for (const f of Object.values(engines)) for (const q of queries) f(q, 32);
for (const ef of EFS) for (let r = 0; r < ROUNDS; r++) for (let c = 0; c < NQ; c += CH) {
  const order = names.map((_, i) => names[(i + r + c / CH) % names.length]);
  for (const name of order) {
    const f = engines[name], key = `${name}@${ef}`, out = (found[key] ??= []);
    const t = performance.now();
    for (let i = c; i < c + CH; i++) { const x = f(queries[i], ef); if (r === 0) out[i] = Array.from(x); }
    time[key] = (time[key] ?? 0) + performance.now() - t;
  }
}
const fr = (f, tr) => { let hh = 0; f.forEach((fo, i) => { const tt = new Set(tr[i]); for (const x of fo) if (tt.has(Number(x))) hh++; }); return hh / (f.length * 10); };
const base = (name) => name.includes('%') ? 'hnswlib-node filter cb 10%' : 'hnswlib-node';
console.log(`N=${N} dim=${DIM} queries=${NQ} rounds=${ROUNDS} chunk=${CH}`);
for (const name of names) console.log(name.padEnd(28), EFS.map((ef) => { const qps = NQ * ROUNDS / time[`${name}@${ef}`] * 1000; const b = NQ * ROUNDS / time[`${base(name)}@${ef}`] * 1000;
  return `ef${ef}: ${qps.toFixed(0)} qps ${(qps / b).toFixed(2)}x r@10 ${fr(found[`${name}@${ef}`], name.includes('%') ? ftruth : truth).toFixed(3)}`; }).join(' | '));
