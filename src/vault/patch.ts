import { ValidationError } from '../errors.js';
import { clonePayload, validatePayload, type Payload, type PayloadValue } from './payload.js';

/**
 * Payload patches (README "The everyday API: many at once, by filter, page by page"). `set` maps dotted paths to values: `'meta.k'`
 * writes `k` inside `meta`, creating `meta` (or replacing it when it is not an object); a key
 * without a dot replaces that top-level field whole. `unset` lists dotted paths to remove; a path
 * that is not there is no change. No path may repeat or lie inside another (`a` and `a.b`), so
 * the order they apply in cannot matter. The same function runs on the live write and on replay:
 * the log holds the patch, not its result.
 */
export interface CheckedPatch {
  set: Payload | null;
  setBytes: Uint8Array | null;
  unset: string[];
}

function splitPath(path: unknown, field: string): string[] {
  if (typeof path !== 'string' || path.length === 0) throw new ValidationError(field, 'must be a non-empty dotted path');
  const parts = path.split('.');
  for (const p of parts) {
    if (p.length === 0) throw new ValidationError(field, `"${path}" has an empty segment`);
    // Assigning __proto__ would change an object's prototype, not add a field.
    if (p === '__proto__') throw new ValidationError(field, '"__proto__" is not a payload field');
  }
  return parts;
}

function inside(a: readonly string[], b: readonly string[]): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Validates a patch spec; `at` prefixes field names (`ops[2].` in a batch). */
export function checkPatch(spec: unknown, maxPayloadBytes: number, at = ''): CheckedPatch {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw new ValidationError(`${at}patch`, 'must be an object { set?, unset? }');
  const { set, unset, ...rest } = spec as { set?: unknown; unset?: unknown };
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new ValidationError(`${at}${extra[0]}`, 'is not a patch field (set, unset)');
  const paths: { parts: string[]; field: string }[] = [];
  let checkedSet: Payload | null = null;
  let setBytes: Uint8Array | null = null;
  if (set !== undefined && set !== null) {
    try {
      const v = validatePayload(set, maxPayloadBytes);
      checkedSet = v.payload;
      setBytes = v.bytes;
    } catch (err) {
      if (err instanceof ValidationError) throw new ValidationError(`${at}set${err.field.slice('payload'.length)}`, err.message.slice(err.field.length + 2));
      throw err;
    }
    for (const key of Object.keys(checkedSet!)) paths.push({ parts: splitPath(key, `${at}set.${key}`), field: `${at}set.${key}` });
    if (paths.length === 0) checkedSet = setBytes = null;
  }
  const unsetList: string[] = [];
  if (unset !== undefined && unset !== null) {
    if (!Array.isArray(unset)) throw new ValidationError(`${at}unset`, 'must be an array of dotted paths');
    unset.forEach((u, i) => {
      paths.push({ parts: splitPath(u, `${at}unset[${i}]`), field: `${at}unset[${i}]` });
      unsetList.push(u as string);
    });
  }
  if (paths.length === 0) throw new ValidationError(`${at}set`, 'the patch sets and unsets nothing');
  for (let i = 0; i < paths.length; i++) {
    for (let j = 0; j < i; j++) {
      if (inside(paths[i]!.parts, paths[j]!.parts)) throw new ValidationError(paths[i]!.field, `overlaps ${paths[j]!.field}; a path may appear once and not inside another`);
    }
  }
  return { set: checkedSet, setBytes, unset: unsetList };
}

function isObject(v: PayloadValue | undefined): v is { [key: string]: PayloadValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** The payload after the patch: a new object; `base` is not changed. */
export function applyPatch(base: Payload | null, patch: { set: Payload | null; unset: readonly string[] }): Payload {
  const out = base === null ? {} : clonePayload(base);
  if (patch.set) {
    for (const [key, value] of Object.entries(patch.set)) {
      const parts = key.split('.');
      let cur: { [key: string]: PayloadValue } = out;
      for (let i = 0; i < parts.length - 1; i++) {
        const p = parts[i]!;
        const next = Object.hasOwn(cur, p) ? cur[p] : undefined;
        if (isObject(next)) cur = next;
        else cur = cur[p] = {};
      }
      cur[parts[parts.length - 1]!] = clonePayload(value);
    }
  }
  for (const path of patch.unset) {
    const parts = path.split('.');
    let cur: PayloadValue | undefined = out;
    for (let i = 0; i < parts.length - 1 && isObject(cur); i++) cur = Object.hasOwn(cur, parts[i]!) ? cur[parts[i]!] : undefined;
    const last = parts[parts.length - 1]!;
    if (isObject(cur) && Object.hasOwn(cur, last)) delete cur[last];
  }
  return out;
}

/**
 * The patched payload validated as a payload (depth, the size cap) and encoded: the writer
 * refuses a patch that would make any record's payload invalid, before anything is logged.
 */
export function patchedPayload(base: Payload | null, patch: CheckedPatch, maxPayloadBytes: number, field: string): { payload: Payload; bytes: Uint8Array } {
  const payload = applyPatch(base, patch);
  try {
    const v = validatePayload(payload, maxPayloadBytes);
    return { payload, bytes: v.bytes! };
  } catch (err) {
    if (err instanceof ValidationError) throw new ValidationError(field, `the patched payload is invalid: ${err.message}`);
    throw err;
  }
}
