import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, CorruptionError, type Database } from '../../src/index.js';
import { nativeGraphs } from '../../src/native/mapped-graph.js';
import { graphLag } from '../../src/engine/maintenance/checkpoint-files.js';
import { decodeManifest } from '../../src/segments/manifest.js';
import { decodeDelta } from '../../src/segments/delta-file.js';
import { findSection } from '../../src/format/sectioned-file.js';
import { SectionKind } from '../../src/format/constants.js';
import { dbPath, vectors } from '../helpers/tmp.js';
import { withNative } from '../helpers/native-env.js';

/**
 * A reader with the native addon maps its delta segments instead of reading each into a buffer
 * of its own (README "Readers share memory"): a delta whose GRAPH_VECTORS rows the block holds
 * stays mapped, its records viewing the map; a delta whose records are all gone or copied by the
 * end of the open (one holding its vectors, before or after the saved graph) is unmapped at once.
 * At 1M x 384 a reader read a 69 MB delta of the first kind whole and kept it until a major
 * collection: 74 MB private per reader, measured.
 */

assert.ok(nativeGraphs(), 'the native addon is not built: run `node native/build.mjs`');

const DIM = 12;
const vs = vectors(1400, DIM, 9);

/** This process's mappings of `file` (Linux /proc/self/maps). */
function mapsOf(file: string): number {
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line.endsWith(` ${file}`)).length;
}

const deltasOf = (dir: string): string[] => (decodeManifest(fs.readFileSync(path.join(dir, 'quiver.manifest'))).vaults[0]!.deltas ?? []).map((d) => path.join(dir, d.path));

/** Searches, filtered searches, gets: the reader's answers, to compare with a writer's. */
async function answers(db: Database): Promise<unknown> {
  const v = db.vault('v');
  const out: unknown[] = [v.count(), v.count({ tag: 'a' })];
  for (const q of vectors(4, DIM, 31)) {
    out.push((await v.search(q, { k: 6, ef: 64 })).map((h) => [h.id, h.payload]));
    out.push((await v.search(q, { k: 4, filter: { tag: 'b' } })).map((h) => h.id));
  }
  for (const id of ['r5', 'r650', 'n0_3', 'n1_7', 'n2_2', 'gone']) out.push(v.get(id)?.payload ?? null);
  return out;
}

const savedLag = { ...graphLag };
afterEach(() => Object.assign(graphLag, savedLag));

/**
 * A base of 600 records, then three checkpoints of changes, each a delta: one that keeps the
 * graph (the delta holds its vectors), one that saves it (the delta holds GRAPH_VECTORS rows and
 * re-lists the first's records), one that keeps it again (vectors, after the saved graph).
 */
async function threeDeltas(): Promise<{ dir: string; db: Database; files: string[] }> {
  const dir = dbPath();
  const db = await open(dir, { dimension: DIM, index: { type: 'hnsw' } });
  const v = await db.createVault('v');
  await v.createIndex('tag');
  await v.insertMany(vs.slice(0, 600).map((vector, i) => ({ id: `r${i}`, vector, payload: { tag: i % 3 ? 'a' : 'b', i } })));
  await db.checkpoint();
  for (let round = 0; round < 3; round++) {
    graphLag.share = round === 1 ? 0 : 1;
    const at = 600 + round * 40;
    await v.insertMany(Array.from({ length: 30 }, (_, i) => ({ id: `n${round}_${i}`, vector: vs[at + i]!, payload: { tag: i % 2 ? 'a' : 'b', round } })));
    await v.insert(`r${round * 7}`, vs[at + 35]!, { tag: 'b', upserted: round });
    await v.erase(`r${round * 7 + 1}`);
    await db.checkpoint();
  }
  const files = deltasOf(dir);
  assert.equal(files.length, 3, 'three deltas on one base');
  const kinds = files.map((file) => (decodeDelta(fs.readFileSync(file), DIM, file).rows ? 'rows' : 'vectors'));
  assert.deepEqual(kinds, ['vectors', 'rows', 'vectors']);
  return { dir, db, files };
}

describe('a reader maps its delta segments', () => {
  it('keeps the GRAPH_VECTORS delta mapped and unmaps the others at open; answers as a writer and a private reader do', async () => {
    const { dir, db, files } = await threeDeltas();
    const live = await answers(db);
    const reader = await open(dir, { readOnly: true });
    assert.equal(reader.stats().vaults[0]!.index.mapped, true);
    assert.deepEqual(await answers(reader), live);
    const [before, rows, after] = files as [string, string, string];
    assert.ok(mapsOf(rows) >= 1, 'the delta whose rows the block holds is viewed in a map');
    assert.equal(mapsOf(before), 0, 'the delta the graph\'s delta re-lists is unmapped once the open is done');
    assert.equal(mapsOf(after), 0, 'the delta after the graph: its records hold copies, the map is gone');
    await reader.close();
    assert.equal(mapsOf(rows), 0, 'close unmaps it');
    const plain = await withNative(false, () => open(dir, { readOnly: true }));
    assert.deepEqual(await answers(plain), live, 'the private reader');
    await plain.close();
    await db.close();
  });

  it('a flipped byte in a mapped delta is CorruptionError and leaves no map; a refresh past the merge unmaps the delta', async () => {
    const { dir, db, files } = await threeDeltas();
    const reader = await open(dir, { readOnly: true, refreshIntervalMs: 0 });
    const rows = files[1]!;
    assert.ok(mapsOf(rows) >= 1);
    // A merging checkpoint: a new base, the deltas removed; the reader moves to it.
    await db.compact();
    assert.deepEqual(deltasOf(dir), []);
    await reader.refresh();
    assert.equal(mapsOf(rows), 0, 'the refreshed reader holds no map of a removed delta');
    assert.deepEqual(await answers(reader), await answers(db));
    await reader.close();
    await db.close();

    const damaged = await threeDeltas();
    await damaged.db.close();
    const file = damaged.files[1]!;
    const bytes = fs.readFileSync(file);
    const records = (await findSection(async (at, length) => bytes.subarray(at, at + length), bytes.byteLength, 'delta', file, SectionKind.records))!;
    bytes[records.at + 9]! ^= 0x40;
    fs.writeFileSync(file, bytes);
    await assert.rejects(open(damaged.dir, { readOnly: true }), (err: unknown) => err instanceof CorruptionError && /checksum/.test(err.message));
    for (const delta of damaged.files) assert.equal(mapsOf(delta), 0, `${path.basename(delta)} is not left mapped`);
  });
});
