/**
 * The retrieval options every search mode takes on top of its own (README "Search options"),
 * and what they add to a hit. Kept apart from search.ts so the modes and these knobs evolve
 * separately: search-knobs.ts applies them around searchByMode.
 */
export interface SearchKnobs {
  /** Each hit carries its stored `vector` (a copy). */
  withVectors?: boolean;
  /**
   * Drop hits scoring below this. For an l2 vault's vector search, whose score is a distance,
   * use `maxDistance` instead. The search may then return fewer than k hits.
   */
  minScore?: number;
  /** Vector search: drop hits farther than this (the hit's `score` for l2, its `distance` otherwise). */
  maxDistance?: number;
  /**
   * Maximal marginal relevance over the fetchK best candidates (default max(4k, 20)), by the
   * stored vectors; `lambda` (default 0.5) weighs relevance against novelty. `true` takes the defaults.
   */
  mmr?: boolean | { lambda?: number; fetchK?: number };
  /**
   * Group hits by a payload path, or by `'$doc'` (a chunk's document id; a record that is not a
   * chunk is its own document). Returns up to k groups, best first, flattened: each group's best
   * `groupSize` hits in a row, each hit carrying `groupKey`. Hits without a scalar key are left out.
   */
  groupBy?: string;
  /** Hits per group (default 1, at most 100). */
  groupSize?: number;
}

/** What the knobs add to a hit. */
export interface HitExtras {
  /** With `withVectors: true`: the record's vector. */
  vector?: Float32Array;
  /** With `groupBy`: the key of the hit's group. */
  groupKey?: string | number | boolean;
}
