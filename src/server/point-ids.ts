import { badRequest } from './http-error.js';

/**
 * Qdrant point ids are unsigned integers or UUIDs; quiverdb record ids are strings. An integer
 * is stored as its decimal digits and a UUID in its canonical form (lowercase, hyphenated), so
 * each comes back with the type it was sent as. A record id written by another door that is
 * neither (say `a#0`) is returned as a string.
 */
export type PointId = number | string;

const UUID = /^(?:urn:uuid:)?\{?([0-9a-f]{8})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{4})-?([0-9a-f]{12})\}?$/i;
const DECIMAL = /^(?:0|[1-9][0-9]*)$/;

export function recordId(id: unknown, at = 'id'): string {
  if (typeof id === 'number') {
    if (!Number.isSafeInteger(id) || id < 0) throw badRequest(`${at}: a point id must be an unsigned integer or a UUID, got ${id}`);
    return String(id);
  }
  if (typeof id === 'string') {
    const m = UUID.exec(id);
    if (m) return m.slice(1).join('-').toLowerCase();
    throw badRequest(`${at}: a point id must be an unsigned integer or a UUID, got ${JSON.stringify(id)}`);
  }
  throw badRequest(`${at}: a point id must be an unsigned integer or a UUID`);
}

export function recordIds(ids: unknown, at: string): string[] {
  if (!Array.isArray(ids)) throw badRequest(`${at}: must be an array of point ids`);
  return ids.map((id, i) => recordId(id, `${at}[${i}]`));
}

export function pointId(id: string): PointId {
  if (DECIMAL.test(id)) {
    const n = Number(id);
    if (Number.isSafeInteger(n)) return n;
  }
  return id;
}
