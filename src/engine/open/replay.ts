import * as path from 'node:path';
import { CorruptionError } from '../../errors.js';
import { FileName } from '../../format/constants.js';
import { decodeRecord } from '../../format/records.js';
import { readIfExists, type FileSystem } from '../../fs/file-system.js';
import { applyOp } from '../../vault/apply.js';
import type { DbState } from '../../vault/db-state.js';
import type { WalHeader } from '../../wal/frame.js';
import { scanWal, type DroppedSpan, type WalFrame } from '../../wal/wal-reader.js';
import { verifyLog } from './file-references.js';

/** What opening the database found and did (db.stats().recovery). */
export interface RecoveryReport {
  /** The damaged span at the end of the log, if there was one. */
  dropped: DroppedSpan | null;
  /** Where salvage put the bytes after the damage (relative path), when it did. */
  salvagedTo: string | null;
  /** Log records applied on top of the checkpoint. */
  replayedRecords: number;
  /** Log records already covered by the checkpoint (a crash between manifest and truncation). */
  skippedRecords: number;
  checkpointLsn: number;
  lastLsn: number;
}

export type RecoveryPolicy = 'strict' | 'salvage';

/** What replay read from the log, for the writer to carry into its new generation. */
export interface ReplayedLog {
  report: RecoveryReport;
  /** The log's bytes as read, and its frames after the checkpoint that replay applied. */
  bytes: Buffer;
  carry: WalFrame[];
  header: WalHeader | null;
  /** Whether wal.log exists. */
  found: boolean;
}

/**
 * Replays wal.log on top of a loaded checkpoint. The log must be the one the root records
 * (format/root-record.ts). A torn tail (nothing valid after the damage) is not replayed; damage followed
 * by valid frames is corruption: under 'strict' it raises CorruptionError and changes nothing;
 * under 'salvage' (a writer only) the bytes from the damage on are copied aside to
 * `wal.log.salvaged-<offset>-<time>`. Replay itself changes nothing else on disk: a writer then
 * starts a new log generation holding exactly `carry` (writeLogGeneration), which is what cuts
 * the damaged or torn tail off.
 */
export async function replayWal(fs: FileSystem, dir: string, state: DbState, policy: RecoveryPolicy): Promise<ReplayedLog> {
  const file = path.join(dir, FileName.wal);
  const found = await readIfExists(fs, file, FileName.wal);
  const bytes = found ?? Buffer.alloc(0);
  const scan = scanWal(bytes);
  verifyLog(state.record, scan.header, found !== null);
  if (scan.dropped && scan.validFrameAfter !== null && policy === 'strict') {
    const d = scan.dropped;
    throw new CorruptionError(
      FileName.wal,
      `damaged record at offset ${d.offset} (${d.reason}) is followed by a valid record at offset ${scan.validFrameAfter}; ` +
        `this is corruption, not a torn tail. Nothing was changed. Open with { recovery: 'salvage' } or run 'quiver recover' to keep the first ${d.offset} bytes and move the rest aside`,
      { offset: d.offset },
    );
  }
  const report: RecoveryReport = { dropped: scan.dropped, salvagedTo: null, replayedRecords: 0, skippedRecords: 0, checkpointLsn: state.checkpointLsn, lastLsn: state.lastLsn };
  const carry: WalFrame[] = [];
  for (const frame of scan.frames) {
    if (frame.lsn <= state.checkpointLsn) {
      report.skippedRecords++;
      continue;
    }
    if (frame.lsn !== state.lastLsn + 1) {
      throw new CorruptionError(FileName.wal, `record at offset ${frame.offset} has LSN ${frame.lsn}, expected ${state.lastLsn + 1}: the log does not continue the checkpoint`, { offset: frame.offset });
    }
    for (const op of decodeRecord(frame.type, frame.body, state.identity.dimension, frame.offset)) {
      if (!applyOp(state, op, frame.lsn)) throw new CorruptionError(FileName.wal, `record at offset ${frame.offset} names a vault that does not exist`, { offset: frame.offset });
    }
    state.lastLsn = frame.lsn;
    carry.push(frame);
    report.replayedRecords++;
  }
  report.lastLsn = state.lastLsn;
  if (scan.dropped && scan.validFrameAfter !== null) {
    const aside = `${FileName.wal}.salvaged-${scan.dropped.offset}-${Date.now()}`;
    await fs.writeFileSynced(path.join(dir, aside), [bytes.subarray(scan.validEnd)]);
    await fs.syncDir(dir);
    report.salvagedTo = aside;
  }
  return { report, bytes, carry, header: scan.header, found: found !== null };
}
