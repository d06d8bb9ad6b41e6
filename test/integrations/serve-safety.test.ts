import assert from 'node:assert/strict';
import * as net from 'node:net';
import { test } from 'node:test';
import { QdrantClient } from '@qdrant/js-client-rest';
import { open } from '../../src/index.js';
import { serve } from '../helpers/serve.js';
import { dbPath } from '../helpers/tmp.js';

async function newDb(): Promise<string> {
  const path = dbPath();
  const db = await open(path, { dimension: 4, metric: 'cosine' });
  await db.createVault('items');
  await db.close();
  return path;
}

const statusOf = async (p: Promise<unknown>): Promise<number> => {
  try {
    await p;
  } catch (e) {
    return (e as { status: number }).status;
  }
  return 200;
};

test('--api-key: every request needs the key (api-key header or Bearer); health probes do not', async () => {
  const s = await serve(await newDb(), ['--api-key', 'sekrit']);
  try {
    const noKey = new QdrantClient({ url: s.url, checkCompatibility: false });
    assert.equal(await statusOf(noKey.getCollections()), 401);
    const wrong = new QdrantClient({ url: s.url, apiKey: 'sekriT', checkCompatibility: false });
    assert.equal(await statusOf(wrong.getCollections()), 401);
    assert.equal(await statusOf(new QdrantClient({ url: s.url, apiKey: 'sekrit-and-more', checkCompatibility: false }).getCollections()), 401);
    const right = new QdrantClient({ url: s.url, apiKey: 'sekrit', checkCompatibility: false });
    assert.deepEqual((await right.getCollections()).collections, [{ name: 'items' }]);
    const bearer = await fetch(`${s.url}/collections`, { headers: { authorization: 'Bearer sekrit' } });
    assert.equal(bearer.status, 200);
    assert.equal((await fetch(`${s.url}/healthz`)).status, 200);
    const refused = await fetch(`${s.url}/collections/items/points`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ points: [{ id: 1, vector: [1, 0, 0, 0] }] }) });
    assert.equal(refused.status, 401);
    assert.equal((await right.count('items')).count, 0, 'a refused write wrote nothing');
  } finally {
    assert.equal(await s.stop(), 0);
  }
});

test('oversized and malformed bodies and wrong types get 4xx in Qdrant\'s error shape; the server keeps serving; a slow client stalls nobody', async () => {
  const s = await serve(await newDb(), ['--max-body-bytes', '4096', '--request-timeout-ms', '3000']);
  const client = new QdrantClient({ url: s.url, checkCompatibility: false });
  const post = (path: string, body: string) => fetch(`${s.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  try {
    // A client that sends headers and one byte of a promised body, then goes quiet.
    const slow = net.connect(s.port, '127.0.0.1');
    await new Promise((resolve) => slow.once('connect', resolve));
    slow.write('POST /collections/items/points/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    const slowClosed = new Promise((resolve) => slow.once('close', resolve));
    slow.on('error', () => {});

    const big = { points: [{ id: 1, vector: [1, 0, 0, 0], payload: { blob: 'x'.repeat(8000) } }] };
    assert.equal(await statusOf(client.upsert('items', big)), 413);
    const tooLarge = await post('/collections/items/points/scroll', JSON.stringify({ filter: { must: [{ key: 'k', match: { any: Array.from({ length: 2000 }, (_, i) => `v${i}`) } }] } }));
    assert.equal(tooLarge.status, 413);
    assert.match(((await tooLarge.json()) as { status: { error: string } }).status.error, /4096 bytes/);

    const malformed = await post('/collections/items/points/search', '{"vector": [1, 0,');
    assert.equal(malformed.status, 400);
    const body = (await malformed.json()) as { status: { error: string }; time: number };
    assert.match(body.status.error, /JSON/);
    assert.equal(typeof body.time, 'number');
    for (const [path, bad] of [
      ['/collections/items/points/search', { vector: 'abc' }],
      ['/collections/items/points/search', { vector: [1, 0, 0] }],
      ['/collections/items/points/search', { vector: [1, 0, 0, 0], limit: -1 }],
      ['/collections/items/points/scroll', { filter: { must: 3 } }],
      ['/collections/items/points/scroll', { filter: { must: [{ key: 'a', match: { value: { nested: 1 } } }] } }],
      ['/collections/items/points', { ids: [-5] }],
      ['/collections/items/points', { ids: ['not-a-uuid'] }],
      ['/collections/items/points/delete', {}],
    ] as const) {
      const r = await post(path, JSON.stringify(bad));
      assert.equal(r.status, 400, `${path} ${JSON.stringify(bad)}: ${await r.text()}`);
    }
    assert.equal((await post('/collections/items/points/search', '[1, 2]')).status, 400);
    const upsertBad = await fetch(`${s.url}/collections/items/points`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ points: [{ id: 1, vector: [1, 0, 0, 0] }, { id: 2, vector: [1, 'x', 0, 0] }] }) });
    assert.equal(upsertBad.status, 400);
    assert.equal((await client.count('items')).count, 0, 'a refused batch wrote nothing');

    // The slow client is still holding its connection open, and everyone else is served.
    await client.upsert('items', { wait: true, points: [{ id: 7, vector: [1, 0, 0, 0] }] });
    assert.deepEqual((await client.search('items', { vector: [1, 0, 0, 0], limit: 1 })).map((h) => h.id), [7]);
    assert.equal(slow.destroyed, false);
    // ...until the request timeout drops it.
    await slowClosed;
  } finally {
    assert.equal(await s.stop(), 0, s.stderr());
  }
});

test('--read-only servers beside a writer: each on its own port, they see new points after refresh and refuse writes', async () => {
  const path = await newDb();
  const writer = await serve(path);
  const readers = [await serve(path, ['--read-only', '--refresh-ms', '50']), await serve(path, ['--read-only', '--refresh-ms', '50'])];
  try {
    assert.equal(new Set([writer.port, ...readers.map((r) => r.port)]).size, 3);
    const w = new QdrantClient({ url: writer.url, checkCompatibility: false });
    await w.upsert('items', { wait: true, points: [{ id: 1, vector: [1, 0, 0, 0], payload: { v: 1 } }, { id: 'aa0e8400-e29b-41d4-a716-446655440000', vector: [0, 1, 0, 0] }] });
    for (const reader of readers) {
      const r = new QdrantClient({ url: reader.url, checkCompatibility: false });
      let seen: unknown[] = [];
      for (let i = 0; i < 400 && seen.length < 2; i++) {
        seen = await r.retrieve('items', { ids: [1, 'aa0e8400-e29b-41d4-a716-446655440000'] });
        if (seen.length < 2) await new Promise((resolve) => setTimeout(resolve, 25));
      }
      assert.equal(seen.length, 2, 'the reader followed the writer');
      assert.deepEqual((await r.search('items', { vector: [1, 0, 0, 0], limit: 1 })).map((h) => h.id), [1]);
      assert.equal(await statusOf(r.upsert('items', { wait: true, points: [{ id: 2, vector: [1, 0, 0, 0] }] })), 403);
      assert.equal(await statusOf(r.createCollection('more', { vectors: { size: 4, distance: 'Cosine' } })), 403);
    }
  } finally {
    for (const s of [...readers, writer]) assert.equal(await s.stop(), 0, s.stderr());
  }
});

test('SIGTERM mid-load drains requests in flight and closes the database: nothing acknowledged is lost', async () => {
  const path = await newDb();
  // relaxed: a write is acknowledged once buffered, so only a clean close puts it on disk.
  const s = await serve(path, ['--durability', 'relaxed']);
  const client = new QdrantClient({ url: s.url, checkCompatibility: false });
  const acknowledged: number[] = [];
  let next = 0;
  let stopping: Promise<number | null> | null = null;
  const worker = async () => {
    for (;;) {
      const id = next++;
      if (id >= 5000) return;
      try {
        await client.upsert('items', { wait: true, points: [{ id, vector: [1, id % 7, (id % 5) + 1, 0], payload: { id } }] });
        acknowledged.push(id);
      } catch {
        return; // refused or cut off once the server stops: not acknowledged
      }
      if (acknowledged.length === 100 && !stopping) stopping = s.stop();
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  assert.ok(stopping, 'the load reached the signal');
  const code = await stopping;
  const db = await open(path, { readOnly: true });
  const vault = db.vault('items');
  const missing = acknowledged.filter((id) => !vault.has(String(id)));
  assert.deepEqual(missing, [], `${acknowledged.length} acknowledged, ${vault.count()} stored`);
  await db.close();
  assert.equal(code, 0, s.stderr());
  assert.match(s.stderr(), /drained and closed/);
});
