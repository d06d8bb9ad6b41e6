/**
 * node --import tsx bench/open-time.ts --dataset real|synthetic --db DIR [--runs 7] [--build name=path/to/dist/index.js ...]
 * A fresh process to its first answer, alone (bench/run.ts measures it among every other phase):
 * raw hnswlib-node's readIndex + one query against quiverdb's read-only open + one query, each in
 * its own plain-node process (bench/cold-open.mjs), alternating raw and each build in turn, `runs`
 * times each; prints medians and ratios to raw, with the load average at start and end.
 * `--db DIR` is built first when it does not exist (100k records, as bench/run.ts saves them:
 * ids r0.., payload { bucket }, a payload index on bucket, one checkpoint). `--build` compares other
 * builds of the package (e.g. main's dist copied aside); the default is this tree's dist.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open } from '../src/index.js';
import { clustered, realVectors } from './data.js';
import { median } from './peer.js';

const args = process.argv.slice(2);
const option = (name: string): string | undefined => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : undefined);
const dataset = option('dataset') ?? 'synthetic';
if (dataset !== 'synthetic' && dataset !== 'real') throw new Error(`--dataset must be 'synthetic' or 'real', not ${dataset}`);
const dbDir = path.resolve(option('db') ?? path.join(os.tmpdir(), `quiver-open-time-${dataset}`));
const N = Number(option('n') ?? 100_000);
const RUNS = Number(option('runs') ?? 7);
const SELF = path.dirname(fileURLToPath(import.meta.url));
const builds: [string, string][] = args.flatMap((a, i) => (a === '--build' ? [args[i + 1]!.split('=') as [string, string]] : []));
if (builds.length === 0) builds.push(['this', path.join(SELF, '..', 'dist', 'index.js')]);
const log = (s: string) => process.stderr.write(s + '\n');
const load = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');

const dim = dataset === 'real' ? 100 : 384;
if (!fs.existsSync(dbDir)) {
  log(`building ${dbDir}: ${N} ${dataset} vectors`);
  const vectors = dataset === 'real' ? realVectors(N, 11).vectors : clustered(N, dim, 200, 11);
  const db = await open(dbDir, { dimension: dim, index: { type: 'hnsw', M: 16, efConstruction: 200 }, autoCheckpointBytes: 0 });
  const v = await db.createVault('bench');
  for (let i = 0; i < N; i += 1000) await v.insertMany(vectors.slice(i, i + 1000).map((vector, j) => ({ id: `r${i + j}`, vector, payload: { bucket: (i + j) % 100 } })));
  await db.settle();
  await v.createIndex('bucket');
  await db.checkpoint();
  await db.close();
}
if (RUNS === 0) process.exit(0);
const graph = path.join(dbDir, 'segments', fs.readdirSync(path.join(dbDir, 'segments')).find((f) => f.endsWith('.hnsw'))!);

type Child = { importMs: number; ms: number; fromStart: number; rss: number };
const child = (mode: string, target: string, entry?: string): Child => {
  const r = spawnSync(process.execPath, [path.join(SELF, 'cold-open.mjs'), mode, target, String(dim), ...(entry ? [entry] : [])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Child;
};

const loadStart = load();
const raw: Child[] = [];
const ours = builds.map(() => [] as Child[]);
for (let i = 0; i < RUNS; i++) {
  raw.push(child('raw', graph));
  builds.forEach(([, entry], b) => ours[b]!.push(child('quiver', dbDir, entry)));
}
const med = (runs: Child[], pick: (c: Child) => number) => median(runs.map(pick));
const f = (x: number) => x.toFixed(1);
console.log(`fresh process to first answer, ${dataset} ${N} x ${dim}, ${RUNS} runs each, medians (ms); load average ${loadStart} at start, ${load()} at end`);
console.log('| side | process start to first answer | ratio to raw | loading the package | open + 1 query | ratio to raw | RSS after 201 queries (MB) |');
console.log('|---|---|---|---|---|---|---|');
const line = (name: string, runs: Child[]) => {
  const start = med(runs, (c) => c.fromStart);
  const ms = med(runs, (c) => c.ms);
  console.log(`| ${name} | ${f(start)} | ${(start / med(raw, (c) => c.fromStart)).toFixed(2)}x | ${f(med(runs, (c) => c.importMs))} | ${f(ms)} | ${(ms / med(raw, (c) => c.ms)).toFixed(2)}x | ${Math.round(med(runs, (c) => c.rss) / 1e6)} |`);
};
line('raw hnswlib-node', raw);
builds.forEach(([name], b) => line(name, ours[b]!));
