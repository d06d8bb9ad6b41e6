import * as path from 'node:path';
import { LockedError, QuiverError, ioError } from '../../errors.js';
import { FileName } from '../../format/constants.js';
import type { Op } from '../../format/records.js';
import { removeStaleLeases } from '../../lock/reader-lease.js';
import { vectorsLoaded } from '../../vault/db-state.js';
import { keepLogForShippers } from '../../wal/kept-log.js';
import { truncateLogFile } from '../../wal/wal-file.js';
import type { DatabaseCore, DatabaseParts } from '../open/parts.js';
import { checkpointProbe, writeSegmentedCheckpoint, writeSnapshotCheckpoint, type CheckpointResult } from './checkpoint.js';

/**
 * Logged housekeeping before a checkpoint: traces past their vault's retention (oldest first)
 * and, when compacting, layers no branch reaches. Logged, not just dropped from memory, so
 * readers following the log see it too.
 */
async function housekeeping(core: DatabaseCore, collectLayers: boolean): Promise<{ traces: number; layers: number }> {
  const ops: Op[] = [];
  const now = Date.now();
  let traces = 0;
  let layers = 0;
  for (const vault of core.parts.state.vaults.values()) {
    for (const key of vault.traces.expired(now)) ops.push({ type: 'traceDelete', vault: vault.number, key }), traces++;
    if (collectLayers) for (const id of vault.layers.unreachable()) ops.push({ type: 'layerDrop', vault: vault.number, id }), layers++;
  }
  if (ops.length > 0) {
    try {
      await core.commitOps(ops, true).durable;
    } catch (err) {
      throw core.fail(err);
    }
  }
  return { traces, layers };
}

/** @internal Housekeeping, then a checkpoint of the state and an emptied log; the caller holds an exclusive slot. */
export async function checkpointNow(core: DatabaseCore, collectLayers = false): Promise<CheckpointResult & { layersFreed: number }> {
  const { dir, fs, state } = core.parts;
  if (dir === null) {
    const freed = await housekeeping(core, collectLayers);
    return { epoch: state.epoch, lsn: state.lastLsn, vaultsWritten: 0, bytesWritten: 0, filesRemoved: 0, tracesExpired: freed.traces, layersFreed: freed.layers };
  }
  const epochBefore = state.epoch;
  // Damaged stored vectors stop the checkpoint as they are (CorruptionError), before housekeeping logs anything.
  checkpointProbe.phase?.('vectors loaded');
  await vectorsLoaded(state);
  checkpointProbe.phase?.('housekeeping');
  const freed = await housekeeping(core, collectLayers);
  try {
    const result = state.identity.storage === 'snapshot' ? await writeSnapshotCheckpoint(fs, dir, state) : await writeSegmentedCheckpoint(fs, dir, state, true);
    checkpointProbe.phase?.('log reset');
    await core.attachment()?.beforeLogReset?.();
    if (core.parts.wal) await keepLogForShippers(core.parts.fs, core.parts.wal, dir, core.parts.options.lockStaleMs, result.lsn);
    await truncateLog(core.parts);
    await removeStaleLeases(dir, core.parts.options.lockStaleMs, core.parts.fs).catch(() => undefined);
    return { ...result, tracesExpired: freed.traces, layersFreed: freed.layers };
  } catch (err) {
    // Before the commit point the old checkpoint and the full log still stand: the database
    // stays usable. After it, memory and disk may disagree about the log: stop. A writer
    // fenced off (its lock taken over) stops either way.
    if (state.epoch !== epochBefore || err instanceof LockedError) throw core.fail(err);
    throw err instanceof QuiverError ? err : ioError('checkpoint of', dir, err);
  }
}

/** Empties the log a checkpoint now covers. */
export async function truncateLog(parts: DatabaseParts): Promise<void> {
  const { dir, fs, wal } = parts;
  if (wal) return wal.reset();
  // ephemeral: no writer, but a log left by an earlier session is now covered by the checkpoint.
  await truncateLogFile(fs, path.join(dir!, FileName.wal));
}
