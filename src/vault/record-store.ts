import { CorruptionError } from '../errors.js';
import { decode } from '../format/codec.js';
import type { Payload } from './payload.js';
import type { DocumentInfo } from './document.js';

/** One record as the database holds it. */
export class StoredRecord {
  private decoded: Payload | null | undefined;

  constructor(
    readonly id: string,
    /** The u32 the vector index knows this record by (FORMAT.md "Labels"). */
    readonly label: number,
    readonly vector: Float32Array,
    /** The payload as stored: an embedded msgpack document, or null. */
    readonly payloadBytes: Uint8Array | null,
    /** LSN of the operation that wrote this version of the record. */
    readonly lsn: number,
    /** Text, chunk and lineage, for records written as documents (insert_ex). */
    readonly doc: DocumentInfo | null,
    /** The payload already decoded, when the caller has it. */
    payload?: Payload | null,
  ) {
    this.decoded = payload;
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

  /** A copy with a new label (compaction), and for re-embedding a new vector, document and LSN. */
  with(changes: { label: number; vector?: Float32Array; doc?: DocumentInfo | null; lsn?: number }): StoredRecord {
    return new StoredRecord(this.id, changes.label, changes.vector ?? this.vector, this.payloadBytes, changes.lsn ?? this.lsn, changes.doc === undefined ? this.doc : changes.doc, this.decoded);
  }
}

/** Bytes a record counts against its vault's maxBytes quota: id, vector, payload and document text. */
export function recordBytes(record: { id: string; payloadBytes: Uint8Array | null; doc: DocumentInfo | null }, dimension: number): number {
  return Buffer.byteLength(record.id, 'utf8') + dimension * 4 + (record.payloadBytes?.byteLength ?? 0) + (record.doc ? Buffer.byteLength(record.doc.text, 'utf8') : 0);
}

/** The authoritative records of one vault, by id and by label. */
export class RecordStore {
  private readonly byId = new Map<string, StoredRecord>();
  /** Labels are dense (handed out in order), so by label is an array, not a map. */
  private readonly byLabel: (StoredRecord | undefined)[] = [];
  /** The next label to hand out; labels are never reused before a compaction. */
  nextLabel = 0;
  bytes = 0;

  constructor(private readonly dimension: number) {}

  get count(): number {
    return this.byId.size;
  }

  get(id: string): StoredRecord | undefined {
    return this.byId.get(id);
  }

  byLabelGet(label: number): StoredRecord | undefined {
    return this.byLabel[label];
  }

  values(): IterableIterator<StoredRecord> {
    return this.byId.values();
  }

  /** Inserts or replaces; returns the record it replaced. */
  put(record: StoredRecord): StoredRecord | undefined {
    const old = this.byId.get(record.id);
    if (old) {
      this.byLabel[old.label] = undefined;
      this.bytes -= recordBytes(old, this.dimension);
    }
    this.byId.set(record.id, record);
    this.byLabel[record.label] = record;
    this.bytes += recordBytes(record, this.dimension);
    if (record.label >= this.nextLabel) this.nextLabel = record.label + 1;
    return old;
  }

  delete(id: string): StoredRecord | undefined {
    const old = this.byId.get(id);
    if (!old) return undefined;
    this.byId.delete(id);
    this.byLabel[old.label] = undefined;
    this.bytes -= recordBytes(old, this.dimension);
    return old;
  }
}
