/**
 * Fleet processes for the multi-process tests.
 *   writer <dir> <ms> <batch>   insertMany batches of <batch> records for <ms>, "acked <b>" after each; then "done <b>"
 *   reader <dir> <stopFile> <batch>  open read-only, refresh + verify + search until <stopFile> exists; final
 *                                   refresh, then print a JSON summary line
 *   lease <dir>                  open read-only, print "ready", wait to be killed
 */
import * as fs from 'node:fs';
import { open, NotFoundError } from '../../src/index.js';

const [mode, dir, arg, batchArg] = process.argv.slice(2);
const BATCH = Number(batchArg ?? 10);
const DIM = 8;
const vector = (n: number) => Float32Array.from({ length: DIM }, (_, i) => Math.sin(n * 7 + i) + 1.2);

if (mode === 'writer') {
  const db = await open(dir!, { dimension: DIM, autoCheckpointBytes: 24 * 1024 });
  const v = await db.createVault('v');
  process.stdout.write('ready\n');
  const until = Date.now() + Number(arg);
  let b = 0;
  for (; Date.now() < until; b++) {
    await v.insertMany(Array.from({ length: BATCH }, (_, i) => ({ id: `b${b}-${i}`, vector: vector(b * BATCH + i), payload: { b } })));
    process.stdout.write(`acked ${b}\n`);
  }
  const epoch = db.stats().epoch;
  await db.close();
  process.stdout.write(`done ${b - 1} epoch ${epoch}\n`);
} else if (mode === 'reader') {
  process.stdout.write('started\n');
  let db;
  for (;;) {
    try {
      db = await open(dir!, { readOnly: true });
      if (db.hasVault('v')) break;
      await db.close();
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const v = db.vault('v');
  const errors: string[] = [];
  let highest = -1;
  let refreshes = 0;
  let searches = 0;
  const verify = (): void => {
    const counts = new Map<number, number>();
    for (const id of v.ids()) {
      const b = Number(id.slice(1, id.indexOf('-')));
      counts.set(b, (counts.get(b) ?? 0) + 1);
    }
    const top = counts.size - 1;
    for (let b = 0; b <= top; b++) {
      if (counts.get(b) !== BATCH) errors.push(`batch ${b} has ${counts.get(b) ?? 0} of ${BATCH} records (torn or missing) at LSN ${db!.stats().lastLsn}`);
    }
    if (top < highest) errors.push(`went back from batch ${highest} to ${top}`);
    highest = Math.max(highest, top);
  };
  const deadline = Date.now() + 60_000;
  while (!fs.existsSync(arg!) && Date.now() < deadline) {
    try {
      await db.refresh();
      refreshes++;
      verify();
      if (v.count() > 0) {
        const hits = await v.search(vector(refreshes), { k: 5 });
        if (hits.length !== Math.min(5, v.count())) errors.push(`search returned ${hits.length}`);
        searches++;
      }
    } catch (err) {
      errors.push(`error: ${(err as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await db.refresh();
  verify();
  const stats = db.stats();
  process.stdout.write(JSON.stringify({ highest, refreshes, searches, errors: errors.slice(0, 10), epoch: stats.epoch, lsn: stats.lastLsn }) + '\n');
  await db.close();
} else if (mode === 'lease') {
  await open(dir!, { readOnly: true, lockStaleMs: 2000 });
  process.stdout.write('ready\n');
  setInterval(() => undefined, 1000);
}
