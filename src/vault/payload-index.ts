import { isScalar, lookup, type Scalar } from './filter-terms.js';
import type { Payload, PayloadValue } from './payload.js';
import { byCodeUnits } from '../util/code-units.js';

/** Index keys keep types apart: the number 1 and the string "1" are different values. */
function keyOf(value: Scalar): string {
  return value === null ? 'z' : `${typeof value === 'number' ? 'n' : typeof value === 'string' ? 's' : 'b'}${String(value)}`;
}

function scalars(value: PayloadValue | undefined): Scalar[] {
  if (Array.isArray(value)) return value.filter(isScalar);
  return isScalar(value) ? [value] : [];
}

/** One indexed value and the labels of the records holding it. */
interface Entry {
  key: string;
  value: Scalar;
  labels: Set<number>;
  /** Scratch for removeMany: how many of its labels the call removes (0 outside it). */
  leaving: number;
}

/**
 * An index of one payload field (a dotted path): each scalar value, or each scalar element of an
 * array value, to the labels of the records holding it. Maintained through the log like the
 * records themselves; the planner uses it to find a filter's candidates without reading payloads.
 *
 * Each label also points back at its entries, so removing a record reads neither its payload
 * (which, for a record loaded from a segment, would mean decoding it) nor the field's path:
 * erasing 1,000 records is 1,000 set deletions.
 */
export class PayloadIndex {
  private readonly path: string[];
  readonly values = new Map<string, Entry>();
  /** By label: the entry holding it, the entries (a record with several values), or nothing. */
  private readonly byLabel: (Entry | Entry[] | undefined)[] = [];

  constructor(readonly field: string) {
    this.path = field.split('.');
  }

  add(label: number, payload: Payload | null): void {
    for (const v of scalars(lookup(payload, this.path))) {
      const key = keyOf(v);
      let entry = this.values.get(key);
      if (!entry) this.values.set(key, (entry = { key, value: v, labels: new Set(), leaving: 0 }));
      this.attach(label, entry);
    }
  }

  private attach(label: number, entry: Entry): void {
    if (entry.labels.has(label)) return;
    entry.labels.add(label);
    while (this.byLabel.length < label) this.byLabel.push(undefined);
    const held = this.byLabel[label];
    if (held === undefined) this.byLabel[label] = entry;
    else if (Array.isArray(held)) held.push(entry);
    else this.byLabel[label] = [held, entry];
  }

  /** Removes every value `label` holds here. */
  remove(label: number): void {
    const held = this.byLabel[label];
    if (held === undefined) return;
    this.byLabel[label] = undefined;
    if (Array.isArray(held)) for (const entry of held) this.detach(label, entry);
    else this.detach(label, held);
  }

  /**
   * remove() of many labels. An entry losing every label it holds is dropped whole (one clear,
   * not a set deletion per label): erasing what an equality filter on this field matched empties
   * exactly that entry, so an eraseWhere by an indexed value deletes no set members one by one.
   */
  removeMany(labels: readonly number[]): void {
    const held: (Entry | Entry[])[] = [];
    const kept: number[] = [];
    const touched: Entry[] = [];
    const note = (entry: Entry) => {
      if (entry.leaving++ === 0) touched.push(entry);
    };
    for (const label of labels) {
      const h = this.byLabel[label];
      if (h === undefined) continue;
      this.byLabel[label] = undefined;
      held.push(h);
      kept.push(label);
      if (Array.isArray(h)) for (const entry of h) note(entry);
      else note(h);
    }
    for (const entry of touched) {
      if (entry.leaving < entry.labels.size) continue;
      // -1: dropped whole, so the pass below skips it.
      entry.leaving = -1;
      entry.labels.clear();
      this.values.delete(entry.key);
    }
    for (let i = 0; i < held.length; i++) {
      const h = held[i]!;
      if (!Array.isArray(h)) {
        if (h.leaving !== -1) h.labels.delete(kept[i]!);
      } else for (const entry of h) if (entry.leaving !== -1) entry.labels.delete(kept[i]!);
    }
    for (const entry of touched) entry.leaving = 0;
  }

  private detach(label: number, entry: Entry): void {
    entry.labels.delete(label);
    if (entry.labels.size === 0) this.values.delete(entry.key);
  }

  equal(value: Scalar): ReadonlySet<number> {
    return this.values.get(keyOf(value))?.labels ?? new Set();
  }

  /** Labels whose value compares with `bound` (same type only, as filters do). */
  range(op: '$gt' | '$gte' | '$lt' | '$lte', bound: number | string): Set<number> {
    const out = new Set<number>();
    for (const { value, labels } of this.values.values()) {
      if (typeof value !== typeof bound) continue;
      const v = value as number | string;
      const ok = op === '$gt' ? v > bound : op === '$gte' ? v >= bound : op === '$lt' ? v < bound : v <= bound;
      if (ok) for (const l of labels) out.add(l);
    }
    return out;
  }

  /** For persistence: [[value, [labels...]], ...] in key order. */
  dump(): [Scalar, number[]][] {
    return [...this.values.entries()].sort(([a], [b]) => byCodeUnits(a, b)).map(([, e]) => [e.value, [...e.labels].sort((x, y) => x - y)]);
  }

  /** From dump(); null when a label is not below `labelLimit` (the vault's next label): a malformed section. */
  static load(field: string, entries: [Scalar, number[]][], labelLimit: number): PayloadIndex | null {
    const index = new PayloadIndex(field);
    for (const [value, labels] of entries) {
      const key = keyOf(value);
      const entry = index.values.get(key) ?? { key, value, labels: new Set<number>(), leaving: 0 };
      index.values.set(key, entry);
      for (const label of labels) {
        if (!Number.isSafeInteger(label) || label < 0 || label >= labelLimit) return null;
        index.attach(label, entry);
      }
    }
    return index;
  }
}

/** The labels in both sets, built by walking the smaller one. */
function intersect(a: ReadonlySet<number>, b: ReadonlySet<number>): ReadonlySet<number> {
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  return new Set([...small].filter((l) => large.has(l)));
}

/**
 * The labels a filter can only match, from payload indexes: equality, $in and ranges on indexed
 * fields, intersected across fields and $and, united across $or. Null when the indexes cannot
 * narrow it (the caller then scans). Always a superset of the matches: the filter still runs.
 */
export function candidates(filter: unknown, indexes: ReadonlyMap<string, PayloadIndex>): ReadonlySet<number> | null {
  if (typeof filter !== 'object' || filter === null) return null;
  // The first set is used as it is (read only); only an intersection makes a new one.
  let result: ReadonlySet<number> | null = null;
  const narrow = (set: ReadonlySet<number> | null) => {
    if (set !== null) result = result === null ? set : intersect(result, set);
  };
  for (const [key, cond] of Object.entries(filter)) {
    if (key === '$and' && Array.isArray(cond)) {
      for (const part of cond) narrow(candidates(part, indexes));
    } else if (key === '$or' && Array.isArray(cond)) {
      const parts = cond.map((part) => candidates(part, indexes));
      if (parts.every((p) => p !== null)) narrow(new Set(parts.flatMap((p) => [...p!])));
    } else {
      const index = indexes.get(key);
      if (index) narrow(fieldCandidates(index, cond));
    }
  }
  return result;
}

/**
 * Whether the indexes answer `filter` exactly: every condition is equality, $in or a range on an
 * indexed field (combined by $and, or top-level fields). Then candidates() is the match set.
 */
export function answeredByIndexes(filter: unknown, indexes: ReadonlyMap<string, PayloadIndex>): boolean {
  // {} matches every record, which no index lists: it is not answered by them.
  if (typeof filter !== 'object' || filter === null || Object.keys(filter).length === 0) return false;
  return Object.entries(filter).every(([key, cond]) => {
    if (key === '$and') return Array.isArray(cond) && cond.every((part) => answeredByIndexes(part, indexes));
    if (key.startsWith('$') || !indexes.has(key)) return false;
    if (isScalar(cond)) return true;
    if (typeof cond !== 'object' || cond === null || Array.isArray(cond)) return false;
    return Object.entries(cond).every(
      ([op, arg]) => (op === '$eq' && isScalar(arg)) || (op === '$in' && Array.isArray(arg) && arg.every(isScalar)) || (['$gt', '$gte', '$lt', '$lte'].includes(op) && (typeof arg === 'number' || typeof arg === 'string')),
    );
  });
}

function fieldCandidates(index: PayloadIndex, cond: unknown): ReadonlySet<number> | null {
  const scalar = isScalar;
  if (scalar(cond)) return index.equal(cond);
  if (typeof cond !== 'object' || cond === null) return null;
  let result: ReadonlySet<number> | null = null;
  const narrow = (set: ReadonlySet<number>) => {
    result = result === null ? set : intersect(result, set);
  };
  for (const [op, arg] of Object.entries(cond)) {
    if (op === '$eq' && scalar(arg)) narrow(index.equal(arg));
    else if (op === '$in' && Array.isArray(arg) && arg.every(scalar)) narrow(new Set(arg.flatMap((a) => [...index.equal(a)])));
    else if ((op === '$gt' || op === '$gte' || op === '$lt' || op === '$lte') && (typeof arg === 'number' || typeof arg === 'string')) narrow(index.range(op, arg));
  }
  return result;
}
