import * as path from 'node:path';
import { CorruptionError, ioError } from '../../errors.js';
import type { EmbedderManifest } from '../../embedder/embedder.js';
import { FileName } from '../../format/constants.js';
import { crc32c } from '../../format/crc.js';
import { checksumFile } from '../../fs/checksum.js';
import { isMissing, isSymlinkRefusal, type FileSystem } from '../../fs/file-system.js';
import { MappedFile } from '../../native/mapped-file.js';
import type { FileRef } from '../../vault/vault-state.js';
import type { RootRecord } from '../../format/root-record.js';
import type { WalHeader } from '../../wal/frame.js';

/**
 * What the root and the manifest name must exist beside them, as recorded: the files a manifest
 * names (size and CRC32C), the log (by its log id) and the embedder (by its fingerprint). Open,
 * readers, backup and `quiver check` all hold the directory to these.
 */

/** Why a file the manifest names could not be read: missing is corruption, anything else an I/O error. */
export function unreadable(ref: FileRef, cause: unknown): Error {
  if (cause instanceof CorruptionError) return cause;
  if (isMissing(cause)) return new CorruptionError(ref.path, 'named by the manifest but missing', { cause });
  if (isSymlinkRefusal(cause)) return new CorruptionError(ref.path, 'is a symbolic link; files the manifest names are never followed out of the database', { cause });
  return ioError('reading', ref.path, cause);
}

export function checkSize(ref: FileRef, size: number): void {
  if (size !== ref.bytes) throw new CorruptionError(ref.path, `is ${size} bytes, the manifest says ${ref.bytes}`);
}

function checkCrc(ref: FileRef, crc: number): void {
  if (crc !== ref.crc32c) throw new CorruptionError(ref.path, 'checksum does not match the manifest');
}

/**
 * A file the manifest names, mapped (src/native/mapped-file.ts: the page cache's pages, shared by
 * every reader) and checked against its size and CRC32C through the map; null when it cannot be
 * mapped here (no addon, QUIVER_NATIVE=0), for readRef instead. The caller owns the map.
 */
export function mapRef(fs: FileSystem, dir: string, ref: FileRef): MappedFile | null {
  if (!MappedFile.available()) return null;
  let map: MappedFile | null;
  try {
    const fd = fs.openSync(path.join(dir, ref.path), 'read');
    try {
      map = MappedFile.open(fd, ref.path);
    } finally {
      fs.closeSync(fd);
    }
  } catch (cause) {
    throw unreadable(ref, cause);
  }
  if (!map) return null;
  try {
    checkSize(ref, map.byteLength);
    checkCrc(ref, crc32c(new Uint8Array(map.buffer)));
  } catch (err) {
    map.close();
    throw err;
  }
  return map;
}

/** A file the manifest names, checked against the size and CRC32C it records (CorruptionError otherwise). */
export async function readRef(fs: FileSystem, dir: string, ref: FileRef): Promise<Buffer> {
  let bytes: Buffer;
  try {
    // One read into a buffer of the recorded size (readFile would read it in 512 KiB round trips).
    const fd = fs.openSync(path.join(dir, ref.path), 'read');
    try {
      const size = fs.sizeSync(fd);
      checkSize(ref, size);
      bytes = Buffer.allocUnsafeSlow(size);
      checkSize(ref, await fs.read(fd, bytes, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch (cause) {
    throw unreadable(ref, cause);
  }
  checkCrc(ref, crc32c(bytes));
  return bytes;
}

/**
 * Checks a file the manifest names against its size and CRC32C without holding it in memory:
 * saved graphs are checked this way before hnswlib, which trusts what it reads, ever sees them.
 */
export async function verifyRef(fs: FileSystem, dir: string, ref: FileRef): Promise<void> {
  let sum: { bytes: number; crc32c: number };
  try {
    sum = await checksumFile(fs, path.join(dir, ref.path));
  } catch (cause) {
    throw unreadable(ref, cause);
  }
  checkSize(ref, sum.bytes);
  checkCrc(ref, sum.crc32c);
}

/**
 * The log must be the one the root names: present, and carrying the root's log id. A log
 * emptied by a checkpoint still has its header, so "empty" and "missing" are told apart.
 */
export function verifyLog(record: RootRecord | null, header: WalHeader | null, exists: boolean): void {
  if (record?.logId === null || record?.logId === undefined) return;
  if (!exists) {
    throw new CorruptionError(FileName.wal, `is missing, but the root records log ${hex(record.logId)}: every operation after the last checkpoint is lost`);
  }
  if (header?.logId !== record.logId) {
    const found = header ? (header.logId === null ? 'a version 1 log' : `log ${hex(header.logId)}`) : 'a damaged header';
    throw new CorruptionError(FileName.wal, `holds ${found}, but the root records log ${hex(record.logId)}: it is not this database's log`, { offset: 0 });
  }
}

/** The embedder manifest must be present and match when the root records an embedder. */
export function verifyEmbedder(record: RootRecord | null, stored: EmbedderManifest | null): void {
  if (!record || record.embedder === null) return;
  if (!stored) throw new CorruptionError(FileName.embedderManifest, 'is missing, but the root records an embedder: drift protection would be lost');
  if (stored.fingerprint !== record.embedder) throw new CorruptionError(FileName.embedderManifest, "fingerprint differs from the one the root records: it is not this database's embedder");
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
