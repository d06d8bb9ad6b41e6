/**
 * A writer whose event loop blocks past lockStaleMs (test/concurrency/fence.test.ts):
 *   fence-child <dir> <durability> <lockStaleMs> <writes|checkpoint>
 * 1. inserts a0..a19, each acknowledged ("ack a<n>"); relaxed mode then flushes ("flushed");
 * 2. prints "blocking" and busy-loops, without yielding, until another process has rewritten
 *    LOCK (taken the lock over) and then until `<dir>.resume` exists;
 * 3. fires p0..p19 (and, given `checkpoint`, a checkpoint) at once, printing "ack p<n>" or
 *    "refused p<n> <code>" for each and "checkpoint ok" or "checkpoint refused <code>", then
 *    "done <status>".
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, type Durability, type QuiverError } from '../../src/index.js';

const [dir, durability, staleMs, action] = process.argv.slice(2) as [string, Durability, string, string];
const say = (line: string): void => void fs.writeSync(1, line + '\n');
const vector = (n: number): number[] => [Math.sin(n) + 2, Math.cos(n) + 2, 1, n % 7];

const db = await open(dir, { dimension: 4, durability, lockStaleMs: Number(staleMs), autoCheckpointBytes: 0 });
const v = db.hasVault('v') ? db.vault('v') : await db.createVault('v');
for (let n = 0; n < 20; n++) {
  await v.insert(`a${n}`, vector(n));
  say(`ack a${n}`);
}
if (durability === 'relaxed') {
  await db.flush();
  say('flushed');
}
const lock = path.join(dir, 'LOCK');
const mine = fs.readFileSync(lock);
say('blocking');
const deadline = Date.now() + 60_000;
const read = (file: string): Buffer | null => {
  try {
    return fs.readFileSync(file);
  } catch {
    return null;
  }
};
while (Date.now() < deadline && (read(lock)?.equals(mine) ?? true)) {
  // busy: the event loop is blocked, so proper-lockfile cannot refresh the lock
}
say('taken');
while (Date.now() < deadline && !fs.existsSync(`${dir}.resume`)) {
  // still busy while the new writer writes
}
const writes = Array.from({ length: 20 }, (_, n) =>
  v.insert(`p${n}`, vector(100 + n)).then(
    () => say(`ack p${n}`),
    (err: QuiverError) => say(`refused p${n} ${err.code}`),
  ),
);
const checkpoint =
  action === 'checkpoint'
    ? db.checkpoint().then(
        () => say('checkpoint ok'),
        (err: QuiverError) => say(`checkpoint refused ${err.code}`),
      )
    : null;
await Promise.all([...writes, checkpoint]);
say(`done ${db.status}`);
await db.close().catch(() => undefined);
