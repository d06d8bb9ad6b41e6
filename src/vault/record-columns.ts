import { CorruptionError } from '../errors.js';
import type { DocumentInfo } from './document.js';
import type { StoredVectors } from './stored-vectors.js';
import { StoredRecord } from './stored-record.js';
import { indexInAscending } from '../util/sorted-search.js';

/** What segments/records-section.ts hands over: a RECORDS section's columns, checked. */
export interface RecordColumnsInit {
  count: number;
  /** Strictly ascending (the section is written in label order). */
  labels: Uint32Array;
  lsnLow: Uint32Array;
  lsnHigh: Uint32Array;
  idEnd: Uint32Array;
  payloadEnd: Uint32Array;
  /** The section, 4-aligned; payloads stay ranges of its ArrayBuffer. */
  section: Uint8Array;
  /** Offsets into `section` of the id and payload blobs. */
  idBase: number;
  payloadBase: number;
  /** Every id is ASCII. */
  asciiIds: boolean;
  /** Each record's document (decoded at open, as before), or null when the vault holds none. */
  docs: (DocumentInfo | null)[] | null;
  block: StoredVectors;
  /** The block row of row 0 (a delta segment's rows follow the base's in one block); 0 for a base. */
  rowBase?: number;
  dimension: number;
  /** The segment, for CorruptionError. */
  file: string;
}

/**
 * A segment's records as its RECORDS section holds them, without an object per record: ids,
 * labels, LSNs and payloads stay in the section's bytes, and a StoredRecord is made for a row
 * only when it is read (the RecordStore keeps it). Opening a 100k-record vault used to build
 * 100k records and a map entry each, most of a cold open; now it checks the columns and stops.
 * Ids are found by a hash table over the id blob, built on the first look-up by id.
 */
export class RecordColumns {
  readonly length: number;
  /** Bytes the records count against the vault's quota (recordBytes of each, summed). */
  readonly bytes: number;
  private readonly buf: Buffer;
  private table: IdTable | null = null;
  private scratch = Buffer.allocUnsafe(1024);

  constructor(private readonly c: RecordColumnsInit) {
    this.length = c.count;
    this.buf = Buffer.from(c.section.buffer, c.section.byteOffset, c.section.byteLength);
    const n = c.count;
    let docBytes = 0;
    if (c.docs) for (const d of c.docs) if (d) docBytes += Buffer.byteLength(d.text, 'utf8');
    const idBytes = n > 0 ? c.idEnd[n - 1]! : 0;
    const payloadBytes = n > 0 ? c.payloadEnd[n - 1]! : 0;
    this.bytes = idBytes + payloadBytes + docBytes + n * c.dimension * 4;
  }

  label(row: number): number {
    return this.c.labels[row]!;
  }

  /** The row holding `label`, or -1 (labels ascend, so a binary search). */
  rowOfLabel(label: number): number {
    const labels = this.c.labels;
    return indexInAscending(this.length, (row) => labels[row]!, label);
  }

  /** Row `row`'s id. */
  id(row: number): string {
    const c = this.c;
    const idStart = row === 0 ? 0 : c.idEnd[row - 1]!;
    return this.buf.toString(c.asciiIds ? 'latin1' : 'utf8', c.idBase + idStart, c.idBase + c.idEnd[row]!);
  }

  /** A new StoredRecord for row `row`. */
  record(row: number): StoredRecord {
    const c = this.c;
    const payloadStart = row === 0 ? 0 : c.payloadEnd[row - 1]!;
    const payloadAt = c.section.byteOffset + c.payloadBase + payloadStart;
    const lsn = c.lsnLow[row]! + c.lsnHigh[row]! * 0x1_0000_0000;
    return StoredRecord.inSegment(this.id(row), c.labels[row]!, c.block, this.blockRow(row), c.dimension, c.section, payloadAt, c.payloadEnd[row]! - payloadStart, lsn, c.docs?.[row] ?? null);
  }

  /** recordBytes of row `row` (what `bytes` sums). */
  rowBytes(row: number): number {
    const c = this.c;
    const ids = c.idEnd[row]! - (row === 0 ? 0 : c.idEnd[row - 1]!);
    const payloads = c.payloadEnd[row]! - (row === 0 ? 0 : c.payloadEnd[row - 1]!);
    const doc = c.docs?.[row];
    return ids + payloads + (doc ? Buffer.byteLength(doc.text, 'utf8') : 0) + c.dimension * 4;
  }

  blockRow(row: number): number {
    return (this.c.rowBase ?? 0) + row;
  }

  /** Whether any row holds a document (a text vault's). */
  get hasDocs(): boolean {
    return this.c.docs !== null;
  }

  /** The segment the rows are from, for CorruptionError. */
  get file(): string {
    return this.c.file;
  }

  get block(): StoredVectors {
    return this.c.block;
  }

  vector(row: number): Float32Array {
    // Only RecordStore.vectors() reads rows this way, each read before the next (its contract).
    return this.c.block.vector(this.blockRow(row), this.c.dimension, true);
  }

  checkIds(): void {
    if (this.length > 0) this.table ??= this.build();
  }

  /** The row whose id is `id`, or -1. */
  find(id: string): number {
    if (this.length === 0) return -1;
    // Stored ids are well-formed; a lone surrogate would encode to U+FFFD's bytes and match another.
    if (!id.isWellFormed()) return -1;
    if (id.length * 3 > this.scratch.length) this.scratch = Buffer.allocUnsafe(id.length * 3);
    const key = this.scratch;
    const n = key.write(id, 0, 'utf8');
    const table = (this.table ??= this.build());
    const mask = table.rows.length - 1;
    const h = hash(key, 0, n);
    for (let slot = h >>> table.shift; ; slot = (slot + 1) & mask) {
      const row = table.rows[slot]! - 1;
      if (row < 0) return -1;
      if (table.hashes[slot] === (h | 0) && this.idIs(row, key, 0, n)) return row;
    }
  }

  private idIs(row: number, bytes: Uint8Array, at: number, length: number): boolean {
    const c = this.c;
    const start = c.idBase + (row === 0 ? 0 : c.idEnd[row - 1]!);
    if (c.idBase + c.idEnd[row]! - start !== length) return false;
    const buf = this.buf;
    for (let i = 0; i < length; i++) if (buf[start + i] !== bytes[at + i]) return false;
    return true;
  }

  /**
   * The id hash table: open addressing, at most half full; per slot the row + 1 and the id's
   * hash, whose top bits are its home slot. Rows go in in order of their home slot (a counting
   * sort by its top bits first), so the build walks the table nearly in order: inserted in row
   * order, each insert was a cache and TLB miss, 0.5 s for 1M ids on this machine.
   */
  private build(): IdTable {
    const c = this.c;
    const n = this.length;
    let bits = 1;
    while (1 << bits < n * 2) bits++;
    const shift = 32 - bits;
    const mask = (1 << bits) - 1;
    const hashes = new Int32Array(n);
    for (let row = 0, start = 0; row < n; row++) {
      const end = c.idEnd[row]!;
      hashes[row] = hash(this.buf, c.idBase + start, end - start);
      start = end;
    }
    const bucketBits = Math.min(bits, 12);
    const counts = new Int32Array((1 << bucketBits) + 1);
    const bucketOf = (h: number) => h >>> (32 - bucketBits);
    for (let row = 0; row < n; row++) counts[bucketOf(hashes[row]!) + 1]!++;
    for (let b = 1; b < counts.length; b++) counts[b]! += counts[b - 1]!;
    // Rows and their hashes in bucket order, so that the insertion below reads both in order.
    const order = new Int32Array(n);
    const ordered = new Int32Array(n);
    for (let row = 0; row < n; row++) {
      const at = counts[bucketOf(hashes[row]!)]!++;
      order[at] = row;
      ordered[at] = hashes[row]!;
    }
    const table: IdTable = { rows: new Int32Array(1 << bits), hashes: new Int32Array(1 << bits), shift };
    for (let k = 0; k < n; k++) {
      const row = order[k]!;
      const h = ordered[k]!;
      let slot = h >>> shift;
      for (; table.rows[slot] !== 0; slot = (slot + 1) & mask) {
        const other = table.rows[slot]! - 1;
        if (table.hashes[slot] === h && this.idIs(other, this.buf, c.idBase + (row === 0 ? 0 : c.idEnd[row - 1]!), c.idEnd[row]! - (row === 0 ? 0 : c.idEnd[row - 1]!))) {
          throw new CorruptionError(c.file, 'two records share an id or a label');
        }
      }
      table.rows[slot] = row + 1;
      table.hashes[slot] = h;
    }
    return table;
  }
}

/** RecordColumns' id table (build()). */
interface IdTable {
  rows: Int32Array;
  hashes: Int32Array;
  /** 32 - log2(slots): a hash's home slot is hash >>> shift. */
  shift: number;
}

/** FNV-1a over bytes[at, at + length), then murmur3's finaliser (the home slot is the top bits), as an int32. */
function hash(bytes: Uint8Array, at: number, length: number): number {
  let h = 0x811c9dc5;
  for (let i = at; i < at + length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}
