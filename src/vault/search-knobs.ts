import { ValidationError } from '../errors.js';
import type { Metric } from '../format/identity.js';
import { groupHits, groupKeyOf, type GroupField } from './group-by.js';
import { cosine, mmrSelect, scaled } from './mmr.js';
import { MAX_K, searchByMode, type Checked, type Hit, type SearchOptions } from './search.js';
import type { VaultState } from './vault-state.js';

export const MAX_GROUP_SIZE = 100;

/** The knobs of SearchKnobs, validated, with their defaults. */
export interface CheckedKnobs {
  withVectors: boolean;
  minScore: number | null;
  maxDistance: number | null;
  mmr: { lambda: number; fetchK: number } | null;
  group: { field: GroupField; size: number } | null;
}

export function checkKnobs(options: SearchOptions, metric: Metric, k: number): CheckedKnobs {
  const mode = options.mode ?? 'vector';
  const withVectors = options.withVectors ?? false;
  if (typeof withVectors !== 'boolean') throw new ValidationError('withVectors', 'must be a boolean');
  const minScore = options.minScore ?? null;
  if (minScore !== null) {
    if (typeof minScore !== 'number' || !Number.isFinite(minScore)) throw new ValidationError('minScore', 'must be a finite number');
    if (mode === 'vector' && metric === 'l2') throw new ValidationError('minScore', 'an l2 score is a distance (lower is better): use maxDistance');
  }
  const maxDistance = options.maxDistance ?? null;
  if (maxDistance !== null) {
    if (typeof maxDistance !== 'number' || !Number.isFinite(maxDistance) || maxDistance < 0) throw new ValidationError('maxDistance', 'must be a finite number >= 0');
    if (mode !== 'vector') throw new ValidationError('maxDistance', `applies to vector search, not mode '${mode}' (use minScore)`);
  }
  let mmr: CheckedKnobs['mmr'] = null;
  if (options.mmr !== undefined && options.mmr !== false) {
    const m = options.mmr === true ? {} : options.mmr;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new ValidationError('mmr', 'must be true or { lambda?, fetchK? }');
    const lambda = m.lambda ?? 0.5;
    if (typeof lambda !== 'number' || !(lambda >= 0 && lambda <= 1)) throw new ValidationError('mmr.lambda', 'must be a number from 0 to 1');
    const fetchK = m.fetchK ?? Math.min(MAX_K, Math.max(4 * k, 20));
    if (!Number.isSafeInteger(fetchK) || fetchK < k || fetchK > MAX_K) throw new ValidationError('mmr.fetchK', `must be an integer from k (${k}) to ${MAX_K}`);
    mmr = { lambda, fetchK };
  }
  let group: CheckedKnobs['group'] = null;
  if (options.groupBy !== undefined) {
    const by = options.groupBy;
    if (typeof by !== 'string' || by.length === 0 || (by.startsWith('$') && by !== '$doc') || by.split('.').some((p) => p.length === 0)) {
      throw new ValidationError('groupBy', "must be a payload path or '$doc'");
    }
    const size = options.groupSize ?? 1;
    if (!Number.isSafeInteger(size) || size < 1 || size > MAX_GROUP_SIZE) throw new ValidationError('groupSize', `must be an integer from 1 to ${MAX_GROUP_SIZE}`);
    if (mmr) throw new ValidationError('mmr', 'cannot be combined with groupBy');
    group = { field: by === '$doc' ? '$doc' : by.split('.'), size };
  } else if (options.groupSize !== undefined) {
    throw new ValidationError('groupSize', 'needs groupBy');
  }
  return { withVectors, minScore, maxDistance, mmr, group };
}

/**
 * searchByMode with the knobs applied: the threshold first (hits come best first, so it keeps a
 * prefix), then MMR or grouping, which search deeper than k, then vectors on the hits returned.
 */
export async function searchWithKnobs(vault: VaultState, metric: Metric, query: { vector?: Float32Array; text?: string }, options: SearchOptions, checked: Checked, knobs: CheckedKnobs): Promise<Hit[]> {
  const mode = options.mode ?? 'vector';
  const keep = (h: Hit): boolean => {
    if (knobs.minScore !== null && !(h.score >= knobs.minScore)) return false;
    if (knobs.maxDistance !== null && !((metric === 'l2' ? h.score : (h.distance ?? Infinity)) <= knobs.maxDistance)) return false;
    return true;
  };
  const run = async (depth: number): Promise<{ hits: Hit[]; exhausted: boolean }> => {
    const all = await searchByMode(vault, metric, query, options, { k: depth, ef: checked.ef });
    const hits = all.filter(keep);
    // Fewer hits than asked for (or a threshold that cut some): nothing further down can count.
    return { hits, exhausted: all.length < depth || hits.length < all.length };
  };
  // Knobs that read the hits' vectors wait for them first, so that no write can land between
  // the search and the reads; a hit whose record is gone by then (a write in a gap between
  // promise steps) is dropped, not read.
  if (knobs.mmr || knobs.withVectors) await vault.vectorsReadable();
  const present = (found: Hit[]): Hit[] => found.filter((h) => vault.records.get(h.id) !== undefined);
  let hits: Hit[];
  if (knobs.mmr) {
    const pool = present((await run(knobs.mmr.fetchK)).hits);
    const vectors = pool.map((h) => vault.records.get(h.id)!.vector);
    const relevance = mode === 'vector' && query.vector ? vectors.map((v) => cosine(query.vector!, v)) : scaled(pool.map((h) => h.score), true);
    hits = mmrSelect(vectors, relevance, checked.k, knobs.mmr.lambda).map((i) => pool[i]!);
  } else if (knobs.group) {
    const { field, size } = knobs.group;
    const keyOf = (h: Hit) => groupKeyOf(vault.records.get(h.id)!, field);
    const total = vault.records.count;
    // Deeper until the first k groups are settled or every match has been seen.
    let depth = Math.max(checked.k * size * 4, 50);
    for (;;) {
      const { hits: found, exhausted } = await run(Math.min(depth, Math.max(total, 1)));
      const { groups, complete } = groupHits(present(found), keyOf, checked.k, size);
      if (complete || exhausted || depth >= total) {
        hits = groups.flatMap((g) => g.hits.map((h) => ({ ...h, groupKey: g.key })));
        break;
      }
      depth *= 4;
    }
  } else {
    hits = (await run(checked.k)).hits;
  }
  if (knobs.withVectors) {
    hits = present(hits);
    for (const h of hits) h.vector = vault.records.get(h.id)!.vector.slice();
  }
  return hits;
}
