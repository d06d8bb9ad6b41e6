import { CorruptionError } from '../../errors.js';
import { segmentEpoch } from '../../format/constants.js';
import type { FileSystem } from '../../fs/file-system.js';
import { decodeDelta, type DeltaImage } from '../../segments/delta-file.js';
import { GraphVectorBlock } from '../../segments/graph-vector-block.js';
import type { ManifestVault } from '../../segments/manifest.js';
import { decodeRecords } from '../../segments/records-section.js';
import type { VaultImage } from '../../segments/vault-image.js';
import { storeRecord, unstoreLabel } from '../../vault/apply-records.js';
import { PayloadIndex } from '../../vault/payload-index.js';
import type { StoredRecord } from '../../vault/record-store.js';
import type { VaultState } from '../../vault/vault-state.js';
import { readRef } from './file-references.js';

/** A vault's delta segments read at open, their records decoded over the vault's block. */
export interface Deltas {
  images: DeltaImage[];
  records: StoredRecord[][];
}

/**
 * Reads the delta segments a manifest entry names on top of `base` (FORMAT.md "Delta segments"):
 * each whole, against the manifest's size and CRC32C, checked to be this vault's, on this base,
 * in LSN order; their GRAPH_VECTORS rows are added to the base's block (before it is bound to the
 * graph, which holds every row) and their records decoded as rows of it.
 */
export async function readDeltas(fs: FileSystem, dir: string, entry: ManifestVault, base: VaultImage, dimension: number): Promise<Deltas> {
  const images: DeltaImage[] = [];
  const records: StoredRecord[][] = [];
  const block = base.vectors;
  let lsn = base.lsn;
  for (const ref of entry.deltas ?? []) {
    const image = decodeDelta(await readRef(fs, dir, ref), dimension, ref.path);
    const fail = (why: string): never => {
      throw new CorruptionError(ref.path, why);
    };
    if (!(block instanceof GraphVectorBlock)) fail(`lies on ${entry.segment.path}, whose vectors are not in its graph`);
    if (image.number !== entry.number || image.name !== entry.name) fail('holds a different vault than the manifest says');
    if (image.baseEpoch !== segmentEpoch(entry.segment.path)) fail(`belongs on the base segment of epoch ${image.baseEpoch}, not ${entry.segment.path}`);
    if (image.lsn <= lsn) fail('does not follow the file before it (its LSN is not higher)');
    lsn = image.lsn;
    const first = (block as GraphVectorBlock).addDelta(image.rows, image.labels, ref.path);
    records.push(decodeRecords(image.records, image.count, block, dimension, true, fail, first));
    images.push(image);
  }
  return { images, records };
}

/** The base image with the last delta's whole parts (meta, layers, branches, traces) in place of its own. */
export function withLastDelta(base: VaultImage, deltas: Deltas): VaultImage {
  const last = deltas.images.at(-1);
  if (!last) return base;
  const { quota, lsn, nextLabel, nextLayer, layers, branches, traces, retention } = last;
  return { ...base, quota, lsn, nextLabel: Math.max(base.nextLabel, nextLabel), nextLayer, layers, branches, traces, retention };
}

/**
 * Applies the deltas' records to a vault made from the base (and withLastDelta's parts): each
 * delta's erasures, then its records, through the store, text index and payload indexes (the
 * graph already holds them); then the payload indexes the last delta lists, and the block told
 * which of its rows are still read. Returns how many rows and erasures the deltas hold.
 */
export function applyDeltas(vault: VaultState, deltas: Deltas, file: (k: number) => string): number {
  let rows = 0;
  deltas.images.forEach((image, k) => {
    const fail = (why: string): never => {
      throw new CorruptionError(file(k), why);
    };
    for (const label of image.erased) unstoreLabel(vault, label);
    for (const record of deltas.records[k]!) {
      const existing = vault.records.get(record.id);
      const holder = vault.records.byLabelGet(record.label);
      if ((existing && existing.label !== record.label) || (holder && holder.id !== record.id)) fail(`record ${JSON.stringify(record.id)} does not keep its label`);
      storeRecord(vault, record, existing);
    }
    rows += image.count + image.erased.length;
  });
  const last = deltas.images.at(-1);
  if (!last) return 0;
  const fields = new Set(last.indexes);
  for (const field of [...vault.payloadIndexes.keys()]) if (!fields.has(field)) vault.payloadIndexes.delete(field);
  for (const field of fields) {
    if (vault.payloadIndexes.has(field)) continue;
    const index = new PayloadIndex(field);
    for (const record of vault.records.values()) index.add(record.label, record.payload);
    vault.payloadIndexes.set(field, index);
  }
  // Read from disk, not erased since: the next checkpoint's ERASED starts empty.
  vault.records.clearErased();
  const block = vault.stored as GraphVectorBlock;
  const live = new Uint8Array(block.count);
  vault.records.markRows(block, live);
  block.retain(live);
  return rows;
}
