/**
 * npm run bench [-- --n 10000 --dim 384 --quick]
 * Ingest under each durability mode, against raw hnswlib-node with the same parameters and data
 * in the same process. Prints medians and ratios; writes bench/results/latest.json.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { open, type Durability } from '../src/index.js';
import { clustered } from './data.js';

const require = createRequire(import.meta.url);
const { HierarchicalNSW } = require('hnswlib-node') as typeof import('hnswlib-node');

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const quick = args.includes('--quick');
const N = flag('n', quick ? 2000 : 10_000);
const DIM = flag('dim', 384);
const M = 16;
const EF_CONSTRUCTION = 200;

const data = clustered(N, DIM, 200, 7);
const results: Record<string, number> = {};

function rate(label: string, count: number, ms: number): void {
  results[label] = Math.round((count / ms) * 1000);
}

async function raw(): Promise<void> {
  const index = new HierarchicalNSW('cosine', DIM);
  index.initIndex({ maxElements: N, m: M, efConstruction: EF_CONSTRUCTION, randomSeed: 100 });
  const t = performance.now();
  for (let i = 0; i < N; i++) index.addPoint(Array.from(data[i]!), i);
  rate('raw hnswlib-node addPoint', N, performance.now() - t);
}

async function quiver(mode: Durability, style: 'one at a time' | 'insertMany x1000' | '32 concurrent'): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quiver-bench-'));
  try {
    const db = await open(dir, { dimension: DIM, index: { type: 'hnsw', M, efConstruction: EF_CONSTRUCTION }, durability: mode, autoCheckpointBytes: 0 });
    const v = await db.createVault('bench');
    const t = performance.now();
    if (style === 'one at a time') {
      for (let i = 0; i < N; i++) await v.insert(`r${i}`, data[i]!);
    } else if (style === 'insertMany x1000') {
      for (let i = 0; i < N; i += 1000) await v.insertMany(data.slice(i, i + 1000).map((vector, j) => ({ id: `r${i + j}`, vector })));
    } else {
      let next = 0;
      await Promise.all(Array.from({ length: 32 }, async () => {
        for (let i = next++; i < N; i = next++) await v.insert(`r${i}`, data[i]!);
      }));
    }
    if (mode === 'relaxed') await db.flush();
    rate(`quiver ${mode}, ${style}`, N, performance.now() - t);
    await db.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`ingest: ${N} x ${DIM} clustered vectors, cosine, M ${M}, efConstruction ${EF_CONSTRUCTION}; ${os.cpus().length} cores, ${os.cpus()[0]?.model}`);
await raw();
for (const mode of ['ephemeral', 'relaxed', 'standard', 'paranoid'] as const) await quiver(mode, 'one at a time');
await quiver('standard', 'insertMany x1000');
await quiver('paranoid', '32 concurrent');
const peer = results['raw hnswlib-node addPoint']!;
console.log('\n| phase | vectors/s | ratio to raw |\n|---|---:|---:|');
for (const [label, value] of Object.entries(results)) console.log(`| ${label} | ${value} | ${(value / peer).toFixed(2)}x |`);
fs.mkdirSync(path.join(import.meta.dirname, 'results'), { recursive: true });
fs.writeFileSync(path.join(import.meta.dirname, 'results', 'latest.json'), JSON.stringify({ n: N, dim: DIM, results }, null, 2));
