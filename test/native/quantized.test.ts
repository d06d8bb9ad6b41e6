import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, ConfigError, CorruptionError, type Database } from '../../src/index.js';
import { nativeGraphs } from '../../src/native/mapped-graph.js';
import { decodeManifest } from '../../src/segments/manifest.js';
import { decodeIdentity } from '../../src/format/identity.js';
import { checkDatabase } from '../../src/engine/maintenance/check.js';
import { dbPath, seeded } from '../helpers/tmp.js';

/**
 * Quantized graphs (#19 "beyond RAM"; FORMAT.md "Graph codes"). A database whose index has
 * `quantization: 'int8'` writes each graph's codes beside it at every checkpoint; a mapped reader
 * searches the codes and re-ranks the ef best by the graph's float32 vectors, so its recall@10
 * stays within 0.01 of the float32 search at the same ef and its distances are exact. A damaged
 * codes page is a CorruptionError on the search that reaches it, never a wrong answer; a writer
 * may turn quantization on or off for an existing database.
 */

assert.ok(nativeGraphs(), 'the native addon is not built: run `node native/build.mjs`');

const DIM = 48;
const N = 4000;

function data(n: number, seed: number, dim = DIM): Float32Array[] {
  const r = seeded(seed);
  const centres = Array.from({ length: 20 }, () => Float32Array.from({ length: dim }, () => r() * 2 - 1));
  return Array.from({ length: n }, (_, i) => Float32Array.from(centres[(i * 7) % 20]!, (x) => x + (r() - 0.5) * 0.8));
}

const INDEX = { type: 'hnsw', M: 12, efConstruction: 60 } as const;

async function build(quantization: 'int8' | undefined, extra: (db: Database) => Promise<void> = async () => undefined, seed = 3, metric: 'cosine' | 'l2' | 'ip' = 'cosine', dim = DIM): Promise<string> {
  const dir = dbPath();
  const db = await open(dir, { dimension: dim, metric, index: { ...INDEX, ...(quantization ? { quantization } : {}) } });
  const v = await db.createVault('v');
  await v.insertMany(data(N, seed, dim).map((vector, i) => ({ id: `r${i}`, vector, payload: { even: i % 2 === 0 } })));
  await extra(db);
  await db.checkpoint();
  await db.close();
  return dir;
}

const codesFiles = (dir: string): string[] => fs.readdirSync(path.join(dir, 'segments')).filter((f) => f.endsWith('.hnsw.q8'));
const manifestOf = (dir: string) => decodeManifest(fs.readFileSync(path.join(dir, 'quiver.manifest')));

async function withCodes<T>(on: boolean, run: () => Promise<T>): Promise<T> {
  const before = process.env.QUIVER_CODES;
  process.env.QUIVER_CODES = on ? '1' : '0';
  try {
    return await run();
  } finally {
    if (before === undefined) delete process.env.QUIVER_CODES;
    else process.env.QUIVER_CODES = before;
  }
}

async function recallAt(dir: string, codes: boolean, queries: Float32Array[], truth: string[][], ef: number): Promise<{ recall: number; quantized: boolean; hits: { id: string; distance: number }[][] }> {
  return withCodes(codes, async () => {
    const db = await open(dir, { readOnly: true });
    try {
      let found = 0;
      const hits = [];
      for (let i = 0; i < queries.length; i++) {
        const got = await db.vault('v').search(queries[i]!, { k: 10, ef });
        hits.push(got.map((h) => ({ id: h.id, distance: h.distance! })));
        found += got.filter((h) => truth[i]!.includes(h.id)).length;
      }
      return { recall: found / (10 * queries.length), quantized: db.stats().vaults[0]!.index.quantized === true, hits };
    } finally {
      await db.close();
    }
  });
}

describe('int8 quantized graphs', () => {
  for (const [metric, dim] of [['cosine', DIM], ['l2', 37], ['ip', 21]] as const) {
  it(`writes codes beside each graph, named by the manifest, and a mapped reader searches them within 0.01 recall of float32 (${metric}, ${dim} dimensions)`, async () => {
    const dir = await build('int8', undefined, 3, metric, dim);
    assert.deepEqual(codesFiles(dir), ['vault_1_1.hnsw.q8']);
    const entry = manifestOf(dir).vaults[0]!;
    assert.equal(entry.codes?.path, 'segments/vault_1_1.hnsw.q8');
    assert.equal(entry.codes?.bytes, fs.statSync(path.join(dir, entry.codes!.path)).size);
    assert.equal((await checkDatabase(dir)).ok, true);

    const queries = data(200, 11, dim);
    const exact = await open(dir, { readOnly: true });
    const truth: string[][] = [];
    const exactDistance = new Map<string, number>();
    for (const [i, q] of queries.entries()) {
      const hits = await exact.vault('v').search(q, { k: 10, exact: true });
      truth.push(hits.map((h) => h.id));
      for (const h of hits) exactDistance.set(`${i}:${h.id}`, h.distance!);
    }
    await exact.close();
    for (const ef of [16, 32, 64]) {
      const float = await recallAt(dir, false, queries, truth, ef);
      const int8 = await recallAt(dir, true, queries, truth, ef);
      assert.equal(float.quantized, false);
      assert.equal(int8.quantized, true, 'the reader searches the codes');
      assert.ok(int8.recall >= float.recall - 0.01, `ef ${ef}: int8 recall ${int8.recall} vs float32 ${float.recall}`);
      // Re-ranked by the float32 vectors: a hit's distance is its exact distance.
      int8.hits.forEach((hits, i) => {
        for (const h of hits) {
          const want = exactDistance.get(`${i}:${h.id}`);
          if (want !== undefined) assert.ok(Math.abs(h.distance - want) <= 1e-6 * Math.max(1, Math.abs(want)), `query ${i} ${h.id}: ${h.distance} vs ${want}`);
        }
      });
    }
  });
  }

  it('keeps filters, erasures and the log tail on the codes', async () => {
    const dir = await build('int8');
    const writer = await open(dir);
    // Left in the log (close does not checkpoint): the reader applies them over the mapped graph.
    for (const id of ['r0', 'r2', 'r4']) assert.equal(await writer.vault('v').erase(id), true);
    await writer.vault('v').insert('r4000', new Float32Array(DIM).fill(5), { even: true });
    await writer.close();
    const reader = await open(dir, { readOnly: true });
    try {
      assert.equal(reader.stats().vaults[0]!.index.quantized, true);
      for (const q of data(30, 21)) {
        const hits = await reader.vault('v').search(q, { k: 10, ef: 32, filter: { even: true } });
        assert.equal(hits.length, 10);
        for (const h of hits) {
          assert.ok(!['r0', 'r2', 'r4'].includes(h.id), `erased ${h.id} returned`);
          assert.equal(Number(h.id.slice(1)) % 2, 0, `${h.id} does not pass the filter`);
        }
      }
      const top = await reader.vault('v').search(new Float32Array(DIM).fill(5), { k: 1 });
      assert.equal(top[0]!.id, 'r4000', 'a vector added since the checkpoint is found (the log tail)');
    } finally {
      await reader.close();
    }
  });

  it('reports a damaged codes page as CorruptionError on the search that reaches it, and quiver check names the file', async () => {
    const dir = await build('int8');
    const file = path.join(dir, manifestOf(dir).vaults[0]!.codes!.path);
    const bytes = fs.readFileSync(file);
    const rowsOff = Number(bytes.readBigUInt64LE(32));
    // A byte in the middle of the rows: every search visits most of a 4000-row graph at ef 200.
    bytes[rowsOff + Math.floor((bytes.byteLength - rowsOff) / 2)]! ^= 0x40;
    fs.writeFileSync(file, bytes);
    const reader = await open(dir, { readOnly: true });
    try {
      let failed = 0;
      for (const q of data(40, 5)) {
        try {
          await reader.vault('v').search(q, { k: 10, ef: 200 });
        } catch (err) {
          // The first search that reaches the page fails, and the handle with it (as a damaged graph page does).
          assert.ok(err instanceof CorruptionError, String(err));
          assert.match((err as Error).message, /vault_1_1\.hnsw\.q8.*codes page \d+/);
          failed++;
        }
      }
      assert.ok(failed > 0, 'some search reached the damaged page');
    } finally {
      await reader.close();
    }
    const report = await checkDatabase(dir);
    assert.equal(report.ok, false);
    assert.ok(report.problems.some((p) => p.file.endsWith('.hnsw.q8')), JSON.stringify(report.problems));
  });

  it('reports a damaged graph page that the re-rank reads as CorruptionError naming the graph', async () => {
    const dir = await build('int8');
    const file = path.join(dir, manifestOf(dir).vaults[0]!.graph!.path);
    const bytes = fs.readFileSync(file);
    const per = Number(bytes.readBigUInt64LE(24));
    const dataOff = Number(bytes.readBigUInt64LE(40));
    // A float in the vector of element N/2: the codes still lead a search there, the re-rank reads it.
    const victim = Math.floor(N / 2);
    bytes[96 + victim * per + dataOff + 5]! ^= 0x40;
    fs.writeFileSync(file, bytes);
    const reader = await open(dir, { readOnly: true, verify: 'lazy' });
    try {
      const query = data(N, 3)[victim]!;
      await assert.rejects(reader.vault('v').search(query, { k: 10, ef: 64 }), (err: unknown) => err instanceof CorruptionError && /vault_1_1\.hnsw: page \d+ .*does not match its checksum in the graph's sidecar/.test((err as Error).message));
    } finally {
      await reader.close().catch(() => undefined);
    }
  });

  it('refuses codes whose header is damaged or made for another graph at open', async () => {
    const dir = await build('int8');
    const file = path.join(dir, manifestOf(dir).vaults[0]!.codes!.path);
    const bytes = fs.readFileSync(file);
    bytes[20]! ^= 1;
    fs.writeFileSync(file, bytes);
    await assert.rejects(open(dir, { readOnly: true }), (err: unknown) => err instanceof CorruptionError && /header/.test((err as Error).message));
  });

  it('lets a writer turn quantization on and off for an existing database; readers may not ask for another', async () => {
    const dir = await build(undefined);
    assert.deepEqual(codesFiles(dir), []);
    await assert.rejects(open(dir, { readOnly: true, index: { type: 'hnsw', quantization: 'int8' } }), (err: unknown) => err instanceof ConfigError && err.code === 'CONFIG_MISMATCH');
    await assert.rejects(open(dir, { index: { type: 'hnsw', quantization: 'int4' as never } }), (err: unknown) => err instanceof ConfigError && err.code === 'CONFIG_INVALID');
    await assert.rejects(open(dbPath(), { dimension: 4, index: { type: 'flat', quantization: 'int8' } as never }), (err: unknown) => err instanceof ConfigError && err.code === 'CONFIG_INVALID');

    const graphBefore = manifestOf(dir).vaults[0]!.graph!.path;
    const db = await open(dir, { index: { type: 'hnsw', quantization: 'int8' } });
    const stored = decodeIdentity(fs.readFileSync(path.join(dir, 'IDENTITY'))).index;
    assert.deepEqual(stored, { ...INDEX, quantization: 'int8' });
    await db.checkpoint();
    await db.close();
    // The unchanged vault keeps its graph; its codes are made from it.
    const entry = manifestOf(dir).vaults[0]!;
    assert.equal(entry.graph!.path, graphBefore);
    assert.equal(entry.codes?.path, `${graphBefore}.q8`);
    assert.deepEqual(codesFiles(dir), [path.basename(`${graphBefore}.q8`)]);
    assert.equal((await checkDatabase(dir)).ok, true);
    const reader = await open(dir, { readOnly: true });
    assert.equal(reader.stats().vaults[0]!.index.quantized, true);
    assert.equal(reader.stats().files?.codes, entry.codes!.bytes);
    await reader.close();

    const off = await open(dir, { index: { type: 'hnsw', quantization: 'none' } });
    await off.checkpoint();
    await off.close();
    assert.deepEqual(decodeIdentity(fs.readFileSync(path.join(dir, 'IDENTITY'))).index, INDEX);
    assert.equal(manifestOf(dir).vaults[0]!.codes, undefined);
    assert.deepEqual(codesFiles(dir), [], 'the codes file goes with the manifest that named it');
  });

  it('refuses codes made for another graph, whose own checksums are sound', async () => {
    const dir = await build('int8');
    const other = await build('int8', undefined, 9);
    const codes = manifestOf(dir).vaults[0]!.codes!.path;
    fs.copyFileSync(path.join(other, codes), path.join(dir, codes));
    await assert.rejects(open(dir, { readOnly: true }), (err: unknown) => err instanceof CorruptionError && /hnsw\.q8.*another graph/.test((err as Error).message));
    const report = await checkDatabase(dir);
    assert.ok(report.problems.some((p) => p.file.endsWith('.hnsw.q8')), JSON.stringify(report.problems));
  });

  it('brings a live reader onto codes a writer added, at its next refresh', async () => {
    const dir = await build(undefined);
    const reader = await open(dir, { readOnly: true });
    try {
      assert.equal(reader.stats().vaults[0]!.index.quantized, false);
      const writer = await open(dir, { index: { type: 'hnsw', quantization: 'int8' } });
      await writer.checkpoint();
      await writer.close();
      await reader.refresh();
      assert.equal(reader.stats().vaults[0]!.index.quantized, true, 'the refresh loaded the checkpoint that added codes');
      assert.equal((await reader.vault('v').search(data(1, 4)[0]!, { k: 5 })).length, 5);
    } finally {
      await reader.close();
    }
  });

  it('changes IDENTITY only once an open has succeeded, and refuses int8 for snapshot storage', async () => {
    const dir = await build(undefined);
    const before = fs.readFileSync(path.join(dir, 'IDENTITY'));
    await assert.rejects(open(dir, { index: { type: 'hnsw', quantization: 'int8' }, embedder: { transformers: path.join(dir, 'no-such-model') } }));
    assert.deepEqual(fs.readFileSync(path.join(dir, 'IDENTITY')), before, 'a failed open leaves IDENTITY as it was');
    await assert.rejects(open(dbPath(), { dimension: 4, storage: 'snapshot', index: { type: 'hnsw', quantization: 'int8' } }), (err: unknown) => err instanceof ConfigError && err.code === 'CONFIG_INVALID');
  });
});
