import { encode } from './codec.js';
import { RecordType } from './constants.js';
import type { Payload } from './payload.js';

/**
 * The everyday-API operations (FORMAT.md "Record types", types 16 and 17). Both carry the ids
 * the writer resolved, never a filter: replay must not evaluate filters (their semantics may
 * change between builds, and inside a batch the state an op sees depends on the ops before it),
 * so what the log holds is exactly what the writer applied and acknowledged.
 */
export type RecordOp =
  | { type: 'eraseMany'; vault: number; ids: string[] }
  | {
      type: 'patch';
      vault: number;
      ids: string[];
      /** Dotted path -> value; null when nothing is set. */
      set: Payload | null;
      /** The set map as logged (an embedded msgpack document), null when nothing is set. */
      setBytes: Uint8Array | null;
      unset: string[];
      /**
       * Live path only (never logged): each record's byte size after the patch, computed when
       * the patch was validated, for the vault's maxBytes quota.
       */
      sizes?: number[];
    };

type Body = Record<string, unknown>;

export function encodeRecordOp(op: RecordOp): [number, Body] {
  if (op.type === 'eraseMany') return [RecordType.eraseMany, { v: op.vault, ids: op.ids }];
  return [RecordType.patch, { v: op.vault, ids: op.ids, s: op.setBytes ?? (op.set ? encode(op.set) : null), u: op.unset }];
}

function strings(value: unknown, allowEmpty: boolean): value is string[] {
  return Array.isArray(value) && (allowEmpty || value.length > 0) && value.every((x) => typeof x === 'string' && x.length > 0);
}

export function decodeRecordOp(type: number, b: Body, vault: number, fail: (why: string) => never, decodePayload: (bytes: Uint8Array, fail: (why: string) => never) => Payload): RecordOp {
  // An empty list is a batch entry that matched nothing: it applies as nothing.
  if (!strings(b.ids, true)) return fail('bad id list');
  if (type === RecordType.eraseMany) return { type: 'eraseMany', vault, ids: b.ids };
  const setBytes = b.s === null || b.s === undefined ? null : b.s instanceof Uint8Array ? b.s : fail('bad patch set');
  if (!strings(b.u, true)) return fail('bad patch unset');
  if (setBytes === null && b.u.length === 0) return fail('empty patch');
  return { type: 'patch', vault, ids: b.ids, set: setBytes ? decodePayload(setBytes, fail) : null, setBytes, unset: b.u };
}
