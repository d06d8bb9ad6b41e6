import { decode, encode } from './codec.js';
import type { Payload } from './payload.js';
import { byCodeUnits } from '../util/code-units.js';

/** A resource value: a plain object (payload rules), or null for a deletion that shadows older layers. */
export type ResourceValue = Payload | null;

export interface Layer {
  id: string;
  /** Parent layer id, or null for the first layer of a chain. */
  parent: string | null;
  /** The branch it was committed on (informational). */
  branch: string | null;
  meta: Payload | null;
  /** Commit time, ms since the epoch. */
  at: number;
  resources: Map<string, ResourceValue>;
  /** Encoded size of the resources, for stats. */
  bytes: number;
}

export interface StoredTrace {
  key: string;
  /** Completion time, ms since the epoch: traces are ordered by (at, key). */
  at: number;
  /** The trace as stored: an embedded msgpack document. */
  bytes: Uint8Array;
  /** Record ids and layer ids the trace used. */
  links: { records: string[]; layers: string[] };
}

export interface Retention {
  maxCount?: number;
  maxBytes?: number;
  maxAgeMs?: number;
}

/**
 * The msgpack forms of layers, traces and retention, shared by log records and segments
 * (FORMAT.md "Record types" and "Vault sections"). Resource values, layer meta and trace bodies
 * are embedded msgpack documents (bin), like payloads.
 */
type Fail = (why: string) => never;

export function encodeLayer(l: Layer): unknown[] {
  return [l.id, l.parent, l.branch, l.meta ? encode(l.meta) : null, l.at, [...l.resources].sort(([a], [b]) => byCodeUnits(a, b)).map(([iri, v]) => [iri, v === null ? null : encode(v)])];
}

export function decodeLayer(value: unknown, fail: Fail): Layer {
  if (!Array.isArray(value) || value.length !== 6) return fail('bad layer');
  const [id, parent, branch, meta, at, res] = value as [unknown, unknown, unknown, unknown, unknown, unknown];
  if (typeof id !== 'string' || (parent !== null && typeof parent !== 'string') || (branch !== null && typeof branch !== 'string') || !Number.isFinite(at) || !Array.isArray(res)) return fail('bad layer');
  const resources = new Map<string, ResourceValue>();
  let bytes = 0;
  for (const entry of res) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || (entry[1] !== null && !(entry[1] instanceof Uint8Array))) return fail('bad layer resource');
    bytes += Buffer.byteLength(entry[0]) + (entry[1]?.byteLength ?? 0);
    resources.set(entry[0], entry[1] === null ? null : nestedMap(entry[1], fail));
  }
  return { id, parent: parent as string | null, branch: branch as string | null, meta: meta instanceof Uint8Array ? nestedMap(meta, fail) : null, at: at as number, resources, bytes };
}

/** An embedded msgpack document that must be a map (a resource value, a layer's meta). */
function nestedMap(bytes: Uint8Array, fail: Fail): Payload {
  let value: unknown;
  try {
    value = decode(bytes);
  } catch {
    return fail('an embedded document does not decode');
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array) ? (value as Payload) : fail('an embedded document is not a map');
}

export function encodeTrace(t: StoredTrace): unknown[] {
  return [t.key, t.at, t.bytes, t.links.records, t.links.layers];
}

export function decodeTrace(value: unknown, fail: Fail): StoredTrace {
  if (!Array.isArray(value) || value.length !== 5) return fail('bad trace');
  const [key, at, bytes, records, layers] = value as [unknown, unknown, unknown, unknown, unknown];
  const strings = (a: unknown) => Array.isArray(a) && a.every((x) => typeof x === 'string');
  if (typeof key !== 'string' || !Number.isFinite(at) || !(bytes instanceof Uint8Array) || !strings(records) || !strings(layers)) return fail('bad trace');
  return { key, at: at as number, bytes, links: { records: records as string[], layers: layers as string[] } };
}

export function encodeRetention(r: Retention): Record<string, number> {
  const out: Record<string, number> = {};
  if (r.maxCount !== undefined) out.c = r.maxCount;
  if (r.maxBytes !== undefined) out.b = r.maxBytes;
  if (r.maxAgeMs !== undefined) out.a = r.maxAgeMs;
  return out;
}

export function decodeRetention(value: unknown, fail: Fail): Retention {
  if (typeof value !== 'object' || value === null) return fail('bad retention');
  const r = value as Record<string, unknown>;
  const out: Retention = {};
  if (r.c !== undefined) out.maxCount = r.c as number;
  if (r.b !== undefined) out.maxBytes = r.b as number;
  if (r.a !== undefined) out.maxAgeMs = r.a as number;
  return out;
}
