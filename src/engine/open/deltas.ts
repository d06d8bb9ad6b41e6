import { CorruptionError } from '../../errors.js';
import { segmentEpoch } from '../../format/constants.js';
import type { FileSystem } from '../../fs/file-system.js';
import { decodeDelta, deltaProblem, type DeltaImage } from '../../segments/delta-file.js';
import { GraphVectorBlock } from '../../segments/graph-vector-block.js';
import type { ManifestVault } from '../../segments/manifest.js';
import { decodeRecords, recordColumns } from '../../segments/records-section.js';
import type { VaultImage } from '../../segments/vault-image.js';
import { unstoreLabel } from '../../vault/apply-records.js';
import { PayloadIndex } from '../../vault/payload-index.js';
import type { StoredRecord } from '../../vault/stored-record.js';
import { indexFields, type VaultState } from '../../vault/vault-state.js';
import { mapRef, readRef } from './file-references.js';
import type { MappedFile } from '../../native/mapped-file.js';
import type { RecordColumns } from '../../vault/record-columns.js';
import { applyHeld, putDeltaRecord } from './delta-chain.js';

/** A vault's delta segments read at open, their records decoded over the vault's block. */
export interface Deltas {
  images: DeltaImage[];
  /** Per delta after the graph (holding its vectors), its records; empty for the others. */
  records: StoredRecord[][];
  /** Per delta with GRAPH_VECTORS, its RECORDS as columns over the file (rows of the block); null for the others. */
  columns: (RecordColumns | null)[];
  /**
   * Per delta, its map when read in one (a reader with the addon), else null. A delta with
   * GRAPH_VECTORS rows gives its map to the block, whose rows and records view it; withDeltas
   * closes the others, whose records are copies or gone; closeDeltas on a failure before.
   */
  maps: (MappedFile | null)[];
}

/** Closes the maps of deltas no block has taken (a failed open): closing twice is nothing. */
export function closeDeltas(deltas: Deltas | null): void {
  for (const map of deltas?.maps ?? []) map?.close();
}

/**
 * Reads the delta segments a manifest entry names on top of `base` (FORMAT.md "Delta segments"):
 * each whole, against the manifest's size and CRC32C, checked to be this vault's, on this base,
 * in LSN order; their GRAPH_VECTORS rows are added to the base's block (before it is bound to the
 * graph, which holds every row) and their records decoded as rows of it.
 */
export async function readDeltas(fs: FileSystem, dir: string, entry: ManifestVault, base: VaultImage, dimension: number, share = false): Promise<Deltas> {
  const deltas: Deltas = { images: [], records: [], columns: [], maps: [] };
  try {
    await readEach(fs, dir, entry, base, dimension, share, deltas);
  } catch (err) {
    closeDeltas(deltas);
    throw err;
  }
  return deltas;
}

/**
 * readDeltas' loop. With `share` (a reader with the addon) each delta is mapped, not read into a
 * buffer of the process's own: the page cache's pages, one copy for every reader, and nothing
 * left for the collector to free (a 69 MB delta read whole stayed in each reader's heap until a
 * major collection).
 */
async function readEach(fs: FileSystem, dir: string, entry: ManifestVault, base: VaultImage, dimension: number, share: boolean, { images, records, columns, maps }: Deltas): Promise<void> {
  const block = base.vectors;
  const graphEpoch = entry.graph ? segmentEpoch(entry.graph.path) : -1;
  let lsn = base.lsn;
  for (const ref of entry.deltas ?? []) {
    const map = share ? mapRef(fs, dir, ref) : null;
    maps.push(map);
    // Checked whole against the manifest's CRC32C by mapRef or readRef: its sections' CRCs are not computed again.
    const image = decodeDelta(map ? new Uint8Array(map.buffer) : await readRef(fs, dir, ref), dimension, ref.path, true);
    const fail = (why: string): never => {
      throw new CorruptionError(ref.path, why);
    };
    if (!(block instanceof GraphVectorBlock)) fail(`lies on ${entry.segment.path}, whose vectors are not in its graph`);
    const problem = deltaProblem(image, entry.number, entry.name, segmentEpoch(entry.segment.path), lsn);
    if (problem) fail(problem);
    lsn = image.lsn;
    if (image.rows) {
      const first = (block as GraphVectorBlock).addDelta(image.rows, image.labels, ref.path, map);
      maps[maps.length - 1] = null;
      // Its records stay columns over the file, as a base's do (open/delta-chain.ts).
      columns.push(recordColumns(image.records, image.count, block as GraphVectorBlock, dimension, ref.path, fail, first) ?? fail('record labels do not ascend'));
      records.push([]);
    } else if (segmentEpoch(ref.path) <= graphEpoch) {
      // At or before the saved graph, holding its vectors: a delta the graph's own delta re-lists
      // (each of its records still live is written again there, or erased since: withDeltas
      // checks by label), so its records are not read at all; its erasures still count.
      columns.push(null);
      records.push([]);
    } else {
      // In no saved graph yet: each record holds its vector in an array of its own, as one the
      // log wrote does, until a checkpoint that saves the graph moves it there (move-vectors.ts).
      // Payloads copied too (share false), so that nothing holds the delta's buffer, most of it vectors.
      const decoded = decodeRecords(image.records, image.count, image.vectors!, dimension, false, fail);
      columns.push(null);
      records.push(decoded.map((record) => record.with({ label: record.label, vector: record.vector.slice() })));
    }
    images.push(image);
  }
}

/** The base image with the last delta's whole parts (meta, layers, branches, traces) in place of its own. */
export function withLastDelta(base: VaultImage, deltas: Deltas): VaultImage {
  const last = deltas.images.at(-1);
  if (!last) return base;
  const { quota, lsn, nextLabel, nextLayer, layers, branches, traces, retention } = last;
  return { ...base, quota, lsn, nextLabel: Math.max(base.nextLabel, nextLabel), nextLayer, layers, branches, traces, retention };
}

/**
 * Applies deltas `from` to `to` (exclusive) to a vault made from the base (and withLastDelta's
 * parts): each delta's erasures, then its records, through the store, text index and payload
 * indexes, and with `index` through the vault's index too (deltas after the saved graph: the
 * graph does not hold their changes, which reach it as the log's replay does). Returns how many
 * rows and erasures they hold.
 */
export function applyDeltas(vault: VaultState, deltas: Deltas, from: number, to: number, file: (k: number) => string, index = false): number {
  let rows = 0;
  for (let k = from; k < to; k++) {
    const image = deltas.images[k]!;
    for (const label of image.erased) {
      if (unstoreLabel(vault, label) && index) vault.index.remove(label);
    }
    for (const record of deltas.records[k]!) {
      // By label, which a record keeps across deltas: no look-up by id, so no id table over the base.
      putDeltaRecord(vault, record, file(k));
      if (index) vault.index.add(record.label, record.vector);
    }
    rows += image.count + image.erased.length;
  }
  return rows;
}

/**
 * After the deltas are applied: the payload indexes the last one lists (dropped, or built from
 * the records), and the block told which of its rows are still read.
 */
export function finishDeltas(vault: VaultState, deltas: Deltas): void {
  const last = deltas.images.at(-1);
  if (!last) return;
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
}

/**
 * Where the saved graph falls among the deltas (FORMAT.md "Delta segments"): deltas up to `split`
 * lie at or before the graph's epoch, the rest after it (each holding its vectors, no graph rows).
 * `graphLsn` is the LSN the graph covers: the last file's at or before its epoch.
 */
export function graphSplit(entry: ManifestVault, base: VaultImage, deltas: Deltas): { split: number; graphLsn: number } {
  const graphEpoch = entry.graph ? segmentEpoch(entry.graph.path) : -1;
  const epochs = (entry.deltas ?? []).map((ref) => segmentEpoch(ref.path));
  let split = epochs.findIndex((epoch) => epoch > graphEpoch);
  if (split < 0) split = epochs.length;
  for (let k = split; k < epochs.length; k++) {
    if (deltas.images[k]!.rows) throw new CorruptionError(entry.deltas![k]!.path, `names rows of a graph newer than ${entry.graph?.path}`);
  }
  return { split, graphLsn: split > 0 ? deltas.images[split - 1]!.lsn : base.lsn };
}

/**
 * Checks that a delta before the graph holding its vectors (whose records readDeltas leaves
 * unread) has no record still live: each of its labels is written again by a later delta up to
 * the graph (the graph's own re-lists every record since the graph before) or erased by one. A
 * label that is neither is a record no saved graph holds (CorruptionError naming the delta).
 */
function relisted(entry: ManifestVault, deltas: Deltas, split: number): void {
  const later = new Set<number>();
  for (let k = split - 1; k >= 0; k--) {
    const image = deltas.images[k]!;
    if (!image.rows) {
      for (const label of image.labels) {
        if (!later.has(label)) throw new CorruptionError(entry.deltas![k]!.path, `the record of label ${label} is in no saved graph, but lies before ${entry.graph?.path}`);
      }
    }
    for (const label of image.labels) later.add(label);
    for (const label of image.erased) later.add(label);
  }
}

/**
 * Applies a vault's deltas around the making of its index (FORMAT.md "Delta segments"): those the
 * saved graph holds, then `makeIndex` (the index over that graph, for the records as they stand),
 * then those after the graph, through the index as well. Sets what the vault's next checkpoint
 * needs to go on adding deltas (vault.deltaBase).
 */
export async function withDeltas(vault: VaultState, entry: ManifestVault, base: VaultImage, deltas: Deltas, makeIndex: () => Promise<void>): Promise<void> {
  const file = (k: number): string => entry.deltas![k]!.path;
  const { split, graphLsn } = graphSplit(entry, base, deltas);
  relisted(entry, deltas, split);
  applyHeld(vault, base, deltas, split, file);
  let held = 0;
  for (let k = 0; k < split; k++) held += deltas.images[k]!.count + deltas.images[k]!.erased.length;
  await makeIndex();
  // What the deltas after the graph hold is what no saved graph reflects.
  const sinceGraph = applyDeltas(vault, deltas, split, deltas.images.length, file, true);
  finishDeltas(vault, deltas);
  // No live record views a map the block did not take: those before the graph are gone (checked above), those after copies.
  closeDeltas(deltas);
  const indexes = indexFields(base.payloadIndexes.map((index) => index.field));
  if (base.vectors instanceof GraphVectorBlock) vault.deltaBase = { baseRows: base.records.length, deltaRows: held + sinceGraph, graphLsn, sinceGraph, indexes };
}
