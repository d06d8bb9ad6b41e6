import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkDatabase, CorruptionError, open, type Database } from '../../src/index.js';
import { deltaLimits } from '../../src/engine/maintenance/checkpoint-files.js';
import { decodeManifest } from '../../src/segments/manifest.js';
import { dbPath, vectors } from '../helpers/tmp.js';
import { dump } from '../helpers/state.js';

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
  if (round === 1) await v.createIndex('round');
}

const saved = { ...deltaLimits };
afterEach(() => Object.assign(deltaLimits, saved));

describe('delta segments (FORMAT.md "Delta segments")', () => {
  it('a checkpoint of a few changes writes only them, and every open sees the same database', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: DIM, index: { type: 'hnsw' } });
    const v = await db.createVault('v');
    await v.createIndex('tag');
    await v.insertMany(vs.slice(0, 600).map((vector, i) => ({ id: `r${i}`, vector, payload: { tag: i % 3 ? 'a' : 'b', i } })));
    await db.checkpoint();
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
