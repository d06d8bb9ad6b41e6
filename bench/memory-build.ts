// The writer for bench/memory.ts, in a process of its own so that its peak RSS (VmHWM) is the
// database's and not the bench's: `node --import tsx bench/memory-build.ts <dir> <N> <DIM> <efC> <out.json>`.
// The vectors are generated one batch at a time (the same seeded sequence as clustered(), see
// clusteredStream), so the process never holds the data set.
//
// Auto-checkpoints are emulated rather than left to the database: autoCheckpointBytes is 0 and this
// script checkpoints whenever wal.log passes 64 MiB (the default threshold), between batches, as the
// database's own trigger would. That way each checkpoint can be timed, its bytes counted (the
// result's bytesWritten and this process's /proc/self/io write_bytes), and the event loop's
// longest stall during it read from monitorEventLoopDelay.
//
// A database already in <dir> (a build stopped after a checkpoint) is resumed: its records are
// the first ones of the same seeded sequence, so the generator skips that many and the build goes
// on from there. The result then says `resumedFrom`, and its ingest figures cover the resumed part.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { LoopPhases } from './loop-phases.js';
import { clusteredStream } from './data.js';
import { open } from '../src/index.js';

const [dir, nText, dimText, efText, out] = process.argv.slice(2);
const N = Number(nText);
const DIM = Number(dimText);
const M = 16;
const BATCH = 2000;
const AUTO = 64 * 2 ** 20;
const TAIL = Math.min(100_000, Math.floor(N / 10)); // "the last 100k of the 1M"

const status = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) * 1024;
const written = () => Number(/^write_bytes:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
const walSize = () => {
  try {
    return fs.statSync(path.join(dir!, 'wal.log')).size;
  } catch {
    return 0;
  }
};

type Checkpoint = { at: number; ms: number; bytesWritten: number; ioBytes: number; stallMs: number; worstPhase: string; worstPhaseMs: number };
const probe = new LoopPhases();
const checkpoints: Checkpoint[] = [];
const loop = monitorEventLoopDelay({ resolution: 1 });
const whole = monitorEventLoopDelay({ resolution: 1 });
whole.enable();
let rssMax = 0;
const sampler = setInterval(() => (rssMax = Math.max(rssMax, process.memoryUsage.rss())), 250);

async function checkpoint(db: Awaited<ReturnType<typeof open>>, at: number): Promise<void> {
  const io = written();
  loop.reset();
  loop.enable();
  const t = performance.now();
  probe.start('checkpoint call');
  const r = await db.checkpoint();
  const ms = performance.now() - t;
  loop.disable();
  // The phase of the longest gap (bench/loop-phases.ts), to say where a long stall came from.
  const [worstPhase, worstPhaseMs] = LoopPhases.worst(probe.stop());
  checkpoints.push({ at, ms, bytesWritten: r.bytesWritten, ioBytes: written() - io, stallMs: loop.max / 1e6, worstPhase, worstPhaseMs });
  // From/to in ms of performance.now(), to line up with node --trace-gc's times.
  console.error(`  checkpoint at ${at} (${t.toFixed(0)}-${(t + ms).toFixed(0)} ms): ${(ms / 1000).toFixed(1)} s, ${(r.bytesWritten / 2 ** 20).toFixed(0)} MiB, stall ${(loop.max / 1e6).toFixed(0)} ms (longest gap ${worstPhaseMs.toFixed(0)} ms in ${worstPhase}), RSS ${(process.memoryUsage.rss() / 2 ** 20).toFixed(0)} MiB`);
}

const t0 = performance.now();
const db = await open(dir!, { dimension: DIM, autoCheckpointBytes: 0, index: { type: 'hnsw', M, efConstruction: Number(efText) } });
const v = db.hasVault('v') ? db.vault('v') : await db.createVault('v');
const resumedFrom = v.count();
if (resumedFrom % BATCH !== 0 || resumedFrom > N) throw new Error(`cannot resume from ${resumedFrom} records`);
const gen = clusteredStream(DIM, 64, 7);
for (let j = 0; j < resumedFrom; j++) gen();
if (resumedFrom > 0) console.error(`  resuming at ${resumedFrom} records`);
let tailStart = { t: 0, io: 0, checkpoints: 0 };
for (let i = resumedFrom; i < N; i += BATCH) {
  if (i === N - TAIL) tailStart = { t: performance.now(), io: written(), checkpoints: checkpoints.length };
  const rows = [];
  for (let j = i; j < Math.min(i + BATCH, N); j++) rows.push({ id: `r${j}`, vector: gen() });
  await v.insertMany(rows);
  if (walSize() >= AUTO) await checkpoint(db, i + rows.length);
  if (i % 50_000 === 0) console.error(`  ${i} inserted, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
await db.settle();
const ingestMs = performance.now() - t0;
const tailMs = performance.now() - tailStart.t;
const tailIo = written() - tailStart.io;
await checkpoint(db, N);
await db.close();
clearInterval(sampler);
const tail = checkpoints.slice(tailStart.checkpoints, -1); // the auto ones inside the last 100k
const result = {
  n: N,
  dim: DIM,
  resumedFrom,
  ingestSeconds: ingestMs / 1000,
  ingestPerSecond: (N - resumedFrom) / (ingestMs / 1000),
  totalSeconds: (performance.now() - t0) / 1000,
  vmHwm: status('VmHWM'),
  rssSampledMax: rssMax,
  stallMaxWholeMs: whole.max / 1e6,
  checkpoints,
  tail: {
    inserted: TAIL,
    // What the user handed over: vector bytes plus the id's bytes.
    insertedBytes: TAIL * (DIM * 4 + `r${N - 1}`.length),
    seconds: tailMs / 1000,
    ioBytes: tailIo,
    checkpoints: tail.length,
  },
};
fs.writeFileSync(out!, JSON.stringify(result, null, 1));
