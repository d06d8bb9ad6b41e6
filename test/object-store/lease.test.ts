import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { LockedError, open } from '../../src/index.js';
import { S3Store } from '../../src/object-store/s3-store.js';
import type { Root } from '../../src/replica/layout.js';
import { restoreFromObjectStore } from '../../src/replica/restore.js';
import { tmpDir } from '../helpers/tmp.js';
import { freshUrl, s3Options, skip } from './env.js';
import { child, exportBytes, readRoot, shipped } from './util.js';

/** The root the bucket at `url` holds now. */
async function rootAt(url: string): Promise<Root> {
  const store = await S3Store.open(url, s3Options());
  try {
    return (await readRoot(store))!;
  } finally {
    store.close();
  }
}

describe('one writer across hosts: the lease and the conditional root', { skip }, () => {
  it('an expired lease is taken over only when asked; the old writer then fails loudly and never overwrites the new root', async () => {
    const url = await freshUrl('takeover');
    const old = child('writer', path.join(tmpDir(), 'db'), url, '1500');
    await old.waitFor((l) => l.startsWith('shipped ') && Number(l.split(' ')[1]) > 20);
    // The old writer is cut off (stopped, as a partitioned host would be): its lease runs out.
    old.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, 2500));

    const dir = path.join(tmpDir(), 'new');
    await restoreFromObjectStore(url, dir, {}, s3Options());
    await assert.rejects(open(dir, { replicate: { url, ...s3Options() } }), (err: unknown) => err instanceof LockedError && err.code === 'LOCKED' && /expired/.test(err.message) && /takeover/.test(err.message));
    const writer = await open(dir, { replicate: { url, ...s3Options(), takeover: true, intervalMs: 50 } });
    const docs = writer.vault('docs');
    await docs.insert('from-the-new-writer', [1, 2, 3, 4, 5, 6, 7, 8]);
    await shipped(writer);

    old.kill('SIGCONT');
    const failed = await old.waitFor((l) => l.startsWith('failed '));
    assert.match(failed, /DATABASE_FAILED/);
    assert.match(failed, /taken over/);
    assert.equal(await old.exited, 4);

    await docs.insert('after', [8, 7, 6, 5, 4, 3, 2, 1]);
    const lsn = await shipped(writer);
    const root = await rootAt(url);
    assert.equal(root.shippedLsn, lsn);
    assert.equal(root.writer.pid, process.pid);
    const replica = await open(url, { readOnly: true, cacheDir: tmpDir(), s3: s3Options() });
    assert.deepEqual(await exportBytes(replica), await exportBytes(writer));
    await replica.close();
    await writer.close();
  });

  it('a closed writer releases its lease: the next writer needs no takeover', async () => {
    const url = await freshUrl('release');
    const dir = path.join(tmpDir(), 'db');
    const first = await open(dir, { dimension: 8, replicate: { url, ...s3Options() } });
    await first.close();
    const second = await open(dir, { replicate: { url, ...s3Options() } });
    assert.equal((second.stats().replication as { state?: string } | null)?.state, 'shipping');
    await second.close();
  });
});
