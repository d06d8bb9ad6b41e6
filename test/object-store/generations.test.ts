/**
 * Object storage under log version 2 (FORMAT.md "Log generations", "What the root records",
 * "Object storage: log chunks"): the shipper follows wal.log across the generations a writer
 * starts at every open and checkpoint, each chunk carries the log id and salt its frames
 * validate with, and what a replica caches or a restore writes is an ordinary database whose
 * wal.log carries the log id its manifest records: it passes `quiver check` and opens.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { CorruptionError, LocalEmbedder, open, type Database } from '../../src/index.js';
import { crc32c } from '../../src/format/crc.js';
import { nodeFileSystem } from '../../src/fs/file-system.js';
import { S3Store } from '../../src/object-store/s3-store.js';
import { decodeChunk, encodeChunk, frameBytes } from '../../src/replica/layout.js';
import { shipperOptions } from '../../src/replica/open.js';
import { restoreFromObjectStore } from '../../src/replica/restore.js';
import { Shipper } from '../../src/replica/shipper.js';
import { decodeManifest } from '../../src/segments/manifest.js';
import { parseWalHeader } from '../../src/wal/frame.js';
import { dump } from '../helpers/state.js';
import { dbPath, seeded, tmpDir } from '../helpers/tmp.js';
import { freshUrl, s3Options, skip } from './env.js';
import { exportBytes, quiver, readRoot, shipped, shippedDatabase, until } from './util.js';

/** The directory passes `quiver check`, and its wal.log carries the log id its manifest records. */
function assertRecordedLog(dir: string, what: string): number {
  const check = quiver('check', dir);
  assert.equal(check.code, 0, `${what}: ${check.stdout}${check.stderr}`);
  const logId = decodeManifest(fs.readFileSync(path.join(dir, 'quiver.manifest'))).record?.logId;
  assert.ok(typeof logId === 'number', `${what}: the manifest records a log`);
  assert.equal(parseWalHeader(fs.readFileSync(path.join(dir, 'wal.log')))?.logId, logId, `${what}: wal.log is the log the manifest records`);
  return logId;
}

async function addTexts(db: Database, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i++) await db.vault('docs').addText(`t${i}`, `note ${i} about rivers and hills ${i % 3}`, { payload: { i } });
}

describe('object storage across log generations', { skip }, () => {
  it('one chain of chunks spans a writer reopen (two salts): a replica cache and restores pass quiver check and hold exactly the state', async () => {
    const url = await freshUrl('generations');
    const dir = dbPath();
    let db = await open(dir, { embedder: 'local' });
    const store = await S3Store.open(url, s3Options());
    // A shipper beside the writer (as `quiver replicate` runs), one round at a time.
    const shipper = await Shipper.start(nodeFileSystem, dir, store, { ...shipperOptions({ url }), manual: true });
    try {
      await db.createVault('docs'); // LSN 1
      await addTexts(db, 0, 5); // 2..6
      await shipper.shipOnce();
      await addTexts(db, 5, 5); // 7..11, in the first generation
      await shipper.captureLogTail(); // read, not yet shipped (as before an in-process writer's checkpoint)
      await db.close();
      db = await open(dir, { embedder: 'local' }); // a new generation (new salt) carrying 7..11
      await addTexts(db, 10, 3); // 12..14
      const at14 = { lsn: db.stats().lastLsn, state: await exportBytes(db) };
      await addTexts(db, 13, 2); // 15..16
      await shipper.shipOnce();

      // The round after the reopen cut one chunk per generation: the frames validate only under their own salt.
      const root = (await readRoot(store))!;
      const logId = decodeManifest(fs.readFileSync(path.join(dir, 'quiver.manifest'))).record!.logId;
      const chunks = await Promise.all((await store.list(`wal/${root.wal.generation}/`)).map(async (o) => decodeChunk((await store.get(o.key))!.body, o.key)));
      assert.deepEqual(chunks.map((c) => [c.firstLsn, c.lastLsn]), [[1, 6], [7, 11], [12, 16]]);
      assert.equal(new Set(chunks.map((c) => c.salt)).size, 2);
      assert.ok(chunks.every((c) => c.logId === logId));

      const cache = tmpDir();
      const replica = await open(url, { readOnly: true, cacheDir: cache, s3: s3Options() });
      assert.deepEqual(dump(replica), dump(db));
      await db.checkpoint();
      await addTexts(db, 15, 3);
      await shipper.shipOnce();
      await replica.refresh();
      assert.deepEqual(dump(replica), dump(db));
      await replica.close();
      assert.equal(assertRecordedLog(cache, 'the replica cache'), logId);

      // Restores: from the first checkpoint across both salts, and the latest (after the second checkpoint).
      const mid = path.join(tmpDir(), 'mid');
      assert.equal((await restoreFromObjectStore(url, mid, { lsn: at14.lsn }, s3Options())).lsn, at14.lsn);
      assert.equal(assertRecordedLog(mid, 'the restore at LSN 14'), logId);
      const restored = await open(mid, { readOnly: true });
      assert.deepEqual(await exportBytes(restored), at14.state);
      await restored.close();
      const latest = path.join(tmpDir(), 'latest');
      assert.equal((await restoreFromObjectStore(url, latest, {}, s3Options())).lsn, db.stats().lastLsn);
      assert.equal(assertRecordedLog(latest, 'the latest restore'), logId);
      // A restored database is a writer's database: it opens read-write and goes on with its log.
      const reopened = await open(latest, { embedder: 'local' });
      assert.deepEqual(dump(reopened), dump(db));
      await reopened.vault('docs').addText('after', 'written after the restore');
      await reopened.close();
      assertRecordedLog(latest, 'the restore after a write');
    } finally {
      await shipper.stop(0);
      await db.close();
    }
  });

  it('a checkpoint rewritten at the same LSN (a writer reopened with an embedder adopts it) is installed by a replica', async () => {
    const url = await freshUrl('adopt');
    const dir = dbPath();
    const r = seeded(4);
    let db = await open(dir, { dimension: 100, replicate: { url, ...s3Options(), intervalMs: 50 } });
    const docs = await db.createVault('docs');
    for (let i = 0; i < 5; i++) await docs.insert(`v${i}`, Array.from({ length: 100 }, r));
    await db.checkpoint();
    await shipped(db);
    const store = await S3Store.open(url, s3Options());
    const named = async (bytes: Buffer): Promise<boolean> => (await readRoot(store))!.checkpoint?.crc32c === crc32c(bytes);
    const first = fs.readFileSync(path.join(dir, 'quiver.manifest'));
    await until('the checkpoint is shipped', () => named(first));
    const cache = tmpDir();
    const replica = await open(url, { readOnly: true, cacheDir: cache, s3: s3Options() });
    assert.deepEqual(fs.readFileSync(path.join(cache, 'quiver.manifest')), first);
    await db.close();
    // The same checkpoint, its root rewritten to record the embedder the database now adopts
    // (default_v1: the 100 dimensions the database holds).
    db = await open(dir, { embedder: await LocalEmbedder.create({ model: 'default_v1' }), replicate: { url, ...s3Options(), intervalMs: 50 } });
    const manifest = fs.readFileSync(path.join(dir, 'quiver.manifest'));
    assert.equal(decodeManifest(manifest).checkpointLsn, decodeManifest(first).checkpointLsn);
    assert.ok(decodeManifest(manifest).record!.embedder, 'the root records the adopted embedder');
    await until('the rewritten checkpoint is shipped', () => named(manifest));
    store.close();
    await replica.refresh();
    assert.deepEqual(fs.readFileSync(path.join(cache, 'quiver.manifest')), manifest, 'the cache holds the root the bucket names');
    assert.deepEqual(dump(replica), dump(db));
    await replica.close();
    assertRecordedLog(cache, 'the replica cache');
    await db.close();
  });

  it("a chunk of another log (every CRC valid, another log id) is CorruptionError naming it, for a replica and a restore", async () => {
    const { url, store, root } = await shippedDatabase('foreign');
    const key = (await store.list(`wal/${root.wal.generation}/`)).at(-1)!.key;
    const chunk = decodeChunk((await store.get(key))!.body, key);
    await store.put(key, encodeChunk(chunk.frames.map((f) => frameBytes(chunk.body, f)), chunk.firstLsn, chunk.lastLsn, chunk.time, { logId: (chunk.logId! + 1) >>> 0 || 1, salt: chunk.salt }));
    const namesChunk = (err: unknown): boolean => {
      assert.ok(err instanceof CorruptionError, String(err));
      assert.equal(err.file, `${url}/${key}`);
      assert.match(err.message, /records of log/);
      return true;
    };
    await assert.rejects(open(url, { readOnly: true, cacheDir: tmpDir(), s3: s3Options() }), namesChunk);
    await assert.rejects(restoreFromObjectStore(url, path.join(tmpDir(), 'r'), {}, s3Options()), namesChunk);
    store.close();
  });
});
