import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open } from '../../src/index.js';
import { MappedFile, WINDOW_OVERLAP } from '../../src/native/mapped-file.js';
import { nativeGraphs } from '../../src/native/mapped-graph.js';
import { GraphVectorBlock } from '../../src/segments/graph-vector-block.js';
import type { VaultState } from '../../src/vault/vault-state.js';
import { sameBits, vectorWithExtremes } from '../helpers/extreme-vectors.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';

/**
 * A file mapped by window (src/native/mapped-file.ts): slices of one mapping, each its own
 * ArrayBuffer, so that V8 never sees a 1.6 GB buffer appear at once and collect the whole heap
 * atomically under a checkpoint (#19: no event-loop stall over 50 ms). Any range up to the overlap
 * is whole in the window of its first byte; close() empties every view; a writer's graph larger
 * than a window reads every vector back bit for bit, rows on either side of a window's edge.
 */

assert.ok(nativeGraphs(), 'the native addon is not built: run `node native/build.mjs`');

const STRIDE = 32 << 20;

/** Byte i of the pattern file. */
const byteAt = (i: number): number => (i * 2654435761 + (i >>> 13)) & 0xff;

function patternFile(bytes: number): string {
  const file = path.join(tmpDir(), 'pattern.bin');
  const buf = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) buf[i] = byteAt(i);
  fs.writeFileSync(file, buf);
  return file;
}

describe('a file mapped by window', () => {
  const bytes = 2 * STRIDE + 12_345;
  const file = patternFile(bytes);

  it('holds any range up to the overlap whole in the window of its first byte', async () => {
    const m = MappedFile.open(file, 'pattern.bin')!;
    try {
      await m.openWindows();
      for (const at of [0, 1, STRIDE - WINDOW_OVERLAP, STRIDE - 7, STRIDE - 1, STRIDE, STRIDE + 3, 2 * STRIDE - 2, 2 * STRIDE, bytes - 5]) {
        const w = m.window(at);
        assert.ok(w.start <= at, `window of ${at} starts at or before it`);
        const len = Math.min(WINDOW_OVERLAP, bytes - at);
        assert.ok(at - w.start + len <= w.bytes.length, `[${at}, ${at + len}) inside the window at ${w.start}`);
        for (const i of [0, 1, len >> 1, len - 1]) assert.equal(w.bytes[at - w.start + i], byteAt(at + i), `byte ${at + i}`);
        // The views V8 counts are slices, never the whole file.
        assert.ok(w.bytes.buffer.byteLength <= STRIDE + WINDOW_OVERLAP, 'a window is its own slice of the map');
      }
      const w = m.window(STRIDE + 8);
      const f = new Float32Array(Uint8Array.from([0, 1, 2, 3].map((i) => byteAt(STRIDE + 8 + i))).buffer)[0]!;
      assert.ok(Object.is(w.floats[(STRIDE + 8 - w.start) / 4], f), 'floats view the same bytes');
    } finally {
      m.close();
    }
  });

  it('views windows over the whole buffer once there is one, and close() empties every view', () => {
    const m = MappedFile.open(file, 'pattern.bin')!;
    const early = m.window(10);
    const whole = m.buffer;
    assert.equal(whole.byteLength, bytes);
    const late = m.window(STRIDE + 10);
    assert.equal(late.bytes.buffer, whole, 'a window made after the whole buffer is a view of it');
    assert.equal(late.bytes[10], byteAt(STRIDE + 10));
    m.close();
    assert.equal(early.bytes.length, 0);
    assert.equal(late.bytes.length, 0);
    assert.equal(whole.byteLength, 0, "the whole buffer is detached");
    assert.equal(m.isClosed, true);
    assert.equal(m.window(2 * STRIDE).bytes.length, 0, 'no window is made once closed');
  });
});

describe('a writer whose graph is larger than a window', () => {
  it('reads every vector back from its mapped graph, after a checkpoint and reopened', { timeout: 240_000 }, async () => {
    // 1024 dimensions, M 8: 4,172 bytes per level-0 record, so 10,000 records make a 42 MB graph,
    // past the first window's stride.
    const DIM = 1024;
    const COUNT = 10_000;
    const dir = dbPath();
    const want = new Map(Array.from({ length: COUNT }, (_, i) => [`r${i}`, vectorWithExtremes(DIM, i)]));
    const readBack = (db: Awaited<ReturnType<typeof open>>): void => {
      const state = (db as unknown as { parts: { state: { vaults: Map<number, VaultState> } } }).parts.state;
      const stored = [...state.vaults.values()][0]!.stored;
      assert.ok(stored instanceof GraphVectorBlock && stored.mapped, 'the vectors are read from a map of the graph');
      const v = db.vault('v');
      for (const [id, vector] of want) assert.ok(sameBits(v.get(id)!.vector, vector), id);
    };
    let db = await open(dir, { dimension: DIM, index: { type: 'hnsw', M: 8, efConstruction: 20 } });
    try {
      const v = await db.createVault('v');
      await v.insertMany([...want].map(([id, vector]) => ({ id, vector })));
      await db.checkpoint();
      await db.checkpoint(); // the first made the map; nothing changed since, so the block stays on it
      const graph = fs.readdirSync(path.join(dir, 'segments')).find((f) => f.endsWith('.hnsw'))!;
      assert.ok(fs.statSync(path.join(dir, 'segments', graph)).size > STRIDE + WINDOW_OVERLAP, 'the graph spans windows');
      readBack(db);
    } finally {
      await db.close();
    }
    db = await open(dir);
    try {
      await db.settle();
      readBack(db);
    } finally {
      await db.close();
    }
  });
});
