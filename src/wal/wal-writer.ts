import { CorruptionError } from '../errors.js';
import { FileName } from '../format/constants.js';
import type { FileSystem } from '../fs/file-system.js';
import type { Fence } from '../lock/fence.js';
import { encodeFrame } from './frame.js';
import { writeLogGeneration, type LogGeneration } from './wal-file.js';

/** When an operation resolves (README "Durability"). `ephemeral` has no writer at all. */
export type Durability = 'paranoid' | 'standard' | 'relaxed' | 'ephemeral';
export const DURABILITY_MODES: readonly Durability[] = ['paranoid', 'standard', 'relaxed', 'ephemeral'];

/** relaxed mode writes its buffer out (without fsync) once it holds this much. */
const RELAXED_BUFFER_LIMIT = 4 * 1024 * 1024;

/**
 * Appends frames to wal.log. Ordering is the caller's: frames are written in call order.
 * - standard: append() writes the frame to the OS before returning.
 * - paranoid: the same, and durable() resolves after an fsync that began after the write;
 *   concurrent callers share one fsync (group commit).
 * - relaxed: append() buffers; makeDurable() writes the buffer and fsyncs (db.flush() calls it).
 * With a fence (a writer holding the lock), nothing resolves before a check made after its
 * write found the lock still ours (lock/fence.ts). The log is opened without O_APPEND: frames
 * go at explicit offsets, so a file someone else extended is never silently written after.
 * A failed write leaves the log in an unknown state; the owner must stop using it.
 */
export class WalWriter {
  private size: number;
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private inFlight: Promise<void> | null = null;
  private nextSync: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | null = null;
  /** Bytes written (not merely buffered) since the last fsync started. */
  private unsynced = false;
  private closed = false;

  private constructor(
    private readonly fs: FileSystem,
    private readonly path: string,
    private fd: number,
    private generation: LogGeneration,
    readonly mode: Exclude<Durability, 'ephemeral'>,
    private readonly fence: Fence | null,
  ) {
    this.size = generation.size;
  }

  /** Opens the log generation the open just wrote (writeLogGeneration) for writing after its last frame. */
  static open(fs: FileSystem, path: string, mode: Exclude<Durability, 'ephemeral'>, generation: LogGeneration, fence: Fence | null): WalWriter {
    const fd = fs.openSync(path, 'readwrite');
    try {
      const size = fs.sizeSync(fd);
      if (size !== generation.size) throw new CorruptionError(FileName.wal, `is ${size} bytes just after it was written with ${generation.size}: another process changed it`);
      return new WalWriter(fs, path, fd, generation, mode, fence);
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /** This generation's salt (FORMAT.md "Log generations"). */
  get salt(): number {
    return this.generation.salt;
  }

  /** Bytes in the log, including what relaxed mode still buffers. */
  get byteLength(): number {
    return this.size + this.bufferedBytes;
  }

  /** Appends one frame. Throws if the write fails (the log is then unusable). */
  append(type: number, lsn: number, body: Uint8Array): void {
    const frame = encodeFrame(type, lsn, body, this.generation.salt);
    if (this.mode === 'relaxed') {
      this.buffered.push(frame);
      this.bufferedBytes += frame.byteLength;
      if (this.bufferedBytes >= RELAXED_BUFFER_LIMIT) this.writeBuffered();
      return;
    }
    this.write(frame);
  }

  /** Resolves when everything appended so far has reached the mode's durability point. */
  durable(): Promise<void> {
    // relaxed acknowledges buffered frames: the fence still refuses once the lock is lost.
    // Outside paranoid, the shared check is returned as it is (no promise per write).
    if (this.mode !== 'paranoid') return this.fence ? this.fence.confirm() : Promise.resolve();
    return this.fence ? this.sync().then(() => this.fence!.confirm()) : this.sync();
  }

  /** Writes anything buffered and fsyncs: after this, every appended frame survives power loss. */
  async makeDurable(): Promise<void> {
    this.fence?.check();
    this.writeBuffered();
    await this.sync();
    await this.fence?.confirm();
  }

  /**
   * Replaces the log with an empty new generation (after a checkpoint made its frames redundant):
   * a new salt, so a reader that read the old one knows to start over.
   */
  async reset(): Promise<void> {
    await this.settle();
    this.buffered = [];
    this.bufferedBytes = 0;
    const generation = await writeLogGeneration(this.fs, this.path, this.generation.logId, [], Buffer.alloc(0));
    const old = this.fd;
    this.fd = this.fs.openSync(this.path, 'readwrite');
    this.generation = generation;
    this.size = generation.size;
    this.unsynced = false;
    // Last: a failed close(2) has still released the old descriptor, and the writer is on the new one.
    this.fs.closeSync(old);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      await this.makeDurable();
    } finally {
      this.closed = true;
      this.fs.closeSync(this.fd);
    }
  }

  /** Closes without writing buffered frames (used when the database has failed). Idempotent. */
  abandon(): void {
    this.buffered = [];
    this.bufferedBytes = 0;
    if (this.closed) return;
    this.closed = true;
    try {
      this.fs.closeSync(this.fd);
    } catch {
      // already failing; nothing more to do
    }
  }

  private writeBuffered(): void {
    if (this.buffered.length === 0) return;
    const data = this.buffered.length === 1 ? this.buffered[0]! : Buffer.concat(this.buffered, this.bufferedBytes);
    this.buffered = [];
    this.bufferedBytes = 0;
    this.write(data);
  }

  private write(data: Buffer): void {
    this.fs.writeSync(this.fd, data, this.size);
    this.size += data.byteLength;
    this.unsynced = true;
  }

  /** Group commit: one fsync in flight; callers arriving meanwhile share the next one. */
  private sync(): Promise<void> {
    if (!this.inFlight) return this.startSync();
    if (!this.nextSync) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.nextSync = { promise, resolve, reject };
    }
    return this.nextSync.promise;
  }

  private startSync(): Promise<void> {
    if (!this.unsynced) return Promise.resolve();
    this.unsynced = false;
    const run = this.fs.fsync(this.fd).finally(() => {
      this.inFlight = null;
      const waiting = this.nextSync;
      this.nextSync = null;
      if (waiting) this.startSync().then(waiting.resolve, waiting.reject);
    });
    this.inFlight = run;
    return run;
  }

  private async settle(): Promise<void> {
    while (this.inFlight || this.nextSync) {
      await (this.nextSync?.promise ?? this.inFlight)?.catch(() => undefined);
    }
  }
}
