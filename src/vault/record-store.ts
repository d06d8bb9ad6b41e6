import type { Payload } from './payload.js';
import type { DocumentInfo } from './document.js';

export interface StoredRecord {
  id: string;
  /** The u32 the vector index knows this record by (FORMAT.md "Labels"). */
  label: number;
  vector: Float32Array;
  payload: Payload | null;
  /** The payload as stored: an embedded msgpack document, or null. */
  payloadBytes: Uint8Array | null;
  /** LSN of the operation that wrote this version of the record. */
  lsn: number;
  /** Text, chunk and lineage, for records written as documents (insert_ex). */
  doc: DocumentInfo | null;
}

/** Bytes a record counts against its vault's maxBytes quota: id, vector, payload and document text. */
export function recordBytes(record: { id: string; payloadBytes: Uint8Array | null; doc: DocumentInfo | null }, dimension: number): number {
  return Buffer.byteLength(record.id, 'utf8') + dimension * 4 + (record.payloadBytes?.byteLength ?? 0) + (record.doc ? Buffer.byteLength(record.doc.text, 'utf8') : 0);
}

/** The authoritative records of one vault, by id and by label. */
export class RecordStore {
  private readonly byId = new Map<string, StoredRecord>();
  private readonly byLabel = new Map<number, StoredRecord>();
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
    return this.byLabel.get(label);
  }

  values(): IterableIterator<StoredRecord> {
    return this.byId.values();
  }

  /** Inserts or replaces; returns the record it replaced. */
  put(record: StoredRecord): StoredRecord | undefined {
    const old = this.byId.get(record.id);
    if (old) {
      this.byLabel.delete(old.label);
      this.bytes -= recordBytes(old, this.dimension);
    }
    this.byId.set(record.id, record);
    this.byLabel.set(record.label, record);
    this.bytes += recordBytes(record, this.dimension);
    if (record.label >= this.nextLabel) this.nextLabel = record.label + 1;
    return old;
  }

  delete(id: string): StoredRecord | undefined {
    const old = this.byId.get(id);
    if (!old) return undefined;
    this.byId.delete(id);
    this.byLabel.delete(old.label);
    this.bytes -= recordBytes(old, this.dimension);
    return old;
  }
}
