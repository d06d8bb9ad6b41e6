import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { FRAME_HEADER_SIZE, FileName, WAL_HEADER_SIZE } from '../format/constants.js';
import type { FileSystem } from '../fs/file-system.js';
import { parseWalHeader, type WalHeader } from '../wal/frame.js';
import { listKept } from '../wal/kept-log.js';
import { readFrames } from '../wal/wal-reader.js';
import type { FrameSource } from './layout.js';

const PENDING_LIMIT = 256 * 1024 * 1024;

/** A frame taken from the log, with the generation it validates in. */
export interface PendingFrame extends FrameSource {
  bytes: Buffer;
}

/**
 * Follows a live writer's wal.log from outside the write path (FORMAT.md "Object storage:
 * shipping", step 1): each read takes the frames appended since the last one that continue the
 * chain (LSN = last taken + 1) and holds them, with their generation's log id and salt, until
 * they are shipped. The writer replaces wal.log with a new generation (a new salt) at every open
 * and checkpoint: each read takes the header and the frames through one descriptor, so they are
 * the same file's, and a header with another salt means "start again from its first frame"
 * (frames there at or below the last one taken are skipped: a reopened writer carries them over).
 * Within one generation the log can still be cut back in place (a finished re-embed, a version 1
 * log's checkpoint); that is noticed because the last frame taken is no longer where it was read.
 */
export class LogTail {
  private walOffset = WAL_HEADER_SIZE;
  private rescan = false;
  /** The generation being read (its header), null before the first read. */
  private generation: WalHeader | null = null;
  /** The last frame read from the log: where the next read starts, and what it must find there. */
  private anchor: { offset: number; lsn: number } | null = null;
  /** Frames read but not yet shipped: contiguous, after the shipped LSN. */
  pending: PendingFrame[] = [];
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
    private readonly kept = false,
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
    for (const f of gone) this.pendingBytes -= f.bytes.byteLength;
    if (this.pending.length === 0) this.since = null;
  }

  async read(): Promise<void> {
    if (this.kept) await this.readKept();
    await this.readFile(path.join(this.dir, FileName.wal));
  }

  /**
   * The generations checkpoints replaced since the last read, in order. Each is final (the writer
   * moved on) and removed once read: its frames are pending now, or at or below the last taken.
   */
  private async readKept(): Promise<void> {
    for (const k of await listKept(this.fs, this.dir)) {
      if (k.lsn > this.last) await this.readFile(k.file);
      await fsp.rm(k.file, { force: true });
    }
  }

  private async readFile(file: string): Promise<void> {
    let fd: number;
    try {
      fd = this.fs.openSync(file, 'read');
    } catch {
      return; // no log (yet): nothing to take
    }
    try {
      // A log cut back in place under the anchor is read once more from its header, at once.
      for (let pass = 0; pass < 2; pass++) if (await this.readOnce(fd)) return;
    } finally {
      this.fs.closeSync(fd);
    }
  }

  /** One pass over the open log. False: the anchor moved within this generation; read it again from the header. */
  private async readOnce(fd: number): Promise<boolean> {
    const size = this.fs.sizeSync(fd);
    const head = Buffer.alloc(Math.min(size, WAL_HEADER_SIZE));
    const header = parseWalHeader(head.subarray(0, head.byteLength > 0 ? await this.fs.read(fd, head, 0) : 0));
    if (!header) return true; // a torn version 1 header: a writer is creating it
    if (this.rescan || !sameGeneration(header, this.generation)) {
      // A new generation: offsets in the old one mean nothing here. Start at its first frame.
      this.generation = header;
      this.walOffset = header.size;
      this.anchor = null;
      this.rescan = false;
    }
    // Read from the last frame taken, not after it: if that frame is no longer there, the log was
    // cut back under us (bytes at the old end may even look like a torn tail).
    const from = this.anchor?.offset ?? this.walOffset;
    if (size < from) return this.again();
    const tail = Buffer.allocUnsafe(size - from);
    const n = size > from ? await this.fs.read(fd, tail, from) : 0;
    const parsed = readFrames(tail.subarray(0, n), 0, 0, header.salt);
    const moved = this.anchor ? parsed.frames[0]?.lsn !== this.anchor.lsn : parsed.frames.length === 0 && parsed.stop !== null && parsed.stop !== 'truncated_header' && parsed.stop !== 'truncated_body';
    if (moved) return this.again();
    const source: FrameSource = { logId: header.logId, salt: header.salt };
    for (const frame of parsed.frames) {
      if (frame.lsn <= this.last) continue;
      if (frame.lsn !== this.last + 1 || this.pendingBytes > PENDING_LIMIT) {
        // Skipping ahead: the log was rewritten after a checkpoint not shipped yet. Over the limit:
        // the store has been away long; stop holding the log in memory (the next checkpoint covers it).
        this.rescan = true;
        return true;
      }
      // A view, not a copy: `tail` is this read's own buffer, alive until its frames are shipped.
      const bytes = tail.subarray(frame.offset, frame.offset + FRAME_HEADER_SIZE + frame.body.byteLength);
      this.pending.push({ bytes, ...source });
      this.pendingBytes += bytes.byteLength;
      this.last = frame.lsn;
      this.since ??= Date.now();
    }
    const last = parsed.frames.at(-1);
    if (last) this.anchor = { offset: from + last.offset, lsn: last.lsn };
    this.seen = Math.max(this.seen, this.last);
    this.walOffset = from + parsed.end;
    return true;
  }

  private again(): false {
    this.rescan = true;
    return false;
  }
}

function sameGeneration(a: WalHeader, b: WalHeader | null): boolean {
  return b !== null && a.version === b.version && a.logId === b.logId && a.salt === b.salt;
}
