import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { WAL_HEADER_SIZE } from '../../src/format/constants.js';
import { open, destroy, restore, LockedError, StorageError, NotFoundError } from '../../src/index.js';
import { backupDirectory } from '../../src/engine/maintenance/backup.js';
import { nodeFileSystem } from '../../src/fs/file-system.js';
import { listLeases } from '../../src/lock/reader-lease.js';
import { dbPath, fingerprint, tmpDir, vectors } from '../helpers/tmp.js';
import { spawnChild } from '../helpers/spawn.js';

describe('readers beside a writer', () => {
  it('a reader keeps answering from its snapshot after the writer checkpoints and deletes old segments; refresh moves it on', async () => {
    const dir = dbPath();
    const writer = await open(dir, { dimension: 4 });
    const v = await writer.createVault('v');
    const vs = vectors(40, 4, 9);
    await v.insertMany(vs.slice(0, 20).map((vector, i) => ({ id: `r${i}`, vector })));
    await writer.checkpoint();
    const oldSegments = fs.readdirSync(path.join(dir, 'segments'));

    const reader = await open(dir, { readOnly: true });
    const rv = reader.vault('v');
    const before = await rv.search(vs[0]!, { k: 3 });
    assert.equal(rv.count(), 20);

    await v.insertMany(vs.slice(20).map((vector, i) => ({ id: `r${i + 20}`, vector })));
    await v.erase('r0');
    await writer.checkpoint();
    assert.ok(oldSegments.every((f) => !fs.existsSync(path.join(dir, 'segments', f))), 'old segments are gone');
    assert.equal(fs.statSync(path.join(dir, 'wal.log')).size, WAL_HEADER_SIZE, 'the log was emptied');

    assert.deepEqual(await rv.search(vs[0]!, { k: 3 }), before, 'the snapshot still answers');
    assert.equal(rv.count(), 20);
    const r = await reader.refresh();
    assert.equal(r.epoch, 2);
    assert.equal(r.lsn, writer.stats().lastLsn);
    assert.equal(r.appliedRecords, 2);
    assert.equal(rv.count(), 39);
    assert.equal(rv.has('r0'), false);

    // Without a checkpoint, a refresh reads only the new log records.
    await v.insert('late', vs[1]!);
    assert.deepEqual(await reader.refresh(), { epoch: 2, lsn: writer.stats().lastLsn, appliedRecords: 1 });
    assert.equal(rv.has('late'), true);
    assert.deepEqual(await reader.refresh(), { epoch: 2, lsn: writer.stats().lastLsn, appliedRecords: 0 });
    await reader.close();
    await writer.close();
  });

  it('refreshIntervalMs keeps a reader current by itself', async () => {
    const dir = dbPath();
    const writer = await open(dir, { dimension: 2 });
    const v = await writer.createVault('v');
    const reader = await open(dir, { readOnly: true, refreshIntervalMs: 20 });
    await v.insert('a', [1, 0]);
    const deadline = Date.now() + 5000;
    while (!reader.vault('v').has('a') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(reader.vault('v').has('a'), true);
    await reader.close();
    await writer.close();
  });

  it('every mutation on a read-only handle raises READ_ONLY and writes nothing', async () => {
    const dir = dbPath();
    const writer = await open(dir, { dimension: 2 });
    await (await writer.createVault('v')).insert('a', [1, 0]);
    await writer.close();
    const reader = await open(dir, { readOnly: true });
    const before = fingerprint(dir);
    const readOnly = (err: unknown) => err instanceof StorageError && err.code === 'READ_ONLY';
    const v = reader.vault('v');
    await assert.rejects(v.insert('b', [0, 1]), readOnly);
    await assert.rejects(v.insertMany([{ id: 'b', vector: [0, 1] }]), readOnly);
    await assert.rejects(v.erase('a'), readOnly);
    await assert.rejects(reader.batch([{ op: 'insert', vault: 'v', id: 'c', vector: [1, 1] }]), readOnly);
    await assert.rejects(reader.batch([{ op: 'erase', vault: 'v', id: 'a' }]), readOnly);
    await assert.rejects(reader.createVault('w'), readOnly);
    await assert.rejects(reader.dropVault('v'), readOnly);
    await assert.rejects(reader.checkpoint(), readOnly);
    await assert.rejects(reader.compact(), readOnly);
    await assert.rejects(reader.flush(), readOnly);
    assert.equal(v.get('a')!.id, 'a', 'reads still work');
    assert.deepEqual(fingerprint(dir), before);
    assert.equal(listLeases(dir, 10_000).length, 1, 'the reader holds a lease');
    await reader.close();
    assert.equal(listLeases(dir, 10_000).length, 0, 'close releases it');
    assert.deepEqual(fingerprint(dir), before);
  });

  it('a reader killed with SIGKILL leaves a lease that goes stale and is cleaned; stats lists live readers and the writer', async () => {
    const dir = dbPath();
    await (await open(dir, { dimension: 8 })).close();
    const child = spawnChild(['lease', dir], 'fleet');
    await child.waitFor((l) => l === 'ready');
    const writer = await open(dir);
    const stats = writer.stats();
    assert.equal(stats.readers.length, 1);
    assert.equal(stats.readers[0]!.pid, child.proc.pid);
    assert.equal(stats.readers[0]!.stale, false);
    assert.equal(stats.writer!.pid, process.pid);
    const readerView = await open(dir, { readOnly: true });
    assert.equal(readerView.stats().writer!.pid, process.pid, 'a reader sees the live writer');
    await readerView.close();
    await assert.rejects(destroy(dir), LockedError, 'a live writer blocks destroy');
    await child.kill();
    const leases = listLeases(dir, 10_000);
    assert.equal(leases.length, 1);
    assert.equal(leases[0]!.stale, true, 'its pid is gone');
    await writer.checkpoint();
    assert.equal(listLeases(dir, 10_000).length, 0, 'the writer cleaned it');
    await writer.close();
  });

  it('a writer killed with SIGKILL leaves a database that readers open', async () => {
    const dir = dbPath();
    const child = spawnChild(['insert', dir, 'standard', '2']);
    await child.waitFor((l) => l.startsWith('ack ') && Number(l.slice(4)) >= 200, 60_000);
    await child.kill();
    const acked = child.lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)));
    const reader = await open(dir, { readOnly: true });
    const v = reader.vault('v');
    assert.deepEqual(acked.filter((n) => !v.has(`k${n}`)), []);
    assert.equal(reader.stats().writer, null, 'the dead writer is not reported live');
    await reader.close();
  });

  it('destroy and restore refuse while a live reader holds the database; then they work', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2 });
    const v = await db.createVault('v');
    await v.insert('a', [1, 0]);
    const backup = path.join(tmpDir(), 'backup');
    const taken = await db.backup(backup);
    await v.insert('b', [0, 1]);
    await db.close();
    const reader = await open(dir, { readOnly: true });
    await assert.rejects(destroy(dir), (err: unknown) => err instanceof LockedError && /live reader/.test(err.message));
    await assert.rejects(restore(backup, dir), LockedError);
    await reader.close();
    const restored = await restore(backup, dir);
    assert.equal(restored.lsn, taken.lsn);
    const back = await open(dir);
    assert.deepEqual(back.vault('v').ids(), ['a']);
    await back.close();
    await destroy(dir);
    assert.equal(fs.existsSync(dir), false);
    await assert.rejects(destroy(dir), NotFoundError);
  });
});

describe('a readers/ that cannot be listed', () => {
  it('is never taken for "no readers": destroy and restore refuse with StorageError and change nothing', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2 });
    await (await db.createVault('v')).insert('a', [1, 0]);
    const backup = path.join(tmpDir(), 'backup');
    await db.backup(backup);
    await db.close();
    // A reader's lease would be in readers/; as a file, it cannot be listed (ENOTDIR, and root ignores modes).
    fs.rmSync(path.join(dir, 'readers'), { recursive: true, force: true });
    fs.writeFileSync(path.join(dir, 'readers'), 'not a directory');
    const before = fingerprint(dir);
    const listingError = (err: unknown) => err instanceof StorageError && err.code === 'IO_ERROR' && /readers/.test(err.message);
    assert.throws(() => listLeases(dir, 10_000), listingError);
    await assert.rejects(destroy(dir), listingError);
    await assert.rejects(restore(backup, dir), listingError);
    assert.deepEqual(fingerprint(dir), before, 'the database is as it was');
    assert.equal(listLeases(path.join(tmpDir(), 'none'), 10_000).length, 0, 'no readers/ at all is no reader');
  });
});

describe('online backup', () => {
  it('backups taken during continuous writes open cleanly and hold a gap-free prefix of the writer\'s operations', { timeout: 120_000 }, async () => {
    const dir = dbPath();
    const child = spawnChild(['insert', dir, 'standard', '1']);
    await child.waitFor((l) => l.startsWith('ack ') && Number(l.slice(4)) >= 50, 60_000);
    const results = [];
    try {
      for (let i = 0; i < 6; i++) {
        const dest = path.join(tmpDir(), 'copy');
        results.push({ dest, result: await backupDirectory(nodeFileSystem, dir, dest) });
        await new Promise((r) => setTimeout(r, 150));
      }
    } finally {
      await child.kill();
    }
    let previous = -1;
    for (const { dest, result } of results) {
      const copy = await open(dest, { readOnly: true });
      const ids = copy.vault('v').ids();
      const n = ids.length;
      // The child inserts k0, k1, ... one at a time: a consistent copy holds exactly k0..k(n-1).
      assert.deepEqual(new Set(ids), new Set(Array.from({ length: n }, (_, i) => `k${i}`)), `backup at LSN ${result.lsn}`);
      assert.equal(copy.stats().lastLsn, result.lsn);
      assert.equal(result.lsn, n + 1, 'one vault creation, then one LSN per insert');
      assert.ok(n >= previous, 'later backups hold more');
      previous = n;
      await copy.close();
      const rw = await open(dest);
      assert.equal(rw.stats().recovery!.dropped, null, 'the copy needs no repair');
      await rw.close();
    }
    assert.ok(previous > 50);
  });

  it('db.backup() from the writer holds checkpoints, not writes, and reports its LSN', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 4, durability: 'relaxed' });
    const v = await db.createVault('v');
    await v.insertMany(vectors(100, 4, 1).map((vector, i) => ({ id: `r${i}`, vector })));
    await db.checkpoint();
    await v.insert('after-checkpoint', vectors(1, 4, 2)[0]!);
    const dest = path.join(tmpDir(), 'b');
    const [result] = await Promise.all([db.backup(dest), v.insert('during', vectors(1, 4, 3)[0]!)]);
    assert.equal(result.attempts, 1);
    const copy = await open(dest);
    assert.equal(copy.stats().lastLsn, result.lsn);
    assert.equal(copy.vault('v').has('after-checkpoint'), true);
    await copy.close();
    await assert.rejects(db.backup(dest), /not empty/);
    await db.close();
  });
});
