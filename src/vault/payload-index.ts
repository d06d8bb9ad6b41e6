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
  /** The labels, as a Set once used; until then (an index loaded from a segment) null... */
  set: Set<number> | null;
  /** ...and the labels are this sorted array, as the segment held them. */
  sorted: Uint32Array | null;
  /** Scratch for removeMany: how many of its labels the call removes (0 outside it). */
  leaving: number;
}

/** An entry's labels as a Set, made from its loaded array on first use. */
function labelsOf(entry: Entry): Set<number> {
  if (entry.set === null) {
    entry.set = new Set(entry.sorted!);
    entry.sorted = null;
  }
  return entry.set;
}

function sizeOf(entry: Entry): number {
  return entry.set !== null ? entry.set.size : entry.sorted!.length;
}

/** One value's labels as a payload index section holds them (segments/payload-index-section.ts). */
export interface LoadedEntry {
  value: Scalar;
  /** Ascending, each below the vault's next label. */
  labels: Uint32Array;
}

/**
 * An index of one payload field (a dotted path): each scalar value, or each scalar element of an
 * array value, to the labels of the records holding it. Maintained through the log like the
 * records themselves; the planner uses it to find a filter's candidates without reading payloads.
 *
 * Each label also points back at its entries, so removing a record reads neither its payload
 * (which, for a record loaded from a segment, would mean decoding it) nor the field's path:
 * erasing 1,000 records is 1,000 set deletions.
 *
 * Loaded from a segment, an index is its values and a typed array of labels each: the Sets and
 * the back-pointers are made when first used (a value's Set when a filter or a write reaches
 * it, the back-pointers at the first write), not at open.
 */
export class PayloadIndex {
  private readonly path: string[];
  readonly values = new Map<string, Entry>();
  /** By label: the entry holding it, the entries (a record with several values), or nothing; null until a write needs it. */
  private byLabel: (Entry | Entry[] | undefined)[] | null = [];

  constructor(readonly field: string) {
    this.path = field.split('.');
  }

  add(label: number, payload: Payload | null): void {
    for (const v of scalars(lookup(payload, this.path))) {
      const key = keyOf(v);
      let entry = this.values.get(key);
      if (!entry) this.values.set(key, (entry = { key, value: v, set: new Set(), sorted: null, leaving: 0 }));
      this.attach(label, entry);
    }
  }

  /** The back-pointers, built from the entries the first time a write needs them. */
  private backs(): (Entry | Entry[] | undefined)[] {
    if (this.byLabel === null) {
      this.byLabel = [];
      for (const entry of this.values.values()) for (const label of entry.set ?? entry.sorted!) this.point(label, entry);
    }
    return this.byLabel;
  }

  private point(label: number, entry: Entry): void {
    const byLabel = this.byLabel!;
    while (byLabel.length < label) byLabel.push(undefined);
    const held = byLabel[label];
    if (held === undefined) byLabel[label] = entry;
    else if (Array.isArray(held)) held.push(entry);
    else byLabel[label] = [held, entry];
  }

  private attach(label: number, entry: Entry): void {
    this.backs();
    const labels = labelsOf(entry);
    if (labels.has(label)) return;
    labels.add(label);
    this.point(label, entry);
  }

  /** Removes every value `label` holds here. */
  remove(label: number): void {
    const byLabel = this.backs();
    const held = byLabel[label];
    if (held === undefined) return;
    byLabel[label] = undefined;
    if (Array.isArray(held)) for (const entry of held) this.detach(label, entry);
    else this.detach(label, held);
  }

  /**
   * remove() of many labels. An entry losing every label it holds is dropped whole (one clear,
   * not a set deletion per label): erasing what an equality filter on this field matched empties
   * exactly that entry, so an eraseWhere by an indexed value deletes no set members one by one.
   */
  removeMany(labels: readonly number[]): void {
    const byLabel = this.backs();
    const held: (Entry | Entry[])[] = [];
    const kept: number[] = [];
    const touched: Entry[] = [];
    const note = (entry: Entry) => {
      if (entry.leaving++ === 0) touched.push(entry);
    };
    for (const label of labels) {
      const h = byLabel[label];
      if (h === undefined) continue;
      byLabel[label] = undefined;
      held.push(h);
      kept.push(label);
      if (Array.isArray(h)) for (const entry of h) note(entry);
      else note(h);
    }
    for (const entry of touched) {
      if (entry.leaving < sizeOf(entry)) continue;
      // -1: dropped whole, so the pass below skips it.
      entry.leaving = -1;
      // A Set handed out by equal() empties too, as after remove().
      if (entry.set) entry.set.clear();
      else entry.set = new Set();
      entry.sorted = null;
      this.values.delete(entry.key);
    }
    for (let i = 0; i < held.length; i++) {
      const h = held[i]!;
      if (!Array.isArray(h)) {
        if (h.leaving !== -1) labelsOf(h).delete(kept[i]!);
      } else for (const entry of h) if (entry.leaving !== -1) labelsOf(entry).delete(kept[i]!);
    }
    for (const entry of touched) entry.leaving = 0;
  }

  private detach(label: number, entry: Entry): void {
    const labels = labelsOf(entry);
    labels.delete(label);
    if (labels.size === 0) this.values.delete(entry.key);
  }

  equal(value: Scalar): ReadonlySet<number> {
    const entry = this.values.get(keyOf(value));
    return entry ? labelsOf(entry) : new Set();
  }

  /** Labels whose value compares with `bound` (same type only, as filters do). */
  range(op: '$gt' | '$gte' | '$lt' | '$lte', bound: number | string): Set<number> {
    const out = new Set<number>();
    for (const entry of this.values.values()) {
      const value = entry.value;
      if (typeof value !== typeof bound) continue;
      const v = value as number | string;
      const ok = op === '$gt' ? v > bound : op === '$gte' ? v >= bound : op === '$lt' ? v < bound : v <= bound;
      if (ok) for (const l of entry.set ?? entry.sorted!) out.add(l);
    }
    return out;
  }

  /** For persistence: [[value, [labels...]], ...] in key order. */
  dump(): [Scalar, number[]][] {
    return [...this.values.entries()].sort(([a], [b]) => byCodeUnits(a, b)).map(([, e]) => [e.value, e.set ? [...e.set].sort((x, y) => x - y) : Array.from(e.sorted!)]);
  }

  /** From dump(); null when a label is not below `labelLimit` (the vault's next label): a malformed section. */
  static load(field: string, entries: [Scalar, number[]][], labelLimit: number): PayloadIndex | null {
    const index = new PayloadIndex(field);
    index.byLabel = null;
    for (const [value, labels] of entries) {
      let ascending = true;
      for (let i = 0; i < labels.length; i++) {
        const label = labels[i]!;
        if (!Number.isSafeInteger(label) || label < 0 || label >= labelLimit) return null;
        if (i > 0 && label <= labels[i - 1]!) ascending = false;
      }
      const key = keyOf(value);
      const held = index.values.get(key);
      if (held || !ascending) {
        // Not as dump() writes it (a value twice, labels out of order): merged through a Set.
        const entry = held ?? { key, value, set: new Set<number>(), sorted: null, leaving: 0 };
        index.values.set(key, entry);
        const set = labelsOf(entry);
        for (const label of labels) set.add(label);
      } else index.values.set(key, { key, value, set: null, sorted: Uint32Array.from(labels), leaving: 0 });
    }
    return index;
  }

  /** From a payload index section read as typed arrays (each entry's labels checked and ascending). */
  static loaded(field: string, entries: readonly LoadedEntry[]): PayloadIndex {
    const index = new PayloadIndex(field);
    index.byLabel = null;
    for (const { value, labels } of entries) {
      const key = keyOf(value);
      const held = index.values.get(key);
      if (held) {
        const set = labelsOf(held);
        for (const label of labels) set.add(label);
      } else index.values.set(key, { key, value, set: null, sorted: labels, leaving: 0 });
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
