import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { open } from '../../src/index.js';
import { nodeFileSystem } from '../../src/fs/file-system.js';
import { ReaderLease } from '../../src/lock/reader-lease.js';
import { parseWalHeader } from '../../src/wal/frame.js';
import { readFrames } from '../../src/wal/wal-reader.js';
import { dbPath, seeded } from '../helpers/tmp.js';

const lsnsOf = (file: string): number[] => {
  const bytes = fs.readFileSync(file);
  const header = parseWalHeader(bytes)!;
  return readFrames(bytes, header.size, 0, header.salt).frames.map((f) => f.lsn);
};

describe('wal.kept/: log generations kept for an external shipper', () => {
  it('a checkpoint keeps the generation it replaces while a shipper lease is live, and removes what was kept once none is', async () => {
    const dir = dbPath();
    const r = seeded(1);
    const db = await open(dir, { dimension: 4, durability: 'relaxed' });
    const docs = await db.createVault('docs');
    const kept = path.join(dir, 'wal.kept');
    await docs.insert('a', [r(), r(), r(), r()]);
    await db.checkpoint();
    assert.equal(fs.existsSync(kept), false, 'no shipper: nothing kept');

    const lease = await ReaderLease.take(nodeFileSystem, dir, { epoch: 0, lsn: 0, ships: true }, 10_000);
    for (const id of ['b', 'c', 'd']) await docs.insert(id, [r(), r(), r(), r()]);
    const first = await db.checkpoint();
    await docs.insert('e', [r(), r(), r(), r()]);
    const second = await db.checkpoint();
    await db.checkpoint(); // nothing written since: an empty generation is not kept
    const files = fs.readdirSync(kept).sort();
    assert.equal(files.length, 2, files.join(', '));
    assert.ok(files[0]!.startsWith(String(first.lsn).padStart(16, '0')));
    // Relaxed durability buffers frames; the kept file holds every one the checkpoint covered.
    assert.deepEqual(lsnsOf(path.join(kept, files[0]!)), [first.lsn - 2, first.lsn - 1, first.lsn]);
    assert.deepEqual(lsnsOf(path.join(kept, files[1]!)), [second.lsn]);

    await lease.release();
    await docs.insert('f', [r(), r(), r(), r()]);
    await db.checkpoint();
    assert.equal(fs.existsSync(kept), false, 'the shipper is gone: what was kept is removed');
    await db.close();
  });

  it('a checkpoint that cannot list readers/ keeps nothing and still succeeds (keeping is best effort)', async () => {
    const dir = dbPath();
    const r = seeded(2);
    const db = await open(dir, { dimension: 4 });
    const docs = await db.createVault('docs');
    await docs.insert('a', [r(), r(), r(), r()]);
    // A file where readers/ should be: listing it fails with ENOTDIR (modes do not stop root).
    fs.rmSync(path.join(dir, 'readers'), { recursive: true, force: true });
    fs.writeFileSync(path.join(dir, 'readers'), '');
    await db.checkpoint();
    assert.equal(db.status, 'open');
    await docs.insert('b', [r(), r(), r(), r()]);
    assert.equal(fs.existsSync(path.join(dir, 'wal.kept')), false);
    await db.close();
  });
});
