import * as os from 'node:os';
import { ConfigError, LockedError } from '../errors.js';
import { FileName } from '../format/constants.js';
import { crc32c } from '../format/crc.js';
import { decodeIdentity } from '../format/identity.js';
import type { FileSystem } from '../fs/file-system.js';
import { PreconditionFailed, type ObjectStore } from '../object-store/store.js';
import { ROOT_KEY, ROOT_MAGIC, decodeJson, encodeJson, type Root } from './layout.js';
import { identityFiles } from './local-files.js';

/**
 * Fences the root for a writer that just took the lease (FORMAT.md "Object storage: the lease",
 * step 2): reads it and writes it back with sequence + 1 and this writer named, conditional on
 * what it read, so an older writer's next root write fails. A root of another database (its
 * IDENTITY differs) is refused. Returns the root written and its etag.
 */
export async function fenceRoot(fs: FileSystem, dir: string, store: ObjectStore, writerId: string, generation: string): Promise<{ root: Root; etag: string }> {
  const local = (await identityFiles(fs, dir)).find((f) => f.path === FileName.identity);
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await store.get(ROOT_KEY);
    const previous = current ? decodeJson<Root>(ROOT_MAGIC, current.body, `${store.url}/${ROOT_KEY}`) : null;
    const theirs = previous?.files.find((f) => f.path === FileName.identity);
    if (theirs && local && theirs.crc32c !== crc32c(local.bytes) && !(await sameDatabase(store, theirs.key, local.bytes))) {
      throw new ConfigError('CONFIG_MISMATCH', 'replicate', `replicate: ${store.url} holds another database (its IDENTITY differs); use an empty prefix`);
    }
    const writer = { id: writerId, host: os.hostname(), pid: process.pid };
    const root: Root = previous
      ? { ...previous, sequence: previous.sequence + 1, writer, writtenAt: Date.now() }
      : { format: 1, sequence: 1, writer, files: [], checkpoint: null, checkpointLsn: 0, wal: { generation, startLsn: 1 }, shippedLsn: 0, shippedAt: 0, writtenAt: Date.now(), generations: [] };
    try {
      const { etag } = await store.put(ROOT_KEY, encodeJson(ROOT_MAGIC, root), current ? { ifMatch: current.etag } : { ifAbsent: true });
      return { root, etag };
    } catch (err) {
      if (!(err instanceof PreconditionFailed)) throw err;
    }
  }
  throw new LockedError('LOCKED', `${store.url}: the root kept changing while this writer took over; is another writer still shipping?`);
}

/**
 * Whether the bucket's IDENTITY (object `key`) is this database's, differing at most in
 * `index.quantization`, the one field a writer changes in place (FORMAT.md "IDENTITY"): the next
 * checkpoint ships the new IDENTITY with the files it describes.
 */
async function sameDatabase(store: ObjectStore, key: string, local: Buffer): Promise<boolean> {
  const object = await store.get(key);
  if (!object) return false;
  const plain = (bytes: Buffer): string | null => {
    try {
      const id = decodeIdentity(bytes);
      const index = id.index.type === 'hnsw' ? { ...id.index, quantization: undefined } : id.index;
      return JSON.stringify({ ...id, index });
    } catch {
      return null;
    }
  };
  const ours = plain(local);
  return ours !== null && ours === plain(object.body);
}
