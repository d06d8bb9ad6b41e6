import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, type Database } from '../../src/index.js';
import { encodeSegment, segmentChunks, segmentSlices } from '../../src/segments/segment-file.js';
import type { VaultState } from '../../src/vault/vault-state.js';
import { dbPath, seeded } from '../helpers/tmp.js';
import { nodeFileSystem, overlay } from '../../src/fs/file-system.js';
import { SectionKind, TMP_SUFFIX } from '../../src/format/constants.js';
import { decodeSectioned } from '../../src/format/sectioned-file.js';

// A checkpoint makes its segment in slices (segmentChunks), giving the event loop a turn between
// them: the bytes must be exactly those of the segment made whole (encodeSegment), and the loop
// must turn at least once per slice.

const DIM = 8;
const knobs = { ...segmentSlices };
afterEach(() => Object.assign(segmentSlices, knobs));

function vaultOf(db: Database, name: string): VaultState {
  const state = (db as unknown as { parts: { state: { vaults: Map<number, VaultState> } } }).parts.state;
  return [...state.vaults.values()].find((v) => v.name === name)!;
}

function vector(rand: () => number): Float32Array {
  return Float32Array.from({ length: DIM }, rand);
}

/** The bytes segmentChunks yields, its slice marks dropped, and how many marks there were. */
function sliced(vault: VaultState): { bytes: Buffer; marks: number } {
  let marks = 0;
  const chunks: Uint8Array[] = [];
  for (const c of segmentChunks(vault)) {
    if (c === undefined) marks++;
    else chunks.push(Buffer.from(c)); // copied: a chunk is the caller's until it asks for the next
  }
  return { bytes: Buffer.concat(chunks), marks };
}

/**
 * A vault that has every kind of record a segment lists: rows of its loaded segment untouched,
 * upserted (a new label), patched (same label), erased; records inserted since, some of them
 * patched, upserted or erased again; ids in UTF-8 past ASCII; payloads and none.
 */
async function mixedVault(index: 'hnsw' | 'flat'): Promise<{ db: Database; dir: string }> {
  const dir = dbPath();
  const rand = seeded(7);
  let db = await open(dir, { dimension: DIM, autoCheckpointBytes: 0, index: index === 'hnsw' ? { type: 'hnsw', M: 8, efConstruction: 32 } : { type: 'flat' } });
  let v = await db.createVault('v');
  await v.insertMany(Array.from({ length: 500 }, (_, i) => ({ id: i % 7 === 0 ? `é-${i}-日本` : `k${i}`, vector: vector(rand), payload: i % 3 === 0 ? null : { n: i, tag: `t${i % 5}` } })));
  await db.checkpoint();
  await db.close();
  db = await open(dir, { autoCheckpointBytes: 0 });
  v = db.vault('v');
  for (let i = 0; i < 500; i += 11) await v.insert(`k${i + 1}`, vector(rand), { upserted: i });
  for (let i = 2; i < 500; i += 13) await v.patch(`k${i}`, { set: { patched: true } });
  for (let i = 3; i < 500; i += 17) await v.erase(`k${i}`);
  await v.insertMany(Array.from({ length: 300 }, (_, i) => ({ id: `new-${i}`, vector: vector(rand), payload: i % 2 ? { m: i } : null })));
  for (let i = 0; i < 300; i += 7) await v.patch(`new-${i}`, { set: { again: i } });
  for (let i = 1; i < 300; i += 9) await v.insert(`new-${i}`, vector(rand));
  for (let i = 4; i < 300; i += 10) await v.erase(`new-${i}`);
  await db.settle();
  return { db, dir };
}

describe('a segment made in slices', () => {
  for (const index of ['hnsw', 'flat'] as const) {
    it(`has the bytes of the segment made whole, and the checkpoint writes them (${index})`, async () => {
      const { db, dir } = await mixedVault(index);
      const vault = vaultOf(db, 'v');
      const whole = Buffer.concat(encodeSegment(vault));
      for (const [records, bytes] of [[1, 1], [7, 100], [64, 4096], [8192, 4 << 20]] as const) {
        Object.assign(segmentSlices, { records, bytes });
        assert.ok(sliced(vault).bytes.equals(whole), `slices of ${records} records, ${bytes} bytes`);
      }
      Object.assign(segmentSlices, { records: 50, bytes: 1000 });
      const result = await db.checkpoint();
      const file = fs.readdirSync(path.join(dir, 'segments')).find((f) => f.endsWith('.segment'))!;
      const written = fs.readFileSync(path.join(dir, 'segments', file));
      const inGraph = decodeSectioned(written, 'segment', file).sections.find((x) => x.kind === SectionKind.graphVectors);
      if (index === 'flat') assert.ok(written.equals(whole), 'the checkpoint wrote the segment byte for byte');
      else {
        // An HNSW vault's vectors live in its graph (GRAPH_VECTORS): the same bytes, made whole or in slices.
        assert.ok(inGraph, 'the HNSW segment holds GRAPH_VECTORS');
        const gv = { records: [...vault.records.inLabelOrder()], payload: [Buffer.from(inGraph.payload)] };
        assert.ok(written.equals(Buffer.concat(encodeSegment(vault, gv))), 'the checkpoint wrote the segment byte for byte');
        let chunks: Uint8Array[] = [];
        for (const c of segmentChunks(vault, gv)) if (c) chunks.push(Buffer.from(c));
        assert.ok(written.equals(Buffer.concat(chunks)), 'and in slices');
        chunks = [];
      }
      assert.ok(result.bytesWritten > whole.byteLength);
      await db.close();
      // And it reads back: every record as it was.
      const again = await open(dir, { readOnly: true });
      assert.equal(again.vault('v').count(), vaultOf(again, 'v').records.count);
      assert.deepEqual(again.vault('v').get('new-7')?.payload, { m: 7, again: 7 });
      await again.close();
    });
  }

  it('gives the event loop a turn in every slice of a checkpoint', async () => {
    // The segment's tmp file is written here in one synchronous write once its chunks are all
    // taken, so the turns counted while they are taken are the encoder's own, not waits on I/O
    // (with the bytes made whole first, as before slices, there would be none).
    let turns = 0;
    let during = -1;
    const fsys = overlay(nodeFileSystem, {
      async writeFileSynced(file, chunks) {
        if (!file.endsWith(`.segment${TMP_SUFFIX}`)) return nodeFileSystem.writeFileSynced(file, chunks);
        const start = turns;
        const parts: Uint8Array[] = [];
        for await (const chunk of chunks) parts.push(Buffer.from(chunk));
        during = turns - start;
        fs.writeFileSync(file, Buffer.concat(parts));
      },
    });
    const rand = seeded(3);
    const db = await open(dbPath(), { dimension: 64, autoCheckpointBytes: 0, index: { type: 'flat' }, fs: fsys });
    const v = await db.createVault('v');
    await v.insertMany(Array.from({ length: 4000 }, (_, i) => ({ id: `k${i}`, vector: Float32Array.from({ length: 64 }, rand), payload: { i } })));
    Object.assign(segmentSlices, { records: 40, bytes: 64 * 4 * 40 });
    let counting = true;
    const count = (): void => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    await db.checkpoint();
    counting = false;
    // Vectors twice (a CRC pass, then the bytes) in 100 chunks of 40, and records in 100 slices of 40.
    assert.ok(during >= 300, `the event loop turned ${during} times while the segment was made`);
    await db.close();
  });
});
