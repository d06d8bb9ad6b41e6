import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, ConfigError, NotFoundError, SchemaError } from '../../src/index.js';
import { ReaderLease } from '../../src/lock/reader-lease.js';
import { FaultFileSystem } from '../helpers/fault-fs.js';
import { dbPath, tmpDir, vectors } from '../helpers/tmp.js';

// What a refused or failed open, a full filesystem and a clean close leave behind: nothing.

function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      out.push(child);
      if (e.isDirectory()) walk(child);
    }
  };
  walk('');
  return out.sort();
}

async function database(): Promise<string> {
  const dir = dbPath();
  const db = await open(dir, { dimension: 4 });
  const v = await db.createVault('v');
  await v.insertMany(vectors(5, 4, 1).map((vector, i) => ({ id: `r${i}`, vector })));
  await db.close();
  return dir;
}

describe('leftovers', () => {
  it('a refused open of a folder that is not a database leaves nothing in it', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'photo.jpg'), 'not a database');
    fs.mkdirSync(path.join(dir, 'albums'));
    const before = tree(dir);
    await assert.rejects(open(dir, { dimension: 4 }), (err: unknown) => err instanceof SchemaError && err.code === 'SCHEMA_VERSION_ABSENT');
    await assert.rejects(open(dir), SchemaError);
    await assert.rejects(open(dir, { readOnly: true }), SchemaError);
    assert.deepEqual(tree(dir), before);
  });

  it('an open that creates nothing (empty folder and create: false, or a bad option) leaves the folder as it was', async () => {
    const empty = tmpDir();
    await assert.rejects(open(empty, { create: false }), NotFoundError);
    await assert.rejects(open(empty), ConfigError, 'no dimension to create with');
    assert.deepEqual(tree(empty), []);
    const absent = path.join(tmpDir(), 'never');
    await assert.rejects(open(absent), ConfigError);
    assert.equal(fs.existsSync(absent), false, 'the folder it made for the database is gone again');
  });

  it('a reader on a full filesystem opens without a lease, says so in stats, and serves reads; it takes the lease once space is back', async () => {
    const dir = await database();
    const full = new FaultFileSystem();
    full.failAt = 1;
    full.errno = 'ENOSPC';
    const reader = await open(dir, { readOnly: true, fs: full });
    assert.deepEqual(reader.stats().lease, { held: false, reason: 'ENOSPC' });
    assert.equal(reader.vault('v').count(), 5);
    assert.equal((await reader.vault('v').search(vectors(1, 4, 1)[0]!, { k: 1 }))[0]!.id, 'r0');
    assert.deepEqual(tree(dir).filter((n) => n.startsWith('readers/')), [], 'no lease, and no tmp file of one');
    // A refresh that cannot write the lease still refreshes.
    const writer = await open(dir);
    await writer.vault('v').insert('r9', vectors(1, 4, 9)[0]!);
    await reader.refresh();
    assert.equal(reader.vault('v').count(), 6);
    assert.deepEqual(tree(dir).filter((n) => n.startsWith('readers/')), []);
    // Space again: the next renewal writes the lease.
    full.errno = null;
    full.failAt = Infinity;
    await writer.vault('v').insert('r10', vectors(1, 4, 10)[0]!);
    await reader.refresh();
    assert.deepEqual(reader.stats().lease, { held: true, reason: null });
    assert.equal(writer.stats().readers.filter((l) => !l.stale).length, 1, 'the writer sees the reader now');
    await reader.close();
    await writer.close();
    assert.deepEqual(tree(dir).filter((n) => n.startsWith('readers/')), [], 'the lease went with the close');
  });

  it('a renewal that fails midway leaves no tmp file, and a close racing a renewal leaves nothing in readers/', async () => {
    const dir = await database();
    const fault = new FaultFileSystem();
    const lease = await ReaderLease.take(fault, dir, { epoch: 1, lsn: 1 }, 10_000);
    const name = path.basename(lease.file);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'readers')), [name]);
    // The disk fills between creating the tmp file and writing it.
    fault.errno = 'ENOSPC';
    fault.failAt = fault.calls.length + 3; // mkdir, truncate pass; the write fails
    await lease.update(2, 2);
    assert.equal(lease.held, false);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'readers')), [name], 'the old lease stays; its tmp file is gone');
    fault.errno = null;
    fault.failAt = Infinity;
    // Renewals chained while close runs: none may bring a file back after it.
    const renewals = [lease.update(3, 3), lease.update(4, 4)];
    const closing = lease.release();
    renewals.push(lease.update(5, 5));
    await Promise.all([closing, ...renewals]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'readers')), []);
  });

  it('a clean close of many readers, each refreshed, leaves readers/ empty', async () => {
    const dir = await database();
    const readers = await Promise.all(Array.from({ length: 6 }, () => open(dir, { readOnly: true, refreshIntervalMs: 1 })));
    const writer = await open(dir);
    for (let i = 0; i < 20; i++) await writer.vault('v').insert(`w${i}`, vectors(1, 4, 100 + i)[0]!);
    await Promise.all(readers.map((r) => r.refresh()));
    // A refresh that loses the race with close fails with DATABASE_CLOSED; either way nothing is left.
    await Promise.all(readers.map((r) => Promise.all([r.refresh().catch(() => undefined), r.close()])));
    await writer.close();
    assert.deepEqual(fs.readdirSync(path.join(dir, 'readers')), []);
  });
});
