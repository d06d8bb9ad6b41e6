import { CorruptionError, StorageError } from '../errors.js';
import { decode } from '../format/codec.js';
import type { Payload } from './payload.js';
import type { DocumentInfo } from './document.js';
import type { StoredVectors } from './stored-vectors.js';

/** One record as the database holds it. */
export class StoredRecord {
  private decoded: Payload | null | undefined;
  /**
   * The vector is `size` floats of `block` from `at`: its own array, or a slice of a segment's
   * block. Where it is read from may change (moveVector), never what it reads.
   */
  private block: Float32Array | StoredVectors;
  private at: number;
  private readonly size: number;
  /**
   * The payload bytes: their own array; or, for records from a segment (payloadAt >= 0), the
   * segment's buffer, of whose ArrayBuffer the payload is bytes payloadAt to payloadAt + sharedLength.
   */
  private payloadRef: Uint8Array | null;
  private payloadAt: number;
  private sharedLength: number;
  /**
   * The id, payload and document bytes of recordBytes, once computed (when the store takes the
   * record): erasing then reads this number from the record instead of its id's UTF-8 length and
   * its payload array, which for 1,000 erased records was a third of the erase.
   */
  private ownBytes = -1;

  constructor(
    readonly id: string,
    /** The u32 the vector index knows this record by (FORMAT.md "Labels"). */
    readonly label: number,
    vector: Float32Array | StoredVectors,
    payloadBytes: Uint8Array | null,
    /** LSN of the operation that wrote this version of the record. */
    readonly lsn: number,
    /** Text, chunk and lineage, for records written as documents (insert_ex). */
    readonly doc: DocumentInfo | null,
    /** The payload already decoded, when the caller has it. */
    payload?: Payload | null,
    at = 0,
    size = vector instanceof Float32Array ? vector.length : vector.byteLength / 4,
  ) {
    this.decoded = payload;
    this.block = vector;
    this.at = at;
    this.size = size;
    this.payloadRef = payloadBytes;
    this.payloadAt = -1;
    this.sharedLength = 0;
  }

  /** A record whose vector is vector `index` of a segment's block; `vector` makes a view on use. */
  static inBlock(id: string, label: number, block: Float32Array | StoredVectors, index: number, dimension: number, payloadBytes: Uint8Array | null, lsn: number, doc: DocumentInfo | null): StoredRecord {
    return new StoredRecord(id, label, block, payloadBytes, lsn, doc, undefined, index * dimension, dimension);
  }

  /**
   * inBlock() for a payload that is bytes `payloadAt` to `payloadAt + payloadLength` of
   * `segment`'s ArrayBuffer (the segment as read), given without making a view of them.
   */
  static inSegment(id: string, label: number, block: Float32Array | StoredVectors, index: number, dimension: number, segment: Uint8Array, payloadAt: number, payloadLength: number, lsn: number, doc: DocumentInfo | null): StoredRecord {
    const record = new StoredRecord(id, label, block, null, lsn, doc, undefined, index * dimension, dimension);
    // A range, not a view: 100k view objects weigh about 10 MB and slow the collector at open.
    if (payloadLength > 0) record.sharePayload(segment, payloadAt, payloadLength);
    return record;
  }

  private sharePayload(segment: Uint8Array, at: number, length: number): void {
    this.payloadRef = segment;
    this.payloadAt = at;
    this.sharedLength = length;
  }

  /** The row of `block` holding this record's vector, or -1 (its own array, or another block's). */
  rowIn(block: StoredVectors | null): number {
    return block !== null && this.block === block && this.size > 0 ? this.at / this.size : -1;
  }

  /** Whether the vector is an array of the record's own (written since the vault was loaded), not a row of a block. */
  get ownsVector(): boolean {
    return this.block instanceof Float32Array;
  }

  /**
   * Reads the vector from row `row` of `block` from now on, instead of the record's own array: a
   * checkpoint that has just committed a graph holding it exactly (checkpoint.ts), so that the
   * array can go. The caller guarantees the row gives back the same floats, bit for bit.
   */
  moveVector(block: StoredVectors, row: number): void {
    if (!(this.block instanceof Float32Array) || this.size !== this.block.length) throw new StorageError('DATABASE_FAILED', 'internal: only a vector held in its own array is moved into a block');
    this.block = block;
    this.at = row * this.size;
  }

  /**
   * The vector for a scan that reads it at once: as `vector`, but a row rebuilt from a graph
   * (cosine) may be written into one array the block reuses, overwritten by the next such read.
   */
  get scanVector(): Float32Array {
    return this.read(true);
  }

  get vector(): Float32Array {
    return this.read(false);
  }

  private read(reuse: boolean): Float32Array {
    const block = this.block;
    if (!(block instanceof Float32Array)) return block.vector(this.at / this.size, this.size, reuse);
    return this.at === 0 && this.size === block.length ? block : block.subarray(this.at, this.at + this.size);
  }

  /** The payload as stored: an embedded msgpack document, or null. */
  get payloadBytes(): Uint8Array | null {
    if (this.payloadAt < 0) return this.payloadRef;
    return new Uint8Array(this.payloadRef!.buffer, this.payloadAt, this.sharedLength);
  }

  /** payloadBytes.byteLength (0 without a payload), without making a view. */
  get payloadLength(): number {
    return this.payloadAt < 0 ? (this.payloadRef?.byteLength ?? 0) : this.sharedLength;
  }

  /**
   * The payload, decoded from its bytes on first use: records loaded from a segment are not
   * decoded at open (their bytes were checked against the manifest's CRC).
   */
  get payload(): Payload | null {
    if (this.decoded === undefined) {
      const value = this.payloadBytes ? decode(this.payloadBytes) : null;
      if (value !== null && (typeof value !== 'object' || Array.isArray(value))) throw new CorruptionError(`record ${JSON.stringify(this.id)}`, 'payload is not a msgpack map');
      this.decoded = value as Payload | null;
    }
    return this.decoded;
  }

  /** Bytes this record counts against its vault's maxBytes quota (recordBytes). */
  bytes(dimension: number): number {
    if (this.ownBytes < 0) this.ownBytes = Buffer.byteLength(this.id, 'utf8') + this.payloadLength + (this.doc ? Buffer.byteLength(this.doc.text, 'utf8') : 0);
    return this.ownBytes + dimension * 4;
  }

  /** The same record (label, vector, document) with a new payload, written at `lsn` (a patch). */
  withPayload(payloadBytes: Uint8Array, payload: Payload, lsn: number): StoredRecord {
    return new StoredRecord(this.id, this.label, this.block, payloadBytes, lsn, this.doc, payload, this.at, this.size);
  }

  /** A copy with a new label (compaction), and for re-embedding a new vector, document and LSN. */
  with(changes: { label: number; vector?: Float32Array; doc?: DocumentInfo | null; lsn?: number }): StoredRecord {
    const doc = changes.doc === undefined ? this.doc : changes.doc;
    const lsn = changes.lsn ?? this.lsn;
    const record = changes.vector
      ? new StoredRecord(this.id, changes.label, changes.vector, this.payloadRef, lsn, doc, this.decoded)
      : new StoredRecord(this.id, changes.label, this.block, this.payloadRef, lsn, doc, this.decoded, this.at, this.size);
    if (this.payloadAt >= 0) record.sharePayload(this.payloadRef!, this.payloadAt, this.sharedLength);
    return record;
  }
}

/**
 * Bytes a record (stored, or an insert about to make one) counts against its vault's maxBytes
 * quota: id, vector, payload and document text.
 */
export function recordBytes(record: StoredRecord | { id: string; payloadBytes: Uint8Array | null; doc: DocumentInfo | null }, dimension: number): number {
  if (record instanceof StoredRecord) return record.bytes(dimension);
  return Buffer.byteLength(record.id, 'utf8') + dimension * 4 + (record.payloadBytes?.byteLength ?? 0) + (record.doc ? Buffer.byteLength(record.doc.text, 'utf8') : 0);
}

