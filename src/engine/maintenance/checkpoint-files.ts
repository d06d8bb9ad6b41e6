import * as path from 'node:path';
import { TMP_SUFFIX } from '../../format/constants.js';
import { crc32c } from '../../format/crc.js';
import type { FileSystem } from '../../fs/file-system.js';
import { StorageError } from '../../errors.js';
import { nextTurn } from '../../util/loop-turns.js';
import { indexFields, type FileRef, type VaultState } from '../../vault/vault-state.js';

/**
 * FORMAT.md "Delta segments": a checkpoint writes a vault whole again (merging its deltas into a
 * new base) once its deltas would hold more rows and erasures than `share` of the base's rows, or
 * `files` of them. @internal Tests lower them.
 */
export const deltaLimits = { share: 0.25, files: 16 };

/**
 * Whether a checkpoint may write only what changed in `vault` since its last checkpoint
 * (`changed` records, `erased` labels) as a delta segment on its base: the base keeps its vectors
 * in the graph (the delta's rows are rows of the graph this checkpoint saved), the labels were not
 * renumbered since (compaction, re-embedding: segmentLsn -1), its payload indexes are the base's,
 * and the deltas stay within deltaLimits.
 */
export function deltaFits(vault: VaultState, changed: number, erased: number): boolean {
  const base = vault.deltaBase;
  const ref = vault.segment;
  if (!base || !ref?.graph || !ref.sidecar || vault.segmentLsn < 0) return false;
  if ((ref.deltas?.length ?? 0) >= deltaLimits.files || indexFields(vault.payloadIndexes.keys()) !== base.indexes) return false;
  return base.deltaRows + changed + erased <= base.baseRows * deltaLimits.share;
}

/**
 * FORMAT.md "Delta segments": a checkpoint may keep the graph before (writing a delta that holds
 * its records' vectors) while the records no saved graph holds stay within `share` of the
 * vault's records: what a writer's open inserts into the graph, and each reader holds in its
 * private tail, before the next graph is saved. @internal Tests change it.
 */
export const graphLag = { share: 1 / 16 };

/**
 * Whether the vault's graph may be kept as it is at this checkpoint, its `changes` (records and
 * erasures since the last checkpoint) then going in a delta with their vectors: the changes no
 * saved graph reflects stay within graphLag, and the graph's codes match the database's
 * quantization (otherwise the graph is saved and coded anew). The delta must also fit (deltaFits).
 */
export function graphLags(vault: VaultState, quantized: boolean, changes: number): boolean {
  const base = vault.deltaBase;
  return base !== null && graphLag.share > 0 && Boolean(vault.segment?.codes) === quantized && base.sinceGraph + changes <= vault.records.count * graphLag.share;
}

/**
 * Writes `rel` through a tmp file from `chunks` (undefined between slices of work: the event loop
 * gets a turn there), fsynced, then renamed, and returns its reference (size and CRC32C, computed
 * as the bytes pass). The checkpoint holds the write order throughout, so no write changes the
 * vault while it is encoded across those turns (the file is the state at the checkpoint's LSN);
 * `unchanged` checks it at each turn, and a state that moved anyway (a bug) fails the checkpoint
 * before its commit point instead of writing a mixed file.
 */
export async function writeChunked(fs: FileSystem, dir: string, rel: string, source: Iterable<Uint8Array | undefined>, unchanged: () => boolean): Promise<FileRef> {
  const file = path.join(dir, rel);
  let bytes = 0;
  let crc = 0;
  const check = (): void => {
    if (!unchanged()) throw new StorageError('DATABASE_FAILED', `internal: the database changed while a checkpoint wrote ${rel}`);
  };
  async function* chunks(): AsyncGenerator<Uint8Array> {
    for (const chunk of source) {
      if (chunk === undefined) {
        await nextTurn();
        check();
        continue;
      }
      crc = crc32c(chunk, crc);
      bytes += chunk.byteLength;
      yield chunk;
      check();
    }
  }
  await fs.writeFileSynced(file + TMP_SUFFIX, chunks());
  await fs.rename(file + TMP_SUFFIX, file);
  return { path: rel, bytes, crc32c: crc };
}
