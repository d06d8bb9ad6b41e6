import * as path from 'node:path';
import { FRAME_HEADER_SIZE, FileName, WAL_HEADER_SIZE } from '../format/constants.js';
import type { FileSystem } from '../fs/file-system.js';
import { readFrames } from '../wal/wal-reader.js';

const PENDING_LIMIT = 256 * 1024 * 1024;

/**
 * Follows a live writer's wal.log from outside the write path (FORMAT.md "Object storage:
 * shipping", step 1): each read takes the frames appended since the last one that continue the
 * chain (LSN = last taken + 1) and holds them until they are shipped. A checkpoint resets the log
 * under it; that is noticed because the last frame taken is no longer where it was read.
 */
export class LogTail {
  private walOffset = WAL_HEADER_SIZE;
  private rescan = false;
  /** The last frame read from the log: where the next read starts, and what it must find there. */
  private anchor: { offset: number; lsn: number } | null = null;
  /** Frames read but not yet shipped: contiguous, after the shipped LSN. */
  pending: Buffer[] = [];
  private pendingBytes = 0;
  /** LSN of the last frame taken. */
  last = 0;
  /** When the oldest pending frame was taken (for lag in seconds). */
  since: number | null = null;
  /** The highest LSN seen in the log. */
  seen = 0;

  constructor(
    private readonly fs: FileSystem,
    private readonly dir: string,
  ) {}

  /** Reads again from the log's header next time (the log may have been reset). */
  restart(): void {
    this.rescan = true;
  }

  /** The chain now continues after `lsn` (a shipped checkpoint): pending frames at or below it are dropped. */
  continueAfter(lsn: number): void {
    this.pending = [];
    this.pendingBytes = 0;
    this.last = lsn;
    this.rescan = true;
  }

  /** Removes the first `count` pending frames (shipped). */
  shipped(count: number): void {
    const gone = this.pending.splice(0, count);
    for (const b of gone) this.pendingBytes -= b.byteLength;
    if (this.pending.length === 0) this.since = null;
  }

  async read(): Promise<void> {
    if (this.rescan) {
      this.walOffset = WAL_HEADER_SIZE;
      this.anchor = null;
      this.rescan = false;
    }
    // Read from the last frame taken, not after it: if that frame is no longer there, a
    // checkpoint reset the log under us (bytes at the old end may even look like a torn tail).
    const from = this.anchor?.offset ?? this.walOffset;
    const tail = await this.readFrom(from);
    const parsed = tail ? readFrames(tail, 0, 0) : null;
    const moved = this.anchor ? parsed?.frames[0]?.lsn !== this.anchor.lsn : !parsed || (parsed.frames.length === 0 && parsed.stop !== null && parsed.stop !== 'truncated_header' && parsed.stop !== 'truncated_body');
    if (!parsed || !tail || moved) {
      this.rescan = true;
      return;
    }
    for (const frame of parsed.frames) {
      if (frame.lsn <= this.last) continue;
      if (frame.lsn !== this.last + 1 || this.pendingBytes > PENDING_LIMIT) {
        // Skipping ahead: the log was rewritten after a checkpoint not shipped yet. Over the limit:
        // the store has been away long; stop holding the log in memory (the next checkpoint covers it).
        this.rescan = true;
        return;
      }
      const bytes = Buffer.from(tail.subarray(frame.offset, frame.offset + FRAME_HEADER_SIZE + frame.body.byteLength));
      this.pending.push(bytes);
      this.pendingBytes += bytes.byteLength;
      this.last = frame.lsn;
      this.since ??= Date.now();
    }
    const last = parsed.frames.at(-1);
    if (last) this.anchor = { offset: from + last.offset, lsn: last.lsn };
    this.seen = Math.max(this.seen, this.last);
    this.walOffset = from + parsed.end;
  }

  /** The log's bytes from `from` to its end (only what is new since the last read), or null when it is shorter. */
  private async readFrom(from: number): Promise<Buffer | null> {
    let fd: number;
    try {
      fd = this.fs.openSync(path.join(this.dir, FileName.wal), 'read');
    } catch {
      return Buffer.alloc(0);
    }
    try {
      const size = this.fs.sizeSync(fd);
      if (size < from) return null;
      const buf = Buffer.allocUnsafe(size - from);
      const n = size > from ? await this.fs.read(fd, buf, from) : 0;
      return buf.subarray(0, n);
    } finally {
      this.fs.closeSync(fd);
    }
  }
}
