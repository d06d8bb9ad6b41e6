import * as path from 'node:path';
import { CorruptionError } from '../../errors.js';
import { GRAPH_SEGMENT_VERSION, SectionKind } from '../../format/constants.js';
import { decodeSectioned, requireSection } from '../../format/sectioned-file.js';
import type { FileSystem } from '../../fs/file-system.js';
import { GraphVectorBlock } from '../../segments/graph-vector-block.js';
import { GraphRows } from '../../segments/graph-vectors.js';
import { recordColumnSteps } from '../../segments/records-section.js';
import { partsCrc } from '../../segments/segment-file.js';
import { inSlices } from '../../util/loop-turns.js';
import { RecordStore } from '../../vault/record-store.js';
import type { RecordColumns } from '../../vault/record-columns.js';
import type { SegmentRef, VaultState } from '../../vault/vault-state.js';
import { bindWrittenGraph } from '../open/graph-home.js';

/** Bytes of the segment checked between chances to give the event loop a turn. */
const CRC_SLICE = 4 << 20;

/**
 * After a checkpoint commits a vault whole (a new base segment with GRAPH_VECTORS, and its graph),
 * a writer with the addon holds the vault's records as a reopened writer would: columns over the
 * segment's RECORDS section and a block over its GRAPH_VECTORS rows and the mapped graph, instead
 * of a StoredRecord (an id string, a payload, a vector reference) per record. At 1M x 384 those
 * objects are most of the writer's memory beside hnswlib's index (README "A writer's memory").
 *
 * The segment is read back whole (in the thread pool), checked against the CRC32C computed as it
 * was written, in slices with turns of the event loop between, and its sections then decoded without computing their CRCs
 * again. Nothing on disk changes, and the records read the same: false (the vault left as it
 * was) on anything unexpected, as a failed move of vectors does. The block the records read
 * before is retired, not closed: a search or export still reading the records before keeps
 * reading them until it ends (VaultState.retireStored).
 */
export async function rebaseRecords(fs: FileSystem, dir: string, vault: VaultState, ref: SegmentRef, corrected: boolean): Promise<boolean> {
  if (!ref.graph || !ref.sidecar || ref.deltas?.length) return false;
  const bytes = await fs.readFile(path.join(dir, ref.segment.path));
  if (bytes.byteLength !== ref.segment.bytes || (await inSlices(partsCrc([bytes], 0, CRC_SLICE))) >>> 0 !== ref.segment.crc32c >>> 0) return false;
  const file = ref.segment.path;
  const parsed = decodeSectioned(bytes, 'segment', file, undefined, true);
  if (parsed.version !== GRAPH_SEGMENT_VERSION) return false;
  const rows = GraphRows.decode(requireSection(parsed, SectionKind.graphVectors, file, 'GRAPH_VECTORS'), vault.dimension, file);
  if (rows.corrected !== corrected || rows.count !== vault.records.count) return false;
  const block = GraphVectorBlock.fresh(rows, vault.dimension);
  const fail = (why: string): never => {
    throw new CorruptionError(file, why);
  };
  let columns: RecordColumns | null;
  try {
    columns = await inSlices(recordColumnSteps(requireSection(parsed, SectionKind.records, file, 'RECORDS'), vault.records.count, block, vault.dimension, file, fail));
  } catch {
    return false;
  }
  if (!columns || !(await bindWrittenGraph(fs, dir, block, ref.graph, ref.sidecar, (row) => columns.label(row)))) return false;
  const before = vault.records;
  const store = new RecordStore(vault.dimension);
  store.load(columns);
  // (The columns hold vault.records.count rows: recordColumnSteps checks the section against it.)
  // A handle closing (or failed) meanwhile has let the vault go: nothing would close the block.
  if (store.bytes !== before.bytes || vault.isRetired) {
    block.close();
    return false;
  }
  store.nextLabel = before.nextLabel;
  store.trackErased = before.trackErased;
  const old = vault.stored;
  vault.stored = block;
  vault.records = store;
  // The filter planner's cached scan sets hold the records before: made again for the new ones.
  vault.version++;
  if (old) vault.retireStored(old);
  return true;
}
