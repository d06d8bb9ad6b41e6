import type { Payload } from '../vault/payload.js';
import { badRequest } from './http-error.js';
import { pointId, type PointId } from './point-ids.js';

/** Which payload keys a reply carries: Qdrant's with_payload (true, false, keys, include/exclude). */
export type PayloadSelector = (payload: Payload | null) => Payload | null | undefined;

export function payloadSelector(w: unknown, fallback: boolean, at = 'with_payload'): PayloadSelector {
  const value = w ?? fallback;
  if (value === true) return (p) => p ?? {};
  if (value === false) return () => undefined;
  const pick = (keys: unknown, what: string): string[] => {
    if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw badRequest(`${at}${what}: must be an array of keys`);
    return keys;
  };
  if (Array.isArray(value)) {
    const keys = pick(value, '');
    return (p) => Object.fromEntries(keys.filter((k) => p && k in p).map((k) => [k, p![k]!]));
  }
  if (typeof value === 'object' && value !== null) {
    const o = value as { include?: unknown; exclude?: unknown };
    if (o.include !== undefined) {
      const keys = pick(o.include, '.include');
      return (p) => Object.fromEntries(keys.filter((k) => p && k in p).map((k) => [k, p![k]!]));
    }
    if (o.exclude !== undefined) {
      const keys = new Set(pick(o.exclude, '.exclude'));
      return (p) => Object.fromEntries(Object.entries(p ?? {}).filter(([k]) => !keys.has(k)));
    }
  }
  throw badRequest(`${at}: must be a boolean, an array of keys, or { include } / { exclude }`);
}

export function wantsVector(w: unknown, at = 'with_vector'): boolean {
  if (w === undefined || w === null || w === false) return false;
  if (w === true) return true;
  throw badRequest(`${at}: named vectors are not supported by quiver serve; use true or false`);
}

/**
 * A float32 as the shortest decimal that reads back to the same float32 (what Qdrant prints),
 * instead of the float64 expansion (0.1 -> 0.10000000149011612).
 */
function shortest(v: number): number {
  for (let p = 1; p < 9; p++) {
    const d = Number(v.toPrecision(p));
    if (Math.fround(d) === v) return d;
  }
  return Number(v.toPrecision(9));
}

export const vectorJson = (v: Float32Array): number[] => Array.from(v, shortest);

export interface PointJson {
  id: PointId;
  version?: number;
  score?: number;
  payload?: Payload | null;
  vector?: number[] | null;
}

export function pointJson(id: string, payload: Payload | null, vector: Float32Array | undefined, select: PayloadSelector, extra?: { score: number; version: number }): PointJson {
  const p = select(payload);
  const v = vector ? vectorJson(vector) : null;
  // Literal objects in one shape each (no spread): this runs for every hit of every search.
  if (extra) return { id: pointId(id), score: extra.score, version: extra.version, payload: p === undefined ? null : p, vector: v };
  return { id: pointId(id), payload: p === undefined ? null : p, vector: v };
}
