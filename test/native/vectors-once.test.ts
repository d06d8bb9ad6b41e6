import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, checkDatabase, importDatabase, CorruptionError, type Metric } from '../../src/index.js';
import { nativeGraphs } from '../../src/native/mapped-graph.js';
import { decodeSectioned } from '../../src/format/sectioned-file.js';
import { GRAPH_SEGMENT_VERSION, SectionKind } from '../../src/format/constants.js';
import { decodeManifest } from '../../src/segments/manifest.js';
import { GRAPH_HEADER, GraphRows, graphShape } from '../../src/segments/graph-vectors.js';
import { withVectorSections } from '../helpers/vector-sections.js';
import { sameBits, vectorWithExtremes } from '../helpers/extreme-vectors.js';
import { encodeGraphVectors, graphVectorSlices } from '../../src/segments/graph-vectors-encode.js';
import { nodeFileSystem } from '../../src/fs/file-system.js';
import type { VaultState } from '../../src/vault/vault-state.js';
import { dbPath, fingerprint, tmpDir } from '../helpers/tmp.js';

/** How many times this process maps `file` (Linux /proc/self/maps). */
function mapsOf(file: string): number {
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(` ${file}`) || l.endsWith(` ${file} (deleted)`)).length;
}

/**
 * Vectors stored once (#19 step 3, FORMAT.md "Segment files"): an HNSW vault's checkpointed
 * segment holds GRAPH_VECTORS instead of VECTORS, and every stored vector is read back from the
 * saved graph, bit for bit the float32 written, under every metric (cosine through the row's
 * correction), by the writer, by a mapped reader and by a reader without the addon.
 */

assert.ok(nativeGraphs(), 'the native addon is not built: run `node native/build.mjs`');

const DIM = 24;
const COUNT = 1500;

async function checkpointed(metric: Metric): Promise<string> {
  const dir = dbPath();
  const db = await open(dir, { dimension: DIM, metric, index: { type: 'hnsw', M: 8, efConstruction: 40 } });
  const v = await db.createVault('v');
  await v.insertMany(Array.from({ length: COUNT }, (_, i) => ({ id: `r${i}`, vector: vectorWithExtremes(DIM, i), payload: { i } })));
  // Churn, so graph element order is not row (label) order: erased slots are taken over by new labels.
  for (let i = 0; i < 200; i += 2) await v.erase(`r${i}`);
  await v.insertMany(Array.from({ length: 80 }, (_, i) => ({ id: `n${i}`, vector: vectorWithExtremes(DIM, COUNT + i) })));
  await v.insert('r1', vectorWithExtremes(DIM, 99999));
  await db.checkpoint();
  await db.close();
  return dir;
}

const expected = (): Map<string, Float32Array> => {
  const out = new Map<string, Float32Array>();
  for (let i = 0; i < COUNT; i++) if (!(i < 200 && i % 2 === 0)) out.set(`r${i}`, vectorWithExtremes(DIM, i));
  for (let i = 0; i < 80; i++) out.set(`n${i}`, vectorWithExtremes(DIM, COUNT + i));
  out.set('r1', vectorWithExtremes(DIM, 99999));
  return out;
};

function segmentFile(dir: string): { file: string; graph: string } {
  const manifest = decodeManifest(fs.readFileSync(path.join(dir, 'quiver.manifest')));
  const v = manifest.vaults[0]!;
  return { file: path.join(dir, v.segment.path), graph: path.join(dir, v.graph!.path) };
}

/** Every record's vector as the handle gives it back, checked bit for bit, plus one exact search's answer. */
async function readBack(dir: string, options: Parameters<typeof open>[1], graphMaps?: number, segmentMaps = graphMaps): Promise<{ hits: string }> {
  const db = await open(dir, options);
  try {
    const v = db.vault('v');
    const want = expected();
    assert.equal(v.count(), want.size);
    for (const [id, vector] of want) {
      const got = v.get(id)!.vector;
      assert.ok(sameBits(got, vector), `${id}: ${[...got].slice(0, 4)} vs ${[...vector].slice(0, 4)}`);
    }
    const hits = await v.search(vectorWithExtremes(DIM, 3), { k: 10, exact: true });
    // A mapped reader's vectors and search share one mapping of the graph; a writer with the
    // addon maps the graph for its vectors (hnswlib's copy is for searching); without the addon
    // nothing is mapped. A mapped reader's GRAPH_VECTORS rows are read in a map of the segment
    // too, shared like the graph; a writer reads them privately.
    if (graphMaps !== undefined) {
      assert.equal(mapsOf(segmentFile(dir).graph), graphMaps, 'mappings of the graph');
      assert.equal(mapsOf(segmentFile(dir).file), segmentMaps, 'mappings of the segment');
    }
    return { hits: hits.map((h) => `${h.id}:${h.score}`).join(' ') };
  } finally {
    await db.close();
  }
}

describe('vectors stored once, in the graph', () => {
  for (const metric of ['cosine', 'l2', 'ip'] as const) {
    it(`${metric}: the segment has no VECTORS, and the writer, a mapped reader and a reader without the addon give back every vector bit for bit`, async () => {
      const dir = await checkpointed(metric);
      const { file } = segmentFile(dir);
      const parsed = decodeSectioned(fs.readFileSync(file), 'segment', file);
      assert.equal(parsed.version, GRAPH_SEGMENT_VERSION);
      assert.deepEqual(parsed.sections.filter((s) => s.kind === SectionKind.vectors), [], 'no VECTORS section');
      assert.equal(parsed.sections.filter((s) => s.kind === SectionKind.graphVectors).length, 1);
      const writer = await readBack(dir, {}, 1, 0);
      const mapped = await readBack(dir, { readOnly: true }, 1);
      process.env.QUIVER_NATIVE = '0';
      let plain: { hits: string };
      let privateWriter: { hits: string };
      try {
        plain = await readBack(dir, { readOnly: true }, 0);
        privateWriter = await readBack(dir, {}, 0);
      } finally {
        delete process.env.QUIVER_NATIVE;
      }
      assert.equal(mapped.hits, writer.hits, 'a mapped reader scores and orders the exact search as the writer does');
      assert.equal(plain.hits, writer.hits);
      assert.equal(privateWriter.hits, writer.hits, 'a writer without the addon (its vectors in a private block) as one with them mapped');
      assert.equal((await checkDatabase(dir)).ok, true);
    });
  }

  it('the payload made in blocks of any number of rows is the section the checkpoint wrote, and gives back every vector', async () => {
    const dir = await checkpointed('cosine');
    const { file, graph } = segmentFile(dir);
    const written = decodeSectioned(fs.readFileSync(file), 'segment', file).sections.find((s) => s.kind === SectionKind.graphVectors)!.payload;
    const db = await open(dir);
    try {
      const state = (db as unknown as { parts: { state: { vaults: Map<number, VaultState> } } }).parts.state;
      const records = [...[...state.vaults.values()][0]!.records.inLabelOrder()];
      const rows = { length: records.length, label: (row: number) => records[row]!.label, vector: (row: number) => records[row]!.vector };
      const knob = graphVectorSlices.rows;
      try {
        for (const perBlock of [1, 7, 64, records.length - 1, records.length, 1 << 15]) {
          graphVectorSlices.rows = perBlock;
          const encoded = await encodeGraphVectors(nodeFileSystem, graph, rows, DIM, 'cosine');
          assert.ok(encoded, `blocks of ${perBlock}`);
          assert.ok(Buffer.concat(encoded.parts).equals(Buffer.from(written)), `blocks of ${perBlock} rows: the bytes the checkpoint wrote`);
          // Any rows as a section of their own (what a checkpoint moves into a mapped writer's
          // block): each gives back its record's vector from the graph, exceptions included.
          const wanted = records.map((_, row) => row).filter((row) => row % 3 === 1 || row === records.length - 1);
          const sub = GraphRows.decode(await encoded.section(wanted), DIM, 'subset');
          const bytes = fs.readFileSync(graph);
          const shape = graphShape(bytes);
          const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
          const out = new Float32Array(DIM);
          wanted.forEach((row, i) => {
            assert.equal(sub.elements[i], Buffer.from(written).readUInt32LE(16 + 4 * row), `row ${row}'s element`);
            sub.reconstruct(i, floats, (GRAPH_HEADER + sub.elements[i]! * shape.per + shape.dataOff) / 4, out, new Uint32Array(out.buffer), 0, 'subset');
            assert.ok(sameBits(out, records[row]!.vector), `blocks of ${perBlock}, row ${row} through the subset`);
          });
        }
      } finally {
        graphVectorSlices.rows = knob;
      }
    } finally {
      await db.close();
    }
    const knob = graphVectorSlices.rows;
    graphVectorSlices.rows = 7;
    const again = await open(dir);
    try {
      await again.vault('v').insert('late', vectorWithExtremes(DIM, 123456));
      await again.checkpoint();
    } finally {
      graphVectorSlices.rows = knob;
      await again.close();
    }
    const reader = await open(dir, { readOnly: true });
    try {
      for (const [id, vector] of [...expected(), ['late', vectorWithExtremes(DIM, 123456)] as const]) assert.ok(sameBits(reader.vault('v').get(id)!.vector, vector), id);
    } finally {
      await reader.close();
    }
  });

  it('a segment written with VECTORS (before this build) still opens and reads; the next checkpoint writes the new form', async () => {
    const dir = await checkpointed('cosine');
    withVectorSections(dir);
    const { file } = segmentFile(dir);
    assert.equal(decodeSectioned(fs.readFileSync(file), 'segment', file).version, 1);
    await readBack(dir, {});
    await readBack(dir, { readOnly: true });
    assert.equal((await checkDatabase(dir)).ok, true);
    const db = await open(dir);
    await db.vault('v').insert('late', vectorWithExtremes(DIM, 123456));
    await db.checkpoint();
    await db.close();
    const now = segmentFile(dir).file;
    assert.equal(decodeSectioned(fs.readFileSync(now), 'segment', now).version, GRAPH_SEGMENT_VERSION);
    const again = await open(dir, { readOnly: true });
    assert.ok(sameBits(again.vault('v').get('late')!.vector, vectorWithExtremes(DIM, 123456)));
    assert.ok(sameBits(again.vault('v').get('r7')!.vector, vectorWithExtremes(DIM, 7)));
    await again.close();
  });

  it('export, import, compaction and a second checkpoint keep every vector bit for bit', async () => {
    const dir = await checkpointed('cosine');
    const out = path.join(tmpDir(), 'export');
    const reader = await open(dir, { readOnly: true });
    await reader.export(out);
    await reader.close();
    const imported = dbPath();
    await importDatabase(imported, out);
    await readBack(imported, {});
    const db = await open(dir);
    await db.compact();
    await db.checkpoint();
    await db.close();
    await readBack(dir, {});
    await readBack(dir, { readOnly: true });
  });

  it("a flipped byte in a vector's bytes in the graph is CorruptionError on get() and on search, never a wrong vector", async () => {
    const dir = await checkpointed('l2');
    const { graph } = segmentFile(dir);
    const bytes = fs.readFileSync(graph);
    const shape = graphShape(bytes);
    // Element 700's first float, whichever record it holds.
    const at = GRAPH_HEADER + 700 * shape.per + shape.dataOff;
    const label = bytes.readUInt32LE(GRAPH_HEADER + 700 * shape.per + shape.labelOff);
    bytes[at + 1]! ^= 0x10;
    fs.writeFileSync(graph, bytes);
    const before = fingerprint(dir);
    const page = Math.floor(at / 4096);
    // The writer checks the whole graph before hnswlib reads it.
    await assert.rejects(open(dir), CorruptionError);
    // A mapped reader checks pages on first use: the record on the damaged page fails, others read.
    const reader = await open(dir, { readOnly: true, verify: 'lazy' });
    const v = reader.vault('v');
    const ids = [...expected().keys()];
    let failed = 0;
    let clean: string | null = null;
    for (const id of ids) {
      try {
        const got = v.get(id)!.vector;
        assert.ok(sameBits(got, expected().get(id)!), `${id} read back wrong`);
        if (clean === null && /^r\d{3,}$/.test(id)) clean = id;
      } catch (err) {
        assert.ok(err instanceof CorruptionError, String(err));
        assert.match(err.message, new RegExp(`page ${page} `), 'names the damaged page');
        assert.ok(err.file.endsWith('.hnsw'), 'names the graph');
        failed++;
      }
    }
    assert.ok(failed >= 1, `the record of label ${label} on the damaged page fails`);
    await assert.rejects(v.search(vectorWithExtremes(DIM, 3), { k: 5, exact: true }), CorruptionError);
    // close() reports what the background check found, as for damaged VECTORS.
    await reader.close().catch((err: unknown) => assert.ok(err instanceof CorruptionError, String(err)));
    // Default verify: no answer is computed over unchecked bytes. A mapped reader checks each page
    // of the graph before its first use, so its first search need not wait for the check of the
    // whole file: one that reads only a clean page answers, one that reads the damaged page
    // raises, and the background check fails the handle all the same.
    const full = await open(dir, { readOnly: true });
    const only = Number(clean!.slice(1));
    const hits = await full.vault('v').search(expected().get(clean!)!, { k: 1, filter: { i: only } });
    assert.deepEqual(hits.map((h) => h.id), [clean], 'answered from a checked page');
    await assert.rejects(
      (async () => {
        await full.vault('v').search(vectorWithExtremes(DIM, 3), { k: 5, exact: true });
        await new Promise((resolve) => setTimeout(resolve, 100));
        await full.vault('v').search(vectorWithExtremes(DIM, 3), { k: 5 });
      })(),
      CorruptionError,
    );
    await full.close().catch((err: unknown) => assert.ok(err instanceof CorruptionError, String(err)));
    const report = await checkDatabase(dir);
    assert.equal(report.ok, false);
    assert.ok(report.problems.some((p) => p.file.endsWith('.hnsw') || p.file.endsWith('.hnsw.meta')), JSON.stringify(report.problems));
    assert.deepEqual(fingerprint(dir), before, 'nothing on disk changed: no record dropped or rewritten');
  });
  it('a read-only open that fails after mapping the graph (a damaged segment) leaves the graph unmapped', async () => {
    const dir = await checkpointed('l2');
    const { file } = segmentFile(dir);
    const graph = path.join(path.dirname(file), fs.readdirSync(path.dirname(file)).find((f) => f.endsWith('.hnsw'))!);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 9]! ^= 0xff; // inside the last section: its CRC fails as the segment is read
    fs.writeFileSync(file, bytes);
    await assert.rejects(open(dir, { readOnly: true }), CorruptionError);
    await new Promise((resolve) => setTimeout(resolve, 50)); // a map still coming would land by now
    assert.equal(mapsOf(graph), 0, 'no mapping of the graph outlives the failed open');
  });
});
