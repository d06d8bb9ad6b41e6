import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { MappedGraph, nativeGraphs } from '../../src/native/mapped-graph.js';
import { CorruptionError } from '../../src/errors.js';
import type { Metric } from '../../src/format/identity.js';
import { seeded, tmpDir } from '../helpers/tmp.js';

const { HierarchicalNSW } = createRequire(import.meta.url)('hnswlib-node') as typeof import('hnswlib-node');

/**
 * The native read path (native/qmap.c) against hnswlib-node itself, on the same saved file: the
 * same ordered labels and the same float distances, for every metric, for dimensions that take
 * each of hnswlib's distance kernels (multiple of 16, multiple of 4, above 16 with a tail, below
 * 4), at several ef, with deleted marks, with a filter (as a bitmap and as a callback), and with
 * duplicate vectors, whose exact ties only come out the same if the heaps move as libstdc++'s do.
 */

// These tests are about the addon: it is built at install (npm's install script) or by
// `node native/build.mjs`. Not finding it is a failure here, never a silent skip.
assert.ok(nativeGraphs(), 'the native addon is not built: run `node native/build.mjs`');

interface Built {
  file: string;
  graph: InstanceType<typeof HierarchicalNSW>;
  queries: Float32Array[];
  deleted: Set<number>;
  n: number;
}

function build(metric: Metric, dim: number, n: number, seed: number, options: { deleteEvery?: number; duplicates?: boolean } = {}): Built {
  const r = seeded(seed);
  const centres = Array.from({ length: 12 }, () => Float32Array.from({ length: dim }, () => r() * 3));
  const point = () => {
    const c = centres[Math.floor(((r() + 1) / 2) * centres.length) % centres.length]!;
    return Float32Array.from(c, (x) => x + r() * 0.8);
  };
  const graph = new HierarchicalNSW(metric, dim);
  graph.initIndex({ maxElements: n, m: 8, efConstruction: 60, randomSeed: 100, allowReplaceDeleted: true });
  const vectors: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    // Every 7th point repeats an earlier one: exact ties in distance.
    const v = options.duplicates && i % 7 === 6 ? vectors[i - 3]! : point();
    vectors.push(v);
    graph.addPoint(Array.from(v), i);
  }
  const deleted = new Set<number>();
  if (options.deleteEvery) {
    for (let i = 0; i < n; i += options.deleteEvery) {
      graph.markDelete(i);
      deleted.add(i);
    }
  }
  const file = path.join(tmpDir('quiver-native-'), 'graph.hnsw');
  graph.writeIndexSync(file);
  const queries = Array.from({ length: 150 }, (_, i) => (i % 5 === 0 ? vectors[(i * 37) % n]! : point()));
  return { file, graph, queries, deleted, n };
}

function same(built: Built, metric: Metric, dim: number, label: string): void {
  const mapped = MappedGraph.open(built.file, 'graph.hnsw', metric, dim);
  assert.equal(mapped.count, built.n);
  assert.equal(mapped.deleted, built.deleted.size);
  const allow = new Uint8Array(built.n);
  for (let i = 0; i < built.n; i++) allow[i] = i % 3 === 1 ? 1 : 0;
  const accept = (l: number) => allow[l] === 1;
  let compared = 0;
  for (const ef of [10, 32, 64, 128]) {
    built.graph.setEf(ef);
    for (const [qi, q] of built.queries.entries()) {
      const k = qi % 4 === 0 ? 1 : 10;
      const plain = built.graph.searchKnn(Array.from(q), k);
      const got = mapped.search(q, k, ef, null, null, null);
      assert.deepEqual(got.map((h) => h.label), plain.neighbors, `${label} ef ${ef} query ${qi}: labels`);
      assert.deepEqual(got.map((h) => h.distance), plain.distances, `${label} ef ${ef} query ${qi}: distances`);
      for (const h of got) assert.ok(!built.deleted.has(h.label), `${label}: deleted ${h.label} returned`);
      const filtered = built.graph.searchKnn(Array.from(q), k, accept);
      for (const [how, hits] of [['bitmap', mapped.search(q, k, ef, null, allow, null)], ['callback', mapped.search(q, k, ef, null, null, accept)]] as const) {
        assert.deepEqual(hits.map((h) => h.label), filtered.neighbors, `${label} ef ${ef} query ${qi}: filtered by ${how}`);
        assert.deepEqual(hits.map((h) => h.distance), filtered.distances, `${label} ef ${ef} query ${qi}: filtered distances by ${how}`);
      }
      compared += 3;
    }
  }
  assert.equal(compared, 4 * built.queries.length * 3);
  mapped.close();
}

describe('native graph search: identical to hnswlib-node on the same file', () => {
  for (const [metric, dim] of [['cosine', 32], ['cosine', 23], ['l2', 20], ['ip', 12], ['l2', 3], ['cosine', 7]] as const) {
    it(`${metric}, dimension ${dim}, deleted marks and duplicates`, () => {
      const built = build(metric, dim, 1500, dim * 31 + metric.length, { deleteEvery: 9, duplicates: true });
      same(built, metric, dim, `${metric}/${dim}`);
    });
  }

  it('a graph without deleted marks (hnswlib\'s bare search), and an empty one', () => {
    const built = build('cosine', 48, 2000, 5);
    same(built, 'cosine', 48, 'no deletes');
    const empty = new HierarchicalNSW('cosine', 4);
    empty.initIndex({ maxElements: 16, m: 8, efConstruction: 60, randomSeed: 100 });
    const file = path.join(tmpDir('quiver-native-'), 'empty.hnsw');
    empty.writeIndexSync(file);
    const mapped = MappedGraph.open(file, 'empty.hnsw', 'cosine', 4);
    assert.equal(mapped.count, 0);
    assert.deepEqual(mapped.search(new Float32Array([1, 0, 0, 0]), 5, 10, null, null, null), []);
  });

  it('a live bitmap hides labels the way a deleted mark does', () => {
    const built = build('l2', 16, 1200, 9);
    const mapped = MappedGraph.open(built.file, 'graph.hnsw', 'l2', 16);
    const live = new Uint8Array(built.n).fill(1);
    for (let i = 0; i < built.n; i += 4) {
      live[i] = 0;
      built.graph.markDelete(i);
    }
    built.graph.setEf(40);
    for (const q of built.queries) {
      const want = built.graph.searchKnn(Array.from(q), 10);
      const got = mapped.search(q, 10, 40, live, null, null);
      assert.deepEqual(got.map((h) => h.label), want.neighbors);
      assert.deepEqual(got.map((h) => h.distance), want.distances);
    }
  });
});

/** Writes `bytes` as a graph file and expects the mapped open, or a search, to be a CorruptionError. */
function expectCorrupt(bytes: Buffer, dim: number, when: 'open' | 'search', what: RegExp, label: string): void {
  const file = path.join(tmpDir('quiver-native-bad-'), 'bad.hnsw');
  fs.writeFileSync(file, bytes);
  const run = () => {
    const g = MappedGraph.open(file, 'bad.hnsw', 'cosine', dim);
    for (let i = 0; i < 50; i++) g.search(Float32Array.from({ length: dim }, (_, d) => Math.sin(i * 7 + d)), 10, 64, null, null, null);
  };
  if (when === 'open') assert.throws(() => MappedGraph.open(file, 'bad.hnsw', 'cosine', dim), (e: unknown) => e instanceof CorruptionError && e.file === 'bad.hnsw' && what.test(e.message), label);
  else assert.throws(run, (e: unknown) => e instanceof CorruptionError && what.test(e.message), label);
}

describe('native graph search: a damaged file is a CorruptionError, never a crash', () => {
  const dim = 16;
  const built = build('cosine', dim, 800, 77);
  const good = fs.readFileSync(built.file);
  const per = Number(good.readBigUInt64LE(24));
  const maxM0 = Number(good.readBigUInt64LE(64));
  const level0End = 96 + built.n * per;

  it('truncated anywhere: in the header, in the level-0 records, in the upper-level lists', () => {
    const cuts: [number, RegExp][] = [
      [0, /shorter than its header/],
      [95, /shorter than its header/],
      [96 + per * 10 + 3, /element count does not fit the file/],
      [level0End - 1, /element count does not fit the file/],
      [level0End + 2, /upper-level lists end early/],
      [good.length - 1, /upper-level lists (end early|.*out of bounds)/],
    ];
    for (const [cut, what] of cuts) expectCorrupt(good.subarray(0, cut), dim, 'open', what, `cut at ${cut}`);
  });

  it('a header that does not describe the file', () => {
    const patch = (at: number, value: bigint | number, width: 8 | 4) => {
      const b = Buffer.from(good);
      if (width === 8) b.writeBigUInt64LE(BigInt(value), at);
      else b.writeInt32LE(Number(value), at);
      return b;
    };
    expectCorrupt(patch(16, 10n ** 12n, 8), dim, 'open', /element count/, 'count far past the file');
    expectCorrupt(patch(24, per + 4, 8), dim, 'open', /dimension/, 'record size');
    expectCorrupt(patch(64, 1n << 40n, 8), dim, 'open', /link counts/, 'maxM0');
    expectCorrupt(patch(52, built.n + 5, 4), dim, 'open', /entry point/, 'entry point past the last element');
    expectCorrupt(patch(48, 300, 4), dim, 'open', /entry point/, 'max level out of range');
    expectCorrupt(Buffer.concat([good, Buffer.alloc(8)]), dim, 'open', /after its last/, 'trailing bytes');
    assert.throws(() => MappedGraph.open(built.file, 'graph.hnsw', 'cosine', dim + 4), CorruptionError, 'opened with the wrong dimension');
  });

  it('an upper-level list size that runs past the file', () => {
    const b = Buffer.from(good);
    b.writeUInt32LE(0x7ffffff0, level0End); // element 0's upper-level byte length
    expectCorrupt(b, dim, 'open', /upper-level lists/, 'upper size');
  });

  it('level-0 links past the last element, and link counts above the maximum', () => {
    const linksPast = Buffer.from(good);
    const countsHigh = Buffer.from(good);
    for (let i = 0; i < built.n; i++) {
      const at = 96 + i * per;
      linksPast.writeUInt32LE(0xfffffff0 - i, at + 4); // first link of every element
      countsHigh.writeUInt16LE(maxM0 + 1, at);
    }
    expectCorrupt(linksPast, dim, 'search', /links to element/, 'link target');
    expectCorrupt(countsHigh, dim, 'search', /links at level 0/, 'link count');
  });

  it('upper-level links past the last element, or to an element without that level', () => {
    const entry = good.readUInt32LE(52);
    const maxLevel = good.readInt32LE(48);
    assert.ok(maxLevel >= 1, 'the test graph has upper levels');
    // Find the entry's upper-level block by walking the length-prefixed lists.
    let off = level0End;
    for (let i = 0; i < entry; i++) off += 4 + good.readUInt32LE(off);
    const maxM = Number(good.readBigUInt64LE(56));
    const top = off + 4 + (maxLevel - 1) * (4 + 4 * maxM);
    const past = Buffer.from(good);
    past.writeUInt16LE(1, top);
    past.writeUInt32LE(built.n + 100, top + 4);
    expectCorrupt(past, dim, 'search', /links to element/, 'upper link target');
    // An element with no upper levels (level 0 only), linked from the top level.
    let flat = 0;
    for (let i = 0, o = level0End; i < built.n; i++) {
      if (good.readUInt32LE(o) === 0 && i !== entry) {
        flat = i;
        break;
      }
      o += 4 + good.readUInt32LE(o);
    }
    const wrongLevel = Buffer.from(good);
    wrongLevel.writeUInt16LE(1, top);
    wrongLevel.writeUInt32LE(flat, top + 4);
    // The query is the flat element's own vector, so the descent moves to it and then needs its list.
    const file = path.join(tmpDir('quiver-native-bad-'), 'bad.hnsw');
    fs.writeFileSync(file, wrongLevel);
    const g = MappedGraph.open(file, 'bad.hnsw', 'cosine', dim);
    const q = new Float32Array(good.buffer, good.byteOffset + 96 + flat * per + 4 + 4 * maxM0, dim).slice();
    assert.throws(() => g.search(q, 10, 64, null, null, null), (e: unknown) => e instanceof CorruptionError && /upper levels/.test(e.message));
  });
});
