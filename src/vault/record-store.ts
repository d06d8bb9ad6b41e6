import { CorruptionError, StorageError } from '../errors.js';
import type { StoredVectors } from './stored-vectors.js';
import { IdOrder } from './id-order.js';
import { LabelSet } from './index/label-set.js';
import { LabelSlots } from './label-slots.js';
import { scanSetBuilder, type ScanSet } from './row-scan.js';
import { recordBytes, StoredRecord } from './stored-record.js';

/**
 * A segment's records held as columns (record-columns.ts), read a row at a time: what
 * RecordStore.load takes instead of an array, so that opening builds no object per record.
 */
export interface RecordRows {
  readonly length: number;
  /** recordBytes of every row, summed. */
  readonly bytes: number;
  label(row: number): number;
  /** The row holding `label`, or -1. */
  rowOfLabel(label: number): number;
  /** A new StoredRecord for the row. */
  record(row: number): StoredRecord;
  /** The row whose id is `id`, or -1. */
  find(id: string): number;
  /**
   * Raises CorruptionError if two rows share an id (what find() finds when it first builds its
   * table); rows from several files (a RecordChain) are checked across them too, given `live`,
   * whether a row is still a record.
   */
  checkIds(live?: (row: number) => boolean): void;
  /** Row `row`'s vector, read now from the block (no record made). */
  vector(row: number): Float32Array;
  /** The block holding the rows' vectors. */
  readonly block: StoredVectors;
  /** The row of `block` holding row `row`'s vector (a base's row r is its row r). */
  blockRow(row: number): number;
}

const EMPTY_VECTOR: Float32Array = new Float32Array(0);

/**
 * A base row's state: erased or replaced since the load, or still the segment's record, with its
 * StoredRecord not made (BASE) or made and kept in `made` (MADE).
 */
const GONE = 0;
const BASE = 1;
const REPLACED = 2;
const MADE = 3;
/** Whether a base row is still the segment's record. */
const live = (state: number | undefined): boolean => state === BASE || state === MADE;

/**
 * The authoritative records of one vault, by id and by label.
 *
 * Loaded from a segment, the records stay the segment's rows (`base`) until used: a row becomes
 * a StoredRecord on first read and is kept in `made`. A record put over a base row takes the
 * row's place (as a Map entry keeps its place when set again), so values() iterates in the order
 * the eager store did: the segment's rows, then records with new ids in the order they came.
 */
export class RecordStore {
  /** Records with ids not at a live base row: put after the load, or every record without one. */
  private readonly byId = new Map<string, StoredRecord>();
  /**
   * Records by label, except base rows still in their segment state (found through `base`).
   * Labels are dense (handed out in order), so an array from the first label put since the load.
   */
  private readonly byLabel = new LabelSlots<StoredRecord>();
  private base: RecordRows | null = null;
  /** Per base row: GONE, BASE, MADE or REPLACED. */
  private state: Uint8Array = new Uint8Array(0);
  /**
   * Per base row in state MADE its record, made on first read; in state REPLACED the record that
   * replaced it. A map, not an array per row: a reader reads few of a million rows.
   */
  private readonly made = new Map<number, StoredRecord>();
  private baseLive = 0;
  /** The next label to hand out; labels are never reused before a compaction. */
  nextLabel = 0;
  bytes = 0;
  /** Ids in code-unit order for scan(), built on first use and kept up to date after. */
  private order: IdOrder<StoredRecord> | null = null;
  /** Labels of the records deleted since clearErased(): a delta segment's ERASED (FORMAT.md "Delta segments"). */
  private erased: number[] = [];
  /**
   * Whether to note them: only for a vault with checkpoint files, whose next checkpoint may
   * write a delta (a vault without, or an in-memory database's, writes whole or nothing).
   */
  trackErased = false;
  /**
   * The delta segment whose records putLabelled() took as new since the last check, or null:
   * their ids are checked against the base's on the first look-up by id (checkPut).
   */
  private unchecked: string | null = null;
  /** The delta each of putLabelled's new records came from, until checkPut (what its error names). */
  private putFrom: Map<string, string> | null = null;

  idOrder(): IdOrder<StoredRecord> {
    return (this.order ??= new IdOrder(this));
  }

  constructor(private readonly dimension: number) {}

  get count(): number {
    return this.byId.size + this.baseLive;
  }

  get(id: string): StoredRecord | undefined {
    if (this.unchecked !== null) this.checkPut();
    const record = this.byId.get(id);
    if (record !== undefined || this.baseLive === 0) return record;
    const row = this.base!.find(id);
    return row >= 0 && this.state[row] !== GONE ? this.row(row) : undefined;
  }

  byLabelGet(label: number): StoredRecord | undefined {
    const record = this.byLabel.get(label);
    if (record !== undefined || this.baseLive === 0) return record;
    const row = this.base!.rowOfLabel(label);
    return row >= 0 && live(this.state[row]) ? this.row(row) : undefined;
  }

  /** Whether a record holds `label`, without making its record. */
  hasLabel(label: number): boolean {
    if (this.byLabel.get(label) !== undefined) return true;
    if (this.baseLive === 0) return false;
    const row = this.base!.rowOfLabel(label);
    return row >= 0 && live(this.state[row]);
  }

  /** The labels of every record, as a bitmap-backed set. */
  labelSet(): LabelSet {
    const labels = new LabelSet(this.nextLabel);
    for (let row = 0; row < this.state.length; row++) if (live(this.state[row])) labels.add(this.base!.label(row));
    this.byLabel.forEach((_, label) => labels.add(label));
    return labels;
  }

  /** A base row's record (not GONE): the segment's, made now and kept, or the one that replaced it. */
  private row(row: number): StoredRecord {
    if (this.state[row] !== BASE) return this.made.get(row)!;
    const record = this.base!.record(row);
    this.made.set(row, record);
    this.state[row] = MADE;
    return record;
  }

  /** A base row's record if made or replaced (not GONE), else undefined. */
  private madeAt(row: number): StoredRecord | undefined {
    return this.state[row] === BASE ? undefined : this.made.get(row);
  }

  *values(): IterableIterator<StoredRecord> {
    // Every walk of all records (checkpoint, compaction, export, ids(), filter scans) sees the
    // base's ids checked first: a segment whose rows share an id is refused there, not rewritten
    // with one of them silently kept.
    if (this.baseLive > 0) this.checkBase();
    for (let row = 0; row < this.state.length; row++) if (this.state[row] !== GONE) yield this.row(row);
    yield* this.byId.values();
  }

  /**
   * Every record's label and vector, in no particular order, for an exact scan: base rows not yet
   * read are given without making their record (a scan of a whole vault would otherwise build an
   * object per row and keep it). The yielded object is reused: read it before the next step.
   */
  *vectors(): IterableIterator<{ label: number; vector: Float32Array }> {
    const view: { label: number; vector: Float32Array } = { label: 0, vector: EMPTY_VECTOR };
    for (let row = 0; row < this.state.length; row++) {
      if (this.state[row] === GONE) continue;
      const made = this.madeAt(row);
      view.label = made !== undefined ? made.label : this.base!.label(row);
      view.vector = made !== undefined ? made.scanVector : this.base!.vector(row);
      yield view;
    }
    // Records moved into a graph block (a writer's, after a checkpoint) are rebuilt into the
    // block's reused array, as base rows are: no array made per record per scan.
    for (const record of this.byId.values()) {
      view.label = record.label;
      view.vector = record.scanVector;
      yield view;
    }
  }

  /**
   * Every record in label order, as a segment lists them, without sorting: base rows hold
   * ascending labels and `byLabel` is indexed by label, so the walk merges the two. A base row
   * not yet read is made for the caller and not kept (a checkpoint would otherwise leave an
   * object per row of the vault behind it).
   */
  *inLabelOrder(): IterableIterator<StoredRecord> {
    for (const at of this.labelWalk()) yield this.recordAt(at);
  }

  /** The record at a position of positions(): a base row's made anew (not kept) unless already made. */
  recordAt(at: number): StoredRecord {
    return at >= 0 ? (this.madeAt(at) ?? this.base!.record(at)) : this.byLabel.get(~at)!;
  }

  /**
   * inLabelOrder() as positions, making no record for a base row: a base row still in its segment
   * state (>= 0), or ~label for a record put since. A checkpoint that writes a delta segment walks
   * these (engine/maintenance/checkpoint.ts), reading base rows' labels and vectors from the columns.
   */
  positions(): IterableIterator<number> {
    return this.labelWalk();
  }

  positionLabel(at: number): number {
    return at >= 0 ? this.base!.label(at) : ~at;
  }

  positionVector(at: number): Float32Array {
    return at >= 0 ? (this.madeAt(at)?.vector ?? this.base!.vector(at)) : this.byLabel.get(~at)!.vector;
  }

  /** The record put since at a position, or null for a base row. */
  positionRecord(at: number): StoredRecord | null {
    return at >= 0 ? null : this.byLabel.get(~at)!;
  }

  /** The row of `block` a position's vector is read from (StoredRecord.rowIn), or -1. */
  positionRowIn(at: number, block: StoredVectors | null): number {
    if (at < 0) return this.byLabel.get(~at)!.rowIn(block);
    return block !== null && this.base!.block === block ? this.base!.blockRow(at) : -1;
  }

  /** The vectors of inLabelOrder(), making no record for a base row. */
  *vectorsInLabelOrder(): IterableIterator<Float32Array> {
    for (const at of this.labelWalk()) yield this.positionVector(at);
  }

  /**
   * Where each record is, in label order: a base row still in its segment state (row >= 0), or
   * ~label for a record in `byLabel` (put after the load, a base row's replacement included). A
   * live base row is never in `byLabel` (row() keeps it in `made`), so nothing comes twice. One
   * step per label, each a base row's or a look-up in `byLabel`: no stretch of the walk runs
   * through the base's labels without yielding (`byLabel` is all holes there, and slow to scan).
   */
  private *labelWalk(): IterableIterator<number> {
    if (this.baseLive > 0) this.checkBase();
    const rows = this.state.length;
    const byLabel = this.byLabel;
    const end = Math.max(byLabel.end, rows > 0 ? this.base!.label(rows - 1) + 1 : 0);
    // Base labels ascend strictly, so the row holding `label` (if any) is always the next one.
    for (let label = 0, row = 0; label < end; label++) {
      if (row < rows && this.base!.label(row) === label && live(this.state[row++])) yield row - 1;
      else if (byLabel.get(label) !== undefined) yield ~label;
    }
  }

  /**
   * The labels `bitmap` marks (each a live record, as the filter planner's bitmaps are) laid out
   * for the native scan: rows of `block` (the vault's stored vectors) where the record's vector
   * still is one, the rest as records. No record is made for a base row still in its segment state.
   */
  scanSet(bitmap: Uint8Array, block: StoredVectors | null): ScanSet {
    const set = scanSetBuilder(block);
    for (let row = 0; row < this.state.length; row++) {
      if (this.state[row] === GONE) continue;
      const made = this.madeAt(row);
      if (made !== undefined) {
        if (bitmap[made.label] === 1) set.record(made);
        continue;
      }
      const label = this.base!.label(row);
      if (bitmap[label] !== 1) continue;
      if (block !== null && this.base!.block === block) set.row(this.base!.blockRow(row), label);
      else set.record(this.row(row));
    }
    for (const record of this.byId.values()) if (bitmap[record.label] === 1) set.record(record);
    return set.done();
  }

  /** The live base row holding `id`, or -1. */
  private baseRow(id: string): number {
    if (this.baseLive === 0) return -1;
    const row = this.base!.find(id);
    return row >= 0 && this.state[row] !== GONE ? row : -1;
  }

  /** Inserts or replaces; returns the record it replaced. */
  put(record: StoredRecord): StoredRecord | undefined {
    if (this.unchecked !== null) this.checkPut();
    let old = this.byId.get(record.id);
    const row = old === undefined ? this.baseRow(record.id) : -1;
    if (row >= 0) {
      old = this.row(row);
      this.state[row] = REPLACED;
      this.made.set(row, record);
    } else {
      if (old === undefined) this.order?.note(record.id);
      this.byId.set(record.id, record);
    }
    if (old) {
      this.forget(old.label);
      this.bytes -= recordBytes(old, this.dimension);
    }
    this.byLabel.set(record.label, record);
    this.bytes += recordBytes(record, this.dimension);
    if (record.label >= this.nextLabel) this.nextLabel = record.label + 1;
    return old;
  }

  /**
   * Fills an empty store with a segment's records at open, skipping put()'s look-up of a record
   * to replace. Returns false, leaving the store unusable, when two records share an id or a label.
   * Given a segment's rows (RecordRows) it keeps them as they are; a repeated id among them is
   * found when the first look-up by id builds their table (CorruptionError then).
   */
  load(records: readonly StoredRecord[] | RecordRows): boolean {
    if (this.count > 0 || this.base) throw new StorageError('DATABASE_FAILED', 'internal: RecordStore.load needs an empty store');
    if (!Array.isArray(records)) {
      const rows = records as RecordRows;
      this.base = rows;
      this.state = new Uint8Array(rows.length).fill(BASE);
      this.baseLive = rows.length;
      this.bytes = rows.bytes;
      // Labels ascend strictly (records-section.ts checks), so the last is the largest.
      if (rows.length > 0) this.nextLabel = Math.max(this.nextLabel, rows.label(rows.length - 1) + 1);
      return true;
    }
    const list = records as readonly StoredRecord[];
    for (const record of list) {
      if (this.byLabel.get(record.label) !== undefined) return false;
      this.byId.set(record.id, record);
      this.byLabel.set(record.label, record);
      this.bytes += recordBytes(record, this.dimension);
      if (record.label >= this.nextLabel) this.nextLabel = record.label + 1;
    }
    return this.byId.size === list.length;
  }

  /**
   * Takes `rows` (a RecordChain: the base's rows, then delta segments' rows after them) in place
   * of the base's rows, at open, before any change to the store. Their ids are checked across
   * files on the first look-up by id (`file`, the first delta, names what is at fault).
   */
  extend(rows: RecordRows, file: string): void {
    const before = this.state.length;
    if (!this.base || this.byId.size > 0 || this.baseLive !== before || rows.length < before) throw new StorageError('DATABASE_FAILED', 'internal: RecordStore.extend needs a store as loaded');
    this.base = rows;
    const state = new Uint8Array(rows.length).fill(BASE);
    state.set(this.state);
    this.state = state;
    this.baseLive = rows.length;
    this.bytes = rows.bytes;
    if (rows.length > before) this.nextLabel = Math.max(this.nextLabel, rows.label(rows.length - 1) + 1);
    this.unchecked ??= file;
  }

  delete(id: string): StoredRecord | undefined {
    if (this.unchecked !== null) this.checkPut();
    const old = this.byId.get(id);
    if (old) return this.remove(old, -1);
    const row = this.baseRow(id);
    return row < 0 ? undefined : this.remove(this.row(row), row);
  }

  /** Takes out `old`: a record in `byId` (row -1), or the record of base row `row` (not GONE). */
  private remove(old: StoredRecord, row: number): StoredRecord {
    if (row < 0) this.byId.delete(old.id);
    else {
      this.state[row] = GONE;
      this.made.delete(row);
      this.baseLive--;
    }
    this.forget(old.label);
    this.bytes -= recordBytes(old, this.dimension);
    if (this.trackErased) this.erased.push(old.label);
    return old;
  }

  /**
   * Where the record holding `label` is, found by label alone: in `byId` (row -1), at base row
   * `row` (live, or REPLACED by a record that kept its label), or nowhere (undefined). A record
   * put over a base row under another label (a writer's) gives null: only put() and delete()
   * by id find it.
   */
  private atLabel(label: number): { record: StoredRecord; row: number } | undefined | null {
    const record = this.byLabel.get(label);
    if (record !== undefined && this.byId.get(record.id) === record) return { record, row: -1 };
    const row = this.baseLive > 0 ? this.base!.rowOfLabel(label) : -1;
    if (record === undefined) return row >= 0 && live(this.state[row]) ? { record: this.row(row), row } : undefined;
    return row >= 0 && this.state[row] === REPLACED && this.made.get(row) === record ? { record, row } : null;
  }

  /**
   * put() for a delta segment's record at open (`file`), by label, not id: in a delta a record
   * keeps its label (FORMAT.md "Delta segments"), so the record it replaces is the one holding
   * its label, which the caller has checked holds its id too, or none. Applying deltas so builds
   * no id table over the base; a record with a new label is checked against the base's ids on
   * the first look-up by id (a base row holding its id under another label is CorruptionError
   * then, as two base rows sharing an id are).
   */
  putLabelled(record: StoredRecord, file: string): StoredRecord | undefined {
    const at = this.atLabel(record.label);
    if (at === null || (at !== undefined && at.record.id !== record.id)) return this.put(record);
    if (at === undefined) {
      this.order?.note(record.id);
      this.byId.set(record.id, record);
      this.unchecked ??= file;
      (this.putFrom ??= new Map()).set(record.id, file);
    } else if (at.row < 0) this.byId.set(record.id, record);
    else {
      this.state[at.row] = REPLACED;
      this.made.set(at.row, record);
    }
    if (at) this.bytes -= recordBytes(at.record, this.dimension);
    this.byLabel.set(record.label, record);
    this.bytes += recordBytes(record, this.dimension);
    if (record.label >= this.nextLabel) this.nextLabel = record.label + 1;
    return at?.record;
  }

  /** delete() of the record holding `label`, found by label (a delta's ERASED at open); undefined when none does. */
  deleteLabel(label: number): StoredRecord | undefined {
    const at = this.atLabel(label);
    if (at === null) return this.delete(this.byLabel.get(label)!.id);
    return at && this.remove(at.record, at.row);
  }

  /** Whether a record put since the load (not a base row, nor its replacement) holds `id`. */
  hasPut(id: string): boolean {
    return this.byId.has(id);
  }

  /** The base's own ids checked (checkIds), and putLabelled's against them. */
  private checkBase(): void {
    this.base!.checkIds();
    if (this.unchecked !== null) this.checkPut();
  }

  /**
   * No record in `byId` has an id a base row still holds: putLabelled's, taken by label alone.
   * Run before any look-up by id (get, put, delete) and any walk of every record.
   */
  private checkPut(): void {
    if (this.baseLive > 0) this.base!.checkIds((row) => this.state[row] !== GONE);
    if (this.baseLive > 0) for (const record of this.byId.values()) {
      const row = this.base!.find(record.id);
      if (row >= 0 && this.state[row] !== GONE) throw new CorruptionError(this.putFrom?.get(record.id) ?? this.unchecked!, `record ${JSON.stringify(record.id)} does not keep its label`);
    }
    this.unchecked = null;
    this.putFrom = null;
  }

  /** The labels deleted since the last clearErased(), in the order they went (a label at most once: labels are not reused). */
  get erasedLabels(): readonly number[] {
    return this.erased;
  }

  /** Forgets the deleted labels: a checkpoint has written them, or they were read from one. */
  clearErased(): void {
    this.erased = [];
  }

  /**
   * Sets `into[row]` to 1 for each row of `block` a record reads its vector from: the base rows
   * still the segment's (row r of the base is row r of its block), and each other record's row
   * there. Rows left 0 belong to records replaced or erased since (a delta segment's, at open).
   */
  markRows(block: StoredVectors, into: Uint8Array): void {
    const own = this.base?.block === block;
    for (let row = 0; row < this.state.length; row++) {
      const state = this.state[row];
      if (live(state) && own) into[this.base!.blockRow(row)] = 1;
      else if (state === REPLACED) {
        const at = this.made.get(row)!.rowIn(block);
        if (at >= 0) into[at] = 1;
      }
    }
    for (const record of this.byId.values()) {
      const at = record.rowIn(block);
      if (at >= 0) into[at] = 1;
    }
  }

  /**
   * The records written (put) with an LSN above `lsn`, in label order: what a checkpoint's delta
   * segment holds (FORMAT.md "Delta segments"). A base row still in its segment state is older
   * than any checkpoint since, so only records put since the load are looked at.
   */
  changedSince(lsn: number): StoredRecord[] {
    const out: StoredRecord[] = [];
    for (let row = 0; row < this.state.length; row++) {
      if (this.state[row] === REPLACED && this.made.get(row)!.lsn > lsn) out.push(this.made.get(row)!);
    }
    for (const record of this.byId.values()) if (record.lsn > lsn) out.push(record);
    return out.sort((a, b) => a.label - b.label);
  }

  /** Clears a label's slot; a base row's label has none (no write past the array's end). */
  private forget(label: number): void {
    this.byLabel.delete(label);
  }
}
