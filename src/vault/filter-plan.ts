/**
 * How a filtered vector search runs (search.ts carries the plan out):
 * - 'scan': an exact scan of the matching records (recall 1);
 * - 'post-filter': the graph's nearest `wide` records at ef max(ef, wide), then the filter;
 * - 'graph': the graph search with the filter tested on every node it visits.
 *
 * Without the native scan (QUIVER_NATIVE=0, or the addon not built), the choice is by count as it
 * always was: a small set (at most 2,000 matches or 2% of the vault) is scanned, a broad one
 * (10% or more: `wide` at most 20k) is post-filtered, the rest searched in the graph.
 *
 * With it, a scan costs about SCAN_NS_PER_FLOAT per float read (matches x dimension) and a graph
 * search about GRAPH_NS_PER_FLOAT per float of each distance it computes, plus a per-node
 * overhead, over the nodes it visits: about VISITS_PER_EF x ef for a post-filter at ef `wide`,
 * and VISITS_PER_EF x ef / selectivity for a filtered graph search, each visit then also paying
 * the filter's call (FILTER_CALL_NS; hnswlib-node calls back into JavaScript). The scan is taken
 * when it is the cheaper; README "Real vectors (#19)" gives the measurements behind the constants.
 */
export type FilteredRoute = 'scan' | 'post-filter' | 'graph';

export interface FilterPlanInput {
  /** Matches, or the payload indexes' estimate of them (a superset's size). */
  matches: number;
  /** Records in the vault. */
  total: number;
  k: number;
  /** The caller's ef (undefined: the index's default, DEFAULT_EF). */
  ef: number | undefined;
  dimension: number;
  /** The native scan can serve this search (the addon is built, and the set is laid out for it). */
  native: boolean;
}

/** A filter matching at most this many records is scanned (without the native scan)... */
export const EXACT_SCAN_MAX_MATCHES = 2_000;
/** ...or at most this fraction of the vault. */
export const EXACT_SCAN_MAX_FRACTION = 0.02;
/** A post-filter reads at most this many times k from the graph (selectivity >= 2/20 = 10%). */
export const POST_FILTER_MAX_FACTOR = 20;
/** The search breadth the index uses when the caller gives none (hnsw-index.ts DEFAULT_EF_SEARCH). */
const DEFAULT_EF = 64;

// Calibration (README "Real vectors (#19)": GloVe 100k x 100 and the mixture 100k x 384).
export const SCAN_NS_PER_FLOAT = 0.35;
export const GRAPH_NS_PER_FLOAT = 0.6;
export const NODE_NS = 60;
export const FILTER_CALL_NS = 120;
export const VISITS_PER_EF = 3;

/** Estimated nanoseconds of each route (README "Real vectors (#19)" says how they were fitted). */
export function routeCosts(p: FilterPlanInput): { scan: number; postFilter: number | null; graph: number } {
  const selectivity = Math.min(1, Math.max(p.matches, 1) / Math.max(p.total, 1));
  const ef = Math.max(p.ef ?? DEFAULT_EF, p.k);
  const wide = Math.ceil((2 * p.k * p.total) / Math.max(p.matches, 1));
  const node = p.dimension * GRAPH_NS_PER_FLOAT + NODE_NS;
  const scan = p.matches * p.dimension * SCAN_NS_PER_FLOAT;
  const postFilter = wide <= POST_FILTER_MAX_FACTOR * p.k ? VISITS_PER_EF * Math.max(ef, wide) * node : null;
  const graph = ((VISITS_PER_EF * ef) / selectivity) * (node + FILTER_CALL_NS);
  return { scan, postFilter, graph };
}

/** The route for a filtered search on a graph index (a flat index, or `exact: true`, always scans). */
export function planFiltered(p: FilterPlanInput): FilteredRoute {
  const wide = Math.ceil((2 * p.k * p.total) / Math.max(p.matches, 1));
  const broad = wide <= POST_FILTER_MAX_FACTOR * p.k;
  if (!p.native) {
    if (p.matches <= EXACT_SCAN_MAX_MATCHES || p.matches <= p.total * EXACT_SCAN_MAX_FRACTION) return 'scan';
    return broad ? 'post-filter' : 'graph';
  }
  const cost = routeCosts(p);
  const graph = cost.postFilter ?? cost.graph;
  // A set small enough for the count rule is always scanned: the scan never costs more than JavaScript's.
  if (cost.scan <= graph || p.matches <= EXACT_SCAN_MAX_MATCHES || p.matches <= p.total * EXACT_SCAN_MAX_FRACTION) return 'scan';
  return broad ? 'post-filter' : 'graph';
}
