import { ValidationError } from '../errors.js';
import { decode } from '../format/codec.js';
import type { Metric } from '../format/identity.js';
import { exactTopK } from './exact-search.js';
import { compileFilter, type Filter } from './filter.js';
import type { Neighbor } from './index/vector-index.js';
import { scoreFromDistance } from './metric.js';
import type { Payload } from './payload.js';
import type { ChunkInfo } from './document.js';
import type { StoredRecord } from './record-store.js';
import type { VaultState } from './vault-state.js';

export interface SearchOptions {
  /** How many hits (default 10, at most 10,000). */
  k?: number;
  /** HNSW search breadth (default 64, raised to k when smaller). */
  ef?: number;
  /** Payload filter (README "Filters"). */
  filter?: Filter;
  /** Skip the graph: exact search over every (matching) record. */
  exact?: boolean;
}

export interface Hit {
  id: string;
  /** cosine similarity, dot product, or Euclidean distance (l2: lower is better). */
  score: number;
  /** The metric's distance as hnswlib defines it; hits are sorted by it, nearest first. */
  distance: number;
  payload: Payload | null;
  /** For document records: the text and where the chunk sits in its document. */
  document?: { text: string; chunk: ChunkInfo | null };
}

export const MAX_K = 10_000;
/** A filter matching at most this many records is answered by an exact scan of them. */
const EXACT_SCAN_MAX_MATCHES = 2_000;
/** ...or at most this fraction of the vault. */
const EXACT_SCAN_MAX_FRACTION = 0.02;

export function checkSearchOptions(options: SearchOptions): { k: number; ef: number | undefined } {
  const k = options.k ?? 10;
  if (!Number.isSafeInteger(k) || k < 1 || k > MAX_K) throw new ValidationError('k', `must be an integer from 1 to ${MAX_K}`);
  const ef = options.ef;
  if (ef !== undefined && (!Number.isSafeInteger(ef) || ef < 1 || ef > 100_000)) throw new ValidationError('ef', 'must be an integer from 1 to 100000');
  return { k, ef };
}

/**
 * Plans and runs one search. Without a filter: the graph. With one: the matching set first;
 * a small set is scanned exactly, a large one is searched in the graph restricted to it, and
 * a graph search that comes back short of k (while k matches exist) falls back to the exact scan.
 */
export async function searchVault(vault: VaultState, metric: Metric, query: Float32Array, options: SearchOptions): Promise<Hit[]> {
  const { k, ef } = checkSearchOptions(options);
  const predicate = options.filter === undefined ? null : compileFilter(options.filter);
  const total = vault.records.count;
  let neighbors: Neighbor[];
  if (predicate === null) {
    const want = Math.min(k, total);
    neighbors = options.exact || vault.index.type === 'flat' ? exactTopK(metric, query, vault.records.values(), k) : await vault.index.search(query, k, { ef });
    if (neighbors.length < want) neighbors = exactTopK(metric, query, vault.records.values(), k);
  } else {
    const matching: StoredRecord[] = [];
    for (const r of vault.records.values()) if (predicate(r.payload)) matching.push(r);
    const want = Math.min(k, matching.length);
    const small = matching.length <= EXACT_SCAN_MAX_MATCHES || matching.length <= total * EXACT_SCAN_MAX_FRACTION;
    if (options.exact || small || vault.index.type === 'flat') {
      neighbors = exactTopK(metric, query, matching, k);
    } else {
      const allowed = new Set(matching.map((r) => r.label));
      neighbors = await vault.index.search(query, k, { ef, accept: (label) => allowed.has(label) });
      if (neighbors.length < want) neighbors = exactTopK(metric, query, matching, k);
    }
  }
  const hits: Hit[] = [];
  for (const n of neighbors) {
    const record = vault.records.byLabelGet(n.label);
    if (!record) continue; // the graph may briefly know a label the store has dropped
    const hit: Hit = { id: record.id, score: scoreFromDistance(metric, n.distance), distance: n.distance, payload: copyPayload(record.payloadBytes) };
    if (record.doc) hit.document = { text: record.doc.text, chunk: record.doc.chunk ? { ...record.doc.chunk } : null };
    hits.push(hit);
  }
  return hits;
}

/** A caller gets its own copy of a payload, never the stored object. */
export function copyPayload(bytes: Uint8Array | null): Payload | null {
  return bytes ? (decode(bytes) as Payload) : null;
}
