import type { Database } from '../engine/database.js';
import type { Payload } from '../vault/payload.js';
import { collection } from './collections.js';
import { HttpError, badRequest } from './http-error.js';
import { recordId, recordIds } from './point-ids.js';
import { payloadSelector, pointJson, wantsVector } from './point-output.js';
import { MAX_PAGE, countMatching, matchingIds, nearest, scrollPage } from './point-select.js';
import { translateFilter, type PointFilter } from './qdrant-filter.js';
import { route, type RequestContext, type Route } from './router.js';

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

// Writes resolve at the database's durability point before the reply, so wait=true holds
// and wait=false is answered the same way (never earlier than the write is safe).
const completed = (): unknown => ({ operation_id: 0, status: 'completed' });

function vectorOf(v: unknown, at: string): number[] {
  if (Array.isArray(v)) return v as number[];
  if (isObject(v)) throw badRequest(`${at}: named and sparse vectors are not supported by quiver serve; send an array of numbers`);
  throw badRequest(`${at}: must be an array of numbers`);
}

function payloadOf(p: unknown, at: string): Payload | null {
  if (p === undefined || p === null) return null;
  if (!isObject(p)) throw badRequest(`${at}: must be an object`);
  return p as Payload;
}

function limitOf(v: unknown, fallback: number, at: string): number {
  if (v === undefined || v === null) return fallback;
  if (!Number.isSafeInteger(v) || (v as number) < 0 || (v as number) > MAX_PAGE - 1) throw badRequest(`${at}: must be an integer from 0 to ${MAX_PAGE - 1}`);
  return v as number;
}

async function upsert({ db, params, body }: RequestContext): Promise<unknown> {
  const vault = collection(db, params.name!);
  let records: { id: string; vector: number[]; payload: Payload | null }[];
  if (Array.isArray(body.points)) {
    records = body.points.map((p: unknown, i) => {
      if (!isObject(p)) throw badRequest(`points[${i}]: must be an object`);
      return { id: recordId(p.id, `points[${i}].id`), vector: vectorOf(p.vector, `points[${i}].vector`), payload: payloadOf(p.payload, `points[${i}].payload`) };
    });
  } else if (isObject(body.batch)) {
    const b = body.batch;
    const ids = recordIds(b.ids, 'batch.ids');
    if (!Array.isArray(b.vectors) || b.vectors.length !== ids.length) throw badRequest('batch.vectors: must be an array with one vector per id');
    if (b.payloads !== undefined && b.payloads !== null && (!Array.isArray(b.payloads) || b.payloads.length !== ids.length)) throw badRequest('batch.payloads: must be an array with one payload per id');
    const payloads = (b.payloads ?? []) as unknown[];
    records = ids.map((id, i) => ({ id, vector: vectorOf((b.vectors as unknown[])[i], `batch.vectors[${i}]`), payload: payloadOf(payloads[i], `batch.payloads[${i}]`) }));
  } else throw badRequest('body: needs points (a list) or batch ({ ids, vectors, payloads })');
  await vault.insertMany(records);
  return completed();
}

/** `points` (ids) or `filter`: Qdrant's point selector. */
function selector(body: Json): { ids: string[] } | { filter: PointFilter } {
  if (body.points !== undefined) return { ids: recordIds(body.points, 'points') };
  if (body.filter !== undefined) return { filter: translateFilter(body.filter) };
  throw badRequest('body: needs points (a list of ids) or filter');
}

const unrestricted = (pf: PointFilter): boolean => pf.only === null && pf.except === null;

async function deletePoints({ db, params, body }: RequestContext): Promise<unknown> {
  const vault = collection(db, params.name!);
  const sel = selector(body);
  if ('filter' in sel && unrestricted(sel.filter)) {
    await vault.eraseWhere(sel.filter.filter ?? {}, { all: true });
    return completed();
  }
  const ids = 'ids' in sel ? sel.ids : matchingIds(vault, sel.filter);
  const present = vault.getMany(ids).filter((r) => r !== null);
  if (present.length > 0) await db.batch(present.map((r) => ({ op: 'erase' as const, vault: vault.name, id: r!.id })));
  return completed();
}

/** Qdrant's set_payload: top-level keys replaced (or keys under `key`), the rest kept. */
async function setPayload({ db, params, body }: RequestContext): Promise<unknown> {
  const vault = collection(db, params.name!);
  const payload = payloadOf(body.payload, 'payload');
  if (payload === null) throw badRequest('payload: required');
  if (body.key !== undefined && (typeof body.key !== 'string' || body.key.length === 0)) throw badRequest('key: must be a non-empty string');
  const prefix = typeof body.key === 'string' ? `${body.key}.` : '';
  const set = Object.fromEntries(Object.entries(payload).map(([k, v]) => [prefix + k, v])) as Payload;
  const sel = selector(body);
  if ('filter' in sel && unrestricted(sel.filter)) await vault.patchWhere(sel.filter.filter ?? {}, { set });
  else for (const id of 'ids' in sel ? sel.ids : matchingIds(vault, sel.filter)) await vault.patch(id, { set });
  return completed();
}

/** overwrite_payload and clear_payload: the whole payload replaced, vectors and documents kept. */
async function replacePayload(db: Database, name: string, body: Json, payload: Payload): Promise<unknown> {
  const vault = collection(db, name);
  const sel = selector(body);
  const ids = 'ids' in sel ? sel.ids : matchingIds(vault, sel.filter);
  for (const r of vault.getMany(ids)) {
    if (!r) continue;
    const unset = Object.keys(r.payload ?? {}).filter((k) => !(k in payload));
    await vault.patch(r.id, { set: payload, unset });
  }
  return completed();
}

async function deletePayload({ db, params, body }: RequestContext): Promise<unknown> {
  const vault = collection(db, params.name!);
  if (!Array.isArray(body.keys) || !body.keys.every((k) => typeof k === 'string')) throw badRequest('keys: must be an array of strings');
  const unset = body.keys as string[];
  const sel = selector(body);
  if ('filter' in sel && unrestricted(sel.filter)) await vault.patchWhere(sel.filter.filter ?? {}, { unset });
  else for (const id of 'ids' in sel ? sel.ids : matchingIds(vault, sel.filter)) await vault.patch(id, { unset });
  return completed();
}

function retrieve({ db, params, body }: RequestContext): unknown {
  const vault = collection(db, params.name!);
  const select = payloadSelector(body.with_payload, true);
  const withVector = wantsVector(body.with_vector);
  return vault
    .getMany(recordIds(body.ids, 'ids'))
    .filter((r) => r !== null)
    .map((r) => pointJson(r!.id, r!.payload, withVector ? r!.vector : undefined, select));
}

function getPoint({ db, params }: RequestContext): unknown {
  const vault = collection(db, params.name!);
  const [r] = vault.getMany([recordId(/^\d+$/.test(params.id!) ? Number(params.id) : params.id, 'id')]);
  if (!r) throw new HttpError(404, `Not found: No point with id ${params.id} found`);
  return pointJson(r.id, r.payload, r.vector, payloadSelector(true, true));
}

function scroll({ db, params, body }: RequestContext): unknown {
  const vault = collection(db, params.name!);
  if (body.order_by !== undefined) throw badRequest('order_by: not supported by quiver serve (points come in id order)');
  const select = payloadSelector(body.with_payload, true);
  const withVector = wantsVector(body.with_vector);
  const offset = body.offset === undefined || body.offset === null ? null : recordId(body.offset, 'offset');
  const page = scrollPage(vault, translateFilter(body.filter), offset, limitOf(body.limit, 10, 'limit'), withVector);
  return { points: page.records.map((r) => pointJson(r.id, r.payload, r.vector, select)), next_page_offset: page.next === null ? null : pointJson(page.next, null, undefined, () => undefined).id };
}

function count({ db, params, body }: RequestContext): unknown {
  return { count: countMatching(collection(db, params.name!), translateFilter(body.filter)) };
}

/** search and query share one nearest-neighbour path. */
async function nearestPoints(db: Database, name: string, req: Json, vector: number[], at: string, exclude: string | null): Promise<unknown[]> {
  const vault = collection(db, name);
  if (req.using !== undefined && req.using !== null && req.using !== '') throw badRequest(`${at}using: named vectors are not supported by quiver serve`);
  const threshold = req.score_threshold;
  if (threshold !== undefined && threshold !== null && !(typeof threshold === 'number' && Number.isFinite(threshold))) throw badRequest(`${at}score_threshold: must be a number`);
  const pf = translateFilter(req.filter, `${at}filter`);
  if (exclude !== null) pf.except = new Set([...(pf.except ?? []), exclude]);
  const select = payloadSelector(req.with_payload, false, `${at}with_payload`);
  const withVectors = wantsVector(req.with_vector, `${at}with_vector`);
  const hits = await nearest(vault, db.identity.metric, pf, {
    vector: new Float32Array(vector), // as Float32Array.from: each element through ToNumber
    limit: limitOf(req.limit, 10, `${at}limit`),
    offset: limitOf(req.offset, 0, `${at}offset`),
    scoreThreshold: (threshold as number | null | undefined) ?? undefined,
    withVectors,
  });
  return hits.map((h) => pointJson(h.id, h.payload, h.vector, select, { score: h.score, version: 0 }));
}

function search(db: Database, name: string, req: unknown, at = ''): Promise<unknown[]> {
  if (!isObject(req)) throw badRequest(`${at || 'body'}: must be an object`);
  const v = isObject(req.vector) && 'vector' in req.vector ? req.vector.vector : req.vector;
  return nearestPoints(db, name, req, vectorOf(v, `${at}vector`), at, null);
}

/** The universal query endpoint: a vector, `{ nearest }`, or a point id whose vector to use. */
async function query(db: Database, name: string, req: unknown, at = ''): Promise<{ points: unknown[] }> {
  if (!isObject(req)) throw badRequest(`${at || 'body'}: must be an object`);
  for (const key of ['prefetch', 'lookup_from', 'group_by']) if (req[key] !== undefined) throw badRequest(`${at}${key}: not supported by quiver serve`);
  let q = req.query;
  if (q === undefined || q === null) {
    const page = scrollPage(collection(db, name), translateFilter(req.filter, `${at}filter`), null, limitOf(req.limit, 10, `${at}limit`), wantsVector(req.with_vector));
    const select = payloadSelector(req.with_payload, false);
    return { points: page.records.map((r) => pointJson(r.id, r.payload, r.vector, select, { score: 0, version: 0 })) };
  }
  if (isObject(q) && 'nearest' in q) q = q.nearest;
  if (typeof q === 'number' || typeof q === 'string') {
    const id = recordId(q, `${at}query`);
    const [r] = collection(db, name).getMany([id]);
    if (!r) throw new HttpError(404, `Not found: No point with id ${String(q)} found`);
    return { points: await nearestPoints(db, name, req, Array.from(r.vector), at, id) };
  }
  if (!Array.isArray(q)) throw badRequest(`${at}query: quiver serve supports a vector, { nearest: vector } or a point id`);
  return { points: await nearestPoints(db, name, req, q as number[], at, null) };
}

function batch<T>(body: Json, one: (req: unknown, at: string) => Promise<T>): Promise<T[]> {
  if (!Array.isArray(body.searches)) throw badRequest('searches: must be an array');
  return Promise.all(body.searches.map((s, i) => one(s, `searches[${i}].`)));
}

const name = (ctx: RequestContext): string => ctx.params.name!;

export const pointRoutes: Route[] = [
  route('PUT', '/collections/:name/points', upsert, true),
  route('POST', '/collections/:name/points', retrieve),
  route('GET', '/collections/:name/points/:id', getPoint),
  route('POST', '/collections/:name/points/delete', deletePoints, true),
  route('POST', '/collections/:name/points/payload', setPayload, true),
  route('PUT', '/collections/:name/points/payload', (ctx) => replacePayload(ctx.db, name(ctx), ctx.body, payloadOf(ctx.body.payload, 'payload') ?? {}), true),
  route('POST', '/collections/:name/points/payload/delete', deletePayload, true),
  route('POST', '/collections/:name/points/payload/clear', (ctx) => replacePayload(ctx.db, name(ctx), ctx.body, {}), true),
  route('POST', '/collections/:name/points/scroll', scroll),
  route('POST', '/collections/:name/points/count', count),
  route('POST', '/collections/:name/points/search', (ctx) => search(ctx.db, name(ctx), ctx.body)),
  route('POST', '/collections/:name/points/search/batch', (ctx) => batch(ctx.body, (s, at) => search(ctx.db, name(ctx), s, at))),
  route('POST', '/collections/:name/points/query', (ctx) => query(ctx.db, name(ctx), ctx.body)),
  route('POST', '/collections/:name/points/query/batch', (ctx) => batch(ctx.body, (s, at) => query(ctx.db, name(ctx), s, at))),
];
