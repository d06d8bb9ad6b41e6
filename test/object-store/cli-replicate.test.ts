import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { open } from '../../src/index.js';
import { S3Store } from '../../src/object-store/s3-store.js';
import { LEASE_KEY, LEASE_MAGIC, decodeJson, type Lease } from '../../src/replica/layout.js';
import { dbPath, seeded, tmpDir } from '../helpers/tmp.js';
import { freshUrl, s3Options, skip } from './env.js';
import { DIM, exportBytes, readRoot, replicate, until, vec } from './util.js';

describe('quiver replicate beside a live writer', { skip }, () => {
  it('ships what the writer writes, across its checkpoints, and releases the lease on SIGTERM', async () => {
    const url = await freshUrl('cli-replicate');
    const dir = dbPath();
    const r = seeded(2);
    const writer = await open(dir, { dimension: DIM });
    const docs = await writer.createVault('docs');
    for (let i = 0; i < 30; i++) await docs.insert(`a${i}`, vec(r));
    const proc = replicate(dir, url, 100);
    const store = await S3Store.open(url, s3Options());
    const root = () => readRoot(store);
    const caughtUp = () =>
      until('quiver replicate to ship everything', async () => (await root())?.shippedLsn === writer.stats().lastLsn).catch(async (err: Error) => {
        throw new Error(`${err.message}: root ${JSON.stringify(await root())}, writer at ${writer.stats().lastLsn}, stderr ${proc.stderr()}`);
      });
    await caughtUp();
    for (let i = 0; i < 20; i++) await docs.insert(`b${i}`, vec(r));
    await writer.checkpoint();
    await docs.erase('a1');
    for (let i = 0; i < 20; i++) await docs.insert(`c${i}`, vec(r));
    await caughtUp();
    const replica = await open(url, { readOnly: true, cacheDir: tmpDir(), s3: s3Options() });
    assert.deepEqual(await exportBytes(replica), await exportBytes(writer));
    await replica.close();
    proc.kill('SIGTERM');
    assert.equal(await proc.exited, 0, proc.stderr());
    const lease = decodeJson<Lease>(LEASE_MAGIC, (await store.get(LEASE_KEY))!.body, LEASE_KEY);
    assert.equal(lease.expiresAt, 0, 'released');
    store.close();
    await writer.close();
  });
});
