import * as path from 'node:path';
import { ConfigError, CorruptionError, NotFoundError, QuiverError, ioError } from '../errors.js';
import { crc32c } from '../format/crc.js';
import { FileName } from '../format/constants.js';
import { nodeFileSystem } from '../fs/file-system.js';
import { claimDestination, commitStaging, createStaging, releaseClaim, removeStaleStaging } from '../engine/maintenance/destination.js';
import { openObjectStore, type S3Options } from '../object-store/s3-store.js';
import type { ObjectStore } from '../object-store/store.js';
import { randomSalt } from '../wal/frame.js';
import { decodeEmbedderManifest } from '../embedder/manifest-file.js';
import { ROOT_KEY, ROOT_MAGIC, checkChunkLog, decodeChunk, decodeJson, frameBytes, parseCheckpointKey, parseChunkKey, type Chunk, type FrameSource, type Root } from './layout.js';
import { checkLocalPath, verifyBytes } from './local-files.js';
import { writeLocalLog } from './local-log.js';
import { decodeManifest, vaultFiles } from '../segments/manifest.js';
import { shipperOptions, type ReplicateOptions } from './open.js';
import { Shipper } from './shipper.js';
import { byCodeUnits } from '../util/code-units.js';

export interface RestoreTarget {
  /** Restore exactly the operations up to this LSN (default: everything shipped). */
  lsn?: number;
  /** Restore the state as of this time (ms since the epoch): every chunk cut at or before it. */
  time?: number;
}

export interface ObjectRestoreResult {
  path: string;
  lsn: number;
  checkpointLsn: number;
  epoch: number;
  chunks: number;
}

interface ChunkRef {
  key: string;
  generation: string;
  firstLsn: number;
}

/**
 * Rebuilds a local database from a bucket (FORMAT.md "Object storage: restore"): the newest
 * retained checkpoint at or before the target, then log chunks from it up to the target LSN or
 * time. A target the retained checkpoints and chunks cannot reach is refused, never approximated.
 */
export async function restoreFromObjectStore(url: string, dest: string, target: RestoreTarget = {}, s3: S3Options = {}): Promise<ObjectRestoreResult> {
  if (target.lsn !== undefined && target.time !== undefined) throw new ConfigError('CONFIG_INVALID', 'lsn', 'give --lsn or --time, not both');
  const out = path.resolve(dest);
  // As a local restore: the destination must be absent or an empty real directory (ConflictError
  // otherwise, nothing touched), and the copy is built in a marked staging sibling renamed over it.
  const claim = await claimDestination(out);
  try {
    await removeStaleStaging(out);
    return await restoreInto(url, out, target, s3);
  } catch (err) {
    await releaseClaim(claim);
    throw err;
  }
}

async function restoreInto(url: string, out: string, target: RestoreTarget, s3: S3Options): Promise<ObjectRestoreResult> {
  const store = await openObjectStore(url, s3);
  try {
    const obj = await store.get(ROOT_KEY);
    if (!obj) throw new NotFoundError('database', `no database at ${url}`);
    const root = decodeJson<Root>(ROOT_MAGIC, obj.body, `${url}/${ROOT_KEY}`);
    const limit = Math.min(target.lsn ?? root.shippedLsn, root.shippedLsn);
    if (target.lsn !== undefined && target.lsn > root.shippedLsn) throw new NotFoundError('lsn', `LSN ${target.lsn} is past what ${url} holds (${root.shippedLsn})`);
    const checkpoints = (await store.list('checkpoints/')).flatMap((o) => {
      const p = parseCheckpointKey(o.key);
      return p && p.lsn <= limit && (target.time === undefined || o.lastModified <= target.time) ? [{ key: o.key, ...p }] : [];
    });
    checkpoints.sort((a, b) => b.lsn - a.lsn);
    const chunks = (await store.list('wal/')).flatMap((o) => {
      const p = parseChunkKey(o.key);
      return p ? [{ key: o.key, ...p }] : [];
    });
    // From the newest checkpoint back, the first one a whole chain of chunks reaches the target from.
    const starts = [...checkpoints.map((c) => ({ key: c.key as string | null, lsn: c.lsn, epoch: c.epoch })), { key: null, lsn: 0, epoch: 0 }];
    for (const start of starts) {
      const logId = start.key ? await recordedLogId(store, url, start.key) : null;
      const chain = await chainFrom(store, url, root, chunks, start.lsn, limit, target.time, logId);
      if (!chain) continue;
      await writeDatabase(store, url, root, start.key, chain, out);
      return { path: out, lsn: chain.lsn, checkpointLsn: start.lsn, epoch: start.epoch, chunks: chain.chunks };
    }
    throw new NotFoundError('lsn', `${url}: no retained checkpoint and log chunks reach ${target.time !== undefined ? `time ${new Date(target.time).toISOString()}` : `LSN ${limit}`}`);
  } finally {
    store.close();
  }
}

/** The log id a checkpoint's manifest records (null: none). */
async function recordedLogId(store: ObjectStore, url: string, key: string): Promise<number | null> {
  const obj = await store.get(key);
  if (!obj) return null; // deleted since the listing: writeDatabase reports it
  try {
    return decodeManifest(obj.body).record?.logId ?? null;
  } catch (cause) {
    throw new CorruptionError(`${url}/${key}`, `does not decode: ${(cause as Error).message}`, { cause });
  }
}

interface Chain {
  /** Whole frames, each checked under its own chunk's salt. */
  frames: Buffer[];
  lsn: number;
  chunks: number;
  /** The log id the chunks name (the first one's), when the checkpoint records none. */
  logId: number | null;
}

/**
 * Frames (lsn, limit] from chunks, preferring the newest generation that started at or before
 * each LSN. Every chunk must belong to the log the checkpoint records (`logId`), when it records one.
 */
async function chainFrom(store: ObjectStore, url: string, root: Root, chunks: ChunkRef[], from: number, limit: number, time: number | undefined, logId: number | null): Promise<Chain | null> {
  const order = [...root.generations].sort((a, b) => byCodeUnits(b.id, a.id));
  const frames: Buffer[] = [];
  let lsn = from;
  let used = 0;
  let source: FrameSource | null = null;
  while (lsn < limit) {
    const want = lsn + 1;
    let chunk: Chunk | null = null;
    for (const g of order.filter((g) => g.startLsn <= want).concat(order.filter((g) => g.startLsn > want))) {
      const holder = chunks.filter((c) => c.generation === g.id && c.firstLsn <= want).sort((a, b) => a.firstLsn - b.firstLsn).at(-1);
      if (!holder) continue;
      const obj = await store.get(holder.key);
      if (!obj) continue;
      const decoded = decodeChunk(obj.body, `${url}/${holder.key}`);
      checkChunkLog(decoded, logId ?? source?.logId ?? null, `${url}/${holder.key}`);
      if (decoded.lastLsn >= want) {
        chunk = decoded;
        break;
      }
    }
    // A gap: an LSN target is unreachable from this checkpoint; a time target ends where the log does.
    if (!chunk) return time === undefined ? null : { frames, lsn, chunks: used, logId: source?.logId ?? null };
    if (time !== undefined && chunk.time > time) break;
    if (chunk.logId !== null) source ??= chunk;
    for (const f of chunk.frames) if (f.lsn >= want && f.lsn <= limit) frames.push(frameBytes(chunk.body, f));
    lsn = Math.min(chunk.lastLsn, limit);
    used++;
  }
  return { frames, lsn, chunks: used, logId: source?.logId ?? null };
}

async function writeDatabase(store: ObjectStore, url: string, root: Root, checkpoint: string | null, chain: Chain, out: string): Promise<void> {
  const fs = nodeFileSystem;
  const tmp = await createStaging(out, 'restore', fs);
  try {
    await writeFiles(store, url, root, checkpoint, chain, tmp);
    await commitStaging(tmp, out, fs);
    await fs.syncDir(path.dirname(out));
  } catch (err) {
    await fs.removeTree(tmp).catch(() => undefined);
    throw err instanceof QuiverError ? err : ioError('restoring into', out, err);
  }
}

/** Every file of the restored database into `tmp`, each fsynced, then every directory made. */
async function writeFiles(store: ObjectStore, url: string, root: Root, checkpoint: string | null, chain: Chain, tmp: string): Promise<void> {
  const fs = nodeFileSystem;
  const dirs = new Set<string>([path.join(tmp, FileName.segments)]);
  await fs.mkdir(path.join(tmp, FileName.segments));
  const fetch = async (key: string): Promise<Buffer> => {
    const obj = await store.get(key);
    if (!obj) throw new NotFoundError('object', `${url}/${key} is missing`);
    return obj.body;
  };
  const write = async (rel: string, bytes: Buffer): Promise<void> => {
    const file = path.join(tmp, rel);
    for (let d = path.dirname(file); d !== tmp && !dirs.has(d); d = path.dirname(d)) dirs.add(d);
    await fs.mkdir(path.dirname(file));
    await fs.writeFileSynced(file, [bytes]);
  };
  let embedder: string | null = null;
  for (const f of root.files) {
    const bytes = verifyBytes(await fetch(f.key), f, `${url}/${f.key}`);
    if (f.path === FileName.embedderManifest) embedder = decodeEmbedderManifest(bytes).fingerprint;
    await write(checkLocalPath(f.path, `${url}/${ROOT_KEY}`), bytes);
  }
  let logId = chain.logId;
  if (checkpoint) {
    const bytes = await fetch(checkpoint);
    // The name carries the manifest's CRC32C (FORMAT.md "Object storage: names").
    if (!checkpoint.endsWith(`.${(crc32c(bytes) >>> 0).toString(16).padStart(8, '0')}.manifest`)) throw new CorruptionError(`${url}/${checkpoint}`, 'checksum mismatch against its name');
    const manifest = decodeManifest(bytes);
    // The root's files are the latest; a checkpoint from before a re-embed records another
    // embedder, and the restored directory would not open (FORMAT.md "What the root records").
    if (manifest.record?.embedder && manifest.record.embedder !== embedder) {
      throw new NotFoundError('lsn', `${url}: the checkpoint at LSN ${manifest.checkpointLsn} records an embedder the bucket's current files no longer hold (re-embedded since): restore to a point after the re-embed`);
    }
    logId = manifest.record?.logId ?? logId;
    for (const v of manifest.vaults) {
      for (const ref of vaultFiles(v)) {
        const key = `${ref.path}.${(ref.crc32c >>> 0).toString(16).padStart(8, '0')}`;
        await write(checkLocalPath(ref.path, `${url}/${checkpoint}`), verifyBytes(await fetch(key), ref, `${url}/${key}`));
      }
    }
    await write(FileName.manifest, bytes);
  }
  // One local log generation: the log id the manifest records, a fresh salt, every frame re-sealed.
  await writeLocalLog(path.join(tmp, FileName.wal), logId ?? randomSalt(), chain.frames, true);
  // Deepest first; the staging directory's own entries are fsynced by commitStaging.
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) await fs.syncDir(d);
}

/** `quiver backup <db> s3://...`: one shipping round under the lease (no running writer needed), then the lease is released. */
export async function backupToObjectStore(dir: string, url: string, options: Omit<ReplicateOptions, 'url'> = {}): Promise<{ url: string; lsn: number }> {
  const store = await openObjectStore(url, options);
  const shipper = await Shipper.start(nodeFileSystem, path.resolve(dir), store, { ...shipperOptions({ url, ...options }), manual: true }).catch((err: unknown) => {
    store.close();
    throw err;
  });
  try {
    await shipper.shipOnce();
    return { url, lsn: shipper.status().shippedLsn };
  } finally {
    await shipper.stop(0);
  }
}
