import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open } from '../../src/index.js';
import { nodeFileSystem, type FileSystem } from '../../src/fs/file-system.js';
import { dbPath } from '../helpers/tmp.js';

/** Records the order of log writes, fsync starts and fsync ends. */
function recordingFs(events: string[]): FileSystem {
  return {
    ...nodeFileSystem,
    writeSync(fd, data, position) {
      events.push('write');
      nodeFileSystem.writeSync(fd, data, position);
    },
    async fsync(fd) {
      events.push('fsync-start');
      await nodeFileSystem.fsync(fd);
      events.push('fsync-end');
    },
  };
}

const walSize = (dir: string) => fs.statSync(path.join(dir, 'wal.log')).size;

describe('durability modes', () => {
  it('standard: the record is in wal.log (written to the OS) when the insert resolves; no fsync per write', async () => {
    const dir = dbPath();
    const events: string[] = [];
    const db = await open(dir, { dimension: 2, fs: recordingFs(events) });
    const v = await db.createVault('v');
    const before = walSize(dir);
    events.length = 0;
    await v.insert('a', [1, 0]);
    assert.ok(walSize(dir) > before);
    assert.deepEqual(events, ['write']);
    await db.close();
  });

  it('paranoid: an insert resolves only after an fsync that began after its write; 32 concurrent inserts share a few fsyncs', async () => {
    const dir = dbPath();
    const events: string[] = [];
    const db = await open(dir, { dimension: 2, durability: 'paranoid', fs: recordingFs(events) });
    const v = await db.createVault('v');
    events.length = 0;
    await v.insert('solo', [1, 0]);
    assert.deepEqual(events, ['write', 'fsync-start', 'fsync-end']);

    events.length = 0;
    const resolvedBy: number[] = [];
    await Promise.all(Array.from({ length: 32 }, (_, i) => v.insert(`c${i}`, [1, i]).then(() => (resolvedBy[i] = events.length))));
    const fsyncs = events.filter((e) => e === 'fsync-start').length;
    assert.equal(events.filter((e) => e === 'write').length, 32);
    assert.ok(fsyncs >= 1 && fsyncs <= 3, `group commit: ${fsyncs} fsyncs for 32 writes (${events.join(' ')})`);
    // Writes reach the log in call order, so the k-th write is the k-th insert's. Each insert
    // resolves only once an fsync that started after its write has ended (the writes may span
    // a few group commits: slots run on turns of their own).
    const writes = events.flatMap((e, i) => (e === 'write' ? [i] : []));
    for (let k = 0; k < 32; k++) {
      const start = events.indexOf('fsync-start', writes[k]!);
      const end = events.indexOf('fsync-end', start);
      assert.ok(start > writes[k]! && end > start, `insert ${k}: an fsync after its write`);
      assert.ok(resolvedBy[k]! > end, `insert ${k} resolved at event ${resolvedBy[k]}, before the fsync covering its write ended at ${end} (${events.join(' ')})`);
    }
    await db.close();
  });

  it('relaxed: buffered until flush(), checkpoint or close', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2, durability: 'relaxed' });
    const v = await db.createVault('v');
    const empty = walSize(dir);
    await v.insert('a', [1, 0]);
    await v.insert('b', [0, 1]);
    assert.equal(walSize(dir), empty, 'nothing written yet');
    await db.flush();
    const flushed = walSize(dir);
    assert.ok(flushed > empty);
    await v.insert('c', [1, 1]);
    assert.equal(walSize(dir), flushed);
    await db.close();
    assert.ok(walSize(dir) > flushed, 'close wrote the buffer');
    const again = await open(dir);
    assert.deepEqual(again.vault('v').ids(), ['a', 'b', 'c']);
    await again.close();
  });

  it('ephemeral: no log; state reaches disk only at checkpoint', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2, durability: 'ephemeral' });
    assert.equal(fs.existsSync(path.join(dir, 'wal.log')), false);
    const v = await db.createVault('v');
    await v.insert('kept', [1, 0]);
    await db.checkpoint();
    await v.insert('lost', [0, 1]);
    await db.close();
    assert.equal(fs.existsSync(path.join(dir, 'wal.log')), false);
    const again = await open(dir, { durability: 'ephemeral' });
    assert.deepEqual(again.vault('v').ids(), ['kept']);
    await again.close();
  });

  it('auto-checkpoint: the log is folded into segments once it passes the threshold', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 64, autoCheckpointBytes: 32 * 1024 });
    const v = await db.createVault('v');
    for (let i = 0; i < 300; i++) await v.insert(`r${i}`, Float32Array.from({ length: 64 }, (_, j) => Math.cos(i * j) + 2));
    const stats = db.stats();
    assert.ok(stats.epoch >= 2, `epoch ${stats.epoch}`);
    assert.ok(walSize(dir) < 32 * 1024 + 400);
    await db.close();
    const again = await open(dir);
    assert.equal(again.vault('v').count(), 300);
    await again.close();
  });
});
