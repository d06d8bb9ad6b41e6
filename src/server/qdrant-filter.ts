import type { Filter } from '../vault/filter.js';
import { badRequest } from './http-error.js';
import { recordIds } from './point-ids.js';

/**
 * A Qdrant filter translated for quiverdb. Payload conditions become a quiverdb filter;
 * `has_id`, which tests the point id rather than the payload, becomes an id restriction and
 * is therefore accepted only at the top level (directly in `must`, `must_not`, or as the
 * whole of `should`).
 */
export interface PointFilter {
  /** The payload part, or undefined when every payload matches. */
  filter: Filter | undefined;
  /** Only these record ids can match (from `has_id` in must / should). */
  only: Set<string> | null;
  /** These record ids never match (from `has_id` in must_not). */
  except: Set<string> | null;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const CLAUSES = new Set(['must', 'should', 'must_not', 'min_should']);

export function translateFilter(q: unknown, at = 'filter'): PointFilter {
  const none: PointFilter = { filter: undefined, only: null, except: null };
  if (q === undefined || q === null) return none;
  if (!isObject(q)) throw badRequest(`${at}: must be an object with must / should / must_not`);
  checkClauses(q, at);
  let only: Set<string> | null = null;
  let except: Set<string> | null = null;
  const restrict = (ids: string[]) => (only = only === null ? new Set(ids) : new Set(ids.filter((id) => only!.has(id))));
  const isHasId = (c: unknown): c is { has_id: unknown } => isObject(c) && 'has_id' in c;

  const must = list(q.must).filter((c, i) => (isHasId(c) ? (restrict(recordIds(c.has_id, `${at}.must[${i}].has_id`)), false) : true));
  const mustNot = list(q.must_not).filter((c, i) => {
    if (!isHasId(c)) return true;
    except ??= new Set();
    for (const id of recordIds(c.has_id, `${at}.must_not[${i}].has_id`)) except.add(id);
    return false;
  });
  let should = list(q.should);
  if (should.length > 0 && should.every(isHasId)) {
    restrict(should.flatMap((c, i) => recordIds((c as { has_id: unknown }).has_id, `${at}.should[${i}].has_id`)));
    should = [];
  }
  const parts = clauses({ must, should, must_not: mustNot }, at);
  return { filter: parts, only, except };
}

function checkClauses(q: Json, at: string): void {
  for (const key of Object.keys(q)) {
    if (!CLAUSES.has(key)) throw badRequest(`${at}.${key}: unknown filter clause (must, should, must_not)`);
  }
  if (q.min_should !== undefined) throw badRequest(`${at}.min_should: not supported by quiver serve`);
}

/** must -> $and, should -> $or, must_not -> $not of $or; undefined when nothing constrains. */
function clauses(q: { must: unknown[]; should: unknown[]; must_not: unknown[] }, at: string): Filter | undefined {
  const all: Filter[] = [];
  q.must.forEach((c, i) => all.push(condition(c, `${at}.must[${i}]`)));
  if (q.should.length > 0) all.push({ $or: q.should.map((c, i) => condition(c, `${at}.should[${i}]`)) });
  if (q.must_not.length > 0) all.push({ $not: { $or: q.must_not.map((c, i) => condition(c, `${at}.must_not[${i}]`)) } });
  if (all.length === 0) return undefined;
  return all.length === 1 ? all[0] : { $and: all };
}

/** A filter nested as a condition. An empty one matches everything. */
function subFilter(q: Json, at: string): Filter {
  checkClauses(q, at);
  return clauses({ must: list(q.must), should: list(q.should), must_not: list(q.must_not) }, at) ?? {};
}

function condition(c: unknown, at: string): Filter {
  if (!isObject(c)) throw badRequest(`${at}: a condition must be an object`);
  if ('has_id' in c) throw badRequest(`${at}.has_id: quiver serve supports has_id only at the top level of a filter (must, must_not, or all of should)`);
  if ('must' in c || 'should' in c || 'must_not' in c || 'min_should' in c) return subFilter(c, at);
  if ('is_empty' in c) {
    const key = fieldKey((c.is_empty as Json | undefined)?.key, `${at}.is_empty.key`);
    return { $or: [{ [key]: { $exists: false } }, { [key]: null }, { [key]: { $size: 0 } }] };
  }
  if ('is_null' in c) return { [fieldKey((c.is_null as Json | undefined)?.key, `${at}.is_null.key`)]: null };
  if ('nested' in c) throw badRequest(`${at}.nested: nested object-array conditions are not supported by quiver serve; use dotted keys`);
  if (!('key' in c)) throw badRequest(`${at}: unknown condition (supported: key with match or range, is_empty, is_null, has_id, a nested filter)`);
  const key = fieldKey(c.key, `${at}.key`);
  const tests: Filter[] = [];
  for (const [name, arg] of Object.entries(c)) {
    if (name === 'key') continue;
    if (name === 'match') tests.push(match(key, arg, `${at}.match`));
    else if (name === 'range') tests.push(range(key, arg, `${at}.range`));
    else throw badRequest(`${at}.${name}: condition not supported by quiver serve (match, range)`);
  }
  if (tests.length === 0) throw badRequest(`${at}: a field condition needs match or range`);
  return tests.length === 1 ? tests[0]! : { $and: tests };
}

/** Qdrant's dotted keys are quiverdb's dotted paths; the `[]` array syntax has no equivalent. */
function fieldKey(key: unknown, at: string): string {
  if (typeof key !== 'string' || key.length === 0) throw badRequest(`${at}: must be a non-empty string`);
  if (key.includes('[')) throw badRequest(`${at}: array paths ("a[].b") are not supported by quiver serve`);
  if (key.startsWith('$')) throw badRequest(`${at}: a key must not start with $`);
  return key;
}

const scalar = (v: unknown): boolean => typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

function match(key: string, m: unknown, at: string): Filter {
  if (!isObject(m)) throw badRequest(`${at}: must be an object`);
  if ('value' in m) {
    if (!scalar(m.value)) throw badRequest(`${at}.value: must be a string, number or boolean`);
    return { [key]: m.value };
  }
  if ('any' in m || 'except' in m) {
    const op = 'any' in m ? 'any' : 'except';
    const values = m[op];
    if (!Array.isArray(values) || !values.every(scalar)) throw badRequest(`${at}.${op}: must be an array of strings or numbers`);
    return { [key]: { [op === 'any' ? '$in' : '$nin']: values } };
  }
  throw badRequest(`${at}: supported matches are value, any and except (text and phrase are not)`);
}

function range(key: string, r: unknown, at: string): Filter {
  if (!isObject(r)) throw badRequest(`${at}: must be an object`);
  const out: Json = {};
  for (const [op, v] of Object.entries(r)) {
    if (!['gt', 'gte', 'lt', 'lte'].includes(op)) throw badRequest(`${at}.${op}: unknown bound (gt, gte, lt, lte)`);
    if (v === null || v === undefined) continue;
    // Numbers, or RFC 3339 datetimes, which compare correctly as strings when written alike.
    if (!(typeof v === 'number' && Number.isFinite(v)) && typeof v !== 'string') throw badRequest(`${at}.${op}: must be a number`);
    out[`$${op}`] = v;
  }
  if (Object.keys(out).length === 0) throw badRequest(`${at}: needs at least one of gt, gte, lt, lte`);
  return { [key]: out };
}
