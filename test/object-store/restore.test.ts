import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { NotFoundError, open } from '../../src/index.js';
import { restoreFromObjectStore } from '../../src/replica/restore.js';
import { dbPath, seeded, tmpDir } from '../helpers/tmp.js';
import { endpoint, freshUrl, s3Options, skip } from './env.js';
import { DIM, exportBytes, quiver, readRoot, shipped, until, vec } from './util.js';
import { S3Store } from '../../src/object-store/s3-store.js';

describe('point-in-time restore and backup from the bucket', { skip }, () => {
  it('restores at several LSNs, across checkpoints, to exactly the writer state at each (export compared byte for byte)', async () => {
    const url = await freshUrl('pitr');
    const r = seeded(7);
    const writer = await open(dbPath(), { dimension: DIM, replicate: { url, ...s3Options(), intervalMs: 50 } });
    const docs = await writer.createVault('docs');
    const points: { lsn: number; time: number; state: Record<string, string> }[] = [];
    for (let step = 0; step < 6; step++) {
      for (let i = 0; i < 15; i++) await docs.insert(`s${step}-${i}`, vec(r), { step, i });
      if (step > 0) await docs.erase(`s${step - 1}-0`);
      await writer.batch([
        { op: 'insert', vault: 'docs', id: `batch-${step}-a`, vector: vec(r) },
        { op: 'insert', vault: 'docs', id: `batch-${step}-b`, vector: vec(r) },
      ]);
      if (step % 2 === 1) await writer.checkpoint();
      const lsn = await shipped(writer);
      await new Promise((res) => setTimeout(res, 60));
      points.push({ lsn, time: Date.now(), state: await exportBytes(writer) });
      await new Promise((res) => setTimeout(res, 60));
    }
    await writer.close();
    for (const p of points) {
      const dir = path.join(tmpDir(), 'restored');
      const result = await restoreFromObjectStore(url, dir, { lsn: p.lsn }, s3Options());
      assert.equal(result.lsn, p.lsn);
      const db = await open(dir, { readOnly: true });
      assert.equal(db.stats().lastLsn, p.lsn);
      assert.deepEqual(await exportBytes(db), p.state, `state at LSN ${p.lsn}`);
      await db.close();
    }
    // By time: the state as of a moment between two shipped points.
    const mid = points[3]!;
    const byTime = path.join(tmpDir(), 'by-time');
    const result = await restoreFromObjectStore(url, byTime, { time: mid.time }, s3Options());
    assert.equal(result.lsn, mid.lsn);
    const db = await open(byTime, { readOnly: true });
    assert.deepEqual(await exportBytes(db), mid.state);
    await db.close();
    await assert.rejects(restoreFromObjectStore(url, path.join(tmpDir(), 'x'), { lsn: points.at(-1)!.lsn + 5 }, s3Options()), NotFoundError);
  });

  it('the log tail a checkpoint truncates before the next shipping round is still shipped: restore reaches an LSN inside it', async () => {
    const url = await freshUrl('tail');
    const r = seeded(12);
    // One round at open, the next a minute later: everything below happens between the two.
    const writer = await open(dbPath(), { dimension: DIM, replicate: { url, ...s3Options(), intervalMs: 60_000 } });
    const store = await S3Store.open(url, s3Options());
    await until('the first round', async () => ((await readRoot(store))?.files.length ?? 0) > 0);
    store.close();
    const docs = await writer.createVault('docs');
    for (let i = 0; i < 10; i++) await docs.insert(`a${i}`, vec(r));
    const lsn = writer.stats().lastLsn;
    const state = await exportBytes(writer);
    for (let i = 0; i < 10; i++) await docs.insert(`b${i}`, vec(r));
    await writer.checkpoint();
    await docs.insert('c', vec(r));
    await writer.close(); // the final round ships the tail, the checkpoint, then the log after it
    const dir = path.join(tmpDir(), 'restored');
    assert.equal((await restoreFromObjectStore(url, dir, { lsn }, s3Options())).lsn, lsn);
    const db = await open(dir, { readOnly: true });
    assert.deepEqual(await exportBytes(db), state);
    await db.close();
  });

  it('quiver backup <db> s3://... then quiver restore s3://... <dir> gives a database that passes quiver check', async () => {
    const url = await freshUrl('cli');
    const source = dbPath();
    const r = seeded(3);
    const db = await open(source, { dimension: DIM });
    const docs = await db.createVault('docs');
    for (let i = 0; i < 30; i++) await docs.insert(`a${i}`, vec(r), { i });
    await db.checkpoint();
    for (let i = 0; i < 10; i++) await docs.insert(`b${i}`, vec(r), { i });
    const expected = await exportBytes(db);
    await db.close();
    const backup = quiver('backup', source, url, '--endpoint', endpoint!);
    assert.equal(backup.code, 0, backup.stderr);
    const dest = path.join(tmpDir(), 'restored');
    const restored = quiver('restore', url, dest, '--endpoint', endpoint!);
    assert.equal(restored.code, 0, restored.stderr);
    const check = quiver('check', dest);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    const back = await open(dest, { readOnly: true });
    assert.deepEqual(await exportBytes(back), expected);
    await back.close();
  });
});
