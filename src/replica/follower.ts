import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { CorruptionError, NotFoundError } from '../errors.js';
import { FileName } from '../format/constants.js';
import { crc32c } from '../format/crc.js';
import type { ObjectStore } from '../object-store/store.js';
import type { RootRecord } from '../format/root-record.js';
import { decodeManifest } from '../segments/manifest.js';
import { randomSalt } from '../wal/frame.js';
import { ROOT_KEY, ROOT_MAGIC, checkChunkLog, chunkKey, decodeChunk, decodeJson, frameBytes, parseChunkKey, type Root, type ShippedFile } from './layout.js';
import { checkLocalPath, verifyBytes } from './local-files.js';
import { appendLocalLog, readLocalLog, writeLocalLog, type LocalLog } from './local-log.js';
import type { ReplicaStats } from '../engine/open/attachment.js';

/** An object the root names is not there (yet, or any more): re-read the root and try again. */
class Missing extends Error {
  constructor(readonly key: string) {
    super(`${key} is missing`);
  }
}

const ATTEMPTS = 6;
/** Objects over two parts are fetched in ranged parts of this size, PARALLEL at a time. */
const PART = 8 * 1024 * 1024;
const PARALLEL = 4;

/**
 * Keeps a local cache directory equal to the bucket's latest root: IDENTITY and the embedder's
 * files, the checkpoint's quiver.manifest and segments, and wal.log holding the shipped records
 * after the checkpoint (FORMAT.md "Object storage: replicas"). The directory is then an ordinary
 * database that a read-only handle opens and refreshes; only this class writes to it, and only
 * between that handle's refreshes. Every object is checked (size and CRC32C from the root or the
 * manifest, chunk and frame CRCs) before it is written into the cache.
 */
export class Follower {
  private root: Root | null = null;
  private checkpointKey: string | null = null;
  private checkpointLsn = 0;
  private lastLsn = 0;
  /** The cache's wal.log (null until the first checkpoint or chunk writes one). */
  private log: LocalLog | null = null;
  /** The log id the cached quiver.manifest records (null: none cached, or it records none). */
  private recordedLogId: number | null = null;
  private readonly files = new Map<string, number>();
  private previousSegments = new Set<string>();
  private olderSegments = new Set<string>();
  private caughtUpAt = Date.now();
  private stats = { syncs: 0, errors: 0, lastError: null as string | null };

  private constructor(
    private readonly store: ObjectStore,
    private readonly dir: string,
  ) {}

  /** Creates or reuses the cache directory and fills it from the bucket. */
  static async prepare(store: ObjectStore, dir: string): Promise<Follower> {
    await fsp.mkdir(path.join(dir, FileName.segments), { recursive: true });
    // The log and root are rebuilt; segments already cached are reused when their CRC matches.
    // Neither is left behind: a root without its log (or a log of another id) is corruption to
    // the local open, while no root and no log is an empty database until the first sync.
    await fsp.rm(path.join(dir, FileName.manifest), { force: true });
    await fsp.rm(path.join(dir, FileName.wal), { force: true });
    const follower = new Follower(store, dir);
    await follower.sync(true);
    return follower;
  }

  private name(key: string): string {
    return `${this.store.url}/${key}`;
  }

  /** Brings the cache up to the bucket's latest root. Never moves it backwards. */
  async sync(initial = false): Promise<void> {
    let lastMissing: Missing | null = null;
    let lastSequence = -1;
    try {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const obj = await this.store.get(ROOT_KEY);
        if (!obj) throw new NotFoundError('database', `no database at ${this.store.url} (no ${ROOT_KEY})`);
        const root = decodeJson<Root>(ROOT_MAGIC, obj.body, this.name(ROOT_KEY));
        if (root.files.length === 0) {
          if (initial) throw new NotFoundError('database', `${this.store.url}: its writer has not shipped anything yet`);
          return;
        }
        if (this.root && root.sequence < this.root.sequence) return;
        // The root did not move since a missing object was reported: it really is missing.
        if (lastMissing && root.sequence === lastSequence) throw new CorruptionError(this.name(lastMissing.key), 'is named by the root but missing from the bucket');
        try {
          await this.apply(root);
          this.root = root;
          this.stats.syncs++;
          if (this.lastLsn >= root.shippedLsn) this.caughtUpAt = Date.now();
          return;
        } catch (err) {
          if (!(err instanceof Missing)) throw err;
          lastMissing = err;
          lastSequence = root.sequence;
          await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        }
      }
      throw new CorruptionError(this.name(lastMissing!.key), 'is named by the root but missing from the bucket');
    } catch (err) {
      this.stats.errors++;
      this.stats.lastError = (err as Error).message;
      throw err;
    }
  }

  private async fetch(file: { key: string; bytes: number; crc32c: number }): Promise<Buffer> {
    if (file.bytes > 2 * PART) return verifyBytes(await this.fetchParts(file), file, this.name(file.key));
    const obj = await this.store.get(file.key);
    if (!obj) throw new Missing(file.key);
    return verifyBytes(obj.body, file, this.name(file.key));
  }

  /** A large object in ranged parts, a few at a time (one stream is slower than the store and the link). */
  private async fetchParts(file: { key: string; bytes: number }): Promise<Buffer> {
    const out = Buffer.allocUnsafe(file.bytes);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < file.bytes) {
        const start = next;
        const end = Math.min(file.bytes, start + PART);
        next = end;
        const part = await this.store.getRange(file.key, start, end);
        if (!part) throw new Missing(file.key);
        if (part.byteLength !== end - start) throw new CorruptionError(this.name(file.key), `is shorter than the ${file.bytes} bytes the manifest says`);
        part.copy(out, start);
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    return out;
  }

  private async writeFile(rel: string, bytes: Buffer): Promise<void> {
    const file = path.join(this.dir, rel);
    await fsp.mkdir(path.dirname(file), { recursive: true });
    await fsp.writeFile(file + '.tmp', bytes);
    await fsp.rename(file + '.tmp', file);
  }

  private async apply(root: Root): Promise<void> {
    for (const f of root.files) {
      if (this.files.get(checkLocalPath(f.path, this.name(ROOT_KEY))) === f.crc32c) continue;
      await this.writeFile(f.path, await this.fetch(f));
      this.files.set(f.path, f.crc32c);
    }
    const cp = root.checkpoint;
    // The same LSN under another key is a rewritten root (a re-embed, a record adopting an
    // embedder): the same operations, but other files the root records. Install it too.
    if (cp && cp.key !== this.checkpointKey && (cp.lsn >= this.checkpointLsn || this.checkpointKey === null)) await this.installCheckpoint(cp);
    await this.appendChunks(root);
  }

  /** Segments first (reused when already cached and matching), then the log trimmed to after the checkpoint, then the manifest. */
  private async installCheckpoint(cp: NonNullable<Root['checkpoint']>): Promise<void> {
    for (const s of cp.segments) {
      checkLocalPath(s.path, this.name(cp.key));
      if (await this.cachedMatches(s)) continue;
      await this.writeFile(s.path, await this.fetch(s));
    }
    const manifest = await this.fetch(cp);
    let record: RootRecord | null;
    try {
      record = decodeManifest(manifest).record;
    } catch (cause) {
      throw new CorruptionError(this.name(cp.key), `does not decode: ${(cause as Error).message}`, { cause });
    }
    // The log first, carrying the log id the manifest records, then the manifest that names it:
    // each step leaves a directory the local open accepts (FORMAT.md "What the root records").
    const walFile = path.join(this.dir, FileName.wal);
    const keep = this.log ? (await readLocalLog(walFile, this.log)).filter((f) => f.lsn > cp.lsn) : [];
    this.log = await writeLocalLog(walFile, record?.logId ?? this.log?.logId ?? randomSalt(), keep.map((f) => f.bytes));
    this.recordedLogId = record?.logId ?? null;
    await this.writeFile(FileName.manifest, manifest);
    // Files no longer named by this checkpoint or the previous one go: the handle has moved past them.
    const named = new Set(cp.segments.map((s) => s.path));
    for (const old of this.olderSegments) if (!named.has(old) && !this.previousSegments.has(old)) await fsp.rm(path.join(this.dir, old), { force: true });
    this.olderSegments = this.previousSegments;
    this.previousSegments = named;
    this.checkpointKey = cp.key;
    this.checkpointLsn = cp.lsn;
    this.lastLsn = Math.max(this.lastLsn, cp.lsn);
  }

  private async cachedMatches(s: ShippedFile): Promise<boolean> {
    try {
      const bytes = await fsp.readFile(path.join(this.dir, s.path));
      return bytes.byteLength === s.bytes && crc32c(bytes) >>> 0 === s.crc32c >>> 0;
    } catch {
      return false;
    }
  }

  /** Appends the shipped records after lastLsn, whole chunks' frames, up to the root's shippedLsn. */
  private async appendChunks(root: Root): Promise<void> {
    const generation = root.wal.generation;
    let listing: { key: string; firstLsn: number }[] | null = null;
    while (this.lastLsn < root.shippedLsn) {
      const want = this.lastLsn + 1;
      let key = chunkKey(generation, want);
      let obj = await this.store.get(key);
      if (!obj) {
        // Not aligned on a chunk boundary (a new generation re-shipped from its checkpoint): find the chunk holding `want`.
        listing ??= (await this.store.list(`wal/${generation}/`)).flatMap((o) => {
          const p = parseChunkKey(o.key);
          return p ? [{ key: o.key, firstLsn: p.firstLsn }] : [];
        });
        const holder = listing.filter((c) => c.firstLsn <= want).at(-1);
        if (!holder) throw new Missing(key);
        key = holder.key;
        obj = await this.store.get(key);
        if (!obj) throw new Missing(key);
      }
      const chunk = decodeChunk(obj.body, this.name(key));
      checkChunkLog(chunk, this.recordedLogId, this.name(key));
      const frames = chunk.frames.filter((f) => f.lsn >= want && f.lsn <= root.shippedLsn);
      if (frames.length === 0 || frames[0]!.lsn !== want) throw new Missing(chunkKey(generation, want));
      const walFile = path.join(this.dir, FileName.wal);
      // No checkpoint cached yet: the log starts here, with the writer's log id when the chunk has one.
      this.log ??= await writeLocalLog(walFile, chunk.logId ?? randomSalt(), []);
      await appendLocalLog(walFile, this.log, frames.map((f) => frameBytes(chunk.body, f)));
      this.lastLsn = frames.at(-1)!.lsn;
    }
  }

  status(): ReplicaStats {
    const shippedLsn = this.root?.shippedLsn ?? 0;
    const lagLsn = Math.max(0, shippedLsn - this.lastLsn);
    return {
      url: this.store.url,
      role: 'replica',
      sequence: this.root?.sequence ?? 0,
      checkpointLsn: this.checkpointLsn,
      cachedLsn: this.lastLsn,
      shippedLsn,
      lagLsn,
      lagSeconds: (Date.now() - this.caughtUpAt) / 1000,
      ...this.stats,
    };
  }
}
