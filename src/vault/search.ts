import { ValidationError } from '../errors.js';
import type { Metric } from '../format/identity.js';
import { exactTopK, type Candidate } from './exact-search.js';
import { compileFilter, type Filter, type Predicate } from './filter.js';
import type { Neighbor } from './index/vector-index.js';
import { scoreFromDistance } from './metric.js';
import { clonePayload, type Payload } from './payload.js';
import { documentIdOf, type ChunkInfo } from './document.js';
import { answeredByIndexes, candidates } from './payload-index.js';
import type { Bm25Params } from '../text/text-index.js';
import { queryAcronyms } from '../text/acronyms.js';
import type { StoredRecord } from './stored-record.js';
import { defaultMode, fuse, fusionOptions, type DocumentScores, type FusionRule } from './fusion.js';
import type { VaultState } from './vault-state.js';
import type { HitExtras, SearchKnobs } from './search-options.js';
import { byCodeUnits } from '../util/code-units.js';
import { EXACT_SCAN_MAX_MATCHES, planFiltered } from './filter-plan.js';
import { rowScanner, type ScanSet } from './row-scan.js';
import { exactScanOf, scanSetFor } from './filter-scan.js';

export interface SearchOptions extends SearchKnobs {
  /** How many hits (default 10, at most 10,000). */
  k?: number;
  /** HNSW search breadth (default 64, raised to k when smaller). */
  ef?: number;
  /** Payload filter (README "Filters"). */
  filter?: Filter;
  /** Skip the graph: exact search over every (matching) record. */
  exact?: boolean;
  /**
   * 'vector', 'text' (BM25 over document text) or 'hybrid' (both, fused). Default: 'hybrid' for
   * a text query on a vault holding documents, else 'vector' (README "Full-text and hybrid search" says why).
   */
  mode?: 'vector' | 'text' | 'hybrid';
  /** BM25 parameters for 'text' and 'hybrid'. */
  bm25?: Bm25Params;
  /**
   * Hybrid fusion: 'weighted' (default: normalised scores, `textWeight` on text), 'rrf'
   * (reciprocal rank fusion), or weights `{ vector, text }` (weighted, textWeight = text / sum).
   */
  fusion?: FusionRule | { vector: number; text: number };
  /** Weighted fusion: the weight of the text score, from 0 to 1 (default DEFAULT_TEXT_WEIGHT). */
  textWeight?: number;
  /**
   * Weighted fusion: the share of the text score that is the BM25 of the hit's whole document
   * (all its chunks) rather than of the hit alone, from 0 to 1 (default DEFAULT_DOCUMENT_WEIGHT;
   * 0 is the fusion of earlier releases).
   */
  documentWeight?: number;
  /**
   * Hybrid: add the acronyms the query spells with its capitals to its text terms ("GNU Bourne
   * Again SHell" also matches "bash"; src/text/acronyms.ts). Default true.
   */
  acronyms?: boolean;
  /** The RRF constant (default 60). */
  rrfK?: number;
  /** Hybrid: how deep each ranking goes before fusion (default max(4k, 50)). */
  candidates?: number;
  /**
   * Hybrid: text hits scoring below this fraction of the best text score stay out of the fusion
   * (default 0.1), so documents matching only common query terms do not swamp a rare exact match.
   */
  textFloor?: number;
}

export interface Hit extends HitExtras {
  id: string;
  /**
   * vector mode: cosine similarity, dot product, or Euclidean distance (l2: lower is better);
   * text mode: the BM25 score; hybrid: the fused score. Hits come best first.
   */
  score: number;
  /** vector mode: the metric's distance as hnswlib defines it. */
  distance?: number;
  /**
   * hybrid mode: the 1-based rank in each ranking that found the hit, and its score there;
   * `scores.document` is the BM25 of the hit's whole document (weighted fusion).
   */
  ranks?: { vector?: number; text?: number };
  scores?: { vector?: number; text?: number; document?: number };
  payload: Payload | null;
  /** For document records: the text and where the chunk sits in its document. */
  document?: { text: string; chunk: ChunkInfo | null };
}

export const MAX_K = 10_000;
export type SearchMode = NonNullable<SearchOptions['mode']>;

export function checkSearchOptions(options: SearchOptions): { k: number; ef: number | undefined } {
  const k = options.k ?? 10;
  if (!Number.isSafeInteger(k) || k < 1 || k > MAX_K) throw new ValidationError('k', `must be an integer from 1 to ${MAX_K}`);
  const ef = options.ef;
  if (ef !== undefined && (!Number.isSafeInteger(ef) || ef < 1 || ef > 100_000)) throw new ValidationError('ef', 'must be an integer from 1 to 100000');
  if (options.mode !== undefined && options.mode !== 'vector' && options.mode !== 'text' && options.mode !== 'hybrid') throw new ValidationError('mode', "must be 'vector', 'text' or 'hybrid'");
  const f = options.fusion;
  if (f !== undefined && f !== 'rrf' && f !== 'weighted' && !(typeof f === 'object' && f !== null && f.vector >= 0 && f.text >= 0 && f.vector + f.text > 0 && Number.isFinite(f.vector + f.text))) throw new ValidationError('fusion', "must be 'weighted', 'rrf' or { vector, text } weights (non-negative, not both 0)");
  if (options.textWeight !== undefined && !(options.textWeight >= 0 && options.textWeight <= 1)) throw new ValidationError('textWeight', 'must be a number from 0 to 1');
  if (options.documentWeight !== undefined && !(options.documentWeight >= 0 && options.documentWeight <= 1)) throw new ValidationError('documentWeight', 'must be a number from 0 to 1');
  if (options.textFloor !== undefined && !(options.textFloor >= 0 && options.textFloor <= 1)) throw new ValidationError('textFloor', 'must be a number from 0 to 1');
  if (options.rrfK !== undefined || options.candidates !== undefined) {
    for (const [name, v] of [['rrfK', options.rrfK], ['candidates', options.candidates]] as const) {
      if (v !== undefined && (!Number.isSafeInteger(v) || v < 1 || v > 100_000)) throw new ValidationError(name, 'must be an integer from 1 to 100000');
    }
  }
  return { k, ef };
}

type FilterEntry = { version: number; bitmap: Uint8Array; count: number; scan: ScanSet | null };

/**
 * The candidates of an index-answered filter as a bitmap over labels, cached per filter until
 * the vault changes (its version moves with every insert, erase and index change).
 */
function candidateBitmap(vault: VaultState, filter: Filter): FilterEntry {
  const key = JSON.stringify(filter);
  const cached = vault.filterCache.get(key);
  if (cached && cached.version === vault.version) return cached;
  const labels = candidates(filter, vault.payloadIndexes) ?? new Set<number>();
  const bitmap = new Uint8Array(vault.records.nextLabel);
  for (const label of labels) if (vault.records.hasLabel(label)) bitmap[label] = 1;
  const entry: FilterEntry = { version: vault.version, bitmap, count: labels.size, scan: null };
  if (vault.filterCache.size >= 64) vault.filterCache.delete(vault.filterCache.keys().next().value!);
  vault.filterCache.set(key, entry);
  return entry;
}

/** BM25 over the vault's document text, filtered, best first (ties by id); `extra` query terms as TextIndex.score. */
export function textRanking(vault: VaultState, text: string, k: number, predicate: Predicate | null, params: Bm25Params = {}, extra: readonly string[] = []): { id: string; score: number }[] {
  const hits = vault.text.score(text, params, extra).filter((h) => {
    const record = vault.records.get(h.id);
    return record !== undefined && (predicate === null || predicate(record.payload, record.doc));
  });
  hits.sort((a, b) => b.score - a.score || byCodeUnits(a.id, b.id));
  return hits.slice(0, k);
}

/** The document-level BM25 of every document the query matches, as weighted fusion reads it. */
function documentScores(vault: VaultState, text: string, predicate: Predicate | null, params: Bm25Params | undefined, extra: readonly string[]): DocumentScores {
  const docOf = (id: string): string => documentIdOf(id, vault.records.get(id)?.doc);
  const keep = predicate === null ? null : (id: string) => {
    const record = vault.records.get(id);
    return record !== undefined && predicate(record.payload, record.doc);
  };
  const scores = vault.text.scoreDocuments(text, docOf, keep, params, extra);
  let best = 0;
  for (const s of scores.values()) if (s > best) best = s;
  return { docOf: (id) => vault.text.documentOf(id), scores, best };
}

function toHit(record: StoredRecord, score: number, distance?: number): Hit {
  // The record keeps its decoded payload (StoredRecord.payload); each hit gets a copy.
  const payload = record.payload === null ? null : clonePayload(record.payload);
  const hit: Hit = distance === undefined ? { id: record.id, score, payload } : { id: record.id, score, distance, payload };
  if (record.doc) hit.document = { text: record.doc.text, chunk: record.doc.chunk ? { ...record.doc.chunk } : null };
  return hit;
}

/** Options already validated by checkSearchOptions, with their defaults applied. */
export interface Checked {
  k: number;
  ef: number | undefined;
}

/**
 * Searches by mode. 'text' needs `text`; 'vector' needs `vector`; 'hybrid' needs both and fuses
 * a vector ranking and a text ranking, each `candidates` deep, under the same filter.
 * `checked` is checkSearchOptions(options): callers validate once, before any embedding.
 */
export async function searchByMode(vault: VaultState, metric: Metric, query: { vector?: Float32Array; text?: string }, options: SearchOptions, checked: Checked): Promise<Hit[]> {
  const mode = options.mode ?? defaultMode(query.text !== undefined, vault.text.documents);
  const { k } = checked;
  if (mode === 'vector') return searchVault(vault, metric, query.vector!, options, checked);
  const predicate = options.filter === undefined ? null : compileFilter(options.filter);
  if (mode === 'text') return textRanking(vault, query.text!, k, predicate, options.bm25).map((h) => toHit(vault.records.get(h.id)!, h.score));
  const depth = options.candidates ?? Math.max(4 * k, 50);
  const byVector = await searchVault(vault, metric, query.vector!, options, { k: Math.min(depth, MAX_K), ef: checked.ef });
  // The query's acronyms join its terms in hybrid search only: text mode stays plain BM25.
  const acronyms = options.acronyms === false ? [] : queryAcronyms(query.text!);
  const ranked = textRanking(vault, query.text!, depth, predicate, options.bm25, acronyms);
  const floor = (options.textFloor ?? 0.1) * (ranked[0]?.score ?? 0);
  const byText = ranked.filter((h) => h.score >= floor);
  const fusion = fusionOptions(options, metric);
  const byDocument = fusion.rule === 'weighted' && fusion.documentWeight! > 0 && byText.length > 0 ? documentScores(vault, query.text!, predicate, options.bm25, acronyms) : null;
  return fuse(byVector, byText, fusion, byDocument)
    .slice(0, k)
    .map((e) => ({ ...toHit(vault.records.get(e.id)!, e.score), ranks: e.ranks, scores: e.scores }));
}

/**
 * Plans and runs one search. Without a filter: the graph. With one: the matching set first;
 * a small set (at most 2,000 records or 2% of the vault) is scanned exactly; a broad one (10% or
 * more) filters the graph's nearest 2k/selectivity records; one in between is searched in the
 * graph restricted to it. A graph search that comes back short of k (while k matches exist)
 * falls back to the next plan, and last to the exact scan.
 */
export async function searchVault(vault: VaultState, metric: Metric, query: Float32Array, options: SearchOptions, checked: Checked): Promise<Hit[]> {
  // A search awaits between planning and answering (the vectors reaching memory, the graph), and
  // a write can apply in that gap: its matches, made before, would then be scored and returned
  // with the records as they are after. An answer is kept only if the vault did not change while
  // it was made; after a few tries, the last answer is checked and scored again (rescored).
  for (let attempt = 1; ; attempt++) {
    // A try after the first waits for the vectors first: the gap the last try lost to is usually
    // that wait, which then cannot open again.
    if (attempt > 1) await vault.vectorsReadable();
    const version = vault.version;
    const hits = await searchOnce(vault, metric, query, options, checked);
    if (vault.version === version) return hits;
    if (attempt === SEARCH_ATTEMPTS) return rescored(vault, metric, query, options, hits);
  }
}

/**
 * The last try's hits, taken as candidates of the vault as it is now: each one's current record
 * (gone: dropped), the filter checked again, scored and ranked again by its current vector.
 */
function rescored(vault: VaultState, metric: Metric, query: Float32Array, options: SearchOptions, hits: Hit[]): Hit[] {
  const predicate = options.filter === undefined ? null : compileFilter(options.filter);
  const records = hits.map((h) => vault.records.get(h.id)).filter((r): r is StoredRecord => r !== undefined && (predicate === null || predicate(r.payload, r.doc)));
  return exactTopK(metric, query, records, records.length).map((n) => {
    const record = vault.records.byLabelGet(n.label)!;
    return toHit(record, scoreFromDistance(metric, n.distance), n.distance);
  });
}

/** How many times a search is made again when a write lands while it runs. */
const SEARCH_ATTEMPTS = 3;

async function searchOnce(vault: VaultState, metric: Metric, query: Float32Array, options: SearchOptions, { k, ef }: Checked): Promise<Hit[]> {
  // Scans read stored vectors: they wait for the segment's block to reach memory (after open).
  const exact = async (candidates: Iterable<Candidate>): Promise<Neighbor[]> => {
    await vault.vectorsReadable();
    return exactTopK(metric, query, candidates, k);
  };
  const predicate = options.filter === undefined ? null : compileFilter(options.filter);
  const total = vault.records.count;
  let neighbors: Neighbor[];
  if (predicate === null) {
    const want = Math.min(k, total);
    neighbors = options.exact || vault.index.type === 'flat' ? await exact(vault.records.vectors()) : await vault.index.search(query, k, { ef });
    if (neighbors.length < want) neighbors = await exact(vault.records.vectors());
  } else {
    // Payload indexes narrow the candidates (a superset of the matches): their count is the
    // selectivity estimate. When they answer the filter exactly, the candidates are the matches,
    // kept as a bitmap cached per filter until the vault changes. Without an index, a scan of
    // every payload finds the matches.
    const indexes = vault.payloadIndexes;
    const exactByIndex = indexes.size > 0 && answeredByIndexes(options.filter, indexes);
    const bitmap = exactByIndex ? candidateBitmap(vault, options.filter!) : null;
    const narrowed = bitmap || indexes.size === 0 ? null : candidates(options.filter, indexes);
    let matching: StoredRecord[] | null = null;
    const matches = (): StoredRecord[] => {
      if (matching) return matching;
      matching = [];
      if (bitmap) {
        for (let label = 0; label < bitmap.bitmap.length; label++) {
          if (bitmap.bitmap[label] === 1) matching.push(vault.records.byLabelGet(label)!);
        }
      } else if (narrowed) {
        for (const label of narrowed) {
          const r = vault.records.byLabelGet(label);
          if (r && predicate(r.payload, r.doc)) matching.push(r);
        }
      } else {
        for (const r of vault.records.values()) if (predicate(r.payload, r.doc)) matching.push(r);
      }
      return matching;
    };
    // The exact scan of the matches: native (native/scan.c) where the addon is built, with the
    // same answer as exactTopK; an index-answered filter keeps its scan set with its bitmap.
    const scanner = rowScanner();
    const scanMatches = async (): Promise<Neighbor[]> => {
      if (!scanner) return exact(matches());
      await vault.vectorsReadable();
      const set = bitmap ? (bitmap.scan ??= scanSetFor(vault, bitmap.bitmap, true)) : scanSetFor(vault, matches(), false);
      return exactScanOf(scanner, vault, set, metric, query, k);
    };
    const estimate = bitmap ? bitmap.count : narrowed ? narrowed.size : matches().length;
    // The cost model counts on the native scan only where it reads (nearly) every match: an
    // index-answered filter whose set left at most a small tail to JavaScript (packTail's budget).
    // A reader's vectors in a mapped graph (rowRuns false) are scanned as records, to the same
    // answer: the route is chosen as for the same vault read privately, so every reader agrees.
    const native = scanner !== null && bitmap !== null && (vault.stored?.rowRuns === false || (bitmap.scan ??= scanSetFor(vault, bitmap.bitmap, true)).tail.length <= EXACT_SCAN_MAX_MATCHES);
    const route = options.exact || vault.index.type === 'flat' ? 'scan' : planFiltered({ matches: estimate, total, k, ef, dimension: vault.dimension, native });
    if (route === 'scan') {
      neighbors = await scanMatches();
    } else {
      // The filter runs only on the nodes the graph visits, not on every candidate.
      const accept = bitmap
        ? (label: number) => bitmap.bitmap[label] === 1
        : narrowed
        ? (label: number) => {
            const r = narrowed.has(label) ? vault.records.byLabelGet(label) : undefined;
            return r !== undefined && predicate(r.payload, r.doc);
          }
        : (label: number) => {
            const r = vault.records.byLabelGet(label);
            return r !== undefined && predicate(r.payload, r.doc);
          };
      // A broad filter: the graph's nearest `wide` records, then the filter, finds the k nearest
      // matches (those nearer than the k-th are all among the `wide`) without a filter call per
      // visited node. Come back short, and the filtered graph search below runs instead.
      const wide = Math.ceil((2 * k * total) / estimate);
      neighbors = [];
      if (route === 'post-filter') {
        for (const n of await vault.index.search(query, wide, { ef: Math.max(ef ?? 0, wide) })) {
          if (accept(n.label)) neighbors.push(n);
          if (neighbors.length === k) break;
        }
      }
      if (neighbors.length < k) neighbors = await vault.index.search(query, k, bitmap ? { ef, accept, allow: bitmap.bitmap } : { ef, accept });
      if (neighbors.length < k) {
        const all = matches();
        if (neighbors.length < Math.min(k, all.length)) neighbors = await scanMatches();
      }
    }
  }
  const hits: Hit[] = [];
  for (const n of neighbors) {
    const record = vault.records.byLabelGet(n.label);
    if (!record) continue; // the graph may briefly know a label the store has dropped
    hits.push(toHit(record, scoreFromDistance(metric, n.distance), n.distance));
  }
  return hits;
}
