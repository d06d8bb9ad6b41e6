import * as path from 'node:path';
import { ConfigError, LockedError } from '../errors.js';
import { FileName } from '../format/constants.js';
import { readIfExists, sameBytes, type FileSystem } from '../fs/file-system.js';
import { ReaderLease } from '../lock/reader-lease.js';
import { PreconditionFailed, type ObjectStore } from '../object-store/store.js';
import { collectGarbage, type GcState } from './gc.js';
import { ROOT_KEY, ROOT_MAGIC, chunkKey, encodeChunk, encodeJson, newGeneration, nextChunk, type Root } from './layout.js';
import { RELEASE_MS, STOP_MS, replicationStatus, type LagClock, type ReplicationStats, type ShipProgress, type ShipperOptions } from './ship-types.js';
import { RemoteLease } from './lease.js';
import { LogTail } from './log-tail.js';
import { Uploads, shipCheckpointFiles } from './ship-checkpoint.js';
import { fenceRoot } from './ship-root.js';

export type { ReplicationStats, ShipProgress, ShipperOptions } from './ship-types.js';

/** The writer's default lockStaleMs: a shipper lease not renewed for this long is ignored. */
const LOCAL_LEASE_STALE_MS = 10_000;

/**
 * Ships a database directory to object storage (FORMAT.md "Object storage: shipping"), reading
 * only what a reader reads: quiver.manifest, the files it names, and wal.log. Each tick: new log
 * frames go up as one chunk, a new checkpoint's files go up once, then the root, conditional on
 * the etag of the root this shipper wrote last. Store failures are counted and retried with
 * backoff; they never reach the writer. Losing the lease or a root condition stops it for good.
 */
export class Shipper {
  private root!: Root;
  private rootEtag = '';
  private manifestBytes: Buffer | null = null;
  private baseShipped = false;
  private readonly uploads: Uploads;
  private readonly log: LogTail;
  /** When the oldest frame shipped but not yet named by a written root was read. */
  private unshippedAt: number | null = null;
  private shippedLsn = 0;
  private stats: ShipProgress['stats'] = { state: 'shipping', lastShippedAt: null, chunksShipped: 0, bytesShipped: 0, errors: 0, lastError: null };
  private timer: NodeJS.Timeout | null = null;
  private renewTimer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private failures = 0;
  private tickError: unknown = null;
  private stopped = false;
  private readonly generation = newGeneration();
  private readonly gc: GcState = { unneededSince: new Map(), manifests: new Map(), lastRun: 0 };
  private checkpointChanged = true;
  private localLease: ReaderLease | null = null;
  private readonly lagClock: LagClock = { since: null, shippedLsn: 0 };
  onLost: (err: LockedError) => void = () => undefined;
  /** Called after every round and every change of state (a shipping thread posts progress() then). */
  onProgress: () => void = () => undefined;

  private constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly store: ObjectStore,
    private readonly lease: RemoteLease,
    private readonly options: ShipperOptions,
  ) {
    this.log = new LogTail(fs, dir, options.external === true);
    this.uploads = new Uploads(store);
  }

  /** Takes the lease and fences the root (so an older writer's next root write fails), then ships in the background. */
  static async start(fs: FileSystem, dir: string, store: ObjectStore, options: ShipperOptions): Promise<Shipper> {
    const lease = await RemoteLease.acquire(store, { ttlMs: options.leaseMs, takeover: options.takeover });
    const shipper = new Shipper(fs, dir, store, lease, options);
    try {
      await shipper.fence();
      shipper.refuseAhead();
      // Taken before the first read: every generation replaced after it is kept for this shipper.
      if (options.external) shipper.localLease = await ReaderLease.take(fs, dir, { epoch: 0, lsn: 0, ships: true }, LOCAL_LEASE_STALE_MS);
    } catch (err) {
      await lease.release();
      throw err;
    }
    shipper.renewTimer = setInterval(() => void shipper.renewLease(), Math.max(200, Math.floor(options.leaseMs / 3)));
    shipper.renewTimer.unref();
    if (!options.manual) shipper.schedule(0);
    return shipper;
  }

  private async fence(): Promise<void> {
    ({ root: this.root, etag: this.rootEtag } = await fenceRoot(this.fs, this.dir, this.store, this.lease.holder.id, this.generation));
  }

  /**
   * A bucket that shipped past this database's last LSN holds a history this one does not (a
   * copy older than the bucket, a point-in-time restore): shipping on would mix the two, so
   * open() is refused before anything is uploaded.
   */
  private refuseAhead(): void {
    const here = this.options.localLsn?.();
    if (here === undefined || this.root.shippedLsn <= here) return;
    throw new ConfigError('CONFIG_MISMATCH', 'replicate', `replicate: ${this.store.url} is ahead of this database (LSN ${this.root.shippedLsn} shipped, ${here} here); restore from it first`);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.tick().finally(() => {
        this.running = null;
        const backoff = this.failures === 0 ? this.options.intervalMs : Math.min(30_000, this.options.intervalMs * 2 ** Math.min(this.failures, 6));
        this.schedule(backoff);
      });
    }, ms);
    this.timer.unref();
  }

  private async renewLease(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.lease.renew();
    } catch (err) {
      if (err instanceof LockedError) this.lose(err);
      else {
        this.noteError(err);
        this.onProgress();
      }
    }
  }

  private lose(err: LockedError): void {
    if (this.stats.state === 'lost') return;
    this.lease.markLost();
    this.stats.state = 'lost';
    this.stats.lastError = err.message;
    this.halt();
    void this.localLease?.release();
    this.onProgress();
    this.onLost(err);
  }

  private noteError(err: unknown): void {
    this.stats.errors++;
    this.stats.lastError = (err as Error)?.message ?? String(err);
    if (this.stats.state === 'shipping') this.stats.state = 'retrying';
  }

  private halt(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.renewTimer) clearInterval(this.renewTimer);
    this.timer = null;
    this.renewTimer = null;
  }

  /** One round: log frames, a changed checkpoint, then the root. */
  async tick(): Promise<void> {
    if (this.stats.state === 'lost') return;
    try {
      await this.log.read();
      // Before any upload: while the store hangs on them, stats() already sees what waits (lagSeconds).
      this.onProgress();
      const changed = await this.shipCheckpoint();
      if (changed) await this.log.read();
      const shipped = await this.shipPending();
      if (changed || shipped || !this.baseShipped) await this.writeRoot();
      this.baseShipped = true;
      this.failures = 0;
      if (this.stats.state === 'retrying') this.stats.state = 'shipping';
      if (this.checkpointChanged || Date.now() - this.gc.lastRun > Math.max(5000, this.options.graceMs / 2)) {
        this.checkpointChanged = false;
        await collectGarbage(this.store, this.root, this.gc, this.options);
      }
    } catch (err) {
      this.tickError = err;
      if (err instanceof LockedError && err.code === 'LOCK_COMPROMISED') return this.lose(err);
      this.noteError(err);
      this.failures++;
    }
    this.onProgress();
  }

  /** In-process writers call this before a checkpoint truncates the log: the tail is kept for the next chunk. */
  async captureLogTail(): Promise<void> {
    if (this.stats.state === 'lost') return;
    await this.log.read().catch(() => undefined);
    this.onProgress();
  }

  /** Cuts pending frames into chunks and uploads them. */
  private async shipPending(): Promise<boolean> {
    const pending = this.log.pending;
    if (pending.length === 0) return false;
    this.unshippedAt ??= this.log.since;
    const time = Date.now();
    while (pending.length > 0) {
      const { count, source } = nextChunk(pending);
      const first = this.shippedLsn + 1;
      const last = first + count - 1;
      const chunk = encodeChunk(pending.slice(0, count).map((f) => f.bytes), first, last, time, source);
      await this.store.put(chunkKey(this.generation, first), chunk);
      this.log.shipped(count);
      this.shippedLsn = last;
      this.stats.chunksShipped++;
      this.stats.bytesShipped += chunk.byteLength;
      this.stats.lastShippedAt = new Date(time).toISOString();
    }
    this.root.shippedAt = time;
    return true;
  }

  /** Ships the checkpoint quiver.manifest names, once per change (ship-checkpoint.ts), and points the root at it. */
  private async shipCheckpoint(): Promise<boolean> {
    const bytes = await readIfExists(this.fs, path.join(this.dir, FileName.manifest), FileName.manifest);
    if (this.baseShipped && sameBytes(bytes, this.manifestBytes)) return false;
    // Whatever the log held up to the checkpoint goes up first, so the chain stays whole where it
    // can. Read again: the manifest is committed before the log is replaced (or kept), so this
    // read reaches the checkpoint's LSN unless a generation was replaced and not kept.
    await this.log.read();
    await this.shipPending();
    const { lsn, files, checkpoint } = await shipCheckpointFiles(this.fs, this.dir, this.uploads, bytes);
    const firstBase = !this.baseShipped;
    if (lsn > this.shippedLsn || firstBase) {
      // The chain restarts after the checkpoint: frames at or below it are in its files.
      this.shippedLsn = lsn;
      this.log.continueAfter(lsn);
    }
    const root = this.root;
    if (firstBase) {
      root.generations = [...root.generations, { id: this.generation, startLsn: lsn + 1 }];
      root.wal = { generation: this.generation, startLsn: lsn + 1 };
    }
    this.log.restart();
    root.files = files;
    root.checkpoint = checkpoint;
    root.checkpointLsn = lsn;
    this.manifestBytes = bytes;
    this.checkpointChanged = true;
    return true;
  }

  private async writeRoot(): Promise<void> {
    const root: Root = { ...this.root, sequence: this.root.sequence + 1, shippedLsn: this.shippedLsn, writtenAt: Date.now() };
    try {
      this.rootEtag = (await this.store.put(ROOT_KEY, encodeJson(ROOT_MAGIC, root), { ifMatch: this.rootEtag })).etag;
      this.root = root;
      if (this.log.pending.length === 0) this.unshippedAt = null;
    } catch (err) {
      if (err instanceof PreconditionFailed) throw this.lease.lostError();
      throw err;
    }
  }

  /** `lastLsn`: the writer's, when the shipper runs inside it. */
  status(lastLsn = 0): ReplicationStats {
    return replicationStatus(this.progress(), lastLsn, this.lagClock);
  }

  progress(): ShipProgress {
    // Shipped means named by a root the store accepted: what a replica or a restore can reach.
    return { url: this.store.url, generation: this.generation, seen: this.log.seen, shippedLsn: this.root.shippedLsn, since: this.unshippedAt ?? this.log.since, stats: { ...this.stats } };
  }

  /** One round now; its failure is thrown (quiver backup). */
  async shipOnce(): Promise<void> {
    await this.running;
    this.tickError = null;
    await this.tick();
    if (this.tickError) throw this.tickError;
  }

  /**
   * Ships what is left and releases the lease, within `timeoutMs` in all (README "Beyond one
   * machine: object storage"): one deadline covers the round under way and the last round; past
   * it their requests are aborted and what was not shipped is named in lastError. The lease's
   * release has a short bound of its own, so a store that hangs cannot keep a reopen waiting for
   * the lease to expire when it answers again.
   */
  async stop(timeoutMs = STOP_MS): Promise<void> {
    if (this.stopped && this.stats.state !== 'lost') return;
    const lost = this.stats.state === 'lost';
    this.halt();
    const deadline = Date.now() + Math.max(0, timeoutMs);
    let settled = await within(this.running, deadline);
    if (settled && !lost && timeoutMs > 0) {
      this.tickError = null;
      const last = this.tick();
      this.running = last;
      settled = await within(last, deadline);
      if (settled && this.tickError) this.stats.lastError = `close: the last round failed: ${this.stats.lastError}`;
    }
    if (!settled) {
      this.store.abort?.();
      // The aborted round fails at once; its error is replaced by the one saying why.
      await within(this.running, Date.now() + 1000);
      this.stats.errors++;
      this.stats.lastError = `close: shipping did not finish within ${timeoutMs} ms (LSN ${this.root.shippedLsn} shipped of ${this.log.seen} read); the requests under way were aborted`;
    }
    await this.localLease?.release();
    if (this.stats.state !== 'lost') {
      if (!(await within(this.lease.release(), Date.now() + RELEASE_MS))) {
        this.store.abort?.();
        this.stats.errors++;
        this.stats.lastError = `${this.stats.lastError ?? 'close'}; the lease was not released within ${RELEASE_MS} ms (it expires by itself)`;
      }
      this.stats.state = 'stopped';
    }
    this.store.close();
  }
}

/** Whether `work` settled (either way) before `deadline`; null work has settled. */
async function within(work: Promise<unknown> | null, deadline: number): Promise<boolean> {
  if (!work) return true;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([work.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}
