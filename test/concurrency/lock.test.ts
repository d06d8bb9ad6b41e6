import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, LockedError } from '../../src/index.js';
import { dbPath } from '../helpers/tmp.js';
import { spawnChild } from '../helpers/spawn.js';
import { WriterLock } from '../../src/lock/writer-lock.js';

/** What a second writer does when it takes a stale lock over: proper-lockfile's directory made anew, then LOCK rewritten. */
function takeOver(dir: string, rewrite = true): void {
  fs.rmdirSync(path.join(dir, 'LOCK.lock'));
  fs.mkdirSync(path.join(dir, 'LOCK.lock'));
  if (rewrite) fs.writeFileSync(path.join(dir, 'LOCK'), JSON.stringify({ pid: 1, host: 'elsewhere', since: new Date().toISOString(), token: 'new' }) + '\n');
}

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

  it('a writer whose lock was taken over leaves the new holder\'s lock directory alone, on unlock and at exit', async () => {
    const dir = dbPath();
    fs.mkdirSync(dir, { recursive: true });
    const lock = await WriterLock.acquire(dir, { staleMs: 2000, timeoutMs: 0, onCompromised: () => undefined });
    takeOver(dir);
    await lock.unlock();
    assert.equal(fs.existsSync(path.join(dir, 'LOCK.lock')), true, 'unlock removed the lock directory of the writer that took over');

    // Taken over, LOCK not yet rewritten by the new holder (it is between its mkdir and its write).
    const early = dbPath();
    fs.mkdirSync(early, { recursive: true });
    const stalled = await WriterLock.acquire(early, { staleMs: 2000, timeoutMs: 0, onCompromised: () => undefined });
    takeOver(early, false);
    await stalled.unlock();
    assert.equal(fs.existsSync(path.join(early, 'LOCK.lock')), true, 'unlock removed a new holder\'s directory before it rewrote LOCK');

    // proper-lockfile also removes held locks' directories when the process exits.
    const other = dbPath();
    await (await open(other, { dimension: 8 })).close();
    const child = spawnChild(['abandon', other]);
    try {
      await child.waitFor((l) => l === 'ready');
      takeOver(other);
      fs.writeFileSync(`${other}.exit`, '');
      await child.exited;
      assert.equal(child.proc.exitCode, 0);
    } finally {
      await child.kill();
      fs.rmSync(`${other}.exit`, { force: true });
    }
    assert.equal(fs.existsSync(path.join(other, 'LOCK.lock')), true, 'the exiting writer removed the lock directory of the writer that took over');

    // A lock still ours is released as before.
    fs.rmdirSync(path.join(dir, 'LOCK.lock'));
    const again = await WriterLock.acquire(dir, { staleMs: 2000, timeoutMs: 0, onCompromised: () => undefined });
    await again.unlock();
    assert.equal(fs.existsSync(path.join(dir, 'LOCK.lock')), false, 'a lock still ours is removed on unlock');
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
