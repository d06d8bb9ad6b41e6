import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkDatabase, CorruptionError, open, type Database } from '../../src/index.js';
import { deltaLimits, graphLag } from '../../src/engine/maintenance/checkpoint-files.js';
import { decodeManifest, encodeManifest } from '../../src/segments/manifest.js';
import type { FileRef } from '../../src/vault/vault-state.js';
import { decodeDelta } from '../../src/segments/delta-file.js';
import { dbPath, tmpDir, vectors } from '../helpers/tmp.js';
import { dump } from '../helpers/state.js';
import { nativeGraphs } from '../../src/native/mapped-graph.js';

const DIM = 12;
const vs = vectors(2000, DIM, 5);

function manifestOf(dir: string): ReturnType<typeof decodeManifest> {
  return decodeManifest(fs.readFileSync(path.join(dir, 'quiver.manifest')));
}

function files(dir: string, ext: string): string[] {
  return fs.readdirSync(path.join(dir, 'segments')).filter((name) => name.endsWith(ext));
}

/** What a user sees of the database: records, searches (graph, filtered through the payload index, exact), counts. */
async function view(db: Database): Promise<unknown> {
  // Every vector in a graph: a queued one is scored by an exact scan, in double precision.
  await db.settle();
  const v = db.vault('v');
  const out: unknown[] = [dump(db), v.count(), v.count({ tag: 'b' }), v.indexes(), v.info()];
  for (const q of vectors(4, DIM, 77)) {
    out.push(await v.search(q, { k: 8 }));
    out.push(await v.search(q, { k: 5, filter: { tag: 'a' } }));
    out.push(await v.search(q, { k: 5, exact: true }));
  }
  return out;
}

/** A base of 600 records, then changes of every kind: inserts (some into erased records' graph slots), erasures, upserts, patches, a re-inserted id, a new payload index. */
async function churn(db: Database, round: number): Promise<void> {
  const v = db.vault('v');
  const at = 600 + round * 60;
  for (let i = round * 20; i < round * 20 + 20; i++) await v.erase(`r${i}`);
  await v.insertMany(Array.from({ length: 30 }, (_, i) => ({ id: `n${round}_${i}`, vector: vs[at + i]!, payload: { tag: i % 2 ? 'a' : 'b', round } })));
  for (let i = 300; i < 305; i++) await v.insert(`r${i + round * 5}`, vs[at + 40 + i - 300]!, { tag: 'b', upserted: round });
  await v.patchWhere({ tag: 'a', round }, { set: { patched: true } });
  // An id erased above comes back under a new label.
  await v.insert(`r${round * 20}`, vs[at + 50]!, { back: round });
  // The round before's new records: one replaced, one erased (a later delta over an earlier one).
  if (round > 0) {
    await v.insert(`n${round - 1}_0`, vs[at + 55]!, { tag: 'a', again: round });
    await v.erase(`n${round - 1}_1`);
  }
}

const saved = { ...deltaLimits };
const savedLag = { ...graphLag };
afterEach(() => {
  Object.assign(deltaLimits, saved);
  Object.assign(graphLag, savedLag);
});

/** The view from a writer, a reader with the addon's mapped graph, and a reader without it. */
async function opens(dir: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const [readOnly, native] of [[false, true], [false, false], [true, true], [true, false]] as const) {
    if (!native) process.env.QUIVER_NATIVE = '0';
    try {
      const db = await open(dir, { readOnly });
      out.push(await view(db));
      await db.close();
    } finally {
      delete process.env.QUIVER_NATIVE;
    }
  }
  return out;
}

/** A database whose vault v has a base of 600 records (a payload index on `tag`), checkpointed. */
async function based(): Promise<{ dir: string; db: Database }> {
  const dir = dbPath();
  const db = await open(dir, { dimension: DIM, index: { type: 'hnsw' } });
  const v = await db.createVault('v');
  await v.createIndex('tag');
  await v.insertMany(vs.slice(0, 600).map((vector, i) => ({ id: `r${i}`, vector, payload: { tag: i % 3 ? 'a' : 'b', i } })));
  await db.checkpoint();
  return { dir, db };
}

describe('delta segments (FORMAT.md "Delta segments")', () => {
  it('a checkpoint of a few changes writes only them, and every open sees the same database', async () => {
    const { dir, db } = await based();
    const base = manifestOf(dir).vaults[0]!;
    assert.equal(base.deltas, undefined);
    const views: unknown[] = [];
    for (let round = 0; round < 2; round++) {
      await churn(db, round);
      await db.checkpoint();
      views.push(await view(db));
      const entry = manifestOf(dir).vaults[0]!;
      // The base stays; one delta more, far smaller than the base.
      assert.equal(entry.segment.path, base.segment.path);
      assert.equal(entry.deltas?.length, round + 1);
      assert.ok(entry.deltas!.at(-1)!.bytes * 4 < base.segment.bytes, `delta ${entry.deltas!.at(-1)!.bytes} B vs base ${base.segment.bytes} B`);
      assert.deepEqual(files(dir, '.segment'), [path.basename(base.segment.path)]);
      // Named `base`, not `segment`: a build before deltas refuses the manifest rather than read the base alone.
      const json = fs.readFileSync(path.join(dir, 'quiver.manifest')).toString('latin1');
      assert.ok(json.includes('"base"') && !json.includes('"segment"'), json);
      assert.deepEqual(files(dir, '.delta').sort(), entry.deltas!.map((d) => path.basename(d.path)).sort());
    }
    const live = views.at(-1);
    await db.close();

    const again = await open(dir);
    assert.deepEqual(await view(again), live, 'a writer reopened');
    assert.equal(again.stats().recovery!.replayedRecords, 0);
    await again.close();
    const reader = await open(dir, { readOnly: true });
    assert.deepEqual(await view(reader), live, 'a reader');
    await reader.close();
    const report = await checkDatabase(dir);
    assert.ok(report.ok, JSON.stringify(report.problems));
    assert.equal(report.records, (live as [unknown, number])[1]);
    assert.ok(report.filesChecked.some((f) => f.endsWith('.delta')));
  });

  it('text, layers, branches, traces and indexes come back through deltas: the export is byte-identical', async () => {
    const dir = dbPath();
    const db = await open(dir, { embedder: 'local', index: { type: 'hnsw' } });
    const v = await db.createVault('kb');
    await v.createIndex('kind');
    const big = vectors(400, 256, 9);
    await v.insertMany(big.map((vector, i) => ({ id: `x${i}`, vector, payload: { n: i } })));
    await v.addText('lava', 'Volcanoes erupt when magma reaches the surface. '.repeat(30), { size: 300, overlap: 50, payload: { kind: 'doc' } });
    await v.addText('tide', 'The moon pulls the oceans into tides twice a day. '.repeat(30), { size: 300, overlap: 50 });
    await v.layers.commit({ resources: { 'urn:a': { text: 'first' } }, embed: true });
    await db.checkpoint();
    // Changes of every kind the lineage and the derived indexes see.
    await v.addText('lava', 'Basalt flows cool into columns by the sea. '.repeat(20), { size: 300, overlap: 50, payload: { kind: 'rewritten' } });
    await v.addText('wind', 'Trade winds carry sailing ships west across the ocean. '.repeat(20), { size: 300, overlap: 50 });
    await v.eraseWhere({ n: { $lt: 10 } });
    await v.layers.commit({ resources: { 'urn:a': null, 'urn:b': { text: 'second' } }, embed: true });
    await v.branches.create('side', 'L1');
    await v.traces.put('run/1', { steps: [1, 2] }, { at: 1234, links: { records: ['x20'], layers: ['L1'] } });
    await v.traces.setRetention({ maxCount: 100 });
    await db.checkpoint();
    assert.equal(manifestOf(dir).vaults[0]!.deltas?.length, 1, 'a delta');
    assert.equal(db.stats().vaults[0]!.deltas, 1);
    const asked = async (d: Database): Promise<unknown> => [await d.vault('kb').search('magma surface', { k: 5, mode: 'text' }), await d.vault('kb').search('basalt columns', { k: 5 }), d.vault('kb').count({ kind: 'rewritten' }), d.vault('kb').indexes()];
    const live = await asked(db);
    const before = path.join(tmpDir(), 'before');
    await db.export(before);
    await db.close();
    const again = await open(dir, { embedder: 'local' });
    assert.deepEqual(await asked(again), live);
    const after = path.join(tmpDir(), 'after');
    await again.export(after);
    await again.close();
    const names = fs.readdirSync(before, { recursive: true, encoding: 'utf8' }).filter((name) => fs.statSync(path.join(before, name)).isFile());
    assert.ok(names.length > 1);
    for (const name of names) assert.deepEqual(fs.readFileSync(path.join(after, name)), fs.readFileSync(path.join(before, name)), name);
  });

  it('a checkpoint may keep the graph before: its delta holds the vectors, which every open puts in the index', async () => {
    const { dir, db } = await based();
    const graph = manifestOf(dir).vaults[0]!.graph!;
    graphLag.share = 1;
    deltaLimits.share = 1;
    for (let round = 0; round < 2; round++) {
      await churn(db, round);
      await db.checkpoint();
      const entry = manifestOf(dir).vaults[0]!;
      assert.deepEqual(entry.graph, graph, 'the graph is kept');
      assert.equal(entry.deltas?.length, round + 1);
      // The delta holds its records' vectors: a VECTORS section, not rows of a graph.
      const delta = decodeDelta(fs.readFileSync(path.join(dir, entry.deltas!.at(-1)!.path)), DIM, 'delta');
      assert.ok(delta.vectors && !delta.rows && delta.count === (round ? 37 : 36), `${delta.count} records`);
    }
    const live = await view(db);
    await db.close();
    assert.deepEqual(await opens(dir), [live, live, live, live], 'writers and readers with the addon and without it');
    assert.ok((await checkDatabase(dir)).ok);

    // A writer reopened on them, then a checkpoint that saves the graph: its delta re-lists every record since the graph before.
    graphLag.share = 0;
    const again = await open(dir);
    await churn(again, 2);
    const after = await view(again);
    await again.checkpoint();
    const entry = manifestOf(dir).vaults[0]!;
    assert.notDeepEqual(entry.graph, graph, 'a new graph');
    assert.equal(entry.deltas?.length, 3);
    const relisted = decodeDelta(fs.readFileSync(path.join(dir, entry.deltas![2]!.path)), DIM, 'delta');
    assert.ok(relisted.rows && relisted.count > 3 * 30, `the graph's delta re-lists the records since the graph before: ${relisted.count}`);
    assert.deepEqual(await view(again), after);
    await again.close();
    assert.deepEqual(await opens(dir), [after, after, after, after]);
    const report = await checkDatabase(dir);
    assert.ok(report.ok, JSON.stringify(report.problems));
  });

  it('deltas past their limit are merged into a new base, and compaction writes the vault whole', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: DIM, index: { type: 'hnsw' } });
    const v = await db.createVault('v');
    await v.insertMany(vs.slice(0, 600).map((vector, i) => ({ id: `r${i}`, vector, payload: { tag: i % 3 ? 'a' : 'b' } })));
    await db.checkpoint();
    await churn(db, 0);
    await db.checkpoint();
    assert.equal(manifestOf(dir).vaults[0]!.deltas?.length, 1);
    deltaLimits.files = 1;
    await churn(db, 1);
    await db.checkpoint();
    const merged = manifestOf(dir).vaults[0]!;
    assert.equal(merged.deltas, undefined, 'merged');
    assert.deepEqual(files(dir, '.delta'), [], 'the merged deltas are removed');
    assert.deepEqual(files(dir, '.segment'), [path.basename(merged.segment.path)]);
    Object.assign(deltaLimits, saved);
    await churn(db, 2);
    await db.checkpoint();
    assert.equal(manifestOf(dir).vaults[0]!.deltas?.length, 1, 'the new base takes deltas');
    await db.compact();
    assert.equal(manifestOf(dir).vaults[0]!.deltas, undefined, 'compaction renumbers labels: whole');
    const live = await view(db);
    await db.close();
    const again = await open(dir);
    assert.deepEqual(await view(again), live);
    await again.close();
  });

  it('a reader refreshes across delta checkpoints; the quarter limit holds across a reopen; a new payload index writes whole', async () => {
    const { dir, db } = await based();
    const reader = await open(dir, { readOnly: true });
    for (let round = 0; round < 2; round++) {
      await churn(db, round);
      await db.checkpoint();
      await reader.refresh();
      assert.deepEqual(await view(reader), await view(db), `reader after round ${round}`);
    }
    assert.equal(manifestOf(dir).vaults[0]!.deltas?.length, 2);
    await db.close();
    // Two rounds hold about 116 rows and erasures; a third passes a quarter of the 600 base rows
    // only if the reopened writer counts what the two deltas on disk hold.
    const again = await open(dir);
    await churn(again, 2);
    await again.checkpoint();
    assert.equal(manifestOf(dir).vaults[0]!.deltas, undefined, 'merged past a quarter of the base');
    await reader.refresh();
    assert.deepEqual(await view(reader), await view(again), 'reader after the merge');
    await churn(again, 3);
    await again.vault('v').createIndex('round');
    await again.checkpoint();
    assert.equal(manifestOf(dir).vaults[0]!.deltas, undefined, 'a new payload index: whole');
    await churn(again, 4);
    await again.checkpoint();
    assert.equal(manifestOf(dir).vaults[0]!.deltas?.length, 1, 'then deltas again');
    const live = await view(again);
    await again.close();
    await reader.refresh();
    assert.deepEqual(await view(reader), live);
    await reader.close();
    assert.deepEqual(await opens(dir), [live, live, live, live]);
  });

  it('a quantized reader that follows the log keeps its state across delta checkpoints that save graphs and codes on one base', async (t) => {
    if (!nativeGraphs()) return t.skip('the native addon is not built');
    const dir = dbPath();
    const db = await open(dir, { dimension: DIM, index: { type: 'hnsw', quantization: 'int8' } });
    const v = await db.createVault('v');
    await v.insertMany(vs.slice(0, 600).map((vector, i) => ({ id: `r${i}`, vector })));
    await db.checkpoint();
    const reader = await open(dir, { readOnly: true, refreshIntervalMs: 0 });
    const stateOf = (d: Database): unknown => (d as unknown as { parts: { state: unknown } }).parts.state;
    let kept = 0;
    for (let k = 0; k < 3; k++) {
      // More than a sixteenth of the vault: the checkpoint saves the graph and its codes, the base stays.
      await v.insertMany(vs.slice(700 + 50 * k, 750 + 50 * k).map((vector, i) => ({ id: `n${k}_${i}`, vector })));
      await reader.refresh(); // past the writes: the checkpoint below adds nothing it lacks
      const before = stateOf(reader);
      await db.checkpoint();
      await reader.refresh();
      if (stateOf(reader) === before) kept++;
    }
    const entry = manifestOf(dir).vaults[0]!;
    assert.equal(entry.deltas?.length, 3);
    assert.ok(entry.codes?.path.includes('_4.'), 'the last checkpoint saved the graph and its codes');
    assert.equal(kept, 3, 'the reader went on with its state at every checkpoint');
    await reader.close();
    await db.close();
  });

  it('a missing delta, deltas out of order, or a delta on another base is CorruptionError at open and in check', async () => {
    const { dir, db } = await based();
    for (let round = 0; round < 2; round++) {
      await churn(db, round);
      await db.checkpoint();
    }
    await db.close();
    const good = fs.readFileSync(path.join(dir, 'quiver.manifest'));
    const manifest = decodeManifest(good);
    const entry = manifest.vaults[0]!;
    const [first, second] = entry.deltas as [FileRef, FileRef];
    const rewrite = (at: string, vault: typeof entry): void => fs.writeFileSync(path.join(at, 'quiver.manifest'), Buffer.concat(encodeManifest({ ...manifest, vaults: [vault] })));
    const cases: [string, (at: string) => void, string][] = [
      ['missing', (at) => fs.rmSync(path.join(at, second.path)), second.path],
      ['out of order', (at) => rewrite(at, { ...entry, deltas: [second, first] }), first.path],
      // The same base bytes under another epoch's name: the deltas say they lie on epoch 1's.
      ['on another base', (at) => {
        const other = 'segments/vault_1_0.segment';
        fs.copyFileSync(path.join(at, entry.segment.path), path.join(at, other));
        rewrite(at, { ...entry, segment: { ...entry.segment, path: other } });
      }, first.path],
    ];
    for (const [what, damage, file] of cases) {
      const copy = path.join(tmpDir(), 'db');
      fs.cpSync(dir, copy, { recursive: true });
      damage(copy);
      for (const readOnly of [false, true]) {
        await assert.rejects(open(copy, { readOnly }), (err: unknown) => err instanceof CorruptionError && err.file === file, `${what}, readOnly ${readOnly}`);
      }
      const report = await checkDatabase(copy);
      assert.ok(report.problems.some((p) => p.file === file), `${what}: ${JSON.stringify(report.problems)}`);
    }
    assert.deepEqual(fs.readFileSync(path.join(dir, 'quiver.manifest')), good, 'the original is untouched');
  });

  it('a damaged delta is CorruptionError naming it; check names it too, and nothing on disk changes', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: DIM, index: { type: 'hnsw' } });
    const v = await db.createVault('v');
    await v.insertMany(vs.slice(0, 600).map((vector, i) => ({ id: `r${i}`, vector, payload: { tag: 'a' } })));
    await db.checkpoint();
    await churn(db, 0);
    await db.checkpoint();
    await db.close();
    const delta = manifestOf(dir).vaults[0]!.deltas![0]!;
    const file = path.join(dir, delta.path);
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x10;
    fs.writeFileSync(file, bytes);
    const before = fs.readdirSync(path.join(dir, 'segments')).sort();
    for (const readOnly of [false, true]) {
      await assert.rejects(open(dir, { readOnly }), (err: unknown) => err instanceof CorruptionError && err.message.includes(delta.path), `readOnly ${readOnly}`);
    }
    const report = await checkDatabase(dir);
    assert.equal(report.ok, false);
    assert.ok(report.problems.some((p) => p.file === delta.path), JSON.stringify(report.problems));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'segments')).sort(), before);
    assert.deepEqual(fs.readFileSync(file), bytes);
  });
});
