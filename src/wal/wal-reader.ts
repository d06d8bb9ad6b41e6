import { FRAME_HEADER_SIZE, FileName, MAX_FRAME_BODY, RECORD_TYPE_VALUES } from '../format/constants.js';
import { frameCrc, parseWalHeader, type WalHeader } from './frame.js';

/** Why a span of the log was not replayed. A fixed set: tests and operators rely on it. */
export type DropReason =
  | 'truncated_header' // fewer bytes left than a frame header: the writer died mid-header
  | 'truncated_body' // the length runs past the end of the file: the writer died mid-body
  | 'bad_length' // the length is larger than any frame may be
  | 'checksum_mismatch'
  | 'unknown_type'
  | 'lsn_not_increasing';

export interface DroppedSpan {
  file: string;
  offset: number;
  bytes: number;
  reason: DropReason;
}

export interface WalFrame {
  offset: number;
  type: number;
  lsn: number;
  body: Buffer;
}

export interface WalScan {
  /** Valid frames, in order, up to the first bad one. */
  frames: WalFrame[];
  /** Byte offset where the valid prefix ends. */
  validEnd: number;
  /** The span from the first bad frame to the end of the file, when there is one. */
  dropped: DroppedSpan | null;
  /**
   * Offset of a valid frame found after the bad one. Non-null means the damage is not a torn
   * tail but corruption in the middle of the log; whether to fail is the caller's policy.
   */
  validFrameAfter: number | null;
  /** True when the file holds only a prefix of a header (a crash while creating a version 1 log). */
  tornHeader: boolean;
  /** The log's header; null when it is torn. */
  header: WalHeader | null;
}

type Probe = { ok: true; frame: WalFrame; next: number } | { ok: false; reason: DropReason };

function probe(buf: Buffer, offset: number, lastLsn: number, salt: number | null): Probe {
  if (buf.byteLength - offset < FRAME_HEADER_SIZE) return { ok: false, reason: 'truncated_header' };
  const length = buf.readUInt32LE(offset);
  if (length > MAX_FRAME_BODY) return { ok: false, reason: 'bad_length' };
  if (offset + FRAME_HEADER_SIZE + length > buf.byteLength) return { ok: false, reason: 'truncated_body' };
  const frame = buf.subarray(offset, offset + FRAME_HEADER_SIZE + length);
  if (frameCrc(frame, length, salt) !== buf.readUInt32LE(offset + 4)) return { ok: false, reason: 'checksum_mismatch' };
  const type = buf.readUInt8(offset + 8);
  if (!RECORD_TYPE_VALUES.has(type)) return { ok: false, reason: 'unknown_type' };
  const lsn = Number(buf.readBigUInt64LE(offset + 12));
  if (lsn <= lastLsn) return { ok: false, reason: 'lsn_not_increasing' };
  return { ok: true, frame: { offset, type, lsn, body: frame.subarray(FRAME_HEADER_SIZE) }, next: offset + frame.byteLength };
}

/**
 * Reads every valid frame of a log image. Never throws for damage after the header: it
 * reports the first bad span and whether any valid frame follows it, and the caller decides.
 */
export function scanWal(buf: Buffer, file: string = FileName.wal): WalScan {
  const header = parseWalHeader(buf, file);
  if (!header) return { frames: [], validEnd: 0, dropped: null, validFrameAfter: null, tornHeader: true, header: null };
  const run = readFrames(buf, header.size, 0, header.salt);
  if (!run.stop) return { frames: run.frames, validEnd: run.end, dropped: null, validFrameAfter: null, tornHeader: false, header };
  return {
    frames: run.frames,
    validEnd: run.end,
    dropped: { file, offset: run.end, bytes: buf.byteLength - run.end, reason: run.stop },
    validFrameAfter: findValidFrame(buf, run.end + 1, run.frames.at(-1)?.lsn ?? 0, header.salt),
    tornHeader: false,
    header,
  };
}

/**
 * Valid frames from `offset` on, until the end or the first invalid frame (`stop` says why).
 * Frame offsets are positions in `buf` plus `base` (for a buffer read from the middle of the log).
 */
export function readFrames(buf: Buffer, offset: number, lastLsn: number, salt: number | null, base = 0): { frames: WalFrame[]; end: number; stop: DropReason | null } {
  const frames: WalFrame[] = [];
  while (offset < buf.byteLength) {
    const p = probe(buf, offset, lastLsn, salt);
    if (!p.ok) return { frames, end: offset, stop: p.reason };
    frames.push(base === 0 ? p.frame : { ...p.frame, offset: p.frame.offset + base });
    lastLsn = p.frame.lsn;
    offset = p.next;
  }
  return { frames, end: offset, stop: null };
}

/** The first offset at or after `from` where a whole valid frame starts, or null. */
export function findValidFrame(buf: Buffer, from: number, lastLsn: number, salt: number | null): number | null {
  for (let offset = from; offset + FRAME_HEADER_SIZE <= buf.byteLength; offset++) {
    if (probe(buf, offset, lastLsn, salt).ok) return offset;
  }
  return null;
}
