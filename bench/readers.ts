/**
 * npm run bench:readers [-- --n 100000 --dim 384]
 * 1. Cost of a read-only open of a checkpointed database (in a fresh process), against raw
 *    hnswlib-node readIndex of the same graph file plus one query.
 * 2. Refresh latency: a writer process inserts one record at a time stamped with Date.now();
 *    a reader refreshes in a loop and records when each record first becomes visible.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { open } from '../src/index.js';
import { clustered } from './data.js';

const require = createRequire(import.meta.url);
const { HierarchicalNSW } = require('hnswlib-node') as typeof import('hnswlib-node');
const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const SELF = fileURLToPath(import.meta.url);
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

function child(argv: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', SELF, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d));
    p.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`child ${argv[0]} exited ${code}`))));
  });
}

const role = args[0];
if (role === '--open-quiver') {
  const t = performance.now();
  const db = await open(args[1]!, { readOnly: true });
  await db.vault('v').search(new Float32Array(db.identity.dimension).fill(0.5), { k: 10 });
  console.log(performance.now() - t);
  await db.close();
} else if (role === '--open-raw') {
  const [, file, dim] = args;
  const t = performance.now();
  const index = new HierarchicalNSW('cosine', Number(dim));
  await index.readIndex(file!, true);
  index.searchKnn(new Array(Number(dim)).fill(0.5), 10);
  console.log(performance.now() - t);
} else if (role === '--writer') {
  const db = await open(args[1]!, { dimension: 8 });
  const v = db.hasVault('v') ? db.vault('v') : await db.createVault('v');
  for (let i = 0; i < 400; i++) {
    await v.insert(`t${i}`, Float32Array.from({ length: 8 }, (_, j) => 1 + Math.sin(i + j)), { t: Date.now() });
    await new Promise((r) => setTimeout(r, 5));
  }
  await db.close();
} else if (role === '--reader') {
  const db = await open(args[1]!, { readOnly: true });
  const v = db.vault('v');
  const seen = new Set<string>();
  const lags: number[] = [];
  const until = Date.now() + 6000;
  while (Date.now() < until && seen.size < 400) {
    await db.refresh();
    const now = Date.now();
    for (const id of v.ids()) {
      if (seen.has(id)) continue;
      seen.add(id);
      lags.push(now - (v.get(id)!.payload!.t as number));
    }
    await new Promise((r) => setImmediate(r));
  }
  console.log(JSON.stringify(lags));
  await db.close();
} else {
  const N = flag('n', 100_000);
  const DIM = flag('dim', 384);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quiver-bench-readers-'));
  try {
    console.log(`building ${N} x ${DIM} (this is the slow part)...`);
    const db = await open(path.join(dir, 'big'), { dimension: DIM });
    const v = await db.createVault('v');
    const data = clustered(N, DIM, 200, 3);
    for (let i = 0; i < N; i += 2000) await v.insertMany(data.slice(i, i + 2000).map((vector, j) => ({ id: `r${i + j}`, vector })));
    await db.checkpoint();
    const stats = db.stats();
    await db.close();
    const graph = fs.readdirSync(path.join(dir, 'big', 'segments')).find((f) => f.endsWith('.hnsw'))!;
    const quiverMs: number[] = [];
    const rawMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      rawMs.push(Number(await child(['--open-raw', path.join(dir, 'big', 'segments', graph), String(DIM)])));
      quiverMs.push(Number(await child(['--open-quiver', path.join(dir, 'big')])));
    }
    console.log(`\nread-only open to first answer, ${N} x ${DIM} (files: ${JSON.stringify(stats.files)})`);
    console.log(`| | median ms |\n|---|---:|\n| raw hnswlib-node readIndex + 1 query | ${median(rawMs).toFixed(0)} |\n| quiver open({ readOnly }) + 1 search | ${median(quiverMs).toFixed(0)} |\n| ratio | ${(median(quiverMs) / median(rawMs)).toFixed(2)}x |`);

    const small = path.join(dir, 'small');
    const setup = await open(small, { dimension: 8 });
    await setup.createVault('v');
    await setup.close();
    const reader = child(['--reader', small]);
    await new Promise((r) => setTimeout(r, 700));
    await child(['--writer', small]);
    const lags = JSON.parse(await reader) as number[];
    console.log(`\nrefresh latency, writer insert -> reader sees it (${lags.length} records, reader refreshing in a loop)`);
    console.log(`median ${median(lags)} ms, p99 ${pct(lags, 0.99)} ms, max ${Math.max(...lags)} ms`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
