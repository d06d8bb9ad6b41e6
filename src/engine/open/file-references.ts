import { CorruptionError } from '../../errors.js';
import type { EmbedderManifest } from '../../embedder/embedder.js';
import { FileName } from '../../format/constants.js';
import type { RootRecord } from '../../format/root-record.js';
import type { WalHeader } from '../../wal/frame.js';

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
