import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LockedError, open } from '../../src/index.js';
import { dump } from '../helpers/state.js';
import { dbPath, seeded, tmpDir } from '../helpers/tmp.js';
import { freshUrl, s3Options, skip } from './env.js';

const DIM = 8;
const vec = (r: () => number): number[] => Array.from({ length: DIM }, r);

async function until(what: string, test: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('shipping and replicas', { skip }, () => {
  it('a replica opened from the bucket holds what the writer shipped, and follows checkpoints and new chunks', async () => {
    const url = await freshUrl('basics');
    const r = seeded(1);
    const writer = await open(dbPath(), { dimension: DIM, replicate: { url, ...s3Options(), intervalMs: 100 } });
    const docs = await writer.createVault('docs');
    for (let i = 0; i < 50; i++) await docs.insert(`a${i}`, vec(r), { i });
    await writer.checkpoint();
    for (let i = 0; i < 20; i++) await docs.insert(`b${i}`, vec(r), { i });
    await docs.erase('a3');
    await until('shipping', () => writer.stats().replication!.lagLsn === 0 && writer.stats().replication!.shippedLsn === writer.stats().lastLsn);

    const replica = await open(url, { readOnly: true, cacheDir: tmpDir(), s3: s3Options() });
    assert.deepEqual(dump(replica), dump(writer));
    const q = vec(r);
    assert.deepEqual((await replica.vault('docs').search(q, { k: 5 })).map((h) => h.id), (await docs.search(q, { k: 5 })).map((h) => h.id));

    await writer.checkpoint();
    for (let i = 0; i < 10; i++) await docs.insert(`c${i}`, vec(r));
    await until('shipping', () => writer.stats().replication!.shippedLsn === writer.stats().lastLsn);
    await replica.refresh();
    assert.deepEqual(dump(replica), dump(writer));
    assert.equal(replica.stats().replication?.role, 'replica');
    assert.equal(replica.stats().lastLsn, writer.stats().lastLsn);
    await replica.close();
    await writer.close();
  });

  it('a segment larger than two parts (16 MiB) is downloaded in ranged parts and checked whole', async () => {
    const url = await freshUrl('large');
    const writer = await open(dbPath(), { dimension: 1024, index: 'flat', replicate: { url, ...s3Options(), intervalMs: 100 } });
    const docs = await writer.createVault('docs');
    const r = seeded(8);
    for (let i = 0; i < 4500; i += 500) await docs.insertMany(Array.from({ length: 500 }, (_, j) => ({ id: `r${i + j}`, vector: Array.from({ length: 1024 }, r) })));
    await writer.checkpoint();
    await until('shipping', () => writer.stats().replication!.shippedLsn === writer.stats().lastLsn);
    const segment = (await import('node:fs')).statSync(`${writer.path}/segments/vault_1_1.segment`).size;
    assert.ok(segment > 16 * 1024 * 1024, `segment is ${segment} bytes`);
    const replica = await open(url, { readOnly: true, cacheDir: tmpDir(), s3: s3Options() });
    assert.equal(replica.vault('docs').count(), 4500);
    assert.deepEqual(replica.vault('docs').get('r4321')!.vector, docs.get('r4321')!.vector);
    await replica.close();
    await writer.close();
  });

  it('a replica follows the writer across a reopen (a new log generation re-shipped from the checkpoint)', async () => {
    const url = await freshUrl('reopen');
    const dir = dbPath();
    const r = seeded(6);
    let writer = await open(dir, { dimension: DIM, replicate: { url, ...s3Options(), intervalMs: 50 } });
    const docs = await writer.createVault('docs');
    for (let i = 0; i < 20; i++) await docs.insert(`a${i}`, vec(r));
    await writer.checkpoint();
    for (let i = 0; i < 20; i++) await docs.insert(`b${i}`, vec(r));
    await until('shipping', () => writer.stats().replication!.shippedLsn === writer.stats().lastLsn);
    const replica = await open(url, { readOnly: true, cacheDir: tmpDir(), s3: s3Options() });
    const generation = (writer.stats().replication as { generation: string }).generation;
    await writer.close();
    writer = await open(dir, { replicate: { url, ...s3Options(), intervalMs: 50 } });
    assert.notEqual((writer.stats().replication as { generation: string }).generation, generation);
    for (let i = 0; i < 5; i++) await writer.vault('docs').insert(`c${i}`, vec(r));
    await until('shipping', () => writer.stats().replication!.shippedLsn === writer.stats().lastLsn);
    await replica.refresh();
    assert.deepEqual(dump(replica), dump(writer));
    await replica.close();
    await writer.close();
  });

  it('a second writer on the same prefix is refused with LockedError naming the holder', async () => {
    const url = await freshUrl('second');
    const first = await open(dbPath(), { dimension: DIM, replicate: { url, ...s3Options() } });
    await assert.rejects(open(dbPath(), { dimension: DIM, replicate: { url, ...s3Options() } }), (err: unknown) => {
      assert.ok(err instanceof LockedError);
      assert.equal(err.holder?.pid, process.pid);
      assert.match(err.message, /has a writer: pid \d+ on host/);
      return true;
    });
    await first.close();
  });
});
