import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, ConfigError } from '../../src/index.js';
import { fenceRoot } from '../../src/replica/ship-root.js';
import { nodeFileSystem } from '../../src/fs/file-system.js';
import { ROOT_KEY, ROOT_MAGIC, encodeJson } from '../../src/replica/layout.js';
import { PreconditionFailed, type ObjectStore } from '../../src/object-store/store.js';
import { crc32c } from '../../src/format/crc.js';
import { dbPath } from '../helpers/tmp.js';

/**
 * A writer that changed its database's quantization (FORMAT.md "IDENTITY") keeps shipping to
 * the bucket it shipped to: the fence accepts the bucket's IDENTITY when it differs from the
 * local one only in `index.quantization`, and still refuses another database's.
 */

function memoryStore(): ObjectStore {
  const objects = new Map<string, { body: Buffer; etag: string }>();
  let n = 0;
  return {
    url: 's3://memory/db',
    async put(key: string, body: Uint8Array, c?: { ifAbsent?: boolean; ifMatch?: string }) {
      const cur = objects.get(key);
      if ((c?.ifAbsent && cur) || (c?.ifMatch !== undefined && cur?.etag !== c.ifMatch)) throw new PreconditionFailed(key);
      const etag = String(++n);
      objects.set(key, { body: Buffer.from(body), etag });
      return { etag };
    },
    async get(key: string) {
      return objects.get(key) ?? null;
    },
  } as unknown as ObjectStore;
}

/** Fences for this directory, then records its IDENTITY in the root as shipping a checkpoint does. */
async function ship(dir: string, store: ObjectStore, writer: string): Promise<void> {
  const { root, etag } = await fenceRoot(nodeFileSystem, dir, store, writer, `g-${writer}`);
  const bytes = fs.readFileSync(path.join(dir, 'IDENTITY'));
  const key = `files/IDENTITY.${(crc32c(bytes) >>> 0).toString(16)}`;
  await store.put(key, bytes, {});
  root.files = [{ path: 'IDENTITY', key, bytes: bytes.byteLength, crc32c: crc32c(bytes) >>> 0 }];
  await store.put(ROOT_KEY, encodeJson(ROOT_MAGIC, root), { ifMatch: etag });
}

describe('shipping after a change of quantization', () => {
  it('fences the same bucket after quantization is turned on, and refuses another database', async () => {
    const dir = dbPath();
    await (await open(dir, { dimension: 4 })).close();
    const store = memoryStore();
    await ship(dir, store, 'w1');
    await (await open(dir, { index: { type: 'hnsw', quantization: 'int8' } })).close();
    await ship(dir, store, 'w2');
    await (await open(dir, { index: { type: 'hnsw', quantization: 'none' } })).close();
    await ship(dir, store, 'w3');

    const stranger = dbPath();
    await (await open(stranger, { dimension: 4 })).close();
    await assert.rejects(fenceRoot(nodeFileSystem, stranger, store, 'w4', 'g-w4'), (err: unknown) => err instanceof ConfigError && err.code === 'CONFIG_MISMATCH');
  });
});
