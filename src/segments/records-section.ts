import { isAscii } from 'node:buffer';
import { decode, encode } from '../format/codec.js';
import { decodeDocument, encodeDocument } from '../format/document-codec.js';
import { StoredRecord } from '../vault/stored-record.js';
import { RecordColumns } from '../vault/record-columns.js';
import type { DocumentInfo } from '../vault/document.js';
import type { StoredVectors } from '../vault/stored-vectors.js';
import { StorageError } from '../errors.js';
import { finish } from '../util/loop-turns.js';

/**
 * The RECORDS section (FORMAT.md "Vault sections"), columnar: fixed-width columns of u32, then
 * three byte blobs. Opening a 100k-record vault builds its records from these columns without
 * decoding a msgpack row per record, and the payload bytes stay ranges of the segment buffer.
 *
 *   count u32 | flags u32 | label u32[count] | lsnLow u32[count] | lsnHigh u32[count]
 *   | idEnd u32[count] | payloadEnd u32[count] | documentEnd u32[count]
 *   | id blob | payload blob | document blob
 *
 * Flags bit 0: every id is ASCII (ids are then read from one latin1 string).
 */

const HEADER = 8;
const COLUMNS = 6;
const ASCII_IDS = 1;

export function encodeRecords(records: readonly StoredRecord[]): Uint8Array {
  const parts = finish(recordsSection(records, records.length, Infinity));
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/**
 * The RECORDS section of `count` records, given in label order, as parts to write one after the
 * other: the header and columns, then each blob (empty ones left out). A generator that yields
 * after every `slice` records, so a checkpoint of a large vault gives the event loop turns
 * between slices; finish() runs it at once.
 */
export function* recordsSection(records: Iterable<StoredRecord>, count: number, slice: number): Generator<undefined, Uint8Array[]> {
  const columnsEnd = HEADER + COLUMNS * 4 * count;
  // Buffer.alloc is never a pooled slice: the columns below start 4-aligned.
  const head = Buffer.alloc(columnsEnd);
  const column = (n: number) => new Uint32Array(head.buffer, head.byteOffset + HEADER + n * 4 * count, count);
  const [labels, lsnLow, lsnHigh, idEnd, payloadEnd, documentEnd] = [0, 1, 2, 3, 4, 5].map(column) as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  const ids = new Blob();
  const payloads = new Blob();
  const documents = new Blob();
  let ascii = true;
  let i = 0;
  for (const r of records) {
    if (i === count) throw tooMany();
    labels[i] = r.label;
    lsnLow[i] = r.lsn % 0x1_0000_0000;
    lsnHigh[i] = Math.floor(r.lsn / 0x1_0000_0000);
    // UTF-8 takes more bytes than UTF-16 code units for any character past ASCII.
    if (ids.putString(r.id) !== r.id.length) ascii = false;
    idEnd[i] = ids.length;
    const payload = r.payloadBytes;
    if (payload) payloads.put(payload);
    payloadEnd[i] = payloads.length;
    if (r.doc) documents.put(encode(encodeDocument(r.doc)));
    documentEnd[i] = documents.length;
    if (++i % slice === 0) yield undefined;
  }
  if (i !== count) throw tooMany();
  head.writeUInt32LE(count, 0);
  head.writeUInt32LE(ascii ? ASCII_IDS : 0, 4);
  return [head, ids.bytes(), payloads.bytes(), documents.bytes()].filter((b) => b.byteLength > 0);
}

/** The records walked are not as many as the vault counts: a bug, and nothing is written. */
function tooMany(): StorageError {
  return new StorageError('DATABASE_FAILED', 'internal: a vault\'s records are not as many as it counts');
}

/** Bytes appended to a buffer that doubles as it fills. */
class Blob {
  private buf = Buffer.allocUnsafe(4096);
  length = 0;

  private room(n: number): void {
    if (this.length + n <= this.buf.byteLength) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.byteLength * 2, this.length + n));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }

  put(bytes: Uint8Array): void {
    this.room(bytes.byteLength);
    this.buf.set(bytes, this.length);
    this.length += bytes.byteLength;
  }

  /** Appends `s` as UTF-8; returns its byte length. */
  putString(s: string): number {
    this.room(s.length * 3);
    const n = this.buf.write(s, this.length, 'utf8');
    this.length += n;
    return n;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

/**
 * Records from a RECORDS section; record i's vector is vector i of `block`. When `share`, the
 * payloads stay ranges of the section's buffer (a segment as read, which the records then keep
 * alive; see decodeVaultImage); otherwise each is copied. `fail` raises CorruptionError.
 */
/** A RECORDS section's columns and where its blobs start, checked against the record count and its length. */
interface Columns {
  section: Uint8Array;
  buf: Buffer;
  flags: number;
  labels: Uint32Array;
  lsnLow: Uint32Array;
  lsnHigh: Uint32Array;
  idEnd: Uint32Array;
  payloadEnd: Uint32Array;
  documentEnd: Uint32Array;
  idBase: number;
  payloadBase: number;
  documentBase: number;
}

/** Iterations of a per-record check between yields of the sliced readers. */
const SLICE = 1 << 16;

function readColumns(bytes: Uint8Array, count: number, fail: (why: string) => never): Columns {
  return finish(columnSteps(bytes, count, fail));
}

function* columnSteps(bytes: Uint8Array, count: number, fail: (why: string) => never): Generator<undefined, Columns> {
  // Column views need 4-byte alignment in memory: a section is 8-aligned in its file, so only a
  // buffer that does not start the file needs the copy.
  const section = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  const buf = Buffer.from(section.buffer, section.byteOffset, section.byteLength);
  const columnsEnd = HEADER + COLUMNS * 4 * count;
  if (buf.byteLength < columnsEnd || buf.readUInt32LE(0) !== count) return fail('records section does not match the record count');
  const flags = buf.readUInt32LE(4);
  const column = (n: number) => new Uint32Array(buf.buffer, buf.byteOffset + HEADER + n * 4 * count, count);
  const [labels, lsnLow, lsnHigh, idEnd, payloadEnd, documentEnd] = [0, 1, 2, 3, 4, 5].map(column) as [Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array];
  const idBase = columnsEnd;
  const payloadBase = idBase + (count > 0 ? idEnd[count - 1]! : 0);
  const documentBase = payloadBase + (count > 0 ? payloadEnd[count - 1]! : 0);
  if (documentBase + (count > 0 ? documentEnd[count - 1]! : 0) !== buf.byteLength) return fail('records section length does not match its columns');
  // Ids flagged ASCII are read as latin1 but looked up by their UTF-8 bytes: any other byte would
  // make a listed id one that no look-up finds.
  if ((flags & ASCII_IDS) !== 0) {
    // buffer.isAscii in slices: a byte loop here was a tenth of a 1M reader's open.
    for (let at = idBase; at < payloadBase; at += 8 * SLICE) {
      if (!isAscii(buf.subarray(at, Math.min(payloadBase, at + 8 * SLICE)))) return fail('records section flags its ids ASCII, but they are not');
      yield;
    }
  }
  return { section, buf, flags, labels, lsnLow, lsnHigh, idEnd, payloadEnd, documentEnd, idBase, payloadBase, documentBase };
}

/** Record `i`'s document, the msgpack bytes `at` to `end` of the section. */
function documentAt(buf: Buffer, at: number, end: number, i: number, fail: (why: string) => never): DocumentInfo {
  let value: unknown;
  try {
    value = decode(buf.subarray(at, end));
  } catch {
    return fail(`record ${i} document does not decode`);
  }
  return decodeDocument(value, fail);
}

/** The records of a RECORDS section, record i's vector row `rowBase + i` of `block`. */
export function decodeRecords(bytes: Uint8Array, count: number, block: Float32Array | StoredVectors, dimension: number, share: boolean, fail: (why: string) => never, rowBase = 0): StoredRecord[] {
  const { section, buf, flags, labels, lsnLow, lsnHigh, idEnd, payloadEnd, documentEnd, idBase, payloadBase, documentBase } = readColumns(bytes, count, fail);
  const asciiIds = (flags & ASCII_IDS) !== 0 ? buf.toString('latin1', idBase, payloadBase) : null;
  const records = new Array<StoredRecord>(count);
  let idStart = 0;
  let payloadStart = 0;
  let documentStart = 0;
  for (let i = 0; i < count; i++) {
    const idStop = idEnd[i]!;
    const payloadStop = payloadEnd[i]!;
    const documentStop = documentEnd[i]!;
    if (idStop <= idStart || payloadStop < payloadStart || documentStop < documentStart) return fail(`record ${i} has malformed offsets`);
    const id = asciiIds !== null ? asciiIds.slice(idStart, idStop) : buf.toString('utf8', idBase + idStart, idBase + idStop);
    const payloadLength = payloadStop - payloadStart;
    const doc = documentStop > documentStart ? documentAt(buf, documentBase + documentStart, documentBase + documentStop, i, fail) : null;
    const lsn = lsnLow[i]! + lsnHigh[i]! * 0x1_0000_0000;
    // The payload is decoded on first use (StoredRecord.payload), not here; shared, the record
    // keeps its range and no view is made.
    const payloadAt = buf.byteOffset + payloadBase + payloadStart;
    records[i] = share
      ? StoredRecord.inSegment(id, labels[i]!, block, rowBase + i, dimension, section, payloadAt, payloadLength, lsn, doc)
      : StoredRecord.inBlock(id, labels[i]!, block, rowBase + i, dimension, payloadLength > 0 ? new Uint8Array(buf.buffer.slice(payloadAt, payloadAt + payloadLength)) : null, lsn, doc);
    idStart = idStop;
    payloadStart = payloadStop;
    documentStart = documentStop;
  }
  return records;
}

/**
 * The records of a RECORDS section as columns over its bytes (vault/record-columns.ts), checked
 * as decodeRecords checks them but with no object per record: the payloads stay ranges of the
 * section's buffer, which the columns keep alive. Null when the labels do not ascend strictly
 * (a section this code did not write): decodeRecords then reads it.
 */
export function recordColumns(bytes: Uint8Array, count: number, block: StoredVectors, dimension: number, file: string, fail: (why: string) => never, rowBase = 0): RecordColumns | null {
  return finish(recordColumnSteps(bytes, count, block, dimension, file, fail, rowBase));
}

/** recordColumns in slices: each yield ends one (util/loop-turns.ts; a writer reading back a base it wrote gives the loop turns there). */
export function* recordColumnSteps(bytes: Uint8Array, count: number, block: StoredVectors, dimension: number, file: string, fail: (why: string) => never, rowBase = 0): Generator<undefined, RecordColumns | null> {
  const { section, buf, flags, labels, lsnLow, lsnHigh, idEnd, payloadEnd, documentEnd, idBase, payloadBase, documentBase } = yield* columnSteps(bytes, count, fail);
  let ascending = true;
  for (let i = 0, idStart = 0, payloadStart = 0, documentStart = 0; i < count; i++) {
    if (idEnd[i]! <= idStart || payloadEnd[i]! < payloadStart || documentEnd[i]! < documentStart) return fail(`record ${i} has malformed offsets`);
    if (i > 0 && labels[i]! <= labels[i - 1]!) ascending = false;
    idStart = idEnd[i]!;
    payloadStart = payloadEnd[i]!;
    documentStart = documentEnd[i]!;
    if (i % SLICE === SLICE - 1) yield;
  }
  if (!ascending) return null;
  // Documents (text vaults) are decoded now, as decodeRecords does, so a bad one fails the open.
  let docs: (DocumentInfo | null)[] | null = null;
  if (count > 0 && documentEnd[count - 1]! > 0) {
    docs = new Array<DocumentInfo | null>(count);
    for (let i = 0, start = 0; i < count; i++) {
      const stop = documentEnd[i]!;
      docs[i] = stop > start ? documentAt(buf, documentBase + start, documentBase + stop, i, fail) : null;
      start = stop;
      if (i % 4096 === 4095) yield;
    }
  }
  return new RecordColumns({ count, labels, lsnLow, lsnHigh, idEnd, payloadEnd, section, idBase, payloadBase, asciiIds: (flags & ASCII_IDS) !== 0, docs, block, rowBase, dimension, file });
}
