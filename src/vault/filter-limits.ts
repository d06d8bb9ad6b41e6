import { ValidationError } from '../errors.js';

/**
 * Limits on a filter's shape (README "Filters"), checked before it is compiled: compiling and
 * running a filter recurse over it, so a 10,000-deep $or would otherwise overflow the stack
 * (an untyped RangeError) and a huge one would hold the event loop.
 */
export const MAX_FILTER_DEPTH = 32;
/** Objects, arrays and their entries counted together ($in lists included). */
export const MAX_FILTER_NODES = 100_000;

/**
 * Walks the filter without recursion: every object in it must be a plain object (a class
 * instance or an object with a prototype set through a `__proto__` literal would hide keys from
 * the filter), and the nesting and size must stay within the limits. ValidationError otherwise.
 */
export function checkFilterLimits(filter: unknown, at = 'filter'): void {
  const stack: { value: unknown; depth: number; at: string }[] = [{ value: filter, depth: 0, at }];
  let nodes = 0;
  while (stack.length > 0) {
    const { value, depth, at: where } = stack.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_FILTER_DEPTH) throw new ValidationError(where, `nests deeper than ${MAX_FILTER_DEPTH} levels`);
    if (!Array.isArray(value)) {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new ValidationError(where, 'must be a plain object');
    }
    const entries = Array.isArray(value) ? value.map((v, i) => [`[${i}]`, v] as const) : Object.entries(value).map(([k, v]) => [`.${k}`, v] as const);
    nodes += 1 + entries.length;
    if (nodes > MAX_FILTER_NODES) throw new ValidationError(at, `has more than ${MAX_FILTER_NODES} parts`);
    for (const [key, child] of entries) stack.push({ value: child, depth: depth + 1, at: `${where}${key}` });
  }
}
