import { guarded } from '../format/decode-guard.js';
import { CorruptionError } from '../errors.js';
import { decode, encode } from '../format/codec.js';
import { SectionKind } from '../format/constants.js';
import { decodeQuota, encodeQuota } from '../format/quota.js';
import type { Section } from '../format/sectioned-file.js';
import { VectorBlock } from './vector-block.js';
import { GraphVectorBlock } from './graph-vector-block.js';
import { decodeRecords, encodeRecords, recordColumns } from './records-section.js';
import type { RecordRows } from '../vault/record-store.js';
import type { StoredRecord } from '../vault/stored-record.js';
import type { Quota, VaultState } from '../vault/vault-state.js';
import type { Layer } from '../vault/layers.js';
import { TextIndex } from '../text/text-index.js';
import { PayloadIndex } from '../vault/payload-index.js';
import { readPayloadIndexes } from './payload-index-section.js';
import type { Retention, StoredTrace } from '../vault/traces.js';
import { decodeLayer, decodeRetention, decodeTrace, encodeLayer, encodeRetention, encodeTrace } from '../format/history-codec.js';
import { byCodeUnits } from '../util/code-units.js';

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
  nextLayer: number;
  /**
   * A segment's records as columns over its bytes when its vectors are held apart (a segment
   * opened by engine/open/load.ts: no object per record until one is read), else each decoded.
   */
  records: StoredRecord[] | RecordRows;
  /** The block the records' vectors are slices of; or, for a segment whose vectors are in its graph, the block that reads them there (bound to the graph by engine/open/load.ts). */
  vectors: VectorBlock | GraphVectorBlock;
  layers: Layer[];
  branches: [string, string | null][];
  traces: StoredTrace[];
  retention: Retention;
  text: TextIndex;
  payloadIndexes: PayloadIndex[];
}

/** Sections of a vault, in file order. */
export const VAULT_SECTION_KINDS = [SectionKind.vaultMeta, SectionKind.vectors, SectionKind.records, SectionKind.layers, SectionKind.branches, SectionKind.traces, SectionKind.textIndex, SectionKind.payloadIndex] as const;

/** A vault's records in label order: the segment's rows. */
export function segmentRows(vault: VaultState): StoredRecord[] {
  return [...vault.records.values()].sort((a, b) => a.label - b.label);
}

/**
 * `graphVectors` (a GRAPH_VECTORS payload built from the vault's saved graph, for `records`
 * as segmentRows() gave them): the vectors' home is the graph, and the segment holds that
 * section in VECTORS' place (FORMAT.md "Segment files").
 */
export function vaultSections(vault: VaultState, graphVectors?: { records: StoredRecord[] | null; payload: Uint8Array[] } | null): Section[] {
  const records = graphVectors?.records ?? segmentRows(vault);
  const dim = vault.dimension;
  let vectors: Section;
  if (graphVectors) vectors = { kind: SectionKind.graphVectors, payload: Buffer.concat(graphVectors.payload) };
  else {
    const block = new Float32Array(records.length * dim);
    records.forEach((r, i) => block.set(r.vector, i * dim));
    vectors = { kind: SectionKind.vectors, payload: new Uint8Array(block.buffer) };
  }
  return [vaultMetaSection(vault, records.length), vectors, { kind: SectionKind.records, payload: encodeRecords(records) }, ...historySections(vault)];
}

/** The VAULT_META section of a vault of `count` records. */
export function vaultMetaSection(vault: VaultState, count: number): Section {
  const quota = encodeQuota(vault.quota);
  const meta = { number: vault.number, name: vault.name, quota, lsn: vault.lsn, count, dimension: vault.dimension, nextLabel: vault.records.nextLabel, nextLayer: vault.layers.nextLayer };
  return { kind: SectionKind.vaultMeta, payload: encode(meta) };
}

/** The sections after RECORDS: layers, branches, traces, the text index and the payload indexes. */
export function historySections(vault: VaultState): Section[] {
  return [
    ...lineageSections(vault),
    { kind: SectionKind.textIndex, payload: encode(vault.text.dump()) },
    { kind: SectionKind.payloadIndex, payload: encode([...vault.payloadIndexes.values()].sort((a, b) => byCodeUnits(a.field, b.field)).map((i) => [i.field, i.dump()])) },
  ];
}

/** LAYERS, BRANCHES and TRACES: what a segment and a delta segment both hold whole. */
export function lineageSections(vault: VaultState): Section[] {
  const layers = [...vault.layers.layers()].sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1)));
  const branches = [...vault.layers.branches].sort(([a], [b]) => byCodeUnits(a, b));
  return [
    { kind: SectionKind.layers, payload: encode(layers.map(encodeLayer)) },
    { kind: SectionKind.branches, payload: encode(branches) },
    { kind: SectionKind.traces, payload: encode({ retention: encodeRetention(vault.traces.retention), traces: vault.traces.ordered().map(encodeTrace) }) },
  ];
}

/** A vault's layers, branches, traces and retention as LAYERS, BRANCHES and TRACES hold them. */
export interface Lineage {
  layers: Layer[];
  branches: [string, string | null][];
  traces: StoredTrace[];
  retention: Retention;
}

/** Decodes LAYERS, BRANCHES and TRACES (their CRCs already checked). */
export function decodeLineage(layerBytes: Uint8Array, branchBytes: Uint8Array, traceBytes: Uint8Array, fail: (why: string) => never): Lineage {
  let layersRaw: unknown;
  let branches: unknown;
  let tracesRaw: { retention?: unknown; traces?: unknown };
  try {
    layersRaw = decode(layerBytes);
    branches = decode(branchBytes);
    tracesRaw = decode(traceBytes) as typeof tracesRaw;
  } catch {
    return fail('history sections do not decode');
  }
  if (!Array.isArray(layersRaw) || !Array.isArray(branches) || !Array.isArray(tracesRaw?.traces)) fail('history sections are malformed');
  if (!(branches as unknown[]).every((b) => Array.isArray(b) && typeof b[0] === 'string' && (b[1] === null || typeof b[1] === 'string'))) fail('branches are malformed');
  return {
    layers: (layersRaw as unknown[]).map((l) => decodeLayer(l, fail)),
    branches: branches as [string, string | null][],
    traces: (tracesRaw.traces as unknown[]).map((t) => decodeTrace(t, fail)),
    retention: decodeRetention(tracesRaw.retention ?? {}, fail),
  };
}

/**
 * Decodes the vault sections (CRC-checked, in VAULT_SECTION_KINDS order). The vectors are the
 * section's bytes, or a block a segment reader holds apart (engine/open/load.ts readSegment).
 */
export function decodeVaultImage(sections: readonly (Uint8Array | VectorBlock | GraphVectorBlock)[], dimension: number, file: string): VaultImage {
  return guarded(file, () => decodeVaultImageBody(sections, dimension, file));
}

function decodeVaultImageBody(sections: readonly (Uint8Array | VectorBlock | GraphVectorBlock)[], dimension: number, file: string): VaultImage {
  const [metaBytes, vectorSection, recordBytes, layerBytes, branchBytes, traceBytes, textBytes, payloadIndexBytes] = sections as [Uint8Array, Uint8Array | VectorBlock | GraphVectorBlock, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  const fail = (why: string): never => {
    throw new CorruptionError(file, why);
  };
  // Payload bytes stay ranges of the buffer the segment was read into when its vectors are held
  // apart, or are most of it (a segment read whole, its vectors then shared too): no second copy.
  // Otherwise (a snapshot, which also holds graphs) they are copied, so the buffer can be freed.
  const apart = vectorSection instanceof VectorBlock || vectorSection instanceof GraphVectorBlock;
  const share = apart || (vectorSection.byteOffset % 4 === 0 && vectorSection.byteLength * 2 >= vectorSection.buffer.byteLength);
  let meta: Record<string, unknown>;
  try {
    meta = decode(metaBytes) as Record<string, unknown>;
  } catch (cause) {
    throw new CorruptionError(file, 'vault sections do not decode', { cause });
  }
  if (typeof meta !== 'object' || meta === null) return fail('vault meta is not a map');
  const count = meta.count as number;
  if (meta.dimension !== dimension) fail(`dimension ${String(meta.dimension)} differs from IDENTITY (${dimension})`);
  if (!Number.isSafeInteger(count) || count < 0) fail('record count is malformed');
  if (vectorSection instanceof GraphVectorBlock ? vectorSection.rows.count !== count : vectorSection.byteLength !== count * dimension * 4) fail('vector block size does not match the record count');
  if (typeof meta.name !== 'string' || !Number.isSafeInteger(meta.number) || !Number.isSafeInteger(meta.nextLabel) || !Number.isSafeInteger(meta.lsn)) {
    fail('vault meta is incomplete');
  }
  // Each record's vector is a slice of one block. Sections are 8-byte aligned in the file and
  // a file read whole starts a buffer of its own, so the section itself can be the block.
  let block: VectorBlock | GraphVectorBlock;
  if (apart) block = vectorSection;
  else if (share) block = VectorBlock.resident(new Float32Array(vectorSection.buffer, vectorSection.byteOffset, count * dimension));
  else {
    const copy = new Float32Array(count * dimension);
    new Uint8Array(copy.buffer).set(vectorSection);
    block = VectorBlock.resident(copy);
  }
  const records = (apart ? recordColumns(recordBytes, count, block, dimension, file, fail) : null) ?? decodeRecords(recordBytes, count, block, dimension, share, fail);
  const quota = decodeQuota(meta.quota);
  let textRaw: { docs?: unknown; postings?: unknown };
  let indexRaw: unknown;
  // Label arrays straight to typed arrays when the section is as dump() writes it; else generically.
  const typedIndexes = readPayloadIndexes(payloadIndexBytes, meta.nextLabel as number);
  const lineage = decodeLineage(layerBytes, branchBytes, traceBytes, fail);
  try {
    textRaw = decode(textBytes) as typeof textRaw;
    indexRaw = typedIndexes ? [] : decode(payloadIndexBytes);
  } catch (cause) {
    throw new CorruptionError(file, 'history sections do not decode', { cause });
  }
  if (!Array.isArray(textRaw?.docs) || !Array.isArray(textRaw.postings)) fail('text index is malformed');
  if (!Array.isArray(indexRaw) || !indexRaw.every((e) => Array.isArray(e) && typeof e[0] === 'string' && Array.isArray(e[1]))) fail('payload indexes are malformed');
  const payloadIndexes = typedIndexes ? typedIndexes.map(({ field, entries }) => PayloadIndex.loaded(field, entries)) : (indexRaw as [string, [string | number | boolean | null, number[]][]][]).map(([field, entries]) => PayloadIndex.load(field, entries, meta.nextLabel as number) ?? fail('a payload index names a label past the vault\'s next label'));
  return {
    number: meta.number as number,
    name: meta.name as string,
    quota,
    lsn: meta.lsn as number,
    nextLabel: meta.nextLabel as number,
    nextLayer: Number.isSafeInteger(meta.nextLayer) ? (meta.nextLayer as number) : 1,
    records,
    vectors: block,
    ...lineage,
    text: TextIndex.load(textRaw as { docs: [string, number][]; postings: [string, [string, number][]][] }),
    payloadIndexes,
  };
}
