import type { Metric } from '../format/identity.js';
import { compileFilter } from '../vault/filter.js';
import { distance, scoreFromDistance } from '../vault/metric.js';
import type { Payload } from '../vault/payload.js';
import type { ScannedRecord, Vault } from '../api/vault.js';
import type { PointFilter } from './qdrant-filter.js';
import { byCodeUnits } from '../util/code-units.js';

/** The largest page quiverdb's scan returns. */
export const MAX_PAGE = 10_000;


/** Records named by an id restriction that exist and match the payload filter, in id order. */
function restricted(vault: Vault, pf: PointFilter, withVectors: boolean): ScannedRecord[] {
  const test = compileFilter(pf.filter ?? {});
  const ids = [...pf.only!].filter((id) => !pf.except?.has(id)).sort(byCodeUnits);
  const out: ScannedRecord[] = [];
  for (const r of vault.getMany(ids)) {
    if (r && test(r.payload)) out.push(withVectors ? r : { id: r.id, payload: r.payload, lsn: r.lsn, document: r.document });
  }
  return out;
}

/**
 * One page in id order from `offset` (inclusive, as Qdrant's scroll has it) and the id that
 * starts the next page. quiverdb's cursor is exclusive, so the offset record is read on its own.
 */
export function scrollPage(vault: Vault, pf: PointFilter, offset: string | null, limit: number, withVectors: boolean): { records: ScannedRecord[]; next: string | null } {
  if (pf.only) {
    const all = restricted(vault, pf, withVectors);
    const from = offset === null ? 0 : all.findIndex((r) => r.id >= offset);
    const rest = from < 0 ? [] : all.slice(from);
    return { records: rest.slice(0, limit), next: rest[limit]?.id ?? null };
  }
  const want = limit + 1;
  const records: ScannedRecord[] = [];
  const keep = (r: ScannedRecord) => !pf.except?.has(r.id);
  if (offset !== null) {
    const [first] = vault.getMany([offset]);
    if (first && keep(first) && compileFilter(pf.filter ?? {})(first.payload)) {
      records.push(withVectors ? first : { id: first.id, payload: first.payload, lsn: first.lsn, document: first.document });
    }
  }
  let after = offset;
  while (records.length < want) {
    const page = vault.scan({ ...(pf.filter ? { filter: pf.filter } : {}), limit: Math.min(MAX_PAGE, want - records.length + (pf.except?.size ?? 0)), after, withVectors });
    for (const r of page.records) if (keep(r) && records.length < want) records.push(r);
    if (page.next === null) break;
    after = page.next;
  }
  return { records: records.slice(0, limit), next: records[limit]?.id ?? null };
}

/** Every matching record id, for writes by filter that need the ids themselves. */
export function matchingIds(vault: Vault, pf: PointFilter): string[] {
  if (pf.only) return restricted(vault, pf, false).map((r) => r.id);
  const ids: string[] = [];
  let after: string | null = null;
  for (;;) {
    const page = vault.scan({ ...(pf.filter ? { filter: pf.filter } : {}), limit: MAX_PAGE, after });
    for (const r of page.records) if (!pf.except?.has(r.id)) ids.push(r.id);
    if (page.next === null) return ids;
    after = page.next;
  }
}

export function countMatching(vault: Vault, pf: PointFilter): number {
  if (pf.only || pf.except) return matchingIds(vault, pf).length;
  return vault.count(pf.filter);
}

export interface ScoredRecord {
  id: string;
  score: number;
  payload: Payload | null;
  vector?: Float32Array;
}

export interface NearestQuery {
  vector: Float32Array;
  limit: number;
  offset: number;
  scoreThreshold: number | undefined;
  withVectors: boolean;
}

/** The nearest matching records, best first, after `offset` of them. */
export async function nearest(vault: Vault, metric: Metric, pf: PointFilter, q: NearestQuery): Promise<ScoredRecord[]> {
  const better = metric === 'l2' ? (a: number, b: number) => a - b : (a: number, b: number) => b - a;
  const within = (score: number) => q.scoreThreshold === undefined || (metric === 'l2' ? score <= q.scoreThreshold : score >= q.scoreThreshold);
  if (pf.only) {
    // An id restriction is a short list: score it exactly, as an exact search would.
    const scored = restricted(vault, pf, true).map((r) => ({ id: r.id, payload: r.payload, vector: r.vector!, score: scoreFromDistance(metric, distance(metric, q.vector, r.vector!)) }));
    return scored.filter((s) => within(s.score)).sort((a, b) => better(a.score, b.score)).slice(q.offset, q.offset + q.limit).map((s) => (q.withVectors ? s : { id: s.id, score: s.score, payload: s.payload }));
  }
  const k = q.offset + q.limit + (pf.except?.size ?? 0);
  const threshold = q.scoreThreshold === undefined ? {} : metric === 'l2' ? { maxDistance: q.scoreThreshold } : { minScore: q.scoreThreshold };
  const hits = await vault.search(q.vector, { k, ...(pf.filter ? { filter: pf.filter } : {}), ...threshold, withVectors: q.withVectors });
  return hits
    .filter((h) => !pf.except?.has(h.id))
    .slice(q.offset, q.offset + q.limit)
    .map((h) => ({ id: h.id, score: h.score, payload: h.payload, ...(h.vector ? { vector: h.vector } : {}) }));
}
