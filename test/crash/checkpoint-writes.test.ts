import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open } from '../../src/index.js';
import { WAL_HEADER_SIZE } from '../../src/format/constants.js';
import { segmentSlices } from '../../src/segments/segment-file.js';
import { BASE, DIM, apply, baseVector, differences, modelOf, opOf, prefixOf } from '../helpers/checkpoint-writes.js';
import { spawnChild } from '../helpers/spawn.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';

// A checkpoint makes its segment in slices and the event loop turns between them, so writes are
// called while it runs. They must behave as before: each takes its slot in the write order after
// the checkpoint's, so the checkpoint files hold exactly the writes called before the checkpoint,
// and every write is in the log after it; nothing is lost, nothing is there twice.

const knobs = { ...segmentSlices };
afterEach(() => Object.assign(segmentSlices, knobs));

/** A database of BASE records, checkpointed: the writes then meet rows of a loaded segment. */
async function based(): Promise<string> {
  const dir = dbPath();
  const db = await open(dir, { dimension: DIM, autoCheckpointBytes: 0, index: { type: 'hnsw', M: 8, efConstruction: 32 } });
  const v = await db.createVault('v');
  await v.insertMany(Array.from({ length: BASE }, (_, b) => ({ id: `b${b}`, vector: baseVector(b), payload: { base: b } })));
  await db.checkpoint();
  await db.close();
  return dir;
}

/** The checkpoint files alone: a copy of the database whose log is emptied (its header kept). */
async function checkpointOnly(dir: string): Promise<{ differences: (count: number) => string[]; epoch: number; close: () => Promise<void> }> {
  const copy = path.join(tmpDir(), 'db');
  fs.cpSync(dir, copy, { recursive: true });
  fs.truncateSync(path.join(copy, 'wal.log'), WAL_HEADER_SIZE);
  fs.rmSync(path.join(copy, 'LOCK'), { recursive: true, force: true });
  const db = await open(copy, { readOnly: true });
  return { differences: (count) => differences(db.vault('v'), modelOf(count)), epoch: db.stats().epoch, close: () => db.close() };
}

describe('writes called during a checkpoint made in slices', () => {
  it('wait for it: the checkpoint holds the writes called before it, the log every one after', async () => {
    const dir = await based();
    Object.assign(segmentSlices, { records: 8, bytes: 1024 });
    const db = await open(dir, { autoCheckpointBytes: 0 });
    const v = db.vault('v');
    let next = 0;
    let stop = false;
    const lanes = Array.from({ length: 4 }, async () => {
      while (!stop) {
        const n = next++;
        await apply(v, opOf(n));
      }
    });
    const checkpoints: { before: number; epoch: number }[] = [];
    let turns = 0;
    for (let round = 0; round < 3; round++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const before = next;
      const writesBefore = next;
      let turning = true;
      const count = (): void => {
        turns++;
        if (turning) setImmediate(count);
      };
      setImmediate(count);
      const result = await db.checkpoint();
      turning = false;
      checkpoints.push({ before, epoch: result.epoch });
      assert.ok(next > writesBefore, 'writes were called while the checkpoint ran');
    }
    stop = true;
    await Promise.all(lanes);
    const written = next;
    assert.deepEqual(differences(v, modelOf(written)), [], 'in memory');
    await db.close();
    // The last checkpoint's files hold exactly the writes called before it...
    const alone = await checkpointOnly(dir);
    assert.equal(alone.epoch, checkpoints.at(-1)!.epoch);
    assert.deepEqual(alone.differences(checkpoints.at(-1)!.before), [], 'the checkpoint files alone');
    await alone.close();
    // ...and with the log, every write once.
    const again = await open(dir, { readOnly: true });
    assert.deepEqual(differences(again.vault('v'), modelOf(written)), [], 'reopened');
    await again.close();
    assert.ok(turns > 0);
  });

  it('a writer killed right after such a checkpoint loses no acknowledged write and holds none twice', async () => {
    const dir = await based();
    const lanes = 4;
    const child = spawnChild(['checkpoint-writes', dir, String(lanes)]);
    await child.waitFor((l) => l === 'ready');
    // The second checkpoint: the first rewrote the loaded segment, this one rewrites its own.
    const line = await child.waitFor((l) => l.startsWith('checkpoint ') && child.lines.filter((x) => x.startsWith('checkpoint ')).length >= 2, 60_000);
    const [before, epoch, calledBy] = line.split(' ').slice(1).map(Number) as [number, number, number];
    assert.ok(calledBy > before, 'writes were called while the checkpoint ran');
    // Killed soon after, once some of the writes that waited for it are acknowledged (logged after it).
    await child.waitFor((l) => l.startsWith('ack ') && Number(l.slice(4)) >= before + 8);
    await child.kill();
    const acked = child.lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)));

    const alone = await checkpointOnly(dir);
    assert.equal(alone.epoch, epoch, 'the manifest is the printed checkpoint\'s');
    assert.deepEqual(alone.differences(before), [], 'the checkpoint files hold exactly the writes called before it');
    await alone.close();

    // Writes are called in order of n and logged in that order: what survived is a prefix of them
    // that covers every acknowledged one (the child may have acknowledged more than was read
    // from its stdout before the kill).
    const db = await open(dir, { lockStaleMs: 2000 });
    const v = db.vault('v');
    const least = Math.max(...acked) + 1;
    const found = prefixOf(v, least, 1_000_000);
    assert.ok(found !== null, `the reopened vault is no prefix of the writes from ${least}: ${differences(v, modelOf(least)).join('; ')}`);
    await db.close();
  });
});
