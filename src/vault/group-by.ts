import { documentIdOf } from './document.js';
import { lookup } from './filter-terms.js';
import type { StoredRecord } from './stored-record.js';
import type { Hit } from './search.js';

export type GroupKey = string | number | boolean;

/** `'$doc'`, or a payload path split at its dots. */
export type GroupField = '$doc' | readonly string[];

/**
 * A hit's group: for '$doc' its chunk's document id (a record that is not a chunk is its own
 * document, keyed by its id); for a payload path a string, number or boolean value there.
 * Undefined (the hit is left out) when the path holds nothing scalar.
 */
export function groupKeyOf(record: StoredRecord, field: GroupField): GroupKey | undefined {
  if (field === '$doc') return documentIdOf(record.id, record.doc);
  const v = lookup(record.payload, field);
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) ? v : undefined;
}

/**
 * Groups hits (best first) by key: groups are ordered by their best hit, each keeps its best
 * `size` hits. `complete` is true when the first k groups are final: k groups exist and each
 * of them is full, so hits further down the ranking could change none of them.
 */
export function groupHits(hits: readonly Hit[], keyOf: (hit: Hit) => GroupKey | undefined, k: number, size: number): { groups: { key: GroupKey; hits: Hit[] }[]; complete: boolean } {
  // Keys by type and value: the number 1 and the string "1" are different groups.
  const byKey = new Map<string, { key: GroupKey; hits: Hit[] }>();
  const groups: { key: GroupKey; hits: Hit[] }[] = [];
  for (const hit of hits) {
    const key = keyOf(hit);
    if (key === undefined) continue;
    const tag = `${typeof key}:${String(key)}`;
    let g = byKey.get(tag);
    if (!g) {
      g = { key, hits: [] };
      byKey.set(tag, g);
      groups.push(g);
    }
    if (g.hits.length < size) g.hits.push(hit);
  }
  const first = groups.slice(0, k);
  return { groups: first, complete: first.length === k && first.every((g) => g.hits.length === size) };
}
