import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { open, ValidationError } from '../../src/index.js';
import { fuse } from '../../src/vault/fusion.js';
import { dbPath } from '../helpers/tmp.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const DOCS = [
  ['volcano', 'Volcanoes erupt when molten magma rises through the crust.'],
  ['bank', 'The central bank raised interest rates to slow inflation.'],
  ['ships', 'Cargo ships cross the ocean carrying containers.'],
  ['err', 'One ticket, ERR_4411, was closed after the deploy.'],
];

describe('hybrid search by default', () => {
  it('a text query over documents is hybrid (weighted) unless a mode is named; a vault without documents stays vector', async () => {
    const db = await open(undefined, { embedder: 'local' });
    const v = await db.createVault('kb');
    for (const [id, text] of DOCS) await v.addDocument({ id: id!, text: text! });
    const hits = await v.search('lava and magma eruptions', { k: 2 });
    assert.equal(hits[0]!.id, 'volcano');
    assert.ok(hits[0]!.ranks && hits[0]!.ranks.text === 1, 'fused: the hit carries its ranks');
    assert.equal((await v.search('ERR_4411', { k: 1 }))[0]!.id, 'err');
    assert.equal((await v.search('lava', { mode: 'vector', k: 1 }))[0]!.ranks, undefined);
    const rrf = await v.search('interest rates', { k: 1, fusion: 'rrf' });
    assert.equal(rrf[0]!.id, 'bank');
    await assert.rejects(v.search('x', { textWeight: 1.5 }), ValidationError);
    await assert.rejects(v.search('x', { fusion: 'max' as never }), ValidationError);
    await assert.rejects(v.search('x', { fusion: { vector: -1, text: 1 } }), ValidationError);
    const plain = await db.createVault('plain');
    await plain.insert('a', (await db.embedder!.embed(['magma']))[0]!);
    assert.equal((await plain.search('magma', { k: 1 }))[0]!.ranks, undefined, 'no documents: vector mode, scores stay similarities');
    await db.close();
  });

  it('weighted fusion: text weight 1 keeps BM25 order, 0 keeps vector order, and a text-only hit never beats a record both rankings rate best', () => {
    const byVector = [{ id: 'a', score: 0.9 }, { id: 'b', score: 0.8 }, { id: 'c', score: 0.1 }];
    const byText = [{ id: 'c', score: 12 }, { id: 'b', score: 6 }, { id: 'd', score: 1 }];
    const order = (w: number) => fuse(byVector, byText, { rule: 'weighted', textWeight: w, rrfK: 60, metric: 'cosine' }).map((f) => f.id);
    assert.deepEqual(order(1).slice(0, 3), ['c', 'b', 'd']);
    assert.deepEqual(order(0).slice(0, 3), ['a', 'b', 'c']);
    const both = fuse([{ id: 'x', score: 0.9 }, { id: 'y', score: 0.2 }], [{ id: 'x', score: 5 }, { id: 'z', score: 5 }], { rule: 'weighted', textWeight: 0.7, rrfK: 60, metric: 'cosine' });
    assert.equal(both[0]!.id, 'x');
    assert.deepEqual(fuse(byVector, [], { rule: 'weighted', textWeight: 0.7, rrfK: 60, metric: 'cosine' }).map((f) => f.id), ['a', 'b', 'c'], 'no text match: the vector order');
  });

  it('quiver search --text takes --fusion rrf|weighted and --text-weight', async () => {
    const dir = dbPath();
    const db = await open(dir, { embedder: 'local' });
    const v = await db.createVault('kb');
    for (const [id, text] of DOCS) await v.addDocument({ id: id!, text: text! });
    await db.close();
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'search', dir, '--vault', 'kb', '--text', 'interest rates', '-k', '1', '--json', ...args], { encoding: 'utf8' });
    for (const extra of [[], ['--fusion', 'rrf'], ['--fusion', 'weighted', '--text-weight', '0.7']]) {
      const r = run(...extra);
      assert.equal(r.status, 0, r.stderr);
      const hit = JSON.parse(r.stdout)[0];
      assert.equal(hit.id, 'bank');
      assert.ok(hit.ranks.text >= 1, 'hybrid by default');
    }
    assert.equal(run('--fusion', 'max').status, 2);
  });
});
