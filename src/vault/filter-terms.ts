import type { DocumentInfo } from './document.js';
import type { Payload, PayloadValue } from './payload.js';

/** What filter.ts and filter-ops.ts both build on: a compiled filter, scalars, and dotted-path look-up. */
/** `doc` is the record's document, for `$document` (filter-ops.ts); records without one pass null. */
export type Predicate = (payload: Payload | null, doc?: DocumentInfo | null) => boolean;

export type Scalar = string | number | boolean | null;

export function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/**
 * The value at a dotted path (already split) of a payload, or undefined. Only own properties are
 * read at every step: `constructor`, `toString` or `__proto__` name a payload's own field or
 * nothing, never something inherited from Object.prototype.
 */
export function lookup(payload: Payload | null, path: readonly string[]): PayloadValue | undefined {
  let cur: PayloadValue | undefined = payload ?? undefined;
  for (const key of path) {
    if (cur === null || cur === undefined || typeof cur !== 'object' || Array.isArray(cur) || cur instanceof Uint8Array) return undefined;
    if (!Object.hasOwn(cur, key)) return undefined;
    cur = (cur as Record<string, PayloadValue>)[key];
  }
  return cur;
}
