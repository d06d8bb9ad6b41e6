import { guarded } from './decode-guard.js';
import { CorruptionError } from '../errors.js';
import { decode, encode } from './codec.js';
import { FileName, RecordType } from './constants.js';
import { vectorFromBytes, vectorToBytes } from './vector.js';
import type { Payload } from './payload.js';
import { decodeDocument, encodeDocument, type DocumentInfo } from './document-codec.js';
import { decodeLayer, decodeRetention, decodeTrace, encodeLayer, encodeRetention, encodeTrace, type Layer, type Retention, type StoredTrace } from './history-codec.js';
import { decodeQuota, encodeQuota, type Quota } from './quota.js';
import { decodeRecordOp, encodeRecordOp, type RecordOp } from './record-ops-codec.js';

/**
 * Operations, as applied in memory and as framed in the log (FORMAT.md "Record types").
 * A body is a msgpack map with short keys; payloads travel as embedded msgpack documents
 * (bin), vectors as little-endian float32 bytes (bin).
 */
export type Op =
  | { type: 'insert'; vault: number; id: string; vector: Float32Array; payload: Payload | null; payloadBytes: Uint8Array | null; doc: DocumentInfo | null }
  | { type: 'erase'; vault: number; id: string }
  | { type: 'vaultCreate'; vault: number; name: string; quota: Quota }
  | { type: 'vaultDrop'; vault: number }
  | { type: 'layerCommit'; vault: number; layer: Layer; move: string | null }
  | { type: 'layerDrop'; vault: number; id: string }
  | { type: 'branchSet'; vault: number; name: string; head: string | null }
  | { type: 'branchDelete'; vault: number; name: string }
  | { type: 'tracePut'; vault: number; trace: StoredTrace }
  | { type: 'traceDelete'; vault: number; key: string }
  | { type: 'retentionSet'; vault: number; retention: Retention }
  | { type: 'indexCreate'; vault: number; field: string }
  | { type: 'indexDrop'; vault: number; field: string }
  | RecordOp;

type Body = Record<string, unknown>;

function encodeBody(op: Op): [number, Body] {
  switch (op.type) {
    case 'insert':
      if (op.doc) return [RecordType.insertEx, { v: op.vault, id: op.id, vec: vectorToBytes(op.vector), p: op.payloadBytes, d: encodeDocument(op.doc) }];
      return [RecordType.insert, { v: op.vault, id: op.id, vec: vectorToBytes(op.vector), p: op.payloadBytes }];
    case 'erase':
      return [RecordType.erase, { v: op.vault, id: op.id }];
    case 'vaultCreate':
      return [RecordType.vaultCreate, { v: op.vault, name: op.name, q: encodeQuota(op.quota) }];
    case 'vaultDrop':
      return [RecordType.vaultDrop, { v: op.vault }];
    case 'layerCommit':
      return [RecordType.layerCommit, { v: op.vault, layer: encodeLayer(op.layer), move: op.move }];
    case 'layerDrop':
      return [RecordType.layerDrop, { v: op.vault, id: op.id }];
    case 'branchSet':
      return [RecordType.branchSet, { v: op.vault, name: op.name, head: op.head }];
    case 'branchDelete':
      return [RecordType.branchDelete, { v: op.vault, name: op.name }];
    case 'tracePut':
      return [RecordType.tracePut, { v: op.vault, trace: encodeTrace(op.trace) }];
    case 'traceDelete':
      return [RecordType.traceDelete, { v: op.vault, key: op.key }];
    case 'retentionSet':
      return [RecordType.retentionSet, { v: op.vault, r: encodeRetention(op.retention) }];
    case 'indexCreate':
      return [RecordType.indexCreate, { v: op.vault, field: op.field }];
    case 'indexDrop':
      return [RecordType.indexDrop, { v: op.vault, field: op.field }];
    default:
      return encodeRecordOp(op);
  }
}

/** One log record for `ops`: the op itself, or a batch record applied all or none. */
export function encodeRecord(ops: readonly Op[], asBatch: boolean): { type: number; body: Buffer } {
  if (!asBatch && ops.length === 1) {
    const [type, body] = encodeBody(ops[0]!);
    return { type, body: encode(body) };
  }
  return { type: RecordType.batch, body: encode({ ops: ops.map(encodeBody) }) };
}

/** Decodes a frame that passed its CRC. A body that does not decode is corruption. */
export function decodeRecord(type: number, body: Uint8Array, dimension: number, offset: number): Op[] {
  return guarded(FileName.wal, () => decodeRecordBody(type, body, dimension, offset));
}

function decodeRecordBody(type: number, body: Uint8Array, dimension: number, offset: number): Op[] {
  const fail = (why: string): never => {
    throw new CorruptionError(FileName.wal, `record at offset ${offset}: ${why}`, { offset });
  };
  let value: unknown;
  try {
    value = decode(body);
  } catch (cause) {
    throw new CorruptionError(FileName.wal, `record at offset ${offset} does not decode`, { offset, cause });
  }
  if (type === RecordType.batch) {
    const ops = (value as { ops?: unknown } | null)?.ops;
    if (!Array.isArray(ops)) return fail('batch without ops');
    return ops.map((entry) => {
      if (!Array.isArray(entry) || entry.length !== 2 || entry[0] === RecordType.batch) return fail('bad batch entry');
      return decodeOne(entry[0] as number, entry[1], dimension, fail);
    });
  }
  return [decodeOne(type, value, dimension, fail)];
}

function decodeOne(type: number, value: unknown, dimension: number, fail: (why: string) => never): Op {
  if (typeof value !== 'object' || value === null) return fail('body is not a map');
  const b = value as Body;
  const vault = b.v;
  if (!Number.isSafeInteger(vault) || (vault as number) < 0) return fail('bad vault number');
  const v = vault as number;
  const id = (): string => (typeof b.id === 'string' && b.id.length > 0 ? b.id : fail('bad id'));
  switch (type) {
    case RecordType.insert:
    case RecordType.insertEx: {
      const vector = b.vec instanceof Uint8Array ? vectorFromBytes(b.vec, dimension) : null;
      if (!vector) return fail('bad vector');
      const payloadBytes = b.p === null || b.p === undefined ? null : b.p instanceof Uint8Array ? b.p : fail('bad payload');
      const doc = type === RecordType.insertEx ? decodeDocument(b.d, fail) : null;
      return { type: 'insert', vault: v, id: id(), vector, payload: payloadBytes ? decodePayload(payloadBytes, fail) : null, payloadBytes, doc };
    }
    case RecordType.erase:
      return { type: 'erase', vault: v, id: id() };
    case RecordType.vaultCreate: {
      if (typeof b.name !== 'string') return fail('bad vault name');
      return { type: 'vaultCreate', vault: v, name: b.name, quota: decodeQuota(b.q) };
    }
    case RecordType.vaultDrop:
      return { type: 'vaultDrop', vault: v };
    case RecordType.layerCommit:
      return { type: 'layerCommit', vault: v, layer: decodeLayer(b.layer, fail), move: b.move === null || b.move === undefined ? null : typeof b.move === 'string' ? b.move : fail('bad branch') };
    case RecordType.layerDrop:
      return { type: 'layerDrop', vault: v, id: typeof b.id === 'string' ? b.id : fail('bad layer id') };
    case RecordType.branchSet:
      if (typeof b.name !== 'string' || (b.head !== null && typeof b.head !== 'string')) return fail('bad branch');
      return { type: 'branchSet', vault: v, name: b.name, head: b.head as string | null };
    case RecordType.branchDelete:
      return { type: 'branchDelete', vault: v, name: typeof b.name === 'string' ? b.name : fail('bad branch') };
    case RecordType.tracePut:
      return { type: 'tracePut', vault: v, trace: decodeTrace(b.trace, fail) };
    case RecordType.traceDelete:
      return { type: 'traceDelete', vault: v, key: typeof b.key === 'string' ? b.key : fail('bad trace key') };
    case RecordType.retentionSet:
      return { type: 'retentionSet', vault: v, retention: decodeRetention(b.r, fail) };
    case RecordType.indexCreate:
    case RecordType.indexDrop:
      if (typeof b.field !== 'string' || b.field.length === 0) return fail('bad index field');
      return { type: type === RecordType.indexCreate ? 'indexCreate' : 'indexDrop', vault: v, field: b.field };
    case RecordType.eraseMany:
    case RecordType.patch:
      return decodeRecordOp(type, b, v, fail, decodePayload);
    default:
      return fail(`record type ${type} is not supported by this build`);
  }
}

export function decodePayload(bytes: Uint8Array, fail: (why: string) => never): Payload {
  try {
    const payload = decode(bytes);
    if (typeof payload === 'object' && payload !== null && !Array.isArray(payload)) return payload as Payload;
  } catch {
    // fall through
  }
  return fail('payload is not a msgpack map');
}
