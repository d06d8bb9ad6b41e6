import { ValidationError } from '../errors.js';
import type { Payload, PayloadValue } from './payload.js';
import { checkFilterLimits } from './filter-limits.js';
import { compileFieldOp, compileTopLevel } from './filter-ops.js';
import { isScalar, lookup, type Predicate, type Scalar } from './filter-terms.js';

export type { Predicate, Scalar };

/**
 * Payload filters (README "Filters"): `{ field: value }` is equality; a field may instead hold
 * an operator object with $in $nin $ne $gt $gte $lt $lte $exists; $and / $or combine filters.
 * Field names may be dotted paths into nested objects. An array field matches equality and
 * $in when any element matches.
 */
export type Filter = { [key: string]: unknown };
const COMPARISONS = new Set(['$gt', '$gte', '$lt', '$lte']);
const OPERATORS = new Set(['$in', '$nin', '$ne', '$exists', ...COMPARISONS, '$eq']);

function equals(value: PayloadValue | undefined, target: Scalar): boolean {
  if (Array.isArray(value)) return value.some((v) => v === target);
  return value === target;
}

function compare(op: string, value: PayloadValue | undefined, target: number | string): boolean {
  if (typeof value !== typeof target) return false;
  const v = value as number | string;
  switch (op) {
    case '$gt': return v > target;
    case '$gte': return v >= target;
    case '$lt': return v < target;
    default: return v <= target;
  }
}

function compileField(field: string, condition: unknown, at: string): Predicate {
  const path = field.split('.');
  if (isScalar(condition)) return (p) => equals(lookup(p, path), condition);
  if (typeof condition !== 'object' || condition === null || Array.isArray(condition)) {
    throw new ValidationError(at, 'must be a scalar or an operator object');
  }
  const tests: Predicate[] = [];
  for (const [op, arg] of Object.entries(condition)) {
    const where = `${at}.${op}`;
    if (!OPERATORS.has(op)) {
      tests.push(compileFieldOp(op, arg, path, where));
      continue;
    }
    if (op === '$eq' || op === '$ne') {
      if (!isScalar(arg)) throw new ValidationError(where, 'takes a scalar');
      tests.push(op === '$eq' ? (p) => equals(lookup(p, path), arg) : (p) => !equals(lookup(p, path), arg));
    } else if (op === '$in' || op === '$nin') {
      if (!Array.isArray(arg) || !arg.every(isScalar)) throw new ValidationError(where, 'takes an array of scalars');
      const set = new Set<Scalar>(arg);
      const hit = (p: Payload | null): boolean => {
        const v = lookup(p, path);
        return Array.isArray(v) ? v.some((x) => set.has(x as Scalar)) : set.has(v as Scalar);
      };
      tests.push(op === '$in' ? hit : (p) => !hit(p));
    } else if (op === '$exists') {
      if (typeof arg !== 'boolean') throw new ValidationError(where, 'takes a boolean');
      tests.push((p) => (lookup(p, path) !== undefined) === arg);
    } else {
      if (!(typeof arg === 'number' && Number.isFinite(arg)) && typeof arg !== 'string') {
        throw new ValidationError(where, 'takes a finite number or a string');
      }
      tests.push((p) => compare(op, lookup(p, path), arg));
    }
  }
  return (p) => tests.every((t) => t(p));
}

export function compileFilter(filter: unknown, at = 'filter', nested = false): Predicate {
  if (!nested) checkFilterLimits(filter, at);
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    throw new ValidationError(at, 'must be an object');
  }
  const tests: Predicate[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0) throw new ValidationError(`${at}.${key}`, 'takes a non-empty array of filters');
      const parts = value.map((f, i) => compileFilter(f, `${at}.${key}[${i}]`, true));
      tests.push(key === '$and' ? (p, d) => parts.every((t) => t(p, d)) : (p, d) => parts.some((t) => t(p, d)));
    } else if (key.startsWith('$')) {
      tests.push(compileTopLevel(key, value, `${at}.${key}`, (f, where) => compileFilter(f, where, true)));
    } else if (key.length === 0) {
      throw new ValidationError(at, 'field names must not be empty');
    } else {
      tests.push(compileField(key, value, `${at}.${key}`));
    }
  }
  return (p, d) => tests.every((t) => t(p, d));
}
