import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, CorruptionError, type Database } from '../../src/index.js';
import { nativeGraphs } from '../../src/native/mapped-graph.js';
import { findSection } from '../../src/format/sectioned-file.js';
import { SectionKind } from '../../src/format/constants.js';
import { dbPath } from '../helpers/tmp.js';
import { withNative } from '../helpers/native-env.js';

/**
 * A reader with the native addon views a version 2 segment whole in its shared map: not only
 * GRAPH_VECTORS but the records' columns, ids and payloads too, which every reader used to read
 * into a buffer of its own (31 MB each at 1M x 384; README "Readers share memory"). Each section
 * but GRAPH_VECTORS (checked apart) is still checked against its CRC before it is decoded, now
 * through the map; damage is a CorruptionError that leaves nothing mapped.
 */

assert.ok(nativeGraphs(), 'the native addon is not built: run `node native/build.mjs`');

const DIM = 12;
const COUNT = 3000;
const vectorOf = (i: number): Float32Array => Float32Array.from({ length: DIM }, (_, j) => Math.sin(i * 0.41 + j * 1.7) + (j === i % DIM ? 1 : 0));
const payloadOf = (i: number) => ({ i, tag: `t${i % 7}`, note: 'é'.repeat(i % 5) });

async function checkpointed(): Promise<string> {
  const dir = dbPath();
  const db = await open(dir, { dimension: DIM, index: { type: 'hnsw', M: 8, efConstruction: 40 } });
  const v = await db.createVault('v');
  await v.insertMany(Array.from({ length: COUNT }, (_, i) => ({ id: `rec-${i}`, vector: vectorOf(i), payload: payloadOf(i) })));
  await db.checkpoint();
  await db.close();
  return dir;
}

const segmentOf = (dir: string): string => path.join(dir, 'segments', fs.readdirSync(path.join(dir, 'segments')).find((f) => f.endsWith('.segment'))!);

/** This process's mappings of `file` (Linux /proc/self/smaps). */
function mapsOf(file: string): number {
  return fs.readFileSync('/proc/self/smaps', 'utf8').split('\n').filter((line) => /^[0-9a-f]+-[0-9a-f]+ /.test(line) && line.endsWith(` ${file}`)).length;
}

/**
 * The buffer under the vault's records' columns, and the segment's map if the block holds one
 * (white-box: RecordStore.base, RecordColumns.c, GraphVectorBlock.segmentMap).
 */
function columnsBuffer(db: Database): { columns: ArrayBufferLike; map: ArrayBufferLike | null } {
  const state = (db as unknown as { parts: { state: { vaults: Map<number, { records: unknown; stored: unknown }> } } }).parts.state;
  const vault = [...state.vaults.values()][0]!;
  const store = vault.records as { base: { c: { section: Uint8Array } } | null };
  assert.ok(store.base, 'the records are columns over the segment');
  const map = (vault.stored as { segmentMap: { buffer: ArrayBufferLike } | null }).segmentMap;
  return { columns: store.base.c.section.buffer, map: map?.buffer ?? null };
}

/** Reads that go through ids, payloads and labels: gets, filtered searches, a page of a scan. */
async function answers(db: Database): Promise<unknown> {
  const v = db.vault('v');
  const out: unknown[] = [];
  for (const i of [0, 11, 1234, COUNT - 1]) {
    const got = v.get(`rec-${i}`)!;
    out.push([got.id, got.payload, [...got.vector!]]);
    out.push((await v.search(vectorOf(i), { k: 4, ef: 64 })).map((h) => [h.id, h.score, h.payload]));
    out.push((await v.search(vectorOf(i), { k: 4, filter: { tag: 't3', i: { $gte: 100 } } })).map((h) => h.id));
  }
  out.push(v.get('rec-missing') ?? null);
  return out;
}

describe("a reader's records, viewed in the mapped segment", () => {
  it('are columns over the shared map of the whole file, and read as the private path reads them', async () => {
    const dir = await checkpointed();
    const segment = segmentOf(dir);
    const reader = await open(dir, { readOnly: true });
    const viewed = columnsBuffer(reader);
    assert.ok(viewed.map, 'the segment is mapped');
    assert.equal(viewed.columns, viewed.map, 'the columns are a view of the mapped segment, not a private read');
    assert.equal(viewed.columns.byteLength, fs.statSync(segment).size);
    const mapped = await answers(reader);
    await reader.close();
    assert.equal(mapsOf(segment), 0, 'close() unmapped the segment');

    const plain = await withNative(false, () => open(dir, { readOnly: true }));
    assert.equal(columnsBuffer(plain).map, null, 'QUIVER_NATIVE=0: a private read');
    assert.deepEqual(await answers(plain), mapped, 'the same answers with and without the map');
    await plain.close();
  });

  it('a flipped byte in RECORDS is a CorruptionError at open, checked through the map; nothing stays mapped', async () => {
    const dir = await checkpointed();
    const segment = segmentOf(dir);
    const bytes = fs.readFileSync(segment);
    const records = await findSection(async (at, n) => bytes.subarray(at, at + n), bytes.byteLength, 'segment', segment, SectionKind.records);
    assert.ok(records);
    // An id byte, past the columns: nothing structural notices it, only the section's CRC.
    const at = records.at + 8 + 24 * COUNT + 3;
    bytes[at] = bytes[at]! ^ 0x04;
    fs.writeFileSync(segment, bytes);
    await assert.rejects(open(dir, { readOnly: true }), (err: unknown) => err instanceof CorruptionError && path.join(dir, err.file) === segment && /kind 4\) checksum mismatch/.test(err.message));
    assert.equal(mapsOf(segment), 0, 'the failed open left no map behind');
  });

  it('a refresh past a whole rewrite unmaps the old segment at once; the new records read right', async () => {
    const dir = await checkpointed();
    const old = segmentOf(dir);
    const reader = await open(dir, { readOnly: true });
    const before = await answers(reader);
    assert.equal(mapsOf(old), 1);
    const writer = await open(dir);
    await writer.vault('v').patch('rec-11', { set: { tag: 'patched', note: '' } });
    await writer.compact();
    await reader.refresh();
    assert.equal(mapsOf(old), 0, 'the replaced segment is unmapped');
    const after = (await answers(reader)) as unknown[];
    assert.deepEqual((after[3] as unknown[])[1], { i: 11, tag: 'patched', note: '' });
    assert.deepEqual(after.slice(0, 3), (before as unknown[]).slice(0, 3));
    assert.deepEqual(after, await answers(writer), 'the reader reads what the writer holds');
    await writer.close();
    await reader.close();
  });
});
