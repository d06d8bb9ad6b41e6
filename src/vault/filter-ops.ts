import { ValidationError } from '../errors.js';
import { textTerms } from '../text/text-tokens.js';
import type { DocumentInfo } from './document.js';
import { isScalar, lookup, type Predicate, type Scalar } from './filter-terms.js';
import type { Payload } from './payload.js';

/**
 * The filter operators of the everyday API (README "Filters"), compiled for filter.ts:
 *   top level:   { $not: Filter }   { $document: { $contains: 'str' } | { $match: 'words' } }
 *   on a field:  { $all: [values] }  { $size: n }  { $prefix: 'str' }
 * Anything else stays a ValidationError naming the operator.
 */

type Compile = (filter: unknown, at: string) => Predicate;

/** A top-level `$` key other than $and / $or. */
export function compileTopLevel(key: string, value: unknown, at: string, compile: Compile): Predicate {
  if (key === '$not') {
    const inner = compile(value, at);
    return (p, d) => !inner(p, d);
  }
  if (key === '$document') return compileDocument(value, at);
  throw new ValidationError(at, 'unknown top-level operator');
}

/** Term sets of document texts, so $match tokenises each record's text once. */
const termCache = new WeakMap<DocumentInfo, Set<string>>();

function termsOf(doc: DocumentInfo): Set<string> {
  let terms = termCache.get(doc);
  if (!terms) termCache.set(doc, (terms = new Set(textTerms(doc.text))));
  return terms;
}

function compileDocument(value: unknown, at: string): Predicate {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError(at, 'takes { $contains: text } or { $match: words }');
  const entries = Object.entries(value);
  if (entries.length !== 1) throw new ValidationError(at, 'takes exactly one of $contains and $match');
  const [op, arg] = entries[0]!;
  const where = `${at}.${op}`;
  if (op !== '$contains' && op !== '$match') throw new ValidationError(where, 'unknown operator');
  if (typeof arg !== 'string' || arg.length === 0) throw new ValidationError(where, 'takes a non-empty string');
  // Records that are not documents have no text: $document never matches them.
  if (op === '$contains') return (_p, d) => d !== null && d !== undefined && d.text.includes(arg);
  // The text index's terms (tokens minus stop words, plus identifier compounds): every one must occur.
  const wanted = [...new Set(textTerms(arg))];
  if (wanted.length === 0) throw new ValidationError(where, 'has no searchable terms (only stop words or punctuation)');
  return (_p, d) => {
    if (!d) return false;
    const terms = termsOf(d);
    return wanted.every((t) => terms.has(t));
  };
}

/** A field operator other than the comparison and set operators of filter.ts. */
export function compileFieldOp(op: string, arg: unknown, path: readonly string[], where: string): (p: Payload | null) => boolean {
  switch (op) {
    case '$all': {
      if (!Array.isArray(arg) || arg.length === 0 || !arg.every(isScalar)) throw new ValidationError(where, 'takes a non-empty array of scalars');
      const want = arg as Scalar[];
      return (p) => {
        const v = lookup(p, path);
        if (Array.isArray(v)) return want.every((w) => v.includes(w));
        return want.every((w) => v === w);
      };
    }
    case '$size': {
      if (!Number.isSafeInteger(arg) || (arg as number) < 0) throw new ValidationError(where, 'takes a non-negative integer');
      return (p) => {
        const v = lookup(p, path);
        return Array.isArray(v) && v.length === arg;
      };
    }
    case '$prefix': {
      if (typeof arg !== 'string') throw new ValidationError(where, 'takes a string');
      // Like equality, an array field matches when any element does.
      return (p) => {
        const v = lookup(p, path);
        if (Array.isArray(v)) return v.some((x) => typeof x === 'string' && x.startsWith(arg));
        return typeof v === 'string' && v.startsWith(arg);
      };
    }
    default:
      throw new ValidationError(where, 'unknown operator');
  }
}
