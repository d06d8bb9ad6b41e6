import { CorruptionError } from '../errors.js';

/**
 * What the root file (quiver.manifest, or quiver.snapshot's meta) records must exist beside it
 * (FORMAT.md "What the root records"), so that losing or replacing one of those files is
 * corruption rather than a silent loss: the log that continues its checkpoint, by the log id in
 * every generation's header, and the embedder, by its fingerprint. A root written before this
 * record existed has none (`null` in DbState) and is not checked; its next checkpoint adds it.
 */
export interface RootRecord {
  /**
   * The database's log id: every generation of wal.log carries it in its header. Null when no
   * log follows the checkpoint (an ephemeral writer that found none and made none).
   */
  logId: number | null;
  /** Fingerprint of the embedder in TEXT_EMBEDDER.manifest, or null when none is recorded. */
  embedder: string | null;
}

/** The record in a decoded root (JSON or msgpack): both fields or neither. Total: bad values are CorruptionError. */
export function decodeRootRecord(value: { logId?: unknown; embedder?: unknown }, file: string): RootRecord | null {
  const hasLog = value.logId !== undefined;
  const hasEmbedder = value.embedder !== undefined;
  if (!hasLog && !hasEmbedder) return null;
  const { logId, embedder } = value;
  if (logId !== null && (!Number.isInteger(logId) || (logId as number) < 1 || (logId as number) > 0xffffffff)) throw new CorruptionError(file, 'logId is neither null nor a 32-bit log id');
  if (embedder !== null && (typeof embedder !== 'string' || embedder.length === 0 || embedder.length > 1024)) throw new CorruptionError(file, 'embedder is neither null nor a fingerprint');
  return { logId: logId as number | null, embedder: embedder as string | null };
}
