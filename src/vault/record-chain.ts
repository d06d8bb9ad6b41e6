import { CorruptionError } from '../errors.js';
import type { RecordColumns } from './record-columns.js';
import type { RecordRows } from './record-store.js';
import type { StoredRecord } from './stored-record.js';
import type { StoredVectors } from './stored-vectors.js';
import { indexInAscending } from '../util/sorted-search.js';

/**
 * The records of a base segment and of the delta segments on it that hold GRAPH_VECTORS, as one
 * set of rows for the RecordStore (FORMAT.md "Delta segments"): the base's rows, then a tail of
 * the deltas' records under labels the base never had, each label's from the newest delta that
 * lists it, in label order. No object per record: at 1M a reader's 76k delta records were 12 MB
 * of its heap, and what made V8 grow its young generation to 32 MB during the open.
 *
 * Base labels are all below `lowest` (the base's next label), tail labels at or above it, so the
 * rows' labels ascend as a segment's do. A delta record under a base label (a replaced base row)
 * is not in the tail: open puts it over the base row (RecordStore.putLabelled).
 */
export class RecordChain implements RecordRows {
  readonly length: number;
  readonly bytes: number;
  private readonly baseRows: number;

  constructor(
    private readonly base: RecordRows,
    /** The deltas' columns, oldest first (the order they are applied in). */
    private readonly parts: readonly RecordColumns[],
    /** Per tail row: its label (ascending), the part holding it, and its row there. */
    private readonly tailLabel: Uint32Array,
    private readonly tailPart: Uint8Array,
    private readonly tailRow: Uint32Array,
  ) {
    this.baseRows = base.length;
    this.length = base.length + tailLabel.length;
    let bytes = base.bytes;
    for (let t = 0; t < tailLabel.length; t++) bytes += parts[tailPart[t]!]!.rowBytes(tailRow[t]!);
    this.bytes = bytes;
  }

  get block(): StoredVectors {
    return this.base.block;
  }

  label(row: number): number {
    return row < this.baseRows ? this.base.label(row) : this.tailLabel[row - this.baseRows]!;
  }

  rowOfLabel(label: number): number {
    const first = this.tailLabel.length > 0 ? this.tailLabel[0]! : Infinity;
    if (label < first) return this.base.rowOfLabel(label);
    const t = search(this.tailLabel, label);
    return t < 0 ? -1 : this.baseRows + t;
  }

  record(row: number): StoredRecord {
    if (row < this.baseRows) return this.base.record(row);
    const t = row - this.baseRows;
    return this.parts[this.tailPart[t]!]!.record(this.tailRow[t]!);
  }

  vector(row: number): Float32Array {
    if (row < this.baseRows) return this.base.vector(row);
    const t = row - this.baseRows;
    return this.parts[this.tailPart[t]!]!.vector(this.tailRow[t]!);
  }

  blockRow(row: number): number {
    if (row < this.baseRows) return this.base.blockRow(row);
    const t = row - this.baseRows;
    return this.parts[this.tailPart[t]!]!.blockRow(this.tailRow[t]!);
  }

  /**
   * The tail row holding `id` if one does (the newest delta listing the id decides: a later
   * delta that erased or re-listed its label would list the id itself if it still lived), else
   * the base row holding it (the store tells whether that row is still a record).
   */
  find(id: string): number {
    for (let p = this.parts.length - 1; p >= 0; p--) {
      const row = this.parts[p]!.find(id);
      if (row < 0) continue;
      const t = search(this.tailLabel, this.parts[p]!.label(row));
      if (t >= 0 && this.tailPart[t] === p && this.tailRow[t] === row) return this.baseRows + t;
      break;
    }
    return this.base.find(id);
  }

  /**
   * Each file's ids checked on its own, then across them: with `live` (whether a base row is
   * still a record), no tail record's id is a live base row's or another tail record's.
   */
  checkIds(live?: (row: number) => boolean): void {
    this.base.checkIds();
    for (const part of this.parts) part.checkIds();
    if (!live) return;
    for (let t = 0; t < this.tailLabel.length; t++) {
      const part = this.parts[this.tailPart[t]!]!;
      const id = part.id(this.tailRow[t]!);
      const at = this.base.find(id);
      if ((at >= 0 && live(at)) || this.find(id) !== this.baseRows + t) throw new CorruptionError(part.file, `record ${JSON.stringify(id)} does not keep its label`);
    }
  }
}

/** The index of `label` in the ascending `labels`, or -1. */
function search(labels: Uint32Array, label: number): number {
  return indexInAscending(labels.length, (i) => labels[i]!, label);
}
