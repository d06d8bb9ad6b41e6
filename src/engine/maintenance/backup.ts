import * as path from 'node:path';
import { CorruptionError, NotFoundError, QuiverError, ValidationError, ioError } from '../../errors.js';
import { claimDestination, commitStaging, createStaging, releaseClaim, removeStaleStaging, type DestinationKind } from './destination.js';
import { FRAME_HEADER_SIZE, FileName } from '../../format/constants.js';
import { decodeIdentity, type Identity } from '../../format/identity.js';
import { nodeFileSystem, readIfExists, sameBytes, type FileSystem } from '../../fs/file-system.js';
import { decodeManifest, vaultFiles } from '../../segments/manifest.js';
import { decodeSnapshot } from '../../segments/snapshot-file.js';
import type { RootRecord } from '../../format/root-record.js';
import { parseWalHeader, randomSalt, walHeader } from '../../wal/frame.js';
import { readFrames } from '../../wal/wal-reader.js';
import { readRef } from '../open/file-references.js';
import type { DatabaseCore } from '../open/parts.js';

export interface BackupResult {
  path: string;
  /** The copy holds exactly the operations up to this LSN. */
  lsn: number;
  /** The checkpoint epoch the copy starts from. */
  epoch: number;
  bytes: number;
  files: number;
  /** Attempts it took (a checkpoint racing the copy forces another). */
  attempts: number;
}

const ATTEMPTS = 50;

/**
 * Backs up the database directory `dir` into `dest` without opening it: no lock, no reader
 * lease, nothing loaded, so it runs beside a writer in another process (`quiver backup` is this
 * call). An open handle has db.backup(dest), which also first writes what its own log buffered.
 */
export function backup(dir: string, dest: string): Promise<BackupResult> {
  if (typeof dir !== 'string' || dir === '') return Promise.reject(new ValidationError('dir', 'must be the path of a database directory'));
  if (typeof dest !== 'string' || dest === '') return Promise.reject(new ValidationError('dest', 'must be the path of the backup directory'));
  return backupDirectory(nodeFileSystem, dir, dest);
}

/** @internal db.backup()'s copy: the log made durable first (a failure there fails the handle), then the files. */
export async function backupOpen(core: DatabaseCore, dir: string, dest: string): Promise<BackupResult> {
  if (core.parts.wal) {
    try {
      await core.parts.wal.makeDurable();
    } catch (err) {
      throw core.fail(err);
    }
  }
  return backupDirectory(core.parts.fs, dir, dest);
}

/**
 * Copies a database directory into a new directory `dest` while a writer may be running, without
 * taking a lock (FORMAT.md "Backup"). Checkpoint files are immutable once named, so the copy
 * takes the root (manifest or snapshot), the files it names (each checked against the manifest's
 * size and CRC), then the log, and re-reads the root: unchanged, the log belongs to that
 * checkpoint and its contiguous valid prefix is kept; changed, a checkpoint raced the copy and
 * it starts again. The destination must be absent or an empty directory outside the database
 * (ConflictError otherwise, nothing touched); the copy is written into a staging sibling
 * `<dest>.backup-<pid>-<hex>` and renamed over it. Staging left by a killed backup (its pid
 * gone) is removed by the next backup to the same destination.
 */
export async function backupDirectory(fs: FileSystem, source: string, dest: string): Promise<BackupResult> {
  const src = path.resolve(source);
  const target = path.resolve(dest);
  const { identityBytes, identity } = await readIdentity(fs, src);
  // The destination is claimed (created exclusively, or found empty) before anything is copied.
  const claim = await claimDestination(target, [src], fs);
  try {
    await removeStaleStaging(target, fs);
    const { staging, result } = await copyToStaging(fs, src, target, 'backup', identityBytes, identity);
    try {
      await commitStaging(staging, target, fs);
      await fs.syncDir(path.dirname(target));
    } catch (err) {
      await fs.removeTree(staging).catch(() => undefined);
      throw err instanceof QuiverError ? err : ioError('writing the backup', target, err);
    }
    return result;
  } catch (err) {
    await releaseClaim(claim, fs);
    throw err;
  }
}

async function readIdentity(fs: FileSystem, src: string): Promise<{ identityBytes: Buffer; identity: Identity }> {
  const identityBytes = await readIfExists(fs, path.join(src, FileName.identity), FileName.identity);
  if (!identityBytes) throw new NotFoundError('database', `no database at ${src}`);
  return { identityBytes, identity: decodeIdentity(identityBytes) };
}

/**
 * Copies the database `source` into a new marked staging directory beside `target` (the caller
 * renames it into place, or removes it): a restore uses this too, to swap the copy in itself.
 */
export async function copyDatabase(fs: FileSystem, source: string, target: string, kind: DestinationKind): Promise<{ staging: string; result: BackupResult }> {
  const src = path.resolve(source);
  const { identityBytes, identity } = await readIdentity(fs, src);
  return copyToStaging(fs, src, path.resolve(target), kind, identityBytes, identity);
}

/** The copy loop: root, named files, log, root again; retried while checkpoints race it. */
async function copyToStaging(fs: FileSystem, src: string, target: string, kind: DestinationKind, identityBytes: Buffer, identity: Identity): Promise<{ staging: string; result: BackupResult }> {
  const rootName = identity.storage === 'snapshot' ? FileName.snapshot : FileName.manifest;

  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const root = await readIfExists(fs, path.join(src, rootName), rootName);
    const files = new Map<string, Buffer>();
    let epoch = 0;
    let checkpointLsn = 0;
    let raced = false;
    let record: RootRecord | null = null;
    if (root && identity.storage === 'segmented') {
      const manifest = decodeManifest(root);
      ({ epoch, checkpointLsn, record } = manifest);
      for (const v of manifest.vaults) {
        for (const ref of vaultFiles(v)) {
          // A missing or mismatched file may be a checkpoint racing the copy: decided below.
          const bytes = await readRef(fs, src, ref).catch((err: unknown) => {
            if (err instanceof CorruptionError) return null;
            throw err;
          });
          if (!bytes) {
            raced = true;
            break;
          }
          files.set(ref.path, bytes);
        }
        if (raced) break;
      }
    } else if (root) {
      ({ epoch, checkpointLsn, record } = decodeSnapshot(root, identity.dimension).meta);
    }
    const log = (await readIfExists(fs, path.join(src, FileName.wal), FileName.wal)) ?? Buffer.alloc(0);
    const again = await readIfExists(fs, path.join(src, rootName), rootName);
    if (raced || !sameBytes(again, root)) {
      if (raced && sameBytes(again, root)) {
        throw new CorruptionError(rootName, 'names a file that is missing or does not match its checksum');
      }
      continue;
    }
    // The log's contiguous run of records after the checkpoint, re-framed behind a fresh header.
    let lsn = checkpointLsn;
    // The log's own header (its log id and salt) is kept, so the frames stay valid as they are.
    const header = parseWalHeader(log);
    const kept: Buffer[] = [header ? log.subarray(0, header.size) : walHeader(record?.logId ?? randomSalt(), randomSalt())];
    if (header) {
      for (const frame of readFrames(log, header.size, 0, header.salt).frames) {
        if (frame.lsn <= lsn) continue;
        if (frame.lsn !== lsn + 1) break;
        kept.push(log.subarray(frame.offset, frame.offset + FRAME_HEADER_SIZE + frame.body.byteLength));
        lsn = frame.lsn;
      }
    }
    const staging = await createStaging(target, kind, fs);
    let bytes = 0;
    const write = async (rel: string, chunks: Uint8Array[]): Promise<void> => {
      await fs.writeFileSynced(path.join(staging, rel), chunks);
      bytes += chunks.reduce((n, c) => n + c.byteLength, 0);
    };
    try {
      await fs.mkdir(path.join(staging, FileName.segments));
      await write(FileName.identity, [identityBytes]);
      for (const [rel, data] of files) await write(rel, [data]);
      if (root) await write(rootName, [root]);
      await write(FileName.wal, kept);
      // The staging directory's own entries are fsynced by commitStaging, once its marker is out.
      await fs.syncDir(path.join(staging, FileName.segments));
    } catch (err) {
      await fs.removeTree(staging).catch(() => undefined);
      throw err instanceof QuiverError ? err : ioError('writing the backup', target, err);
    }
    return { staging, result: { path: target, lsn, epoch, bytes, files: files.size + (root ? 3 : 2), attempts: attempt } };
  }
  throw new CorruptionError(rootName, `no consistent copy after ${ATTEMPTS} attempts: checkpoints kept racing the copy`);
}
