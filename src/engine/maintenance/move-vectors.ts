import { GraphRows } from '../../segments/graph-vectors.js';
import { GraphVectorBlock } from '../../segments/graph-vector-block.js';
import type { EncodedGraphVectors, PreviousGraph } from '../../segments/graph-vectors-encode.js';
import type { FileSystem } from '../../fs/file-system.js';
import type { StoredRecord } from '../../vault/stored-record.js';
import type { SegmentRef, VaultState } from '../../vault/vault-state.js';
import { rebindGraphVectors, startGraphVectors } from '../open/graph-home.js';
import { nextTurn, overdue } from '../../util/loop-turns.js';

/** What a checkpoint keeps of the GRAPH_VECTORS it wrote for a vault, to move the vault's vectors after its commit. */
export interface VectorMove {
  /** The record at a row of the section (rows in label order). */
  recordOf(row: number): StoredRecord;
  /** The rows whose records hold their vectors in arrays of their own, ascending. */
  owned: number[];
  encoded: EncodedGraphVectors;
  /** The mapped block's graph the section was carried from (GraphVectorBlock.previous()), or null. */
  previous: PreviousGraph | null;
  /** How many records were rows of that block. */
  live: number;
}

/**
 * After a checkpoint's commit (memory only: nothing on disk changes), a writer with the addon
 * reads the vault's vectors from the graph the checkpoint committed: a mapped block moves onto it
 * when every one of its live rows was carried there unchanged (GraphVectorBlock.rebind), or a
 * vault with no block yet gets one; then every record still holding its vector in an array of its
 * own is moved into the block as a row of that graph (the rows just encoded from those very
 * arrays), and the arrays can go. The writer's memory then holds each vector once, in hnswlib's
 * index, plus the records written since the last checkpoint (README "A writer's memory").
 * Left as they are: a private block (no addon), a version 1 segment's VECTORS, or a block whose
 * live rows moved in the graph (a compaction rebuilt it): those vectors stay where they are read.
 */
export async function moveVectors(fs: FileSystem, dir: string, vault: VaultState, ref: SegmentRef, move: VectorMove, corrected: boolean): Promise<void> {
  if (!ref.graph || !ref.sidecar) return;
  let block: GraphVectorBlock;
  if (vault.stored instanceof GraphVectorBlock && vault.stored.mapped) {
    const previous = move.previous;
    if (!previous || previous.carried !== move.live) return;
    if (!(await rebindGraphVectors(fs, dir, vault.stored, ref.graph, ref.sidecar, previous.kept))) return;
    block = vault.stored;
  } else if (vault.stored === null) {
    const made = await startGraphVectors(fs, dir, ref.graph, ref.sidecar, vault.dimension, corrected);
    if (!made) return;
    block = made;
    vault.stored = block;
  } else return;
  const { recordOf, owned: wanted, encoded } = move;
  if (wanted.length === 0) return;
  const rows = GraphRows.decode(await encoded.section(wanted), vault.dimension, ref.segment.path);
  const first = block.append(rows, Uint32Array.from(wanted, (row) => recordOf(row).label));
  // In slices: the checkpoint holds the write order, but searches run between them (a record
  // moved or not reads the same floats).
  for (let i = 0; i < wanted.length; i++) {
    if ((i & 1023) === 0 && overdue()) await nextTurn();
    recordOf(wanted[i]!).moveVector(block, first + i);
  }
}
