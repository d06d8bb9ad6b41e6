import { CorruptionError } from '../errors.js';
import { decode, encode } from '../format/codec.js';
import { SectionKind } from '../format/constants.js';
import { guarded } from '../format/decode-guard.js';
import { decodeQuota, encodeQuota } from '../format/quota.js';
import { decodeSectioned, fileHeader, requireSection, sectionChunks, sectionHead, sectionPadding } from '../format/sectioned-file.js';
import { crc32c } from '../format/crc.js';
import type { StoredRecord } from '../vault/stored-record.js';
import type { Quota, VaultState } from '../vault/vault-state.js';
import { byCodeUnits } from '../util/code-units.js';
import { GraphRows } from './graph-vectors.js';
import { recordsSection } from './records-section.js';
import { partsChunks, segmentSlices } from './segment-file.js';
import { decodeLineage, lineageSections, type Lineage } from './vault-image.js';

/** FORMAT.md "Delta segments": the file's own version. */
export const DELTA_VERSION = 1;

/** Sections of a delta segment, in file order; the second is VECTORS instead in a delta whose checkpoint kept the graph before. */
export const DELTA_SECTION_KINDS = [SectionKind.vaultMeta, SectionKind.graphVectors, SectionKind.records, SectionKind.erased, SectionKind.layers, SectionKind.branches, SectionKind.traces] as const;

/** What a checkpoint writes of a vault that changed since its last checkpoint, when it writes only that. */
export interface DeltaContent {
  /** The records written since the file before, in label order. */
  records: readonly StoredRecord[];
  /**
   * Their GRAPH_VECTORS rows (same order), of the graph this checkpoint saved; null when the
   * checkpoint kept the graph before, which does not hold them: the delta then holds their vectors.
   */
  rows: Uint8Array | null;
  /** Labels of the records erased since the file before, ascending. */
  erased: Uint32Array;
  /** The epoch of the base segment the delta belongs on. */
  baseEpoch: number;
}

/**
 * A delta segment's bytes (FORMAT.md "Delta segments") as chunks to write in order, with
 * `undefined` between slices of work (the caller gives the event loop a turn there): the records'
 * section is made 2048 records a slice, as a segment's is. The vault must not change until the
 * generator is done (a checkpoint holds the write order).
 */
export function* deltaChunks(vault: VaultState, delta: DeltaContent): Generator<Uint8Array | undefined, void> {
  const count = delta.records.length;
  const parts = yield* recordsSection(delta.records, count, segmentSlices.records);
  const indexes = [...vault.payloadIndexes.keys()].sort(byCodeUnits);
  const meta = { number: vault.number, name: vault.name, quota: encodeQuota(vault.quota), lsn: vault.lsn, count, dimension: vault.dimension, nextLabel: vault.records.nextLabel, nextLayer: vault.layers.nextLayer, base: delta.baseEpoch, indexes };
  const erased = new Uint8Array(4 + 4 * delta.erased.length);
  const view = new DataView(erased.buffer);
  view.setUint32(0, delta.erased.length, true);
  delta.erased.forEach((label, i) => view.setUint32(4 + 4 * i, label, true));
  yield fileHeader('delta', DELTA_VERSION, DELTA_SECTION_KINDS.length);
  yield* sectionChunks({ kind: SectionKind.vaultMeta, payload: encode(meta) });
  if (delta.rows) yield* sectionChunks({ kind: SectionKind.graphVectors, payload: delta.rows });
  else {
    // The vectors a slice at a time into one reused buffer, twice: the header holds the CRC of the payload after it.
    const length = count * vault.dimension * 4;
    const head = sectionHead(SectionKind.vectors, length);
    let crc = head.seed;
    for (const chunk of vectorChunks(delta.records, vault.dimension)) {
      crc = crc32c(chunk, crc);
      yield undefined;
    }
    head.header.writeUInt32LE(crc, 12);
    yield head.header;
    for (const chunk of vectorChunks(delta.records, vault.dimension)) yield* [chunk, undefined];
    yield sectionPadding(length);
  }
  yield* partsChunks(SectionKind.records, parts, segmentSlices.bytes);
  yield* sectionChunks({ kind: SectionKind.erased, payload: erased });
  for (const section of lineageSections(vault)) yield* sectionChunks(section);
}

/** The records' vectors in order, about segmentSlices.bytes at a time, each chunk in the same buffer (done with when the next is asked for). */
function* vectorChunks(records: readonly StoredRecord[], dimension: number): Generator<Uint8Array> {
  const per = Math.max(1, Math.floor(segmentSlices.bytes / (dimension * 4)));
  const chunk = new Float32Array(Math.min(per, records.length) * dimension);
  for (let at = 0; at < records.length; at += per) {
    const end = Math.min(records.length, at + per);
    for (let i = at; i < end; i++) chunk.set(records[i]!.vector, (i - at) * dimension);
    yield new Uint8Array(chunk.buffer, 0, (end - at) * dimension * 4);
  }
}

/** A delta segment read back: its records are decoded by the caller, against the vault's block (engine/open/deltas.ts). */
export interface DeltaImage extends Lineage {
  number: number;
  name: string;
  quota: Quota;
  lsn: number;
  count: number;
  nextLabel: number;
  nextLayer: number;
  baseEpoch: number;
  /** The payload indexes' fields at this checkpoint. */
  indexes: string[];
  /** The records' GRAPH_VECTORS rows; null in a delta that holds their vectors instead. */
  rows: GraphRows | null;
  /** The records' vectors, `count × dimension`, when the delta holds them (no graph of its checkpoint has them). */
  vectors: Float32Array | null;
  /** The RECORDS section's bytes (`count` records, labels strictly ascending). */
  records: Uint8Array;
  /** The RECORDS labels, in order. */
  labels: Uint32Array;
  erased: Uint32Array;
}

/**
 * Decodes a delta segment read whole; every section's CRC is checked by the sectioned container,
 * unless `verified`: the caller has checked the whole file against the manifest's CRC32C (open
 * does, through readRef or mapRef), so a second pass over every byte would find nothing new.
 */
export function decodeDelta(bytes: Uint8Array, dimension: number, file: string, verified = false): DeltaImage {
  return guarded(file, () => decodeDeltaBody(bytes, dimension, file, verified));
}

function decodeDeltaBody(bytes: Uint8Array, dimension: number, file: string, verified: boolean): DeltaImage {
  const fail = (why: string): never => {
    throw new CorruptionError(file, why);
  };
  const parsed = decodeSectioned(bytes, 'delta', file, undefined, verified);
  if (parsed.version !== DELTA_VERSION) fail(`delta segment version ${parsed.version} is not one this build reads`);
  const inGraph = parsed.sections[1]?.kind !== SectionKind.vectors;
  const kinds = DELTA_SECTION_KINDS.map((kind) => (kind === SectionKind.graphVectors && !inGraph ? SectionKind.vectors : kind));
  const [metaBytes, rowBytes, recordBytes, erasedBytes, layerBytes, branchBytes, traceBytes] = kinds.map((kind) => requireSection(parsed, kind, file, `kind ${kind}`)) as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array];
  let meta: Record<string, unknown>;
  try {
    meta = decode(metaBytes) as Record<string, unknown>;
  } catch {
    return fail('delta meta does not decode');
  }
  if (typeof meta !== 'object' || meta === null) return fail('delta meta is not a map');
  const int = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
  if (meta.dimension !== dimension) fail(`dimension ${String(meta.dimension)} differs from IDENTITY (${dimension})`);
  if (typeof meta.name !== 'string' || !int(meta.number) || !int(meta.lsn) || !int(meta.count) || !int(meta.nextLabel) || !int(meta.nextLayer) || !int(meta.base)) fail('delta meta is incomplete');
  const indexes = meta.indexes;
  if (!Array.isArray(indexes) || !indexes.every((f) => typeof f === 'string')) return fail('delta meta lists no payload index fields');
  const count = meta.count as number;
  const rows = inGraph ? GraphRows.decode(rowBytes, dimension, file) : null;
  if (rows && rows.count !== count) fail('GRAPH_VECTORS rows do not match the record count');
  if (!inGraph && (rowBytes.byteLength !== count * dimension * 4 || rowBytes.byteOffset % 4 !== 0)) fail('VECTORS does not hold the records\' vectors');
  const vectors = inGraph ? null : new Float32Array(rowBytes.buffer, rowBytes.byteOffset, count * dimension);
  const labels = recordLabels(recordBytes, count, fail);
  for (let i = 0; i < count; i++) if (labels[i]! >= (meta.nextLabel as number) || (i > 0 && labels[i]! <= labels[i - 1]!)) fail('record labels do not ascend below the next label');
  if (erasedBytes.byteLength < 4 || erasedBytes.byteOffset % 4 !== 0) fail('ERASED is malformed');
  const erasedCount = new DataView(erasedBytes.buffer, erasedBytes.byteOffset, 4).getUint32(0, true);
  if (erasedBytes.byteLength !== 4 + 4 * erasedCount) fail('ERASED length does not match its count');
  const erased = new Uint32Array(erasedBytes.buffer, erasedBytes.byteOffset + 4, erasedCount);
  for (let i = 1; i < erasedCount; i++) if (erased[i]! <= erased[i - 1]!) fail('ERASED labels do not ascend');
  return {
    number: meta.number as number,
    name: meta.name as string,
    quota: decodeQuota(meta.quota),
    lsn: meta.lsn as number,
    count,
    nextLabel: meta.nextLabel as number,
    nextLayer: meta.nextLayer as number,
    baseEpoch: meta.base as number,
    indexes: indexes as string[],
    rows,
    vectors,
    records: recordBytes,
    labels,
    erased,
    ...decodeLineage(layerBytes, branchBytes, traceBytes, fail),
  };
}

/** The label column of a RECORDS section of `count` records (FORMAT.md "Vault sections"): u32s from byte 8. */
function recordLabels(bytes: Uint8Array, count: number, fail: (why: string) => never): Uint32Array {
  if (bytes.byteOffset % 4 !== 0 || bytes.byteLength < 8 + 24 * count) fail('RECORDS is shorter than its columns');
  if (new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) !== count) fail('RECORDS count differs from the meta\'s');
  return new Uint32Array(bytes.buffer, bytes.byteOffset + 8, count);
}

/**
 * What open and `quiver check` require of delta `image`, the next on a vault's base: that it is
 * this vault's (`number`, `name`), lies on this base (`baseEpoch`, the base file's epoch), and
 * follows the file before it (its LSN above `previousLsn`). The problem found, or null.
 */
export function deltaProblem(image: DeltaImage, number: number, name: string, baseEpoch: number, previousLsn: number): string | null {
  if (image.number !== number || image.name !== name) return 'holds a different vault than the manifest says';
  if (image.baseEpoch !== baseEpoch) return `belongs on the base segment of epoch ${image.baseEpoch}, not ${baseEpoch}`;
  if (image.lsn <= previousLsn) return 'does not follow the file before it (its LSN is not higher)';
  return null;
}
