import { after, before, describe, it } from 'node:test';
import { graphLag } from '../../src/engine/maintenance/checkpoint-files.js';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { open, CorruptionError, StorageError, type Database, type Embedder } from '../../src/index.js';
import { nativeGraphs } from '../../src/native/mapped-graph.js';
import { decodeManifest } from '../../src/segments/manifest.js';
import { GRAPH_HEADER, graphShape } from '../../src/segments/graph-vectors.js';
import { sameBits, vectorWithExtremes } from '../helpers/extreme-vectors.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';
import type { VaultState } from '../../src/vault/vault-state.js';
import { GraphVectorBlock } from '../../src/segments/graph-vector-block.js';

/**
 * A writer's vectors mapped from its saved graph (#19, the writer's memory; README "Writer
 * memory"): opened on a version 2 segment, a writer with the addon holds no private copy of the
 * vectors (hnswlib's copy is for searching); each checkpoint carries the map onto the graph it
 * commits, the rows it did not change copied over (their corrections not made again), and lets
 * the graph before that go. Every vector still reads back bit for bit, every segment is the
 * same bytes a writer without the addon writes, and pages are still checked before use.
 */

assert.ok(nativeGraphs(), 'the native addon is not built: run `node native/build.mjs`');

// A full collection before each reading of memory, so what is counted is what is held.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const DIM = 24;
const COUNT = 1200;

/** Graph files of `dir` this process maps (Linux /proc/self/maps), by name, "(deleted)" kept. */
function mappedGraphs(dir: string): string[] {
  const seg = path.join(dir, 'segments') + '/';
  return fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .map((l) => l.slice(l.indexOf('/')))
    .filter((f) => f.startsWith(seg) && /\.hnsw( \(deleted\))?$/.test(f))
    .map((f) => f.slice(seg.length))
    .sort();
}

function currentGraph(dir: string): string {
  return decodeManifest(fs.readFileSync(path.join(dir, 'quiver.manifest'))).vaults[0]!.graph!.path;
}

async function built(): Promise<string> {
  const dir = dbPath();
  const db = await open(dir, { dimension: DIM, index: { type: 'hnsw', M: 8, efConstruction: 40 } });
  const v = await db.createVault('v');
  await v.insertMany(Array.from({ length: COUNT }, (_, i) => ({ id: `r${i}`, vector: vectorWithExtremes(DIM, i), payload: { i } })));
  await db.checkpoint();
  await db.close();
  return dir;
}

/** The writes between checkpoints: erasures (whose slots new records take), new records, a replaced one. */
async function round(db: Database, want: Map<string, Float32Array>, r: number): Promise<void> {
  const v = db.vault('v');
  for (let i = r * 40; i < r * 40 + 40; i += 3) {
    await v.erase(`r${i}`);
    want.delete(`r${i}`);
  }
  const rows = Array.from({ length: 60 }, (_, i) => ({ id: `n${r}-${i}`, vector: vectorWithExtremes(DIM, 10_000 * (r + 1) + i) }));
  await v.insertMany(rows);
  for (const row of rows) want.set(row.id, row.vector);
  const replaced = vectorWithExtremes(DIM, 777 + r);
  await v.insert(`r${r * 40 + 1}`, replaced);
  want.set(`r${r * 40 + 1}`, replaced);
  await db.checkpoint();
}

function expected(): Map<string, Float32Array> {
  return new Map(Array.from({ length: COUNT }, (_, i) => [`r${i}`, vectorWithExtremes(DIM, i)]));
}

async function readBack(db: Database, want: Map<string, Float32Array>): Promise<string> {
  const v = db.vault('v');
  assert.equal(v.count(), want.size);
  for (const [id, vector] of want) assert.ok(sameBits(v.get(id)!.vector, vector), id);
  const hits = await v.search(vectorWithExtremes(DIM, 5), { k: 10, exact: true });
  return hits.map((h) => `${h.id}:${h.score}`).join(' ');
}

async function readBackAll(db: Database, want: Map<string, Float32Array>, d: number): Promise<string> {
  const v = db.vault('v');
  assert.equal(v.count(), want.size);
  for (const [id, vector] of want) assert.ok(sameBits(v.get(id)!.vector, vector), id);
  const hits = await v.search(vectorWithExtremes(d, 5), { k: 10, exact: true });
  return hits.map((h) => `${h.id}:${h.score}`).join(' ');
}

/** A 26-dimension embedder of letter counts; `tag` makes its fingerprint (two tags: two embedders). */
class Letters implements Embedder {
  readonly dimension = 26;
  readonly manifest;
  constructor(tag: string) {
    this.manifest = { provider: 'test', model: `letters-${tag}`, revision: '1', dimension: 26, fingerprint: tag.repeat(64), rehydratable: false, artifact: null };
  }
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((t) => {
      const v = new Float32Array(26).fill(0.01);
      for (const c of t.toLowerCase()) if (c >= 'a' && c <= 'z') v[c.charCodeAt(0) - 97]! += 1;
      return v;
    });
  }
}

function files(dir: string): Map<string, Buffer> {
  const seg = path.join(dir, 'segments');
  return new Map(fs.readdirSync(seg).map((name) => [name, fs.readFileSync(path.join(seg, name))]));
}

describe("a writer's vectors mapped from its graph", () => {
  // Each checkpoint here saves the graph, whose moves these tests follow: none keeps the graph
  // before for a few changes (FORMAT.md "Delta segments"; test/unit/delta-segments.test.ts).
  const lag = graphLag.share;
  before(() => void (graphLag.share = 0));
  after(() => void (graphLag.share = lag));
  it('a writer opened on a version 2 segment maps its graph for its vectors and makes no private copy of them', async () => {
    const dir = dbPath();
    const n = 12_000;
    const d = 128;
    {
      const db = await open(dir, { dimension: d, index: { type: 'hnsw', M: 8, efConstruction: 20 } });
      const v = await db.createVault('v');
      const r = vectorWithExtremes(d, 1);
      await v.insertMany(Array.from({ length: n }, (_, i) => ({ id: `r${i}`, vector: r.map((x, j) => Math.sin(i * 0.37 + j) + x * 1e-3) })));
      await db.checkpoint();
      await db.close();
    }
    const db = await open(dir);
    try {
      await db.settle();
      // An exact search reads every vector (a private block would be read whole for it).
      await db.vault('v').search(new Float32Array(d).fill(0.5), { k: 5, exact: true });
      const state = (db as unknown as { parts: { state: { vaults: Map<number, VaultState> } } }).parts.state;
      const stored = [...state.vaults.values()][0]!.stored as GraphVectorBlock;
      assert.ok(stored instanceof GraphVectorBlock && stored.mapped, 'the vectors are read from a map of the graph');
      assert.equal(stored.resident, false, 'no private block of the vectors was made');
      assert.deepEqual(mappedGraphs(dir), [path.basename(currentGraph(dir))]);
    } finally {
      await db.close();
    }
  });

  it('each checkpoint moves the map onto the graph it commits, lets the one before go, and writes the bytes a writer without the addon writes', async () => {
    const base = await built();
    const copies = { mapped: path.join(tmpDir(), 'db'), plain: path.join(tmpDir(), 'db') };
    fs.cpSync(base, copies.mapped, { recursive: true });
    fs.cpSync(base, copies.plain, { recursive: true });
    const hits: Record<string, string> = {};
    for (const [kind, dir] of Object.entries(copies)) {
      if (kind === 'plain') process.env.QUIVER_NATIVE = '0';
      try {
        const want = expected();
        const db = await open(dir);
        try {
          const graphs: string[] = [path.basename(currentGraph(dir))];
          for (let r = 0; r < 3; r++) {
            await round(db, want, r);
            graphs.push(path.basename(currentGraph(dir)));
            const onDisk = fs.readdirSync(path.join(dir, 'segments')).filter((f) => f.endsWith('.hnsw'));
            assert.deepEqual(onDisk, [graphs[r + 1]!], `on disk after checkpoint ${r + 1}`);
            if (kind === 'mapped') {
              // The graph just committed, and the one before it (unlinked) for records erased since.
              assert.deepEqual(mappedGraphs(dir), [graphs[r + 1]!, `${graphs[r]!} (deleted)`].sort(), `mapped after checkpoint ${r + 1}`);
            } else assert.deepEqual(mappedGraphs(dir), []);
            await readBack(db, want);
          }
          hits[kind] = await readBack(db, want);
        } finally {
          await db.close();
        }
        assert.deepEqual(mappedGraphs(dir), [], 'closing unmaps both');
        const again = await open(dir, { readOnly: true });
        try {
          assert.equal(await readBack(again, want), hits[kind]);
        } finally {
          await again.close();
        }
      } finally {
        delete process.env.QUIVER_NATIVE;
      }
    }
    assert.equal(hits.mapped, hits.plain);
    const mapped = files(copies.mapped);
    const plain = files(copies.plain);
    assert.deepEqual([...mapped.keys()].sort(), [...plain.keys()].sort());
    for (const [name, bytes] of mapped) assert.ok(bytes.equals(plain.get(name)!), `${name}: the carried rows' corrections are the ones made from their vectors`);
  });

  it('a checkpoint moves the vectors of records written since the open into the graph it commits, and their own arrays are let go', async () => {
    const dir = dbPath();
    const n = 12_000;
    const d = 128;
    const want = new Map<string, Float32Array>();
    const db = await open(dir, { dimension: d, index: { type: 'hnsw', M: 8, efConstruction: 20 } });
    try {
      const v = await db.createVault('v');
      // Ordinary floats (every ninth of vectorWithExtremes): few exceptions to hold beside the map.
      const batch = Array.from({ length: n }, (_, i) => ({ id: `r${i}`, vector: vectorWithExtremes(d, 9 * i) }));
      await v.insertMany(batch);
      for (const row of batch) want.set(row.id, row.vector);
      batch.length = 0;
      // The records' own arrays (copies of the caller's): held until the checkpoint moves them.
      const state = (db as unknown as { parts: { state: { vaults: Map<number, VaultState> } } }).parts.state;
      // (The store is not kept here: a checkpoint that writes the vault whole replaces it, rebase-records.ts.)
      const arrays = ((store: VaultState['records']) => Array.from({ length: 200 }, (_, i) => new WeakRef(store.get(`r${i * 60}`)!.vector)))([...state.vaults.values()][0]!.records);
      await db.checkpoint();
      await new Promise((resolve) => setTimeout(resolve, 0)); // WeakRefs read in this job stay alive to its end
      gc();
      const alive = arrays.filter((a) => a.deref() !== undefined).length;
      assert.equal(alive, 0, `${alive} of 200 records still hold their own arrays after the checkpoint`);
      assert.deepEqual(mappedGraphs(dir), [path.basename(currentGraph(dir))]);
      await readBackAll(db, want, d);
      // Erased and new records since, then a checkpoint that moves the map on.
      for (let i = 0; i < 300; i += 2) {
        await v.erase(`r${i}`);
        want.delete(`r${i}`);
      }
      const more = Array.from({ length: 500 }, (_, i) => ({ id: `m${i}`, vector: vectorWithExtremes(d, 9 * n + i) }));
      await v.insertMany(more);
      for (const row of more) want.set(row.id, row.vector);
      await db.checkpoint();
      assert.equal(mappedGraphs(dir).length, 2, 'the graph committed, and the one before for records erased since');
      await readBackAll(db, want, d);
    } finally {
      await db.close();
    }
    const again = await open(dir, { readOnly: true });
    try {
      await readBackAll(again, want, d);
    } finally {
      await again.close();
    }
  });

  it('a record held across checkpoints after its erasure reads from the graph before for one checkpoint, then is closed, and nothing else fails', async () => {
    const dir = await built();
    const db = await open(dir);
    try {
      const want = expected();
      const state = (db as unknown as { parts: { state: { vaults: Map<number, VaultState> } } }).parts.state;
      const store = () => [...state.vaults.values()][0]!.records;
      // As an export in flight holds the records it has cut.
      const held = store().get('r700')!;
      await db.vault('v').erase('r700');
      want.delete('r700');
      await round(db, want, 0);
      assert.ok(sameBits(held.vector, vectorWithExtremes(DIM, 700)), 'readable from the graph before, one checkpoint on');
      await round(db, want, 1);
      assert.throws(() => held.vector, (err: unknown) => err instanceof StorageError && err.code === 'DATABASE_CLOSED');
      await readBack(db, want);
      await round(db, want, 2);
      await readBack(db, want);
    } finally {
      await db.close();
    }
  });

  it('a re-embed keeps the mapped rows its plain-vector records still read from', async () => {
    const dir = dbPath();
    const d = 26;
    const plain = new Map(Array.from({ length: 300 }, (_, i) => [`p${i}`, vectorWithExtremes(d, i)]));
    let db = await open(dir, { embedder: new Letters('a'), index: { type: 'hnsw', M: 8, efConstruction: 40 } });
    try {
      const v = await db.createVault('v');
      await v.insertMany([...plain].map(([id, vector]) => ({ id, vector })));
      await v.addDocuments(Array.from({ length: 50 }, (_, i) => ({ id: `d${i}`, text: `rivers and mountains number ${i}` })));
      await db.checkpoint();
      assert.deepEqual(mappedGraphs(dir), [path.basename(currentGraph(dir))], 'the vectors moved into the graph');
      await db.reembed(new Letters('b'));
      for (const [id, vector] of plain) assert.ok(sameBits(v.get(id)!.vector, vector), `${id} after the re-embed`);
      await v.insert('late', vectorWithExtremes(d, 999));
      plain.set('late', vectorWithExtremes(d, 999));
      await db.checkpoint();
      for (const [id, vector] of plain) assert.ok(sameBits(v.get(id)!.vector, vector), `${id} after a checkpoint`);
    } finally {
      await db.close();
    }
    db = await open(dir, { embedder: new Letters('b') });
    try {
      for (const [id, vector] of plain) assert.ok(sameBits(db.vault('v').get(id)!.vector, vector), `${id} reopened`);
    } finally {
      await db.close();
    }
  });

  it('a graph the map was moved onto is checked page by page before a vector is read from it', async () => {
    const dir = await built();
    const db = await open(dir);
    try {
      const want = expected();
      await round(db, want, 0);
      // r2 (label 2, not erased by the round) is graph element 2 in every graph of this vault:
      // damage its floats in the graph just committed, under the writer's map, as a failing disk would.
      const graph = path.join(dir, currentGraph(dir));
      const fd = fs.openSync(graph, 'r+');
      try {
        const header = Buffer.alloc(GRAPH_HEADER);
        fs.readSync(fd, header, 0, GRAPH_HEADER, 0);
        const shape = graphShape(header);
        const at = GRAPH_HEADER + 2 * shape.per + shape.dataOff + 4;
        const byte = Buffer.alloc(1);
        fs.readSync(fd, byte, 0, 1, at);
        byte[0] = byte[0]! ^ 0x40;
        fs.writeSync(fd, byte, 0, 1, at);
      } finally {
        fs.closeSync(fd);
      }
      assert.ok(sameBits(db.vault('v').get('r1100')!.vector, want.get('r1100')!), 'a row on another page still reads');
      assert.throws(() => db.vault('v').get('r2'), CorruptionError);
    } finally {
      await db.close().catch(() => undefined);
    }
  });
});
