import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import { ConfigError, CorruptionError, LockedError, StorageError } from '../../src/errors.js';
import { ObjectStoreError, PreconditionFailed } from '../../src/object-store/store.js';
import { receiveError, sendError } from '../../src/replica/ship-messages.js';

/** Through a real port, as between the writer's thread and its shipping thread. */
async function across<T>(value: T): Promise<T> {
  const { port1, port2 } = new MessageChannel();
  try {
    const got = new Promise<T>((resolve) => port2.once('message', resolve));
    port1.postMessage(value);
    return await got;
  } finally {
    port1.close();
    port2.close();
  }
}

describe('errors from the shipping thread (ship-messages.ts)', () => {
  it('a plain structured clone loses the class and code: the reason errors travel as data', async () => {
    const cloned = await across(new LockedError('LOCKED', 'held elsewhere'));
    assert.equal(cloned instanceof LockedError, false);
    assert.equal((cloned as unknown as { code?: string }).code, undefined);
  });

  it('arrive as their own class, with code, fields, message and cause', async () => {
    const holder = { pid: 42, host: 'elsewhere', since: '2026-01-01T00:00:00.000Z' };
    const locked = receiveError(await across(sendError(new LockedError('LOCKED', 's3://b/p: held by pid 42', { holder }))));
    assert.ok(locked instanceof LockedError);
    assert.equal(locked.code, 'LOCKED');
    assert.equal(locked.name, 'LockedError');
    assert.equal(locked.message, 's3://b/p: held by pid 42');
    assert.deepEqual(locked.holder, holder);

    const config = receiveError(await across(sendError(new ConfigError('CONFIG_MISMATCH', 'replicate', 'ahead of this database'))));
    assert.ok(config instanceof ConfigError);
    assert.equal(config.code, 'CONFIG_MISMATCH');
    assert.equal(config.field, 'replicate');

    const corrupt = receiveError(await across(sendError(new CorruptionError('quiver.root', 'checksum mismatch', { offset: 12 }))));
    assert.ok(corrupt instanceof CorruptionError);
    assert.equal(corrupt.file, 'quiver.root');
    assert.equal(corrupt.offset, 12);
    assert.equal(corrupt.message, 'quiver.root: checksum mismatch');

    const store = receiveError(await across(sendError(new ObjectStoreError('writing k: SlowDown 503', true, { cause: new PreconditionFailed('k') }))));
    assert.ok(store instanceof ObjectStoreError);
    assert.equal(store.retryable, true);
    assert.ok(store.cause instanceof PreconditionFailed);
    assert.equal((store.cause as PreconditionFailed).key, 'k');
  });

  it('an unknown class arrives as an Error with its message, and a non-Error as its string', async () => {
    class Odd extends Error {
      override name = 'Odd';
      readonly fn = (): number => 1; // does not survive JSON: dropped, the rest still arrives
    }
    const odd = receiveError(await across(sendError(new Odd('strange'))));
    assert.ok(odd instanceof Error);
    assert.equal(odd.message, 'strange');
    assert.equal(odd.name, 'Odd');
    const thrown = receiveError(await across(sendError('a string')));
    assert.equal(thrown.message, 'a string');
    const io = receiveError(await across(sendError(new StorageError('IO_ERROR', 'reading wal.log failed', { path: '/db/wal.log' }))));
    assert.ok(io instanceof StorageError && io.code === 'IO_ERROR' && io.path === '/db/wal.log');
  });
});
