import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { StorageError } from '../../src/errors.js';
import { ShipperThread } from '../../src/replica/ship-thread.js';
import { replicationStatus, type LagClock, type ShipProgress } from '../../src/replica/ship-types.js';
import { shipperOptions } from '../../src/replica/open.js';
import { tmpDir } from '../helpers/tmp.js';

const url = 's3://bucket/prefix';
const start = (entry: URL): Promise<ShipperThread> => ShipperThread.start(entry, tmpDir(), url, {}, shipperOptions({ url }), 0);

describe('a shipping thread that fails before it starts (ship-thread.ts)', () => {
  it('an entry that cannot load is a StorageError, its cause kept', async () => {
    const missing = pathToFileURL(path.join(tmpDir(), 'no-such-worker.mjs'));
    await assert.rejects(start(missing), (err: unknown) => {
      assert.ok(err instanceof StorageError, String(err));
      assert.equal(err.code, 'IO_ERROR');
      assert.equal((err.cause as { code?: string })?.code, 'ERR_MODULE_NOT_FOUND');
      return true;
    });
  });
});

describe('lagSeconds (ship-types.ts)', () => {
  const progress = (shippedLsn: number, seen: number, since: number | null): ShipProgress => ({
    url,
    generation: 'g',
    seen,
    shippedLsn,
    since,
    stats: { state: 'retrying', lastShippedAt: null, chunksShipped: 0, bytesShipped: 0, errors: 0, lastError: null },
  });

  it('grows from the first stats() that saw the lag while the shipper has not read the frames (a round stuck before its read)', () => {
    const clock: LagClock = { since: null, shippedLsn: 0 };
    assert.equal(replicationStatus(progress(5, 5, null), 9, clock, 1000).lagSeconds, 0);
    assert.equal(replicationStatus(progress(5, 5, null), 9, clock, 4000).lagSeconds, 3);
    // The frames' own time, once read, when it is earlier.
    assert.equal(replicationStatus(progress(5, 9, 500), 9, clock, 4000).lagSeconds, 3.5);
  });

  it('restarts when the shipped LSN moves, and is 0 without lag', () => {
    const clock: LagClock = { since: null, shippedLsn: 0 };
    replicationStatus(progress(5, 5, null), 9, clock, 1000);
    assert.equal(replicationStatus(progress(7, 7, null), 9, clock, 5000).lagSeconds, 0);
    assert.equal(replicationStatus(progress(7, 7, null), 9, clock, 6000).lagSeconds, 1);
    assert.equal(replicationStatus(progress(9, 9, null), 9, clock, 7000).lagSeconds, 0);
    assert.equal(clock.since, null);
  });
});
