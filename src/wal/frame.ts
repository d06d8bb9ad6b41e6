import { FRAME_HEADER_SIZE, Magic, MAX_FRAME_BODY, WAL_HEADER_SIZE, FORMAT_VERSION } from '../format/constants.js';
import { crc32c } from '../format/crc.js';

/**
 * FORMAT.md "wal.log". A frame: length(4) crc(4) type(1) reserved(3) lsn(8) body(length).
 * The CRC32C covers the length field and everything from the type byte to the end of the body,
 * so a frame is valid iff its length fits, its CRC matches, its type is known and its LSN
 * is greater than the previous frame's. Never decide validity by decoding the body.
 */

export function encodeFrame(type: number, lsn: number, body: Uint8Array): Buffer {
  if (body.byteLength > MAX_FRAME_BODY) throw new RangeError(`frame body of ${body.byteLength} bytes exceeds ${MAX_FRAME_BODY}`);
  const frame = Buffer.alloc(FRAME_HEADER_SIZE + body.byteLength);
  frame.writeUInt32LE(body.byteLength, 0);
  frame.writeUInt8(type, 8);
  frame.writeBigUInt64LE(BigInt(lsn), 12);
  frame.set(body, FRAME_HEADER_SIZE);
  frame.writeUInt32LE(frameCrc(frame, body.byteLength), 4);
  return frame;
}

/** CRC of the frame starting at `frame[0]` whose body is `length` bytes. */
export function frameCrc(frame: Uint8Array, length: number): number {
  return crc32c(frame.subarray(8, FRAME_HEADER_SIZE + length), crc32c(frame.subarray(0, 4)));
}

/** The WAL file header is a constant: magic, version, zero, CRC of the first 12 bytes. */
export function walHeader(version = FORMAT_VERSION): Buffer {
  const header = Buffer.alloc(WAL_HEADER_SIZE);
  header.write(Magic.wal, 0, 'latin1');
  header.writeUInt32LE(version, 4);
  header.writeUInt32LE(crc32c(header.subarray(0, 12)), 12);
  return header;
}
