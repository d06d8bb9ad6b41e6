import { promises as fsp } from 'node:fs';
import { CorruptionError } from '../errors.js';
import { FRAME_HEADER_SIZE, FileName } from '../format/constants.js';
import { nodeFileSystem } from '../fs/file-system.js';
import { parseWalHeader, randomSalt, resealFrame, walHeader } from '../wal/frame.js';
import { readFrames } from '../wal/wal-reader.js';

/**
 * The wal.log a replica's cache or a restore writes (FORMAT.md "Object storage: replicas",
 * "Restore"). Shipped frames come from many log generations, each sealed with its own salt; the
 * local log is one generation of its own: a version 2 header with the log id the local root
 * records (so the local open's "root records what must exist" rule holds) and a fresh salt,
 * every frame re-sealed with it (only the CRC changes, after the chunk's CRCs checked it).
 */
export interface LocalLog {
  logId: number;
  salt: number;
}

/**
 * Writes `file` as a new generation holding `frames` (whole frames, already checked), through a
 * temporary file and a rename, so a reader of the old file never sees a half-written one. A new
 * salt every time: a local reader following the old generation by offset starts again.
 */
export async function writeLocalLog(file: string, logId: number, frames: readonly Buffer[], durable = false): Promise<LocalLog> {
  const salt = randomSalt();
  const tmp = `${file}.tmp`;
  const chunks = [walHeader(logId, salt), ...frames.map((f) => resealFrame(f, salt))];
  if (durable) await nodeFileSystem.writeFileSynced(tmp, chunks);
  else await fsp.writeFile(tmp, Buffer.concat(chunks));
  await fsp.rename(tmp, file);
  return { logId, salt };
}

/** Appends whole frames to a local log, re-sealed with its salt. */
export async function appendLocalLog(file: string, log: LocalLog, frames: readonly Buffer[]): Promise<void> {
  await fsp.appendFile(file, Buffer.concat(frames.map((f) => resealFrame(f, log.salt))));
}

/** The frames of a local log this process wrote (checked under its salt), as separate buffers. */
export async function readLocalLog(file: string, log: LocalLog): Promise<{ lsn: number; bytes: Buffer }[]> {
  const bytes = await fsp.readFile(file);
  const header = parseWalHeader(bytes);
  if (!header || header.logId !== log.logId || header.salt !== log.salt) throw new CorruptionError(FileName.wal, 'the cached log was changed by another process');
  return readFrames(bytes, header.size, 0, header.salt).frames.map((f) => ({ lsn: f.lsn, bytes: bytes.subarray(f.offset, f.offset + FRAME_HEADER_SIZE + f.body.byteLength) }));
}
