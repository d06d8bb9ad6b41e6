import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, type Filter } from '../../src/index.js';
import { nativeGraphs } from '../../src/native/mapped-graph.js';
import { nativeRowScanner } from '../../src/native/row-scan.js';
import { exactTopK } from '../../src/vault/exact-search.js';
import type { Metric } from '../../src/format/identity.js';
import { dbPath } from '../helpers/tmp.js';
import { seededRandom } from '../../src/util/random.js';

/**
 * The native exact scan of a subset of rows (native/scan.c) gives exactTopK's answer to the bit:
 * the same labels in the same order with the same distances, ties by label, over contiguous and
 * strided vectors, for every metric; and a filtered search answers the same with the addon as
 * with QUIVER_NATIVE=0, on a writer (rows of its block, replaced and erased records, a tail
 * written since the open) and on a read-only handle (the mapped segment).
 */

assert.ok(nativeGraphs(), 'the native addon is not built: run `node native/build.mjs`');
const scan = nativeRowScanner()!;

/** Seeded, so a failure can be replayed. */
const random = seededRandom;

const METRICS: Metric[] = ['cosine', 'l2', 'ip'];

describe('native row scan', () => {
  for (const metric of METRICS) {
    for (const dim of [3, 8, 100, 129]) {
      it(`${metric}, ${dim} dimensions: the same k nearest as exactTopK, to the bit, contiguous and strided, at several selectivities`, () => {
        const rnd = random(dim * 31 + metric.length);
        const n = 3000;
        for (const pad of [0, 3, 17]) {
          const stride = dim + pad;
          // Rows `stride` floats apart, junk between them (a graph file's links, say).
          const buf = new Float32Array(8 + n * stride);
          buf.fill(Number.NaN);
          const offset = 8;
          const vectors: Float32Array[] = [];
          for (let r = 0; r < n; r++) {
            const v = buf.subarray(offset + r * stride, offset + r * stride + dim);
            // Some exact duplicates (ties, broken by label), some rows far out, some tiny.
            if (r % 97 === 5 && r > 5) v.set(vectors[r - 5]!);
            else for (let i = 0; i < dim; i++) v[i] = (rnd() * 2 - 1) * (r % 211 === 1 ? 1e25 : r % 173 === 2 ? 1e-22 : 1);
            vectors.push(v);
          }
          for (const fraction of [0.001, 0.01, 0.1, 0.5, 1]) {
            const rows = Uint32Array.from({ length: n }, (_, i) => i).filter(() => rnd() < fraction);
            // Labels need not follow rows: tie-breaking is by label.
            const labels = Uint32Array.from(rows, (r) => (r * 7919) % 100_003);
            for (const k of [1, 10, 100]) {
              const q = Float32Array.from({ length: dim }, () => rnd() * 2 - 1);
              const want = exactTopK(metric, q, Array.from(rows, (r, i) => ({ label: labels[i]!, vector: vectors[r]! })), k);
              const got = scan({ buffer: buf.buffer, byteOffset: offset * 4, strideBytes: stride * 4 }, dim, rows, labels, q, k, metric);
              assert.deepEqual(got, want, `pad ${pad}, fraction ${fraction}, k ${k}`);
              const plain = scan({ buffer: buf.buffer, byteOffset: offset * 4, strideBytes: stride * 4 }, dim, rows, null, q, k, metric);
              assert.deepEqual(plain, exactTopK(metric, q, Array.from(rows, (r) => ({ label: r, vector: vectors[r]! })), k));
            }
          }
        }
      });
    }
  }

  it('rows closer together than float rounding are still ranked by their double distances', () => {
    // One vector, nudged by a few float ulps in a few coordinates: the float pass cannot tell
    // these rows apart, so only its error bound keeps every row that may rank.
    for (const metric of METRICS) {
      for (const dim of [100, 384]) {
        const rnd = random(dim + 3);
        const base = Float32Array.from({ length: dim }, () => rnd() * 2 - 1);
        const n = 2000;
        const block = new Float32Array(n * dim);
        const ulp = new Float32Array(1);
        for (let r = 0; r < n; r++) {
          const v = block.subarray(r * dim, r * dim + dim);
          v.set(base);
          for (let j = 0; j < 3; j++) {
            const i = Math.floor(rnd() * dim);
            ulp[0] = v[i]!;
            const bits = new Int32Array(ulp.buffer);
            bits[0]! += Math.floor(rnd() * 9) - 4;
            v[i] = ulp[0]!;
          }
        }
        const rows = Uint32Array.from({ length: n }, (_, i) => i);
        const q = Float32Array.from(base, (x) => x + (rnd() - 0.5) * 1e-3);
        for (const k of [1, 10, 50]) {
          const want = exactTopK(metric, q, Array.from(rows, (r) => ({ label: r, vector: block.subarray(r * dim, r * dim + dim) })), k);
          assert.deepEqual(scan({ buffer: block.buffer, byteOffset: 0, strideBytes: dim * 4 }, dim, rows, null, q, k, metric), want, `${metric}, ${dim}, k ${k}`);
        }
      }
    }
  });

  it('a query of tiny or huge norm takes the exact path for every row, still the same answer', () => {
    const dim = 16;
    const rnd = random(7);
    const block = Float32Array.from({ length: 500 * dim }, () => rnd() * 2 - 1);
    const rows = Uint32Array.from({ length: 500 }, (_, i) => i);
    for (const scale of [1e-35, 1e-20, 1e20, 1e30]) {
      for (const metric of METRICS) {
        const q = Float32Array.from({ length: dim }, () => (rnd() * 2 - 1) * scale);
        const want = exactTopK(metric, q, Array.from(rows, (r) => ({ label: r, vector: block.subarray(r * dim, r * dim + dim) })), 10);
        assert.deepEqual(scan({ buffer: block.buffer, byteOffset: 0, strideBytes: dim * 4 }, dim, rows, null, q, 10, metric), want, `${metric} at ${scale}`);
      }
    }
  });

  it('refuses rows outside the buffer (a detached, unmapped buffer has none)', () => {
    const block = new Float32Array(40);
    const q = new Float32Array(4);
    assert.throws(() => scan({ buffer: block.buffer, byteOffset: 0, strideBytes: 16 }, 4, Uint32Array.of(10), null, q, 1, 'l2'), /outside the buffer/);
    assert.throws(() => scan({ buffer: block.buffer, byteOffset: 4, strideBytes: 16 }, 4, Uint32Array.of(9), null, q, 1, 'l2'), /outside the buffer/);
    assert.equal(scan({ buffer: block.buffer, byteOffset: 0, strideBytes: 16 }, 4, Uint32Array.of(9), null, q, 1, 'l2').length, 1);
  });

  it('refuses a stride or offset whose row positions would wrap past 2^64 (they passed the check and were read)', () => {
    const block = new Float32Array(4);
    const q = new Float32Array(4);
    assert.throws(() => scan({ buffer: block.buffer, byteOffset: 0, strideBytes: 2 ** 62 }, 4, Uint32Array.of(1, 4), null, q, 2, 'l2'), /outside the buffer/);
    assert.throws(() => scan({ buffer: block.buffer, byteOffset: 2 ** 62, strideBytes: 16 }, 4, Uint32Array.of(0), null, q, 1, 'l2'), /outside the buffer|bad offset/);
  });
});

/** Every search of `queries` under each filter, as plain data, with the addon on or off. */
async function answers(search: (q: Float32Array, filter: Filter, exact: boolean) => Promise<unknown[]>, queries: Float32Array[], native: boolean): Promise<unknown[]> {
  const before = process.env.QUIVER_NATIVE;
  if (!native) process.env.QUIVER_NATIVE = '0';
  try {
    const out: unknown[] = [];
    for (const filter of [{ b: { $lt: 1 } }, { b: { $lt: 5 } }, { b: { $lt: 12 } }, { b: { $lt: 40 } }, { b: 7 }]) {
      for (const q of queries) out.push(await search(q, filter, false), await search(q, filter, true));
    }
    return out;
  } finally {
    if (before === undefined) delete process.env.QUIVER_NATIVE;
    else process.env.QUIVER_NATIVE = before;
  }
}

describe('filtered search with the native scan', () => {
  for (const metric of METRICS) {
    it(`${metric}: the same hits with and without the addon, on a writer with a tail and on a read-only handle`, async () => {
      const dir = dbPath();
      const dim = 24;
      const rnd = random(metric.length * 5 + 1);
      const vec = () => Float32Array.from({ length: dim }, () => rnd() * 2 - 1);
      let db = await open(dir, { dimension: dim, metric, index: { type: 'hnsw', M: 8, efConstruction: 40 } });
      let v = await db.createVault('v');
      await v.createIndex('b');
      // Every 50th vector twice: ties between records, broken by label.
      const first = Array.from({ length: 3000 }, (_, i) => vec());
      for (let i = 50; i < first.length; i += 50) first[i] = first[i - 1]!;
      await v.insertMany(first.map((vector, i) => ({ id: `r${i}`, vector, payload: { b: i % 100 } })));
      await db.checkpoint();
      await db.close();
      db = await open(dir);
      v = db.vault('v');
      // After the open: replaced (new vector, and payload only), erased, and new records (the tail).
      await v.insertMany(Array.from({ length: 300 }, (_, i) => ({ id: `r${i * 7}`, vector: vec(), payload: { b: (i * 3) % 100 } })));
      for (let i = 1; i < 300; i += 9) await v.patch(`r${i * 11}`, { set: { b: 3 } });
      for (let i = 0; i < 200; i++) await v.erase(`r${i * 13 + 1}`);
      await v.insertMany(Array.from({ length: 500 }, (_, i) => ({ id: `t${i}`, vector: vec(), payload: { b: i % 100 } })));
      const queries = Array.from({ length: 12 }, vec);
      const plain = (hits: { id: string; score: number; distance?: number }[]) => hits.map((h) => [h.id, h.score, h.distance]);
      const writer = (q: Float32Array, filter: Filter, exact: boolean) => v.search(q, { k: 10, filter, exact }).then(plain);
      const withAddon = await answers(writer, queries, true);
      assert.deepEqual(withAddon, await answers(writer, queries, false));
      // The exact answer is the matching records' 10 nearest by exactTopK's distance, to the bit
      // (answers() gives, per filter, per query, the planned then the exact search).
      const exactHits = withAddon[(1 * queries.length + 0) * 2 + 1] as [string, number, number][];
      const matching = v.ids().map((id) => v.get(id)!).filter((r) => (r.payload?.b as number) < 5);
      const want = exactTopK(metric, queries[0]!, matching.map((r, label) => ({ label, vector: Float32Array.from(r.vector) })), 10);
      assert.deepEqual(exactHits.map((h) => h[2]), want.map((n) => n.distance));
      assert.deepEqual(new Set(exactHits.map((h) => h[0])), new Set(want.map((n) => matching[n.label]!.id)));
      await db.checkpoint();
      await db.close();
      const reader = await open(dir, { readOnly: true });
      const rv = reader.vault('v');
      const read = (q: Float32Array, filter: Filter, exact: boolean) => rv.search(q, { k: 10, filter, exact }).then(plain);
      assert.deepEqual(await answers(read, queries, true), await answers(read, queries, false));
      await reader.close();
    });
  }
});
