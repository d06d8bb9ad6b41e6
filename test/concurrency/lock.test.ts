import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, LockedError } from '../../src/index.js';
import { dbPath } from '../helpers/tmp.js';
import { spawnChild } from '../helpers/spawn.js';

describe('the writer lock', () => {
  it('a second writer in another process gets LockedError naming the holder; a killed writer\'s lock is taken over', async () => {
    const dir = dbPath();
    await (await open(dir, { dimension: 8 })).close();
    const child = spawnChild(['hold', dir]);
    await child.waitFor((l) => l === 'ready');
    try {
      await assert.rejects(open(dir), (err: unknown) => err instanceof LockedError && err.code === 'LOCKED' && err.holder?.pid === child.proc.pid && err.message.includes(String(child.proc.pid)));
      await assert.rejects(open(dir, { lockTimeoutMs: 300 }), LockedError, 'still held after waiting');
    } finally {
      await child.kill();
    }
    const started = Date.now();
    const db = await open(dir, { lockStaleMs: 2000 });
    assert.ok(Date.now() - started < 6000);
    assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).pid, process.pid);
    await db.close();
    assert.equal(fs.existsSync(path.join(dir, 'LOCK.lock')), false, 'close releases the lock');
  });

  it('a second writer in the same process gets LockedError; after close the lock is free', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2 });
    await assert.rejects(open(dir), (err: unknown) => err instanceof LockedError && err.holder?.pid === process.pid);
    await db.close();
    await (await open(dir)).close();
  });

  it('readers need no lock and open beside a live writer', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2 });
    await (await db.createVault('v')).insert('a', [1, 0]);
    const reader = await open(dir, { readOnly: true });
    assert.deepEqual(reader.vault('v').ids(), ['a']);
    await reader.close();
    await db.close();
  });
});
