import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { LockedError, StorageError, open } from '../../src/index.js';
import { S3Store } from '../../src/object-store/s3-store.js';
import type { Worker } from 'node:worker_threads';
import { ROOT_KEY, ROOT_MAGIC, encodeJson } from '../../src/replica/layout.js';
import { ShipperThread, shipWorkerEntry } from '../../src/replica/ship-thread.js';
import { shipperOptions } from '../../src/replica/open.js';
import { dbPath, seeded, tmpDir } from '../helpers/tmp.js';
import { freshUrl, s3Options, skip } from './env.js';
import { DIM, child, readRoot, shipped, until, vec } from './util.js';

describe("the writer's shipper on its own thread", { skip }, () => {
  it('ships every acknowledged op without the S3 client ever loading on the writer thread, and never holds the process open', async () => {
    const url = await freshUrl('thread');
    const dir = path.join(tmpDir(), 'db');
    const writer = child('unclosed', dir, url, '60');
    let lsn: string | undefined;
    try {
      const [, shippedLsn, sdk] = (await writer.waitFor((l) => l.startsWith('shipped '))).split(' ');
      lsn = shippedLsn;
      assert.equal(sdk, 'false', 'the S3 client was loaded on the thread that writes');
      // No close(): the shipping thread must not keep the writer's process alive.
      await until('the writer process to end by itself', async () => (await Promise.race([writer.exited, new Promise((r) => setTimeout(() => r('running'), 50))])) !== 'running', 30_000);
      assert.equal(await writer.exited, 0);
    } finally {
      writer.kill('SIGKILL');
    }

    const replica = await open(url, { readOnly: true, cacheDir: tmpDir(), s3: s3Options() });
    try {
      assert.equal(replica.stats().lastLsn, Number(lsn));
      const docs = replica.vault('docs');
      assert.equal(docs.count(), 2 * 60 + 1);
      assert.deepEqual(docs.get('head')?.payload, { n: 59 });
      for (let n = 0; n < 60; n++) assert.ok(docs.get(`b${n}-a`) && docs.get(`b${n}-b`), `batch ${n} missing from the replica`);
    } finally {
      await replica.close();
    }
  });

  it('a root written by another writer reaches the writer through its thread: the database fails with the lost lease as its cause, and the root is not overwritten', async () => {
    const url = await freshUrl('thread-lost');
    const r = seeded(11);
    const db = await open(dbPath(), { dimension: DIM, replicate: { url, ...s3Options(), intervalMs: 50 } });
    const docs = await db.createVault('docs');
    for (let i = 0; i < 10; i++) await docs.insert(`a${i}`, vec(r));
    await shipped(db);

    // Another writer's root (as after a takeover): the writer's next conditional root write loses.
    const store = await S3Store.open(url, s3Options());
    try {
      const root = (await readRoot(store))!;
      const theirs = { ...root, sequence: root.sequence + 100, writer: { id: 'another-writer', host: 'elsewhere', pid: 1 } };
      await store.put(ROOT_KEY, encodeJson(ROOT_MAGIC, theirs));
      await docs.insert('after', vec(r));
      let failure: unknown = null;
      await until('the writer to fail', () => {
        try {
          db.stats();
          return false;
        } catch (err) {
          failure = err;
          return true;
        }
      });
      assert.ok(failure instanceof StorageError && failure.code === 'DATABASE_FAILED', String(failure));
      assert.ok((failure as Error).cause instanceof LockedError && ((failure as Error).cause as LockedError).code === 'LOCK_COMPROMISED', String((failure as Error).cause));
      await assert.rejects(docs.insert('refused', vec(r)), (err: unknown) => err instanceof StorageError && err.code === 'DATABASE_FAILED');
      await db.close().catch(() => undefined);
      const now = (await readRoot(store))!;
      assert.equal(now.sequence, theirs.sequence);
      assert.equal(now.writer.id, 'another-writer');
    } finally {
      store.close();
    }
  });

  it('a shipping thread that dies is reported as stopped, and nothing waits on it', async () => {
    const url = await freshUrl('thread-dies');
    const dir = dbPath();
    const db = await open(dir, { dimension: DIM });
    await (await db.createVault('docs')).insert('a', vec(seeded(3)));
    await db.close();
    const thread = await ShipperThread.start(shipWorkerEntry()!, dir, url, s3Options(), shipperOptions({ url, intervalMs: 50 }), 0);
    await until('the first round', () => thread.status().shippedLsn > 0);
    await (thread as unknown as { worker: Worker }).worker.terminate();
    await until('the exit to be noticed', () => thread.status().state === 'stopped');
    assert.match(thread.status().lastError ?? '', /shipping thread exited/);
    await thread.captureLogTail();
    await thread.stop();
  });
});
