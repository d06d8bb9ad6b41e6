import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CorruptionError, open } from '../../src/index.js';
import { S3Store } from '../../src/object-store/s3-store.js';
import { restoreFromObjectStore } from '../../src/replica/restore.js';
import { dbPath, seeded, tmpDir } from '../helpers/tmp.js';
import { freshUrl, s3Options, skip } from './env.js';
import { DIM, readRoot, shipped, shippedDatabase, vec } from './util.js';

async function flip(store: S3Store, key: string, at: number): Promise<void> {
  const obj = (await store.get(key))!;
  obj.body[at % obj.body.byteLength]! ^= 0x20;
  await store.put(key, obj.body);
}

const namesObject = (url: string, key: string) => (err: unknown): boolean => {
  assert.ok(err instanceof CorruptionError, String(err));
  assert.equal(err.file, `${url}/${key}`);
  return true;
};

describe('damaged or missing objects are CorruptionError naming the object, never a wrong answer', { skip }, () => {
  it('a flipped byte in a segment, a graph, a log chunk or the checkpoint manifest', async () => {
    const { url, store, root } = await shippedDatabase('flip');
    const chunks = (await store.list(`wal/${root.wal.generation}/`)).map((o) => o.key);
    const targets = [...root.checkpoint!.segments.map((s) => s.key), root.checkpoint!.key, chunks.at(-1)!];
    for (const key of targets) {
      const original = (await store.get(key))!.body;
      await flip(store, key, 100);
      await assert.rejects(open(url, { readOnly: true, cacheDir: tmpDir(), s3: s3Options() }), namesObject(url, key), key);
      await assert.rejects(restoreFromObjectStore(url, tmpDir() + '/r', {}, s3Options()), namesObject(url, key), key);
      await store.put(key, original);
    }
    const replica = await open(url, { readOnly: true, cacheDir: tmpDir(), s3: s3Options() });
    assert.equal(replica.vault('docs').count(), 50);
    await replica.close();
    store.close();
  });

  it('an object the root names that is gone', async () => {
    const { url, store, root } = await shippedDatabase('missing');
    const key = root.checkpoint!.segments[0]!.key;
    await store.delete([key]);
    await assert.rejects(open(url, { readOnly: true, cacheDir: tmpDir(), s3: s3Options() }), namesObject(url, key));
    store.close();
  });

  it('a replica that finds a damaged chunk on refresh keeps its view and reports the object', async () => {
    const url = await freshUrl('refresh');
    const r = seeded(9);
    const db = await open(dbPath(), { dimension: DIM, replicate: { url, ...s3Options(), intervalMs: 50 } });
    const docs = await db.createVault('docs');
    await docs.insert('a', vec(r));
    await shipped(db);
    const replica = await open(url, { readOnly: true, cacheDir: tmpDir(), s3: s3Options() });
    const before = replica.stats().lastLsn;
    const store = await S3Store.open(url, s3Options());
    const generation = (await readRoot(store))!.wal.generation;
    await docs.insert('b', vec(r));
    await shipped(db);
    const key = (await store.list(`wal/${generation}/`)).at(-1)!.key;
    await flip(store, key, 60);
    await assert.rejects(replica.refresh(), namesObject(url, key));
    assert.equal(replica.stats().lastLsn, before);
    assert.equal(replica.vault('docs').get('b'), null);
    await replica.close();
    await db.close();
    store.close();
  });
});
