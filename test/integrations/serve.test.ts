import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { QdrantClient } from '@qdrant/js-client-rest';
import { open } from '../../src/index.js';
import { serve, type Served } from '../helpers/serve.js';
import { dbPath } from '../helpers/tmp.js';

// Every call goes through Qdrant's official JS client against `quiver serve` in a child process.
const U1 = '5c56c793-69f3-4fbf-87e6-c4bf54c28c26';
const U2 = 'f0e09527-b096-42a8-94e9-ea94d342b925';
const POINTS = [
  { id: 1, vector: [1, 0, 0, 0], payload: { city: 'Paris', n: 1, tags: ['a', 'b'], meta: { color: 'red' } } },
  { id: 2, vector: [0.9, 0.1, 0, 0], payload: { city: 'Berlin', n: 2, tags: ['b'], meta: { color: 'blue' } } },
  { id: 3, vector: [0.8, 0.2, 0, 0], payload: { city: 'Paris', n: 3, tags: [], meta: { color: 'blue' }, note: null } },
  { id: 40, vector: [0, 1, 0, 0], payload: { city: 'Rome', n: 4, meta: { color: 'green' } } },
  { id: U1, vector: [0, 0, 1, 0], payload: { city: 'Berlin', n: 5, tags: ['c'], note: 'x' } },
  { id: U2, vector: [0, 0, 0.5, 0.5], payload: { city: 'Oslo', n: 6, tags: ['a'] } },
];

let server: Served;
let client: QdrantClient;
let path: string;

before(async () => {
  path = dbPath();
  await (await open(path, { dimension: 4, metric: 'cosine' })).close();
  server = await serve(path);
  client = new QdrantClient({ url: server.url, checkCompatibility: false });
});
after(async () => {
  assert.equal(await server.stop(), 0, server.stderr());
});

const idsOf = (points: { id: string | number }[]): (string | number)[] => points.map((p) => p.id).sort((a, b) => String(a).localeCompare(String(b)));
const status = async (p: Promise<unknown>): Promise<{ status: number; message: string }> => {
  try {
    await p;
  } catch (e) {
    const err = e as { status: number; data?: { status?: { error?: string } } };
    return { status: err.status, message: err.data?.status?.error ?? '' };
  }
  throw new Error('the call succeeded');
};

test('service info and health: the client reads the version it checks compatibility against', async () => {
  const info = await client.versionInfo();
  assert.match(info.version, /^1\.\d+\.\d+$/);
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  assert.equal(new URL(server.url).hostname, '127.0.0.1', 'loopback unless --host says otherwise');
});

test('collections: create must match IDENTITY, list, get, exists, delete', async () => {
  assert.equal(await client.createCollection('items', { vectors: { size: 4, distance: 'Cosine' } }), true);
  const wrongSize = await status(client.createCollection('other', { vectors: { size: 8, distance: 'Cosine' } }));
  assert.equal(wrongSize.status, 400);
  assert.match(wrongSize.message, /size 4 with distance Cosine \(IDENTITY\)/);
  assert.equal((await status(client.createCollection('other', { vectors: { size: 4, distance: 'Euclid' } }))).status, 400);
  assert.equal((await status(client.createCollection('items', { vectors: { size: 4, distance: 'Cosine' } }))).status, 400, 'already exists');
  assert.deepEqual((await client.getCollections()).collections.map((c) => c.name), ['items']);
  assert.deepEqual(await client.collectionExists('items'), { exists: true });
  assert.deepEqual(await client.collectionExists('nope'), { exists: false });
  const info = await client.getCollection('items');
  assert.deepEqual(info.config.params.vectors, { size: 4, distance: 'Cosine' });
  assert.equal(info.points_count, 0);
  assert.equal((await status(client.getCollection('nope'))).status, 404);
  assert.equal(await client.createCollection('scratch', { vectors: { size: 4, distance: 'Cosine' } }), true);
  assert.equal(await client.deleteCollection('scratch'), true);
  assert.deepEqual(await client.collectionExists('scratch'), { exists: false });
});

test('points: upsert, retrieve with both id types, search and query, scroll, count', async () => {
  assert.equal((await client.upsert('items', { wait: true, points: POINTS })).status, 'completed');
  assert.equal((await client.getCollection('items')).points_count, 6);

  // Ids come back with the type they were sent as; a UUID in another spelling is the same point.
  const got = await client.retrieve('items', { ids: [40, U1.toUpperCase(), 999], with_vector: true });
  assert.deepEqual(got.map((p) => p.id), [40, U1]);
  assert.deepEqual(got[0]!.vector, [0, 1, 0, 0]);
  assert.deepEqual(got[1]!.payload, POINTS[4]!.payload);

  const hits = await client.search('items', { vector: [1, 0, 0, 0], limit: 3 });
  assert.deepEqual(hits.map((h) => h.id), [1, 2, 3]);
  assert.ok(Math.abs(hits[0]!.score - 1) < 1e-6);
  assert.deepEqual(hits[0]!.payload, POINTS[0]!.payload);
  const paged = await client.search('items', { vector: [1, 0, 0, 0], limit: 2, offset: 1, with_payload: false, with_vector: true });
  assert.deepEqual(paged.map((h) => h.id), [2, 3]);
  assert.equal(paged[0]!.payload, null);
  assert.deepEqual(paged[0]!.vector, [0.9, 0.1, 0, 0]);
  const above = await client.search('items', { vector: [1, 0, 0, 0], limit: 10, score_threshold: 0.98 });
  assert.deepEqual(above.map((h) => h.id), [1, 2]);

  const q = await client.query('items', { query: [1, 0, 0, 0], limit: 2, with_payload: ['city'] });
  assert.deepEqual(q.points.map((p) => p.id), [1, 2]);
  assert.deepEqual(q.points[1]!.payload, { city: 'Berlin' });
  const nearest = await client.query('items', { query: { nearest: [0, 0, 1, 0] }, limit: 1 });
  assert.deepEqual(nearest.points.map((p) => p.id), [U1]);
  const byId = await client.query('items', { query: U1, limit: 1 });
  assert.deepEqual(byId.points.map((p) => p.id), [U2], 'a point id queries by its vector and leaves itself out');
  const filtered = await client.query('items', { query: [1, 0, 0, 0], filter: { must: [{ key: 'city', match: { value: 'Berlin' } }] }, limit: 10, score_threshold: 0.5 });
  assert.deepEqual(filtered.points.map((p) => p.id), [2]);

  const batch = await client.searchBatch('items', { searches: [{ vector: [0, 1, 0, 0], limit: 1 }, { vector: [0, 0, 0, 1], limit: 1 }] });
  assert.deepEqual(batch.map((b) => b.map((h) => h.id)), [[40], [U2]]);
  const qbatch = await client.queryBatch('items', { searches: [{ query: [0, 1, 0, 0], limit: 1 }, { query: [1, 0, 0, 0], limit: 1 }] });
  assert.deepEqual(qbatch.map((b) => b.points.map((h) => h.id)), [[40], [1]]);

  // Scroll pages through every point once, following next_page_offset.
  const seen: (string | number)[] = [];
  let offset: string | number | undefined | null = undefined;
  do {
    const page: Awaited<ReturnType<QdrantClient['scroll']>> = await client.scroll('items', { limit: 4, ...(offset !== undefined ? { offset } : {}) });
    assert.ok(page.points.length <= 4);
    seen.push(...page.points.map((p) => p.id));
    offset = page.next_page_offset as string | number | null;
  } while (offset !== null && offset !== undefined);
  assert.deepEqual(seen.slice().sort((a, b) => String(a).localeCompare(String(b))), idsOf(POINTS));
  assert.equal(new Set(seen).size, 6);
  const scrolled = await client.scroll('items', { filter: { must: [{ key: 'city', match: { value: 'Paris' } }] }, with_vector: true });
  assert.deepEqual(idsOf(scrolled.points), [1, 3]);
  assert.deepEqual(scrolled.points[0]!.vector, [1, 0, 0, 0]);

  assert.deepEqual(await client.count('items', {}), { count: 6 });
  assert.deepEqual(await client.count('items', { filter: { must: [{ key: 'n', range: { gt: 2 } }] } }), { count: 4 });
});

test('filters: must, should, must_not, match value/any/except, range, is_empty, is_null, has_id, nested keys', async () => {
  const ids = async (filter: Record<string, unknown>) => idsOf((await client.scroll('items', { filter, limit: 100 })).points);
  assert.deepEqual(await ids({ must: [{ key: 'city', match: { value: 'Paris' } }] }), [1, 3]);
  assert.deepEqual(await ids({ must: [{ key: 'tags', match: { value: 'b' } }] }), [1, 2], 'an array matches when any element does');
  assert.deepEqual(await ids({ must: [{ key: 'city', match: { any: ['Rome', 'Oslo'] } }] }), [40, U2]);
  assert.deepEqual(await ids({ must: [{ key: 'city', match: { except: ['Paris', 'Berlin'] } }] }), [40, U2]);
  assert.deepEqual(await ids({ must: [{ key: 'n', range: { gte: 2, lt: 4 } }] }), [2, 3]);
  assert.deepEqual(await ids({ should: [{ key: 'city', match: { value: 'Rome' } }, { key: 'n', range: { lte: 1 } }] }), [1, 40]);
  assert.deepEqual(await ids({ must_not: [{ key: 'city', match: { value: 'Paris' } }, { key: 'city', match: { value: 'Berlin' } }] }), [40, U2]);
  assert.deepEqual(await ids({ must: [{ is_empty: { key: 'tags' } }] }), [3, 40], 'missing or []');
  assert.deepEqual(await ids({ must: [{ is_null: { key: 'note' } }] }), [3]);
  assert.deepEqual(await ids({ must: [{ has_id: [1, U1, 77] }] }), [1, U1]);
  assert.deepEqual(await ids({ must_not: [{ has_id: [1, 2, 3] }] }), [40, U1, U2]);
  assert.deepEqual(await ids({ should: [{ has_id: [2] }, { has_id: [U2] }] }), [2, U2]);
  assert.deepEqual(await ids({ must: [{ key: 'meta.color', match: { value: 'blue' } }] }), [2, 3], 'dotted keys reach nested objects');
  // A nested filter as a condition, and has_id beside payload conditions.
  assert.deepEqual(await ids({ must: [{ has_id: [1, 2, 3, 40] }, { should: [{ key: 'meta.color', match: { value: 'red' } }, { key: 'meta.color', match: { value: 'green' } }] }] }), [1, 40]);
  // has_id restricts search too, exactly.
  const hits = await client.search('items', { vector: [1, 0, 0, 0], filter: { must: [{ has_id: [3, 40] }] }, limit: 5 });
  assert.deepEqual(hits.map((h) => h.id), [3, 40]);
  const notNear = await client.search('items', { vector: [1, 0, 0, 0], filter: { must_not: [{ has_id: [1] }] }, limit: 2 });
  assert.deepEqual(notNear.map((h) => h.id), [2, 3]);
  // What the subset does not translate is a 400 naming it, not a wrong answer.
  const geo = await status(client.scroll('items', { filter: { must: [{ key: 'loc', geo_radius: { center: { lat: 0, lon: 0 }, radius: 1 } }] } }));
  assert.equal(geo.status, 400);
  assert.match(geo.message, /geo_radius/);
  assert.equal((await status(client.scroll('items', { filter: { must: [{ should: [{ has_id: [1] }] }] } }))).status, 400);
});

test('payload: set (merge, and under a key), overwrite, delete keys, clear; by ids and by filter; payload indexes', async () => {
  await client.setPayload('items', { points: [1], payload: { city: 'Lyon', extra: true }, wait: true });
  assert.deepEqual((await client.retrieve('items', { ids: [1] }))[0]!.payload, { city: 'Lyon', n: 1, tags: ['a', 'b'], meta: { color: 'red' }, extra: true });
  await client.setPayload('items', { points: [1], key: 'meta', payload: { size: 3 } });
  assert.deepEqual((await client.retrieve('items', { ids: [1] }))[0]!.payload!.meta, { color: 'red', size: 3 });
  await client.setPayload('items', { filter: { must: [{ key: 'city', match: { value: 'Berlin' } }] }, payload: { de: 1 } });
  assert.deepEqual((await client.count('items', { filter: { must: [{ key: 'de', match: { value: 1 } }] } })).count, 2);
  await client.deletePayload('items', { filter: { must: [{ key: 'de', match: { value: 1 } }] }, keys: ['de'] });
  assert.equal((await client.count('items', { filter: { must: [{ key: 'de', match: { value: 1 } }] } })).count, 0);
  await client.deletePayload('items', { points: [1], keys: ['extra'] });
  await client.overwritePayload('items', { points: [2], payload: { only: 'this' } });
  assert.deepEqual((await client.retrieve('items', { ids: [2], with_vector: true }))[0], { id: 2, payload: { only: 'this' }, vector: [0.9, 0.1, 0, 0] });
  await client.clearPayload('items', { points: [2] });
  assert.deepEqual((await client.retrieve('items', { ids: [2] }))[0]!.payload, {});

  await client.createPayloadIndex('items', { field_name: 'city', field_schema: 'keyword', wait: true });
  assert.deepEqual(Object.keys((await client.getCollection('items')).payload_schema), ['city']);
  assert.deepEqual(idsOf((await client.scroll('items', { filter: { must: [{ key: 'city', match: { value: 'Rome' } }] } })).points), [40]);
  await client.deletePayloadIndex('items', 'city');
  assert.deepEqual(Object.keys((await client.getCollection('items')).payload_schema), []);
});

test('delete points by ids and by filter; outside the subset is 501 naming the endpoint; the database holds the result', async () => {
  await client.delete('items', { points: [2, U2], wait: true });
  assert.equal((await client.count('items')).count, 4);
  await client.delete('items', { filter: { must: [{ key: 'city', match: { value: 'Berlin' } }] }, wait: true });
  assert.deepEqual(idsOf((await client.scroll('items', {})).points), [1, 3, 40]);
  await client.delete('items', { filter: { must: [{ has_id: [3] }] }, wait: true });
  assert.deepEqual(idsOf((await client.scroll('items', {})).points), [1, 40]);

  const rec = await status(client.recommend('items', { positive: [1] }));
  assert.equal(rec.status, 501);
  assert.match(rec.message, /POST \/collections\/items\/points\/recommend/);
  assert.equal((await status(client.getAliases())).status, 501);

  // What the server acknowledged is in the directory: stop it and read the database itself.
  assert.equal(await server.stop(), 0, server.stderr());
  const db = await open(path, { readOnly: true });
  assert.deepEqual(db.vault('items').ids(), ['1', '40']);
  assert.equal(db.vault('items').get('1')!.payload!.city, 'Lyon');
  await db.close();
  server = await serve(path);
  client = new QdrantClient({ url: server.url, checkCompatibility: false });
  assert.deepEqual((await client.retrieve('items', { ids: [40] }))[0]!.payload, POINTS[3]!.payload);
});
