/**
 * A child process for crash and lock tests. Modes:
 *   insert <dir> <durability> <concurrency>  insert forever, printing "ack <n>" as each insert resolves
 *   hold <dir>                               open for writing, print "ready", wait to be killed
 *   reembed <dir> <model folder>             re-embed the database with that model, printing "progress <n>"
 *   commits <dir> <durability>               commit layers forever (a second branch every 10th), printing "commit <n> <id>"
 *   checkpoint-writes <dir> <lanes>          checkpoint-writes.ts's writes forever, printing "ack <n>", and a checkpoint
 *                                            made in small slices now and then, printing "checkpoint <writes before it> <epoch> <writes called by its end>"
 */
import * as fs from 'node:fs';
import { open, type Durability } from '../../src/index.js';

const [mode, dir, durability, concurrency] = process.argv.slice(2);

if (mode === 'insert') {
  const db = await open(dir!, { dimension: 8, durability: durability as Durability, autoCheckpointBytes: 16 * 1024 });
  const v = db.hasVault('v') ? db.vault('v') : await db.createVault('v');
  let next = 0;
  const lanes = Number(concurrency ?? 1);
  process.stdout.write('ready\n');
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (;;) {
        const n = next++;
        const vector = Float32Array.from({ length: 8 }, (_, i) => Math.sin(n + i) + 1.5);
        await v.insert(`k${n}`, vector, { n, pad: 'x'.repeat(n % 50) });
        process.stdout.write(`ack ${n}\n`);
      }
    }),
  );
} else if (mode === 'hold') {
  await open(dir!, { dimension: 8, lockStaleMs: 2000 });
  process.stdout.write('ready\n');
  setInterval(() => undefined, 1000);
} else if (mode === 'abandon') {
  // Holds the lock, then exits without closing once `<dir>.exit` appears (proper-lockfile's exit hook runs).
  await open(dir!, { dimension: 8, lockStaleMs: 2000 });
  process.stdout.write('ready\n');
  setInterval(() => {
    if (fs.existsSync(`${dir}.exit`)) process.exit(0);
  }, 20);
} else if (mode === 'reembed') {
  const db = await open(dir!);
  process.stdout.write('ready\n');
  await db.reembed({ transformers: durability! }, { onProgress: (done) => process.stdout.write(`progress ${done}\n`) });
  process.stdout.write('done\n');
  await db.close();
} else if (mode === 'commits') {
  const db = await open(dir!, { dimension: 8, durability: durability as Durability, autoCheckpointBytes: 8 * 1024 });
  const v = db.hasVault('kb') ? db.vault('kb') : await db.createVault('kb');
  await v.branches.create('side', null);
  process.stdout.write('ready\n');
  for (let n = 0; ; n++) {
    const branch = n % 10 === 9 ? 'side' : 'main';
    const { id } = await v.layers.commit({ branch, resources: { [`urn:${n}`]: { n }, 'urn:counter': { n } }, meta: { n } });
    await v.traces.put(`trace-${n}`, { n, layer: id });
    process.stdout.write(`commit ${n} ${id} ${branch}\n`);
  }
} else if (mode === 'checkpoint-writes') {
  const { apply, opOf } = await import('./checkpoint-writes.js');
  const { segmentSlices } = await import('../../src/segments/segment-file.js');
  Object.assign(segmentSlices, { records: 16, bytes: 4096 });
  const db = await open(dir!, { autoCheckpointBytes: 0 });
  const v = db.vault('v');
  let next = 0;
  process.stdout.write('ready\n');
  const writes = Array.from({ length: Number(durability) }, async () => {
    for (;;) {
      const n = next++;
      await apply(v, opOf(n));
      process.stdout.write(`ack ${n}\n`);
    }
  });
  const checkpoints = (async () => {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      // The checkpoint takes its slot in the write order now: it holds exactly the writes called before it.
      const before = next;
      const r = await db.checkpoint();
      process.stdout.write(`checkpoint ${before} ${r.epoch} ${next}\n`);
      // Killed about now; no later checkpoint commits first.
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  })();
  await Promise.all([...writes, checkpoints]);
} else {
  throw new Error(`unknown mode ${mode}`);
}
