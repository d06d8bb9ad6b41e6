import { CorruptionError } from '../errors.js';
import { FRAME_HEADER_SIZE } from '../format/constants.js';
import { crc32c } from '../format/crc.js';
import { readFrames, type WalFrame } from '../wal/wal-reader.js';

/**
 * FORMAT.md "Object storage": the names and framing of a database's objects under its prefix.
 *   quiver.root                      the root: which checkpoint, which log generation, how far shipped
 *   quiver.lease                     the writer's lease
 *   files/<name>.<crc>               IDENTITY and the embedder's files, named by content
 *   segments/<file>.<crc>            segment and graph files, named by epoch and content (immutable)
 *   checkpoints/<lsn>.<epoch>.<crc>.manifest   each shipped checkpoint's quiver.manifest
 *   wal/<generation>/<firstLsn>.chunk          log chunks, numbered by their first LSN
 */
export const ROOT_KEY = 'quiver.root';
export const LEASE_KEY = 'quiver.lease';

const hex8 = (crc: number): string => (crc >>> 0).toString(16).padStart(8, '0');
const lsn16 = (lsn: number): string => String(lsn).padStart(16, '0');

export const fileKey = (name: string, crc: number): string => `files/${name}.${hex8(crc)}`;
/** `segments/vault_1_3.segment` -> `segments/vault_1_3.segment.<crc>`: a later writer's epoch 3 never collides. */
export const segmentKey = (localPath: string, crc: number): string => `${localPath}.${hex8(crc)}`;
export const checkpointKey = (lsn: number, epoch: number, crc: number): string => `checkpoints/${lsn16(lsn)}.${epoch}.${hex8(crc)}.manifest`;
export const chunkKey = (generation: string, firstLsn: number): string => `wal/${generation}/${lsn16(firstLsn)}.chunk`;

export function parseCheckpointKey(key: string): { lsn: number; epoch: number } | null {
  const m = /^checkpoints\/(\d{16})\.(\d+)\.[0-9a-f]{8}\.manifest$/.exec(key);
  return m ? { lsn: Number(m[1]), epoch: Number(m[2]) } : null;
}
export function parseChunkKey(key: string): { generation: string; firstLsn: number } | null {
  const m = /^wal\/([a-z0-9-]+)\/(\d{16})\.chunk$/.exec(key);
  return m ? { generation: m[1]!, firstLsn: Number(m[2]) } : null;
}

/** Generation ids sort by the time they were made: g<ms, 13 digits>-<random>. */
export function newGeneration(): string {
  return `g${String(Date.now()).padStart(13, '0')}-${Math.random().toString(16).slice(2, 8).padEnd(6, '0')}`;
}

// ---- log chunks -------------------------------------------------------------------------------

/**
 * A chunk (version 2): a 56-byte header, then WAL frames exactly as one log generation of wal.log
 * holds them, each with its own CRC, seeded with that generation's salt ("wal.log", "Log generations").
 *   0 magic 'QVWC' | 4 version u32 | 8 firstLsn u64 | 16 lastLsn u64 | 24 frames u32 |
 *   28 body bytes u32 | 32 cut time ms u64 | 40 log id u32 | 44 salt u32 |
 *   48 body CRC32C u32 | 52 header CRC32C (bytes 0..52) u32
 * The log id and salt are the generation's: the salt is what the frames' CRCs validate with, the
 * log id what the root's record must name. Both 0: the frames came from a version 1 log
 * (unseeded CRCs, no log id); a version 2 log id is never 0. Frames are contiguous: firstLsn,
 * firstLsn + 1, ... lastLsn. A chunk holds whole records of one generation only, so a batch is
 * never split and a chunk never mixes salts. Version 1 chunks (48 bytes: no log id and salt,
 * body CRC at 40, header CRC at 44, unseeded frames) are still read.
 */
export const CHUNK_MAGIC = 'QVWC';
export const CHUNK_HEADER_SIZE = 56;
export const CHUNK_VERSION = 2;
const CHUNK_V1_HEADER_SIZE = 48;

/** The log generation a run of frames came from (`null`s: a version 1 log). */
export interface FrameSource {
  logId: number | null;
  salt: number | null;
}

export interface Chunk extends FrameSource {
  firstLsn: number;
  lastLsn: number;
  time: number;
  frames: WalFrame[];
  /** The frames' bytes, as in wal.log. */
  body: Buffer;
}

export function encodeChunk(frames: readonly Buffer[], firstLsn: number, lastLsn: number, time: number, source: FrameSource): Buffer {
  const body = adjacent(frames) ?? Buffer.concat(frames);
  const header = Buffer.alloc(CHUNK_HEADER_SIZE);
  header.write(CHUNK_MAGIC, 0, 'latin1');
  header.writeUInt32LE(CHUNK_VERSION, 4);
  header.writeBigUInt64LE(BigInt(firstLsn), 8);
  header.writeBigUInt64LE(BigInt(lastLsn), 16);
  header.writeUInt32LE(frames.length, 24);
  header.writeUInt32LE(body.byteLength, 28);
  header.writeBigUInt64LE(BigInt(time), 32);
  header.writeUInt32LE((source.logId ?? 0) >>> 0, 40);
  header.writeUInt32LE((source.salt ?? 0) >>> 0, 44);
  header.writeUInt32LE(crc32c(body), 48);
  header.writeUInt32LE(crc32c(header.subarray(0, 52)), 52);
  return Buffer.concat([header, body]);
}

const CHUNK_LIMIT = 8 * 1024 * 1024;

/**
 * How many of `pending` (frames in LSN order) the next chunk takes: one log generation's only
 * (they validate with its salt), and at most 8 MiB unless one frame alone is larger.
 */
export function nextChunk(pending: readonly (FrameSource & { bytes: Buffer })[]): { count: number; source: FrameSource } {
  const source = { logId: pending[0]!.logId, salt: pending[0]!.salt };
  let count = 0;
  let bytes = 0;
  while (count < pending.length && pending[count]!.salt === source.salt && pending[count]!.logId === source.logId && (count === 0 || bytes + pending[count]!.bytes.byteLength <= CHUNK_LIMIT)) bytes += pending[count++]!.bytes.byteLength;
  return { count, source };
}

/** Frames that lie back to back in one buffer (one read of the log) as one view of it, without a copy; else null. */
function adjacent(frames: readonly Buffer[]): Buffer | null {
  const first = frames[0];
  if (!first) return null;
  let end = first.byteOffset + first.byteLength;
  for (let i = 1; i < frames.length; i++) {
    const f = frames[i]!;
    if (f.buffer !== first.buffer || f.byteOffset !== end) return null;
    end += f.byteLength;
  }
  return Buffer.from(first.buffer, first.byteOffset, end - first.byteOffset);
}

/** Decodes and checks a chunk completely: header, body CRC, every frame under its salt, LSN contiguity. */
export function decodeChunk(bytes: Buffer, name: string, dimensionCheck?: (frame: WalFrame) => void): Chunk {
  const bad = (why: string): never => {
    throw new CorruptionError(name, why);
  };
  if (bytes.byteLength < CHUNK_V1_HEADER_SIZE) bad(`chunk is ${bytes.byteLength} bytes, shorter than its header`);
  if (bytes.toString('latin1', 0, 4) !== CHUNK_MAGIC) bad('bad chunk magic');
  const version = bytes.readUInt32LE(4);
  if (version !== 1 && version !== CHUNK_VERSION) bad(`unsupported chunk version ${version}`);
  const size = version === 1 ? CHUNK_V1_HEADER_SIZE : CHUNK_HEADER_SIZE;
  if (bytes.byteLength < size) bad(`chunk is ${bytes.byteLength} bytes, shorter than its header`);
  if (crc32c(bytes.subarray(0, size - 4)) !== bytes.readUInt32LE(size - 4)) bad('chunk header checksum mismatch');
  const firstLsn = Number(bytes.readBigUInt64LE(8));
  const lastLsn = Number(bytes.readBigUInt64LE(16));
  const count = bytes.readUInt32LE(24);
  const length = bytes.readUInt32LE(28);
  const logId = version === 1 ? 0 : bytes.readUInt32LE(40);
  const salt = version === 1 ? 0 : bytes.readUInt32LE(44);
  if ((logId === 0) !== (salt === 0)) bad(`chunk has log id ${logId} and salt ${salt}: both or neither`);
  if (size + length !== bytes.byteLength) bad(`chunk body is ${bytes.byteLength - size} bytes, its header says ${length}`);
  const body = bytes.subarray(size);
  if (crc32c(body) !== bytes.readUInt32LE(size - 8)) bad('chunk body checksum mismatch');
  const source: FrameSource = logId === 0 ? { logId: null, salt: null } : { logId, salt };
  const { frames, stop } = readFrames(body, 0, 0, source.salt);
  if (stop || frames.length !== count) bad(`chunk frames do not parse (${stop ?? `${frames.length} of ${count}`})`);
  frames.forEach((f, i) => {
    if (f.lsn !== firstLsn + i) bad(`frame ${i} has LSN ${f.lsn}, expected ${firstLsn + i}`);
    dimensionCheck?.(f);
  });
  if (count === 0 || frames.at(-1)!.lsn !== lastLsn) bad(`chunk claims LSNs ${firstLsn}..${lastLsn}`);
  return { firstLsn, lastLsn, time: Number(bytes.readBigUInt64LE(32)), frames, body, ...source };
}

/**
 * A chunk's records belong to the database whose root records `logId`: a chunk of another log
 * is corruption (named by the chunk), never applied. Version 1 chunks and roots without the
 * record carry no log id and are not checked.
 */
export function checkChunkLog(chunk: FrameSource, logId: number | null, name: string): void {
  if (chunk.logId !== null && logId !== null && chunk.logId !== logId) {
    throw new CorruptionError(name, `holds records of log ${hex8(chunk.logId)}, but the checkpoint records log ${hex8(logId)}`);
  }
}

/** A frame's bytes inside its buffer. */
export function frameBytes(body: Buffer, frame: WalFrame): Buffer {
  return body.subarray(frame.offset, frame.offset + FRAME_HEADER_SIZE + frame.body.byteLength);
}

// ---- the root and the lease: JSON in a checksummed envelope ----------------------------------

/** A shipped file: where it lives locally and remotely, and what it must hash to. */
export interface ShippedFile {
  /** Path inside the database directory. */
  path: string;
  key: string;
  bytes: number;
  crc32c: number;
}

export interface Root {
  format: 1;
  /** +1 on every write: a replica never installs a root older than one it has seen. */
  sequence: number;
  writer: { id: string; host: string; pid: number };
  /** IDENTITY and the embedder's files. Empty until the first writer has shipped its base. */
  files: ShippedFile[];
  /** The checkpoint a replica starts from; null before the database's first checkpoint. */
  checkpoint: { key: string; epoch: number; lsn: number; bytes: number; crc32c: number; segments: ShippedFile[] } | null;
  checkpointLsn: number;
  /** Log chunks after the checkpoint are in wal/<generation>/, from startLsn on. */
  wal: { generation: string; startLsn: number };
  /** Every operation up to this LSN is in the checkpoint or a chunk of this generation. */
  shippedLsn: number;
  /** When the last chunk was cut (ms since the epoch), for lag in seconds. */
  shippedAt: number;
  writtenAt: number;
  /** Generations, oldest first, and the LSN each took over from (point-in-time restore picks by it). */
  generations: { id: string; startLsn: number }[];
}

export interface Lease {
  holder: { id: string; host: string; pid: number; since: string };
  /** ms since the epoch; 0 means released. */
  expiresAt: number;
}

const ENVELOPE = 12;

export function encodeJson(magic: string, value: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  const head = Buffer.alloc(ENVELOPE);
  head.write(magic, 0, 'latin1');
  head.writeUInt32LE(body.byteLength, 4);
  head.writeUInt32LE(crc32c(body), 8);
  return Buffer.concat([head, body]);
}

export function decodeJson<T>(magic: string, bytes: Buffer, name: string): T {
  if (bytes.byteLength < ENVELOPE || bytes.toString('latin1', 0, 4) !== magic) throw new CorruptionError(name, `not a ${magic} object`);
  const length = bytes.readUInt32LE(4);
  const body = bytes.subarray(ENVELOPE);
  if (body.byteLength !== length || crc32c(body) !== bytes.readUInt32LE(8)) throw new CorruptionError(name, 'checksum mismatch');
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch (cause) {
    throw new CorruptionError(name, 'body is not JSON', { cause });
  }
}

export const ROOT_MAGIC = 'QVRT';
export const LEASE_MAGIC = 'QVLS';
