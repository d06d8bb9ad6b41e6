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
 * With it, the route is chosen by cost, in nanoseconds on the machine the constants were fitted
 * on (README "Real vectors (#19)" says how; only their ratios matter):
 * - a scan reads matches x dimension floats, SCAN_NS_PER_FLOAT each;
 * - a graph search costs about unit(dimension) = UNIT_NS + UNIT_NS_PER_FLOAT x dimension per unit
 *   of ef (hnswlib's search time grows about linearly with ef);
 * - a post-filter searches at ef max(ef, wide), but to find the k nearest matches as surely as
 *   the filtered graph search does, it needs about POST_FILTER_RECALL_EF times that ef (measured
 *   on GloVe: ef 600 against the 200 that 2k/selectivity gives, for recall 0.99): its cost is
 *   counted at that ef, so a scan is not given up for a faster but less exact answer;
 * - a filtered graph search visits about 1/selectivity times as many nodes as an unfiltered one,
 *   and each costs a call of the filter as well (FILTER_CALL_NS per unit of ef).
 * The scan is taken when it costs no more than the route the count rule would take.
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
export const SCAN_NS_PER_FLOAT = 0.5;
export const UNIT_NS = 1100;
export const UNIT_NS_PER_FLOAT = 4;
export const POST_FILTER_RECALL_EF = 3;
export const FILTER_CALL_NS = 300;

/** Estimated nanoseconds of each route (postFilter: null when the filter is too narrow for one). */
export function routeCosts(p: FilterPlanInput): { scan: number; postFilter: number | null; graph: number } {
  const matches = Math.max(p.matches, 1);
  const selectivity = Math.min(1, matches / Math.max(p.total, 1));
  const ef = Math.max(p.ef ?? DEFAULT_EF, p.k);
  const wide = Math.ceil((2 * p.k * p.total) / matches);
  const unit = UNIT_NS + UNIT_NS_PER_FLOAT * p.dimension;
  const scan = p.matches * p.dimension * SCAN_NS_PER_FLOAT;
  const postFilter = wide <= POST_FILTER_MAX_FACTOR * p.k ? POST_FILTER_RECALL_EF * Math.max(ef, wide) * unit : null;
  const graph = (ef / selectivity) * (unit + FILTER_CALL_NS);
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
