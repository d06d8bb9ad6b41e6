/**
 * npm run bench:history
 * Resolve on a 1,000-layer chain (miss and hit, layers examined and µs per call), and export /
 * import throughput on 20,000 documents with layers and traces.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { open } from '../src/index.js';
import { clustered } from './data.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quiver-bench-history-'));
try {
  const db = await open(path.join(dir, 'a'), { dimension: 100, durability: 'relaxed' });
  const v = await db.createVault('kb');
  for (let i = 0; i < 1000; i++) {
    const resources: Record<string, { i: number }> = { [`urn:l${i}`]: { i } };
    if (i === 0) resources['urn:root'] = { i };
    await v.layers.commit({ resources });
  }
  const time = (fn: () => unknown, n = 10_000): number => {
    const t = performance.now();
    for (let i = 0; i < n; i++) fn();
    return ((performance.now() - t) / n) * 1000;
  };
  const miss = time(() => v.layers.resolve('urn:missing'));
  const missTouched = v.layers.touched;
  const deep = time(() => v.layers.resolve('urn:root'));
  const deepTouched = v.layers.touched;
  const walk = time(() => {
    for (const l of v.layers.log('main')) if (l.id === 'never') break;
  }, 200);
  console.log('resolve on a 1,000-layer chain');
  console.log(`| case | µs per call | layers examined |\n|---|---:|---:|`);
  console.log(`| miss | ${miss.toFixed(2)} | ${missTouched} |\n| hit at the root (999 layers up) | ${deep.toFixed(2)} | ${deepTouched} |\n| for scale: walking the chain once | ${walk.toFixed(0)} | 1000 |`);

  const N = 20_000;
  const data = clustered(N, 100, 50, 5);
  for (let i = 0; i < N; i += 1000) {
    await v.insertMany(data.slice(i, i + 1000).map((vector, j) => ({ id: `r${i + j}`, vector, payload: { n: i + j, tag: `t${(i + j) % 7}` } })));
  }
  for (let i = 0; i < 5000; i++) await v.traces.put(`run/${i}`, { i, steps: [1, 2, 3] }, { at: i });
  await db.flush();
  const exportDir = path.join(dir, 'export');
  let t = performance.now();
  const summary = await db.export(exportDir);
  const exportMs = performance.now() - t;
  await db.close();
  const target = await open(path.join(dir, 'b'), { dimension: 100, durability: 'relaxed' });
  t = performance.now();
  await target.import(exportDir);
  await target.flush();
  const importMs = performance.now() - t;
  await target.close();
  const items = summary.records + summary.layers + summary.traces;
  console.log(`\nexport / import: ${summary.records} records (100 dims), ${summary.layers} layers, ${summary.traces} traces, ${(summary.bytes / 1e6).toFixed(1)} MB`);
  console.log(`| | seconds | items/s | MB/s |\n|---|---:|---:|---:|`);
  console.log(`| export | ${(exportMs / 1000).toFixed(2)} | ${Math.round(items / (exportMs / 1000))} | ${(summary.bytes / 1e6 / (exportMs / 1000)).toFixed(1)} |`);
  console.log(`| import (relaxed, includes HNSW insertion) | ${(importMs / 1000).toFixed(2)} | ${Math.round(items / (importMs / 1000))} | ${(summary.bytes / 1e6 / (importMs / 1000)).toFixed(1)} |`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
