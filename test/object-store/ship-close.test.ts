import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, open, type Database } from '../../src/index.js';
import { S3Store } from '../../src/object-store/s3-store.js';
import { LEASE_KEY, LEASE_MAGIC, ROOT_KEY, decodeJson, type Lease } from '../../src/replica/layout.js';
import { ShipperThread, shipWorkerEntry } from '../../src/replica/ship-thread.js';
import { RELEASE_MS, STOP_MS } from '../../src/replica/ship-types.js';
import { shipperOptions } from '../../src/replica/open.js';
import { dbPath, seeded, tmpDir } from '../helpers/tmp.js';
import { freshUrl, s3Options, skip } from './env.js';
import { holdProxy, type HoldProxy } from './hold-proxy.js';
import { DIM, shipped, until, vec } from './util.js';

const chunkPut = (method: string, p: string): boolean => method === 'PUT' && p.includes('/wal/');

/** What the store holds under the prefix now, key by key (the lease and root aside). */
async function objects(url: string): Promise<string[]> {
  const store = await S3Store.open(url, s3Options());
  try {
    return (await store.list('')).filter((o) => o.key !== LEASE_KEY && o.key !== ROOT_KEY).map((o) => `${o.key} ${o.etag}`);
  } finally {
    store.close();
  }
}

async function leaseOf(url: string): Promise<Lease> {
  const store = await S3Store.open(url, s3Options());
  try {
    return decodeJson<Lease>(LEASE_MAGIC, (await store.get(LEASE_KEY))!.body, LEASE_KEY);
  } finally {
    store.close();
  }
}

async function replicaOf(url: string): Promise<Database> {
  return open(url, { readOnly: true, cacheDir: tmpDir(), s3: s3Options() });
}

describe('closing a shipping writer, and what it refuses at open', { skip }, () => {
  let proxy: HoldProxy;
  before(async () => {
    proxy = await holdProxy();
  });
  after(async () => {
    await proxy.close();
  });

  it('close() while a chunk upload hangs returns within its bound and releases the lease: the next writer opens without takeover', async () => {
    const url = await freshUrl('close-hung');
    const dir = dbPath();
    const r = seeded(21);
    const db = await open(dir, { dimension: DIM, replicate: { url, ...s3Options(), endpoint: proxy.endpoint, intervalMs: 50 } });
    const docs = await db.createVault('docs');
    for (let i = 0; i < 5; i++) await docs.insert(`a${i}`, vec(r));
    await shipped(db);
    proxy.hold(chunkPut);
    try {
      for (let i = 0; i < 5; i++) await docs.insert(`b${i}`, vec(r));
      await until('a chunk upload to hang', () => proxy.holding > 0);
      const started = Date.now();
      await db.close();
      const took = Date.now() - started;
      // The documented bound: STOP_MS for shipping, RELEASE_MS for the lease, and the abort's own second.
      assert.ok(took < STOP_MS + RELEASE_MS + 1000 + 1500, `close() took ${took} ms`);
      assert.equal((await leaseOf(url)).expiresAt, 0, 'the lease was not released');
    } finally {
      proxy.hold(null);
    }
    // Right away, no takeover: the lease was released, not left to expire.
    const again = await open(dir, { dimension: DIM, replicate: { url, ...s3Options(), intervalMs: 50 } });
    try {
      await again.vault('docs').insert('c0', vec(r));
      const lsn = await shipped(again);
      await again.close();
      const replica = await replicaOf(url);
      assert.equal(replica.stats().lastLsn, lsn);
      assert.equal(replica.vault('docs').count(), 11);
      await replica.close();
    } finally {
      await again.close();
    }
  });

  it('a shipping thread that cannot finish its last round in time says so in lastError, and still releases the lease', async () => {
    const url = await freshUrl('close-lasterror');
    const dir = dbPath();
    const db = await open(dir, { dimension: DIM });
    await (await db.createVault('docs')).insert('a', vec(seeded(3)));
    await db.close();
    proxy.hold(chunkPut);
    try {
      const thread = await ShipperThread.start(shipWorkerEntry()!, dir, url, { ...s3Options(), endpoint: proxy.endpoint }, shipperOptions({ url, intervalMs: 50 }), 1);
      await until('the chunk upload to hang', () => proxy.holding > 0);
      await thread.stop(500);
      const status = thread.status();
      assert.equal(status.state, 'stopped');
      assert.match(status.lastError ?? '', /^close: shipping did not finish within 500 ms \(LSN 0 shipped of \d+ read\)/);
      assert.equal((await leaseOf(url)).expiresAt, 0, 'the lease was not released');
    } finally {
      proxy.hold(null);
    }
  });

  it('lagSeconds grows while the store hangs on a round', async () => {
    const url = await freshUrl('lag-hung');
    const r = seeded(22);
    const db = await open(dbPath(), { dimension: DIM, replicate: { url, ...s3Options(), endpoint: proxy.endpoint, intervalMs: 50 } });
    const docs = await db.createVault('docs');
    await docs.insert('a', vec(r));
    await shipped(db);
    // Every request held: the store as a whole stops answering, whatever the round is doing.
    proxy.hold(() => true);
    try {
      await docs.insert('b', vec(r));
      await until('lagSeconds to pass 1.5 s', () => db.stats().replication!.lagSeconds > 1.5, 20_000);
      const s = db.stats().replication!;
      assert.ok(s.lagLsn >= 1, JSON.stringify(s));
    } finally {
      proxy.hold(null);
    }
    await shipped(db);
    assert.equal(db.stats().replication!.lagSeconds, 0);
    await db.close();
  });

  for (const durability of ['relaxed', 'standard'] as const) {
    it(`close() ships every acknowledged write (${durability})`, async () => {
      const url = await freshUrl(`close-last-${durability}`);
      const r = seeded(23);
      // No round of its own after the first (at open): what the writes leave is shipped by close() alone.
      const db = await open(dbPath(), { dimension: DIM, durability, replicate: { url, ...s3Options(), intervalMs: 600_000 } });
      const docs = await db.createVault('docs');
      const base = db.stats().lastLsn;
      // Called, not awaited, before close(): each is acknowledged when its promise resolves.
      const writes = Array.from({ length: 5 }, (_, i) => docs.insert(`a${i}`, vec(r)));
      const closed = db.close();
      await Promise.all(writes);
      await closed;
      const replica = await replicaOf(url);
      try {
        assert.equal(replica.stats().lastLsn, base + 5);
        assert.equal(replica.vault('docs').count(), 5);
      } finally {
        await replica.close();
      }
    });
  }

  it('a database behind its bucket is refused at open (CONFIG_MISMATCH) before anything of it is uploaded, and the lease is released', async () => {
    const url = await freshUrl('ahead');
    const r = seeded(24);
    const a = dbPath();
    const b = path.join(tmpDir(), 'copy');
    let db = await open(a, { dimension: DIM, replicate: { url, ...s3Options(), intervalMs: 50 } });
    const docs = await db.createVault('docs');
    for (let i = 0; i < 3; i++) await docs.insert(`a${i}`, vec(r));
    await shipped(db);
    await db.close();
    fs.cpSync(a, b, { recursive: true });
    db = await open(a, { dimension: DIM, replicate: { url, ...s3Options(), intervalMs: 50 } });
    for (let i = 0; i < 20; i++) await db.vault('docs').insert(`b${i}`, vec(r));
    await shipped(db);
    await db.close();

    const before = await objects(url);
    await assert.rejects(
      open(b, { dimension: DIM, replicate: { url, ...s3Options(), intervalMs: 50 } }),
      (err: unknown) => err instanceof ConfigError && err.code === 'CONFIG_MISMATCH' && /ahead of this database/.test(err.message),
    );
    // Give a round that should not exist the time to upload something.
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.deepEqual(await objects(url), before);
    assert.equal((await leaseOf(url)).expiresAt, 0, 'the lease was not released');
  });

  it('credentials as a provider function ship (in-process); credentials of another shape are ConfigError naming them, and nothing is created', async () => {
    const url = await freshUrl('cred-provider');
    const keys = s3Options().credentials as { accessKeyId: string; secretAccessKey: string };
    let asked = 0;
    const provider = async (): Promise<{ accessKeyId: string; secretAccessKey: string }> => {
      asked++;
      return { ...keys };
    };
    const db = await open(dbPath(), { dimension: DIM, replicate: { url, ...s3Options(), credentials: provider, intervalMs: 50 } });
    await (await db.createVault('docs')).insert('a', vec(seeded(25)));
    const lsn = await shipped(db);
    await db.close();
    assert.ok(asked > 0, 'the provider was never called');
    const replica = await replicaOf(url);
    assert.equal(replica.stats().lastLsn, lsn);
    await replica.close();

    const dir = dbPath();
    for (const credentials of [{ accessKeyId: 5, secretAccessKey: 'x' }, 'keys', null]) {
      await assert.rejects(
        open(dir, { dimension: DIM, replicate: { url, ...s3Options(), credentials: credentials as never } }),
        (err: unknown) => err instanceof ConfigError && err.field === 'replicate.credentials',
      );
      assert.equal(fs.existsSync(dir), false);
    }
  });
});
