import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, CorruptionError, type Database } from '../../src/index.js';
import { nativeGraphs } from '../../src/native/mapped-graph.js';
import { decodeManifest, encodeManifest } from '../../src/segments/manifest.js';
import { encodeSectioned } from '../../src/format/sectioned-file.js';
import { crc32c } from '../../src/format/crc.js';
import { decodeGraphSidecar, PAGE_LOG2 } from '../../src/segments/graph-sidecar.js';
import { SectionKind } from '../../src/format/constants.js';
import { checkDatabase } from '../../src/engine/maintenance/check.js';
import { dbPath, seeded, tmpDir } from '../helpers/tmp.js';
import { createRequire } from 'node:module';
import { MappedGraph } from '../../src/native/mapped-graph.js';
import { nodeFileSystem } from '../../src/fs/file-system.js';
import { summarizeGraph } from '../../src/segments/graph-sidecar.js';
import { sidecarFiles, withoutSidecars } from '../helpers/graph-sidecar.js';

/**
 * Page checksums for mapped graphs (#19 step 2; FORMAT.md "Graph sidecar"). A read-only open
 * checks the small sidecar whole and the graph's header and upper-level pages, and no other page
 * of the graph: a flipped byte in a level-0 page lets the open succeed, and the first search that
 * reaches that page raises CorruptionError naming the graph, as does every search after it, and
 * no search returns another answer than the intact graph's. A damaged, truncated or foreign
 * sidecar fails the open. A database saved before sidecars still opens, checked whole.
 */

assert.ok(nativeGraphs(), 'the native addon is not built: run `node native/build.mjs`');

const DIM = 16;
const N = 3000;
const PAGE = 1 << PAGE_LOG2;

function data(): Float32Array[] {
  const r = seeded(5);
  const centres = Array.from({ length: 10 }, () => Float32Array.from({ length: DIM }, () => r() * 2));
  return Array.from({ length: N }, (_, i) => Float32Array.from(centres[i % 10]!, (x) => x + r() * 0.6));
}

async function build(): Promise<{ dir: string; vectors: Float32Array[] }> {
  const dir = dbPath();
  const vectors = data();
  const db = await open(dir, { dimension: DIM, index: { type: 'hnsw', M: 8, efConstruction: 40 } });
  const v = await db.createVault('v');
  await v.insertMany(vectors.map((vector, i) => ({ id: `r${i}`, vector })));
  await db.checkpoint();
  await db.close();
  return { dir, vectors };
}

function copyDir(from: string): string {
  const to = dbPath();
  fs.cpSync(from, to, { recursive: true });
  return to;
}

async function reader(dir: string): Promise<Database> {
  const db = await open(dir, { readOnly: true });
  assert.equal(db.stats().vaults[0]!.index.mapped, true, 'the reader maps its graph');
  return db;
}

const graphOf = (dir: string): string => path.join(dir, 'segments', fs.readdirSync(path.join(dir, 'segments')).find((f) => f.endsWith('.hnsw'))!);
const manifestOf = (dir: string) => decodeManifest(fs.readFileSync(path.join(dir, 'quiver.manifest')));

/** Rewrites the manifest's sidecar entry to name `bytes` (as a writer that made them would). */
function renameSidecarBytes(dir: string, bytes: Buffer): void {
  const manifest = manifestOf(dir);
  const entry = manifest.vaults[0]!;
  fs.writeFileSync(path.join(dir, entry.sidecar!.path), bytes);
  entry.sidecar = { path: entry.sidecar!.path, bytes: bytes.byteLength, crc32c: crc32c(bytes) };
  fs.writeFileSync(path.join(dir, 'quiver.manifest'), Buffer.concat(encodeManifest(manifest)));
}

const { HierarchicalNSW } = createRequire(import.meta.url)('hnswlib-node') as typeof import('hnswlib-node');

describe('graph sidecars: level-0 pages checked on first use', () => {
  it('opened by its sidecar, a graph answers exactly as hnswlib-node does, deleted marks included', async () => {
    for (const [metric, dim] of [['cosine', 16], ['l2', 23], ['ip', 4]] as const) {
      const r = seeded(dim);
      const n = 2500;
      const graph = new HierarchicalNSW(metric, dim);
      graph.initIndex({ maxElements: n, m: 8, efConstruction: 60, randomSeed: 100 });
      const points = Array.from({ length: n }, () => Array.from({ length: dim }, r));
      points.forEach((p, i) => graph.addPoint(p, i));
      for (let i = 0; i < n; i += 9) graph.markDelete(i);
      const file = path.join(tmpDir('quiver-sums-'), 'g.hnsw');
      graph.writeIndexSync(file);
      const { chunks } = await summarizeGraph(nodeFileSystem, file, 'g.hnsw');
      const mapped = MappedGraph.open(file, 'g.hnsw', metric, dim, decodeGraphSidecar(Buffer.concat(chunks), 'g.hnsw.meta'));
      assert.equal(mapped.deleted, Math.ceil(n / 9), `${metric}: the sidecar's delete count`);
      for (const ef of [10, 64]) {
        graph.setEf(ef);
        for (let qi = 0; qi < 60; qi++) {
          const q = Float32Array.from({ length: dim }, r);
          const want = graph.searchKnn(Array.from(q), 10);
          const got = mapped.search(q, 10, ef, null, null, null);
          assert.deepEqual(got.map((h) => h.label), want.neighbors, `${metric} ef ${ef} query ${qi}`);
          assert.deepEqual(got.map((h) => h.distance), want.distances, `${metric} ef ${ef} query ${qi}`);
        }
      }
      mapped.close();
    }
  });

  it('a checkpoint writes a sidecar the manifest names with its size and CRC, beside the graph', async () => {
    const { dir } = await build();
    const entry = manifestOf(dir).vaults[0]!;
    assert.ok(entry.graph && entry.sidecar, 'the manifest names graph and sidecar');
    assert.equal(entry.sidecar.path, `${entry.graph.path}.meta`);
    const bytes = fs.readFileSync(path.join(dir, entry.sidecar.path));
    assert.equal(bytes.byteLength, entry.sidecar.bytes);
    assert.equal(crc32c(bytes), entry.sidecar.crc32c);
    const sidecar = decodeGraphSidecar(bytes, entry.sidecar.path);
    assert.equal(sidecar.graphBytes, entry.graph.bytes);
    const graph = fs.readFileSync(graphOf(dir));
    assert.equal(sidecar.sums.byteLength, Math.ceil(graph.byteLength / PAGE) * 4);
    assert.equal(Buffer.from(sidecar.sums).readUInt32LE(4), crc32c(graph.subarray(PAGE, 2 * PAGE)), 'page 1 sum');
    assert.deepEqual(sidecarFiles(dir), [path.join(dir, entry.sidecar.path)], 'one sidecar, no tmp left');
    assert.equal((await checkDatabase(dir)).ok, true, 'quiver check accepts it');
  });

  it('a flipped byte in a level-0 page: the open succeeds, a search reaching the page is CorruptionError, never a wrong answer', async () => {
    const { dir, vectors } = await build();
    const intact = await reader(copyDir(dir));
    const file = graphOf(dir);
    const graph = fs.readFileSync(file);
    const per = Number(graph.readBigUInt64LE(24));
    const dataOff = Number(graph.readBigUInt64LE(40));
    const upperStart = 96 + N * per;
    // A record in the middle of level 0, on a page of its own (neither the header's nor the upper area's).
    const victim = Math.floor(N / 2);
    const at = 96 + victim * per + dataOff + 4 * 3; // dimension 3 of its vector
    assert.ok(at >= PAGE && Math.floor(at / PAGE) < Math.floor(upperStart / PAGE), 'the byte lies in a level-0 page');
    const flipped = Buffer.from(graph);
    flipped[at + 3]! ^= 0x40; // the float's exponent: the vector moves far
    fs.writeFileSync(file, flipped);
    const damaged = await reader(dir);
    // Queries from elsewhere first: each answers as the intact graph does or fails; none differs.
    const far = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((c) => vectors.findIndex((_, i) => i % 10 === c && Math.abs(i - victim) > 200));
    let failedAt = -1;
    const queries = [...far.map((i) => vectors[i]!), vectors[victim]!, vectors[victim + 1]!, vectors[0]!];
    for (const [qi, q] of queries.entries()) {
      const want = await intact.vault('v').search(q, { k: 10 });
      try {
        const got = await damaged.vault('v').search(q, { k: 10 });
        assert.equal(failedAt, -1, `query ${qi} answered after the graph failed`);
        assert.deepEqual(got.map((h) => [h.id, h.distance]), want.map((h) => [h.id, h.distance]), `query ${qi}: the same answer as the intact graph`);
      } catch (err) {
        if (!(err instanceof CorruptionError)) throw err;
        assert.ok(err.file.endsWith('.hnsw'), `names the graph: ${err.file}`);
        assert.match(err.message, /page \d+ .*does not match its checksum/);
        if (failedAt < 0) failedAt = qi;
      }
    }
    assert.ok(failedAt >= 0 && failedAt <= far.length, `the search for the damaged record's own vector fails (first failure at query ${failedAt})`);
    await assert.rejects(async () => damaged.vault('v').search(vectors[0]!, { k: 3 }), CorruptionError, 'the graph stays failed');
    // The handle failed, as for damaged stored vectors: every call names the graph.
    assert.equal(damaged.status, 'failed');
    assert.throws(() => damaged.vault('v').count(), (e: unknown) => e instanceof CorruptionError && e.file.endsWith('.hnsw'));
    assert.ok(flipped.equals(fs.readFileSync(file)), 'nothing on disk changed');
    await damaged.close();
    await intact.close();
  });

  it('every level-0 page, one at a time: a flipped byte never gives a wrong answer', async () => {
    const { dir, vectors } = await build();
    const pristine = copyDir(dir);
    const intact = await reader(pristine);
    const file = graphOf(dir);
    const graph = fs.readFileSync(file);
    const per = Number(graph.readBigUInt64LE(24));
    const lastLevel0Page = Math.floor((96 + N * per) / PAGE) - 1;
    const queries = Array.from({ length: 40 }, (_, i) => vectors[(i * 73) % N]!);
    const wants = await Promise.all(queries.map((q) => intact.vault('v').search(q, { k: 5, ef: 64 })));
    let failures = 0;
    for (let page = 1; page <= lastLevel0Page; page += 3) {
      const bytes = Buffer.from(graph);
      const at = page * PAGE + ((page * 977) % PAGE);
      bytes[at]! ^= 1 << page % 8;
      fs.writeFileSync(file, bytes);
      const db = await reader(dir);
      for (const [qi, q] of queries.entries()) {
        try {
          const got = await db.vault('v').search(q, { k: 5, ef: 64 });
          assert.deepEqual(got.map((h) => [h.id, h.distance]), wants[qi]!.map((h) => [h.id, h.distance]), `page ${page} query ${qi}`);
        } catch (err) {
          if (!(err instanceof CorruptionError)) throw err;
          failures++;
          break;
        }
      }
      await db.close();
    }
    assert.ok(failures > 0, 'some flipped page was reached');
    await intact.close();
  });

  it('a flipped byte in the header page or the upper-level area fails the open', async () => {
    const { dir } = await build();
    const file = graphOf(dir);
    const graph = fs.readFileSync(file);
    for (const at of [96 + 40, graph.byteLength - 5]) {
      const bytes = Buffer.from(graph);
      bytes[at]! ^= 0x08;
      fs.writeFileSync(file, bytes);
      await assert.rejects(open(dir, { readOnly: true }), (e: unknown) => e instanceof CorruptionError && e.file.endsWith('.hnsw') && /checksum/.test(e.message), `byte ${at}`);
    }
  });

  it('a damaged, truncated or missing sidecar fails the open, naming it', async () => {
    const { dir } = await build();
    const [file] = sidecarFiles(dir) as [string];
    const good = fs.readFileSync(file);
    const bad = (e: unknown) => e instanceof CorruptionError && e.file.endsWith('.hnsw.meta');
    for (const at of [3, 20, good.byteLength - 7, Math.floor(good.byteLength / 2)]) {
      const b = Buffer.from(good);
      b[at]! ^= 0x01;
      fs.writeFileSync(file, b);
      await assert.rejects(open(dir, { readOnly: true }), bad, `flipped byte ${at}`);
    }
    fs.writeFileSync(file, good.subarray(0, good.byteLength - 9));
    await assert.rejects(open(dir, { readOnly: true }), bad, 'truncated');
    // Truncated, and a manifest that agrees: the sidecar's own structure is still checked.
    renameSidecarBytes(dir, good.subarray(0, good.byteLength - 9));
    await assert.rejects(open(dir, { readOnly: true }), bad, 'truncated, the manifest rewritten to match');
    fs.unlinkSync(file);
    await assert.rejects(open(dir, { readOnly: true }), bad, 'missing');
  });

  it('a sidecar that does not match its graph fails the open or the first search that meets the difference', async () => {
    const { dir, vectors } = await build();
    const [file] = sidecarFiles(dir) as [string];
    const good = fs.readFileSync(file);
    // A sidecar naming another graph CRC than the manifest gives this graph.
    renameSidecarBytes(dir, Buffer.concat(encodeSectioned('graphSidecar', 1, [
      { kind: SectionKind.graphShape, payload: (() => { const s = Buffer.from(decodeGraphSidecar(good, 'x').shape); s.writeUInt32LE((s.readUInt32LE(8) ^ 1) >>> 0, 8); return s; })() },
      { kind: SectionKind.pageSums, payload: decodeGraphSidecar(good, 'x').sums },
      { kind: SectionKind.upperLevels, payload: decodeGraphSidecar(good, 'x').upper },
    ])));
    await assert.rejects(open(dir, { readOnly: true }), (e: unknown) => e instanceof CorruptionError && /describes another graph/.test(e.message), 'another graph CRC');
    // Sums that are not this graph's, in an otherwise sound sidecar: one level-0 page's sum.
    const parsed = decodeGraphSidecar(good, 'x');
    const sums = Buffer.from(parsed.sums);
    const page = Math.floor(sums.byteLength / 4 / 2);
    sums.writeUInt32LE((sums.readUInt32LE(page * 4) ^ 0x10) >>> 0, page * 4);
    renameSidecarBytes(dir, Buffer.concat(encodeSectioned('graphSidecar', 1, [{ kind: SectionKind.graphShape, payload: parsed.shape }, { kind: SectionKind.pageSums, payload: sums }, { kind: SectionKind.upperLevels, payload: parsed.upper }])));
    const db = await reader(dir);
    let failed = 0;
    for (let i = 0; i < N && failed === 0; i += 7) {
      await db.vault('v').search(vectors[i]!, { k: 10, ef: 100 }).catch((e: unknown) => {
        assert.ok(e instanceof CorruptionError && e.file.endsWith('.hnsw'), String(e));
        failed++;
      });
    }
    assert.equal(failed, 1, 'some search reached the page whose sum differs');
    await db.close();
    // quiver check reads the graph whole and holds every sum to it.
    const report = await checkDatabase(dir);
    assert.equal(report.ok, false);
    assert.ok(report.problems.some((p) => p.file.endsWith('.hnsw.meta') && /page \d+'s sum/.test(p.message)), JSON.stringify(report.problems));
    // An upper-level table that is not this graph's.
    const upper = Buffer.from(parsed.upper);
    upper.writeUInt32LE(upper.readUInt32LE(4) + 1, 4); // the first upper element's level count
    renameSidecarBytes(dir, Buffer.concat(encodeSectioned('graphSidecar', 1, [{ kind: SectionKind.graphShape, payload: parsed.shape }, { kind: SectionKind.pageSums, payload: parsed.sums }, { kind: SectionKind.upperLevels, payload: upper }])));
    await assert.rejects(open(dir, { readOnly: true }), (e: unknown) => e instanceof CorruptionError && /upper-level/.test(e.message), 'upper table');
  });

  it('a record spanning two pages has both checked: its label on the second page, flipped, is CorruptionError, not another record', async () => {
    const { dir, vectors } = await build();
    const file = graphOf(dir);
    const bytes = fs.readFileSync(file);
    const per = Number(bytes.readBigUInt64LE(24)); // size_data_per_element in hnswlib's header
    const header = 96;
    assert.notEqual(PAGE % per, 0, 'records straddle pages at this dimension');
    const straddling: number[] = [];
    for (let i = 0; i < N; i++) {
      const start = header + i * per;
      if (Math.floor(start / PAGE) !== Math.floor((start + per - 8) / PAGE)) straddling.push(i);
    }
    assert.ok(straddling.length > 10, `${straddling.length} records have their label on their second page`);
    const sidecar = decodeGraphSidecar(fs.readFileSync(`${file}.meta`), 'meta');
    let caught = 0;
    for (const i of straddling.slice(0, 12)) {
      const damaged = Buffer.from(bytes);
      damaged[header + i * per + per - 8]! ^= 0x01; // the label's low byte; the page sums are left as they were
      const copy = path.join(tmpDir(), 'g.hnsw');
      fs.writeFileSync(copy, damaged);
      const graph = MappedGraph.open(copy, 'g.hnsw', 'cosine', DIM, sidecar);
      try {
        const hits = graph.search(vectors[i]!, 1, 50, null, null, null);
        assert.fail(`record ${i}'s own vector answered label ${hits[0]?.label} at ${hits[0]?.distance} from a page that fails its sum`);
      } catch (err) {
        if (!(err instanceof CorruptionError)) throw err;
        caught++;
      } finally {
        graph.close();
      }
    }
    assert.equal(caught, 12);
  });

  it('a sidecar that says the graph holds no deleted element when it does: a search meeting one is CorruptionError, never fewer or other hits', async () => {
    const { dir, vectors } = await build();
    const writer = await open(dir);
    for (let i = 0; i < N; i += 10) await writer.vault('v').erase(`r${i}`);
    await writer.checkpoint();
    await writer.close();
    const queries = Array.from({ length: 40 }, (_, j) => vectors[j * 37 + 3]!);
    const intact = await reader(dir);
    const expected: string[][] = [];
    for (const q of queries) expected.push((await intact.vault('v').search(q, { k: 10, ef: 64 })).map((h) => h.id));
    await intact.close();
    const [file] = sidecarFiles(dir) as [string];
    const parsed = decodeGraphSidecar(fs.readFileSync(file), 'x');
    const shape = Buffer.from(parsed.shape);
    assert.ok(shape.readBigUInt64LE(32) > 0n, 'the graph holds delete marks');
    shape.writeBigUInt64LE(0n, 32);
    renameSidecarBytes(dir, Buffer.concat(encodeSectioned('graphSidecar', 1, [{ kind: SectionKind.graphShape, payload: shape }, { kind: SectionKind.pageSums, payload: parsed.sums }, { kind: SectionKind.upperLevels, payload: parsed.upper }])));
    const db = await reader(dir);
    const answers = await Promise.all(queries.map((q) => db.vault('v').search(q, { k: 10, ef: 64 }).then((hits) => hits.map((h) => h.id), (e: unknown) => e)));
    const failed = answers.filter((a) => a instanceof CorruptionError && (a as CorruptionError).file.endsWith('.hnsw'));
    assert.ok(failed.length > 0, 'a search met a deleted element');
    answers.forEach((a, j) => assert.ok(a instanceof CorruptionError || JSON.stringify(a) === JSON.stringify(expected[j]), `query ${j} answered ${JSON.stringify(a)}, not ${JSON.stringify(expected[j])}`));
    await db.close().catch(() => undefined);
  });

  it('a database saved before sidecars still opens mapped, checked whole, and answers the same', async () => {
    const { dir, vectors } = await build();
    const withSums = await reader(copyDir(dir));
    withoutSidecars(dir);
    assert.deepEqual(sidecarFiles(dir), []);
    const old = await reader(dir);
    for (let i = 0; i < 50; i++) {
      const q = vectors[(i * 61) % N]!;
      assert.deepEqual((await old.vault('v').search(q, { k: 10 })).map((h) => h.id), (await withSums.vault('v').search(q, { k: 10 })).map((h) => h.id));
    }
    await old.close();
    await withSums.close();
    // Checked whole: a flipped byte anywhere fails the open, as before sidecars.
    const file = graphOf(dir);
    const bytes = fs.readFileSync(file);
    bytes[Math.floor(bytes.byteLength / 2)]! ^= 0x01;
    fs.writeFileSync(file, bytes);
    await assert.rejects(open(dir, { readOnly: true }), (e: unknown) => e instanceof CorruptionError && e.file.endsWith('.hnsw'));
    // A writer's next checkpoint of a changed vault gives it a sidecar.
    fs.writeFileSync(file, Buffer.from(bytes.map((b, i) => (i === Math.floor(bytes.byteLength / 2) ? b ^ 0x01 : b))));
    const writer = await open(dir);
    await writer.vault('v').insert('extra', vectors[0]!);
    await writer.checkpoint();
    await writer.close();
    assert.equal(sidecarFiles(dir).length, 1);
    const fresh = await reader(dir);
    assert.equal((await fresh.vault('v').search(vectors[0]!, { k: 2 })).length, 2);
    await fresh.close();
  });
});
