import { randomBytes } from 'node:crypto';
import { CorruptionError } from '../errors.js';
import { FRAME_HEADER_SIZE, FileName, Magic, MAX_FRAME_BODY, WAL_HEADER_SIZE, WAL_V1_HEADER_SIZE, WAL_VERSION, WalVersion } from '../format/constants.js';
import { crc32c } from '../format/crc.js';

/**
 * FORMAT.md "wal.log". A frame: length(4) crc(4) type(1) reserved(3) lsn(8) body(length).
 * The CRC32C covers the log's salt (version 2 logs), the length field and everything from the
 * type byte to the end of the body, so a frame is valid iff its length fits, its CRC matches,
 * its type is known and its LSN is greater than the previous frame's. Never decide validity by
 * decoding the body. The salt makes a frame valid in one log generation only: a frame written
 * by a fenced writer into an older generation never validates in the new one.
 */

/** A log's identity, from its header. Version 1 logs have neither (`null`). */
export interface WalHeader {
  version: number;
  /** Bytes the header takes: where the first frame starts. */
  size: number;
  /** The database's log id: the same in every generation, recorded in the root file. */
  logId: number | null;
  /** This generation's salt: new for every writer session and every checkpoint. */
  salt: number | null;
}

/** A fresh 32-bit value for a salt or a log id (never 0, which version 1's reserved field holds). */
export function randomSalt(): number {
  return randomBytes(4).readUInt32LE(0) || 1;
}

function saltBytes(salt: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(salt >>> 0, 0);
  return b;
}

export function encodeFrame(type: number, lsn: number, body: Uint8Array, salt: number | null): Buffer {
  if (body.byteLength > MAX_FRAME_BODY) throw new RangeError(`frame body of ${body.byteLength} bytes exceeds ${MAX_FRAME_BODY}`);
  const frame = Buffer.alloc(FRAME_HEADER_SIZE + body.byteLength);
  frame.writeUInt32LE(body.byteLength, 0);
  frame.writeUInt8(type, 8);
  frame.writeBigUInt64LE(BigInt(lsn), 12);
  frame.set(body, FRAME_HEADER_SIZE);
  frame.writeUInt32LE(frameCrc(frame, body.byteLength, salt), 4);
  return frame;
}

/** CRC of the frame starting at `frame[0]` whose body is `length` bytes, in a log with `salt` (null: version 1). */
export function frameCrc(frame: Uint8Array, length: number, salt: number | null): number {
  const seed = salt === null ? undefined : crc32c(saltBytes(salt));
  return crc32c(frame.subarray(8, FRAME_HEADER_SIZE + length), crc32c(frame.subarray(0, 4), seed));
}

/** The same frame re-sealed for another generation: only its CRC changes. */
export function resealFrame(frame: Uint8Array, salt: number): Buffer {
  const out = Buffer.from(frame);
  out.writeUInt32LE(frameCrc(out, out.byteLength - FRAME_HEADER_SIZE, salt), 4);
  return out;
}

/** A version 2 header: magic, version, log id, salt, CRC of the first 16 bytes. */
export function walHeader(logId: number, salt: number): Buffer {
  const header = Buffer.alloc(WAL_HEADER_SIZE);
  header.write(Magic.wal, 0, 'latin1');
  header.writeUInt32LE(WAL_VERSION, 4);
  header.writeUInt32LE(logId >>> 0, 8);
  header.writeUInt32LE(salt >>> 0, 12);
  header.writeUInt32LE(crc32c(header.subarray(0, 16)), 16);
  return header;
}

/** The constant header of version 1 logs (kept to read old databases and to recognise a torn one). */
export function walHeaderV1(): Buffer {
  const header = Buffer.alloc(WAL_V1_HEADER_SIZE);
  header.write(Magic.wal, 0, 'latin1');
  header.writeUInt32LE(WalVersion.unsalted, 4);
  header.writeUInt32LE(crc32c(header.subarray(0, 12)), 12);
  return header;
}

/**
 * Decodes a log header. Returns null for a torn header (the file is shorter than a header and
 * could be the start of one: a crash while creating it). Total: anything else that is not a
 * valid header is CorruptionError.
 */
export function parseWalHeader(buf: Buffer, file: string = FileName.wal): WalHeader | null {
  const fail = (why: string): never => {
    throw new CorruptionError(file, `log header: ${why}`, { offset: 0 });
  };
  const magic = Buffer.from(Magic.wal, 'latin1');
  if (buf.byteLength < 8) {
    if (magic.subarray(0, Math.min(4, buf.byteLength)).equals(buf.subarray(0, 4)) && (buf.byteLength <= 4 || isKnownVersionPrefix(buf.subarray(4)))) return null;
    return fail('damaged');
  }
  if (!buf.subarray(0, 4).equals(magic)) return fail('bad magic');
  const version = buf.readUInt32LE(4);
  const size = version === WalVersion.unsalted ? WAL_V1_HEADER_SIZE : version === WalVersion.salted ? WAL_HEADER_SIZE : fail(`unsupported version ${version}`);
  if (buf.byteLength < size) {
    // Version 2's id and salt are random, so a torn one can only be recognised by length.
    if (version === WalVersion.salted || walHeaderV1().subarray(0, buf.byteLength).equals(buf)) return null;
    return fail('damaged');
  }
  if (crc32c(buf.subarray(0, size - 4)) !== buf.readUInt32LE(size - 4)) return fail('header checksum mismatch');
  if (version === WalVersion.unsalted) {
    if (buf.readUInt32LE(8) !== 0) return fail('reserved field is not zero');
    return { version, size, logId: null, salt: null };
  }
  return { version, size, logId: buf.readUInt32LE(8), salt: buf.readUInt32LE(12) };
}

function isKnownVersionPrefix(bytes: Buffer): boolean {
  for (const v of [WalVersion.unsalted, WalVersion.salted]) {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(v, 0);
    if (b.subarray(0, bytes.byteLength).equals(bytes)) return true;
  }
  return false;
}
