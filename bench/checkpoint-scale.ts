// Checkpoints at scale (issue #19): the event loop's longest stall during a checkpoint of a large
// vault, by phase, with its time, bytes written and the writer's peak RSS.
//
//   node --import tsx bench/checkpoint-scale.ts [--db <dir>] [--work <dir>] [--skip N] [--add N] [--rounds R] [--whole]
//   node --import tsx bench/checkpoint-scale.ts --build N [--work <dir>]   (a development database of N)
//
// The source database (default: the 748k x 384 cosine one bench:memory builds) is copied with
// `cp -a` to --work and only the copy is opened: the original is never written. The copy gets the
// next --add vectors of the generator that built it (clusteredStream(384, 64, 7), ids r<i>; the
// first --skip are drawn and dropped), the graph queue is drained (db.settle()), then one
// checkpoint is taken and measured; --rounds times. A 1 ms timer chain records each gap in the
// event loop and charges it to the checkpoint phase it began in (bench/loop-phases.ts).
// --whole: every checkpoint writes the vault whole, as one that merges its deltas does (deltaLimits).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { clusteredStream } from './data.js';
import { open } from '../src/index.js';
import { LoopPhases } from './loop-phases.js';
import { deltaLimits } from '../src/engine/maintenance/checkpoint-files.js';
import { decodeManifest } from '../src/segments/manifest.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : fallback;
};
const DIM = 384;
const BATCH = 2000;
const build = Number(flag('build', '0'));
const work = flag('work', '/tmp/stall/checkpoint-bench');
const source = flag('db', '/tmp/quiver-bench-memory/n748000-d384/db');
const skip = Number(flag('skip', build > 0 ? '0' : '748000'));
const add = Number(flag('add', '40000'));
const rounds = Number(flag('rounds', '2'));
if (args.includes('--whole')) deltaLimits.share = 0;

const status = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
const ioWritten = () => Number(/^write_bytes:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
const uptime = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

const gen = clusteredStream(DIM, 64, 7);
let next = 0;
function rows(n: number): { id: string; vector: Float32Array }[] {
  const out = [];
  for (let k = 0; k < n; k++, next++) out.push({ id: `r${next}`, vector: gen() });
  return out;
}
async function insert(db: Awaited<ReturnType<typeof open>>, n: number): Promise<void> {
  const v = db.vault('v');
  for (let done = 0; done < n; done += BATCH) await v.insertMany(rows(Math.min(BATCH, n - done)));
  await db.settle();
}

fs.rmSync(work, { recursive: true, force: true });
fs.mkdirSync(path.dirname(work), { recursive: true });
if (build > 0) {
  const db = await open(work, { dimension: DIM, autoCheckpointBytes: 0, index: { type: 'hnsw', M: 16, efConstruction: 200 } });
  await db.createVault('v');
  await insert(db, build);
  await db.checkpoint();
  await db.close();
  console.log(JSON.stringify({ built: work, n: build }));
  process.exit(0);
}
execFileSync('cp', ['-a', source, work]);
for (let k = 0; k < skip; k++, next++) gen();

const probe = new LoopPhases();

const db = await open(work, { autoCheckpointBytes: 0 });
const results: { bytesWritten: number; segmentBytes: number; changedBytes: number; segmentPerChanged: number; checkpointMs: number; stallMaxMs: number }[] = [];
let lastGraph = decodeManifest(fs.readFileSync(path.join(work, 'quiver.manifest'))).vaults[0]?.graph?.path;
for (let round = 1; round <= rounds; round++) {
  const t = performance.now();
  await insert(db, add);
  const insertSeconds = (performance.now() - t) / 1000;
  const hwmBefore = status('VmHWM');
  const io = ioWritten();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  // The control: the same timer chain for 3 s with nothing of ours running. On a shared machine
  // this is the floor under any stall figure (the main thread waiting for a core).
  probe.start('idle control (3 s)');
  await new Promise((resolve) => setTimeout(resolve, 3000));
  probe.enter('checkpoint call');
  loop.enable();
  const start = performance.now();
  const r = await db.checkpoint();
  const ms = performance.now() - start;
  // The vault's segment bytes this checkpoint wrote (a delta segment, or the segment whole: FORMAT.md
  // "Delta segments") against the bytes that changed (the records added: vector and id).
  const entry = decodeManifest(fs.readFileSync(path.join(work, 'quiver.manifest'))).vaults[0]!;
  const graphSaved = entry.graph?.path !== lastGraph;
  lastGraph = entry.graph?.path;
  const segmentBytes = entry.deltas ? entry.deltas.at(-1)!.bytes : entry.segment.bytes;
  const changedBytes = add * DIM * 4 + Array.from({ length: add }, (_, k) => `r${next - add + k}`.length).reduce((a, b) => a + b, 0);
  loop.disable();
  const phases = probe.stop();
  const result = {
    round,
    records: next,
    insertSeconds,
    checkpointMs: Math.round(ms),
    bytesWritten: r.bytesWritten,
    segmentKind: entry.deltas ? 'delta' : 'whole',
    segmentBytes,
    graphBytes: graphSaved ? (entry.graph?.bytes ?? 0) + (entry.sidecar?.bytes ?? 0) + (entry.codes?.bytes ?? 0) : 0,
    changedBytes,
    segmentPerChanged: Number((segmentBytes / changedBytes).toFixed(3)),
    ioWriteBytes: ioWritten() - io,
    stallMaxMs: Math.round(loop.max / 1e6),
    vmHwmBefore: hwmBefore,
    vmHwmAfter: status('VmHWM'),
    idleStallMaxMs: Math.round(phases.get('idle control (3 s)')?.stallMs ?? 0),
    phases: Object.fromEntries([...phases].map(([name, p]) => [name, { ms: Math.round(p.ms), stallMs: Math.round(p.stallMs) }])),
    loadavg: uptime(),
  };
  results.push(result);
  console.error(`round ${round}: ${next} records, checkpoint ${(ms / 1000).toFixed(1)} s, ${mib(r.bytesWritten)} (io ${mib(result.ioWriteBytes)}; graph ${graphSaved ? 'saved' : 'kept'}; ${result.segmentKind} segment ${(segmentBytes / 1e6).toFixed(1)} MB = ${result.segmentPerChanged}x the ${(changedBytes / 1e6).toFixed(1)} MB changed), stall ${result.stallMaxMs} ms, VmHWM ${mib(hwmBefore)} -> ${mib(result.vmHwmAfter)}, load ${result.loadavg}`);
  for (const [name, p] of Object.entries(result.phases)) console.error(`  ${name.padEnd(24)} ${String(p.ms).padStart(7)} ms, stall ${String(p.stallMs).padStart(5)} ms`);
}
await db.close();
// #19 "Checkpoints at scale": over these rounds, bytes written per inserted byte and the longest checkpoint.
const sum = (f: (r: (typeof results)[number]) => number): number => results.reduce((n, r) => n + f(r), 0);
const summary = {
  checkpoints: results.length,
  bytesWritten: sum((r) => r.bytesWritten),
  segmentBytes: sum((r) => r.segmentBytes),
  changedBytes: sum((r) => r.changedBytes),
  writtenPerChanged: Number((sum((r) => r.bytesWritten) / Math.max(1, sum((r) => r.changedBytes))).toFixed(2)),
  segmentPerChangedMax: Math.max(...results.map((r) => r.segmentPerChanged)),
  longestCheckpointMs: Math.max(...results.map((r) => r.checkpointMs)),
  longestStallMs: Math.max(...results.map((r) => r.stallMaxMs)),
};
console.error(`summary: ${JSON.stringify(summary)}`);
console.log(JSON.stringify({ source, work, results, summary }, null, 1));
