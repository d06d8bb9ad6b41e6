import { CorruptionError } from '../errors.js';
import { decode, encode } from '../format/codec.js';
import { SectionKind } from '../format/constants.js';
import type { Section } from '../format/sectioned-file.js';
import type { StoredRecord } from '../vault/record-store.js';
import type { Quota, VaultState } from '../vault/vault-state.js';
import { decodePayload } from '../wal/records.js';
import { decodeDocument, encodeDocument } from '../vault/document.js';

/**
 * A vault as it is written at a checkpoint (FORMAT.md "Vault sections"): a meta section,
 * one block of vectors, and the records that own them, in label order.
 */
export interface VaultImage {
  number: number;
  name: string;
  quota: Quota;
  lsn: number;
  nextLabel: number;
  records: StoredRecord[];
}

export function vaultSections(vault: VaultState): Section[] {
  const records = [...vault.records.values()].sort((a, b) => a.label - b.label);
  const dim = vault.dimension;
  const vectors = new Float32Array(records.length * dim);
  records.forEach((r, i) => vectors.set(r.vector, i * dim));
  const quota: Record<string, number> = {};
  if (vault.quota.maxRecords !== undefined) quota.r = vault.quota.maxRecords;
  if (vault.quota.maxBytes !== undefined) quota.b = vault.quota.maxBytes;
  const meta = { number: vault.number, name: vault.name, quota, lsn: vault.lsn, count: records.length, dimension: dim, nextLabel: vault.records.nextLabel };
  return [
    { kind: SectionKind.vaultMeta, payload: encode(meta) },
    { kind: SectionKind.vectors, payload: new Uint8Array(vectors.buffer) },
    { kind: SectionKind.records, payload: encode(records.map((r) => [r.id, r.label, r.lsn, r.payloadBytes, r.doc ? encodeDocument(r.doc) : null])) },
  ];
}

/** Decodes the three vault sections (already CRC-checked) into records. */
export function decodeVaultImage(metaBytes: Uint8Array, vectorBytes: Uint8Array, recordBytes: Uint8Array, dimension: number, file: string): VaultImage {
  const fail = (why: string): never => {
    throw new CorruptionError(file, why);
  };
  let meta: Record<string, unknown>;
  let rows: unknown;
  try {
    meta = decode(metaBytes) as Record<string, unknown>;
    rows = decode(recordBytes);
  } catch (cause) {
    throw new CorruptionError(file, 'vault sections do not decode', { cause });
  }
  if (typeof meta !== 'object' || meta === null) return fail('vault meta is not a map');
  const count = meta.count as number;
  if (meta.dimension !== dimension) fail(`dimension ${String(meta.dimension)} differs from IDENTITY (${dimension})`);
  if (!Number.isSafeInteger(count) || !Array.isArray(rows) || rows.length !== count) fail('record count does not match');
  if (vectorBytes.byteLength !== count * dimension * 4) fail('vector block size does not match the record count');
  if (typeof meta.name !== 'string' || !Number.isSafeInteger(meta.number) || !Number.isSafeInteger(meta.nextLabel) || !Number.isSafeInteger(meta.lsn)) {
    fail('vault meta is incomplete');
  }
  // One allocation for the whole block; each record's vector is a view into it.
  const block = new Float32Array(count * dimension);
  new Uint8Array(block.buffer).set(vectorBytes);
  const records = (rows as unknown[]).map((row, i): StoredRecord => {
    if (!Array.isArray(row) || row.length !== 5) return fail(`record ${i} is malformed`);
    const [id, label, lsn, payloadBytes, doc] = row as [unknown, unknown, unknown, unknown, unknown];
    if (typeof id !== 'string' || !Number.isSafeInteger(label) || !Number.isSafeInteger(lsn)) return fail(`record ${i} is malformed`);
    if (payloadBytes !== null && !(payloadBytes instanceof Uint8Array)) return fail(`record ${i} payload is malformed`);
    return {
      id,
      label: label as number,
      lsn: lsn as number,
      vector: block.subarray(i * dimension, (i + 1) * dimension),
      payloadBytes,
      payload: payloadBytes ? decodePayload(payloadBytes, fail) : null,
      doc: doc === null ? null : decodeDocument(doc, fail),
    };
  });
  const q = (meta.quota ?? {}) as Record<string, number>;
  const quota: Quota = {};
  if (q.r !== undefined) quota.maxRecords = q.r;
  if (q.b !== undefined) quota.maxBytes = q.b;
  return { number: meta.number as number, name: meta.name as string, quota, lsn: meta.lsn as number, nextLabel: meta.nextLabel as number, records };
}
