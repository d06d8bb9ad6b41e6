import { compileFilter, type Filter, type Predicate } from './filter.js';
import { answeredByIndexes, candidates } from './payload-index.js';
import type { StoredRecord } from './stored-record.js';
import type { VaultState } from './vault-state.js';

/** Records a predicate accepts: payload and, for `$document`, the record's document. */
export function accepts(predicate: Predicate, record: StoredRecord): boolean {
  return predicate(record.payload, record.doc);
}

/**
 * The records of `vault` matching `filter` (already validated or not: compiling validates), by
 * the cheapest route: when payload indexes answer the filter exactly, their label sets are the
 * matches and no payload is read; when they only narrow it, the filter runs on their candidates;
 * otherwise on every record. Unordered.
 */
export function matchingRecords(vault: VaultState, filter: Filter, predicate: Predicate = compileFilter(filter)): StoredRecord[] {
  const out: StoredRecord[] = [];
  const indexes = vault.payloadIndexes;
  const labels = indexes.size > 0 ? candidates(filter, indexes) : null;
  if (labels) {
    const exact = answeredByIndexes(filter, indexes);
    for (const label of labels) {
      const r = vault.records.byLabelGet(label);
      if (r && (exact || accepts(predicate, r))) out.push(r);
    }
    return out;
  }
  for (const r of vault.records.values()) if (accepts(predicate, r)) out.push(r);
  return out;
}

/** How many records match `filter`: an index-answered filter is counted without touching a record. */
export function countMatching(vault: VaultState, filter: Filter): number {
  const predicate = compileFilter(filter);
  if (isEmptyFilter(filter)) return vault.records.count;
  const indexes = vault.payloadIndexes;
  if (indexes.size > 0 && answeredByIndexes(filter, indexes)) {
    // Index label sets hold live labels only (erase and upsert remove theirs).
    return candidates(filter, indexes)?.size ?? 0;
  }
  return matchingRecords(vault, filter, predicate).length;
}

/** Whether a filter is `{}` (matches everything). */
export function isEmptyFilter(filter: unknown): boolean {
  return typeof filter === 'object' && filter !== null && !Array.isArray(filter) && Object.keys(filter).length === 0;
}
