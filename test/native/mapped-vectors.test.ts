import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, CorruptionError, type Database } from '../../src/index.js';
import { nativeGraphs } from '../../src/native/mapped-graph.js';
import { findSection } from '../../src/format/sectioned-file.js';
import { SectionKind } from '../../src/format/constants.js';
import { nodeFileSystem, overlay } from '../../src/fs/file-system.js';
import { withNative } from '../helpers/native-env.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';

// Segments with a VECTORS section, as builds before "vectors stored once" wrote them for every
// vault and this build still writes when asked (FORMAT.md "Segment files"): what these tests pin.
process.env.QUIVER_SEGMENT_VECTORS = '1';

/**
 * A reader with the native addon views a segment's vectors in the mapped segment file
 * (native/qmap.c mapFile, segments/vector-block.ts) instead of reading them into a private copy:
 * the pages are the page cache's, shared with every process (#19). Its section CRC is still
 * checked before any vector is used, through a small buffer, so the check faults no page of the
 * map into the process; damage is a CorruptionError exactly as on the private path. A refresh
 * that moves past a segment unmaps it at once (not at garbage collection), as close() does, but
 * never under a search or an export still reading it.
 */

assert.ok(nativeGraphs(), 'the native addon is not built: run `node native/build.mjs`');

const DIM = 16;
const COUNT = 2000;
const vectorOf = (i: number): Float32Array => Float32Array.from({ length: DIM }, (_, j) => Math.sin(i * 0.37 + j * 1.3) + (j === i % DIM ? 1 : 0));

async function checkpointed(): Promise<{ dir: string; segment: string }> {
  const dir = dbPath();
  const db = await open(dir, { dimension: DIM, metric: 'l2', index: { type: 'hnsw', M: 8, efConstruction: 40 } });
  const v = await db.createVault('v');
  await v.insertMany(Array.from({ length: COUNT }, (_, i) => ({ id: `r${i}`, vector: vectorOf(i), payload: { i } })));
  await db.checkpoint();
  await db.close();
  return { dir, segment: segmentOf(dir) };
}

const segmentOf = (dir: string): string => path.join(dir, 'segments', fs.readdirSync(path.join(dir, 'segments')).find((f) => f.endsWith('.segment'))!);

async function vectorSection(file: string): Promise<{ at: number; length: number }> {
  const bytes = fs.readFileSync(file);
  const found = await findSection(async (at, n) => bytes.subarray(at, at + n), bytes.byteLength, 'segment', file, SectionKind.vectors);
  assert.ok(found && found.length === COUNT * DIM * 4);
  return found;
}

interface Mapping {
  file: string;
  deleted: boolean;
  /** Resident kB of this mapping (smaps Rss) and how much of it is the process's own (Anonymous). */
  rss: number;
  anonymous: number;
}

/** This process's mappings of files under `dir`/segments ending with `suffix` (Linux /proc/self/smaps). */
function mappings(dir: string, suffix: string): Mapping[] {
  const out: Mapping[] = [];
  let current: Mapping | null = null;
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s+(.*)$/.exec(line);
    if (head) {
      let file = head[1]!;
      const deleted = file.endsWith(' (deleted)');
      if (deleted) file = file.slice(0, -' (deleted)'.length);
      current = path.dirname(file) === path.join(dir, 'segments') && file.endsWith(suffix) ? { file, deleted, rss: 0, anonymous: 0 } : null;
      if (current) out.push(current);
      continue;
    }
    const field = /^(Rss|Anonymous):\s+(\d+) kB/.exec(line);
    if (current && field) current[field[1] === 'Rss' ? 'rss' : 'anonymous'] = Number(field[2]);
  }
  return out;
}

/** The reader's answers to a few exact and graph searches, and some stored vectors. */
async function answers(db: Database): Promise<unknown> {
  const v = db.vault('v');
  const out: unknown[] = [];
  for (const i of [0, 7, 999, 1999]) {
    out.push((await v.search(vectorOf(i), { k: 5, exact: true })).map((h) => [h.id, h.score]));
    out.push((await v.search(vectorOf(i), { k: 5, ef: 64 })).map((h) => [h.id, h.score]));
    out.push((await v.search(vectorOf(i), { k: 3, filter: { i: { $lt: 100 } } })).map((h) => h.id));
    out.push([...v.get(`r${i}`)!.vector]);
  }
  return out;
}

describe("a reader's vectors, viewed in the mapped segment", () => {
  it('are views of the shared map, not a private copy; the check faults no page in; the answers are the private path\'s', async () => {
    const { dir, segment } = await checkpointed();
    const size = fs.statSync(segment).size;
    const { length } = await vectorSection(segment);

    const reader = await open(dir, { readOnly: true });
    // A graph search waits for the vectors' check (verify 'full'), which reads the section
    // through a small buffer: the map itself is still untouched.
    await reader.vault('v').search(vectorOf(3), { k: 3 });
    const [before] = mappings(dir, '.segment');
    assert.ok(before, 'the segment is mapped');
    assert.ok(before.rss * 1024 < length / 8, `checking the section faulted ${before.rss} kB of the map into this process (the section is ${length >> 10} kB)`);
    const vector = reader.vault('v').get('r5')!;
    assert.deepEqual([...vector.vector!], [...vectorOf(5)]);
    // Internally, a record's vector is a view of the whole mapped file.
    const state = (reader as unknown as { parts: { state: { vaults: Map<number, { stored: { array: Float32Array; mapped: boolean } }> } } }).parts.state;
    const stored = [...state.vaults.values()][0]!.stored;
    assert.equal(stored.mapped, true);
    assert.equal(stored.array.buffer.byteLength, size, 'the vectors are a view of the mapped segment');
    await reader.vault('v').search(vectorOf(3), { k: 3, exact: true });
    const [after] = mappings(dir, '.segment');
    assert.ok(after!.rss * 1024 >= length / 2, `an exact search reads the vectors through the map (${after!.rss} kB resident)`);
    assert.equal(after!.anonymous, 0, 'no page of the map is private to this process');
    const mapped = await answers(reader);
    await reader.close();
    assert.deepEqual(mappings(dir, '.segment'), [], 'close() unmapped the segment');

    const plain = await withNative(false, () => open(dir, { readOnly: true }));
    const privateState = (plain as unknown as { parts: { state: { vaults: Map<number, { stored: { array: Float32Array; mapped: boolean } }> } } }).parts.state;
    const own = [...privateState.vaults.values()][0]!.stored;
    assert.equal(own.mapped, false);
    assert.equal(own.array.buffer.byteLength, length, 'QUIVER_NATIVE=0: a private copy of the section');
    assert.deepEqual(mappings(dir, '.segment'), []);
    assert.deepEqual(await answers(plain), mapped, 'the same answers with and without the map');
    await plain.close();
  });

  it('a flipped byte in the VECTORS section is a CorruptionError before any vector is used, as on the private path; nothing stays mapped', async () => {
    const { dir, segment } = await checkpointed();
    const { at, length } = await vectorSection(segment);
    const bytes = fs.readFileSync(segment);
    bytes[at + Math.floor(length / 3)]! ^= 0x04;
    fs.writeFileSync(segment, bytes);
    const named = (err: unknown) => err instanceof CorruptionError && path.join(dir, err.file) === segment && /vector section checksum mismatch/.test(err.message);
    for (const native of [true, false]) {
      await withNative(native, async () => {
        // Default verify: a graph search waits for the check and raises.
        const db = await open(dir, { readOnly: true });
        await assert.rejects(db.vault('v').search(vectorOf(1), { k: 3 }), named, `native ${native}: a graph search`);
        assert.equal(db.status, 'failed');
        await db.close();
        // A get() before the background check reads and checks the section at once.
        const early = await open(dir, { readOnly: true });
        assert.throws(() => early.vault('v').get('r1'), named, `native ${native}: get() right after open`);
        // The background check then fails the handle too.
        for (let i = 0; i < 500 && early.status === 'open'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
        assert.equal(early.status, 'failed');
        await early.close();
        // verify 'lazy': the graph may answer first, but no exact answer comes from the damaged vectors.
        const lazy = await open(dir, { readOnly: true, verify: 'lazy' });
        await assert.rejects(lazy.vault('v').search(vectorOf(1), { k: 3, exact: true }), named, `native ${native}: lazy exact search`);
        for (let i = 0; i < 500 && lazy.status === 'open'; i++) await new Promise((resolve) => setTimeout(resolve, 10));
        assert.equal(lazy.status, 'failed');
        await lazy.close();
      });
      assert.deepEqual(mappings(dir, '.segment'), [], `native ${native}: the damaged segment is not left mapped`);
    }
  });

  it('a refresh past a checkpoint unmaps the old segment and graph at once; an export reading the old view keeps it mapped until it ends', async () => {
    const { dir } = await checkpointed();
    const reader = await open(dir, { readOnly: true, refreshIntervalMs: 0 });
    await reader.vault('v').search(vectorOf(1), { k: 1 });
    const first = mappings(dir, '.segment').map((m) => path.basename(m.file));
    assert.equal(first.length, 1);

    const writer = await open(dir);
    await writer.vault('v').insert('late', vectorOf(5000));
    await writer.vault('v').erase('r0');
    await writer.checkpoint();
    await reader.refresh();
    assert.equal(reader.vault('v').count(), COUNT);
    assert.deepEqual([...reader.vault('v').get('late')!.vector], [...vectorOf(5000)]);
    const now = mappings(dir, '.segment');
    assert.equal(now.length, 1, `one segment mapped after the refresh: ${JSON.stringify(now)}`);
    assert.notEqual(path.basename(now[0]!.file), first[0], 'the old segment was unmapped at once, the new one mapped');
    assert.equal(mappings(dir, '.hnsw').length, 1, 'the old graph was unmapped at once');

    // An export of the reader's view, held at its first file write; meanwhile a checkpoint and a
    // refresh replace that view. The export still writes the vectors it started with.
    const second = path.basename(now[0]!.file);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let writes = 0;
    let waiting!: () => void;
    const reached = new Promise<void>((resolve) => (waiting = resolve));
    const gated = overlay(nodeFileSystem, {
      async writeFileSynced(file, chunks) {
        if (writes++ === 0) {
          waiting();
          await gate;
        }
        return nodeFileSystem.writeFileSynced(file, chunks);
      },
    });
    const exporter = await open(dir, { readOnly: true, refreshIntervalMs: 0, fs: gated });
    await exporter.vault('v').search(vectorOf(1), { k: 1 });
    const out = path.join(tmpDir(), 'export');
    const exporting = exporter.export(out);
    await reached;
    await writer.vault('v').insert('later', vectorOf(6000));
    await writer.checkpoint();
    await exporter.refresh();
    assert.ok(exporter.vault('v').get('later'), 'the exporting handle moved on');
    const held = mappings(dir, '.segment').map((m) => path.basename(m.file));
    assert.ok(held.filter((f) => f === second).length === 2, `the export's segment stays mapped while it runs (the reader's map, and the exporter's): ${held}`);
    release();
    await exporting;
    const lines = fs.readFileSync(path.join(out, 'vaults', 'v', 'records.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; vector: string });
    assert.equal(lines.length, COUNT, 'the export holds the view it started with');
    const late = lines.find((l) => l.id === 'late')!;
    assert.deepEqual([...new Float32Array(new Uint8Array(Buffer.from(late.vector, 'base64')).buffer)], [...vectorOf(5000)]);
    const exporterMaps = mappings(dir, '.segment').map((m) => path.basename(m.file)).filter((f) => f === second);
    assert.equal(exporterMaps.length, 1, 'once the export ended its segment was unmapped (the other reader still maps it)');

    await exporter.close();
    await reader.close();
    await writer.close();
    assert.deepEqual(mappings(dir, '.segment'), []);
    assert.deepEqual(mappings(dir, '.hnsw'), []);
  });

  it('a vault dropped through the log is unmapped by the refresh that applies the drop, not at garbage collection', async () => {
    const { dir } = await checkpointed();
    const setup = await open(dir);
    const other = await setup.createVault('other');
    await other.insertMany(Array.from({ length: 50 }, (_, i) => ({ id: `o${i}`, vector: vectorOf(i) })));
    await setup.checkpoint();
    await setup.close();
    const reader = await open(dir, { readOnly: true, refreshIntervalMs: 0 });
    await reader.vault('v').search(vectorOf(1), { k: 1 });
    await reader.vault('other').search(vectorOf(1), { k: 1 });
    assert.equal(mappings(dir, '.segment').length, 2);

    const writer = await open(dir);
    await writer.dropVault('other');
    await reader.refresh();
    assert.equal(reader.hasVault('other'), false);
    const left = mappings(dir, '.segment');
    assert.equal(left.length, 1, `the dropped vault's segment is unmapped once the drop is applied: ${JSON.stringify(left)}`);
    assert.equal(mappings(dir, '.hnsw').length, 1, "the dropped vault's graph too");
    assert.equal(reader.vault('v').get('r3')!.vector.length, DIM);
    await writer.close();
    await reader.close();
  });

  it('a search waiting for the vectors while a refresh replaces its view answers from the vectors it started with', async () => {
    const { dir, segment } = await checkpointed();
    const { at } = await vectorSection(segment);
    // The reader's background check of the first segment's vectors waits at a gate.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const gated = new Set<number>();
    const slow = overlay(nodeFileSystem, {
      openSync(file, mode) {
        const fd = nodeFileSystem.openSync(file, mode);
        if (file === segment) gated.add(fd);
        return fd;
      },
      async read(fd, into, position) {
        if (gated.has(fd) && position === at) await gate;
        return nodeFileSystem.read(fd, into, position);
      },
    });
    const reader = await open(dir, { readOnly: true, verify: 'lazy', refreshIntervalMs: 0, fs: slow });
    // 'lazy': the search starts at once, and an exact search waits for the vectors' check.
    const search = reader.vault('v').search(vectorOf(42), { k: 3, exact: true });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const writer = await open(dir);
    await writer.vault('v').erase('r42');
    await writer.checkpoint();
    await writer.close();
    await reader.refresh();
    assert.equal(reader.vault('v').get('r42'), null, 'the refresh moved the reader past the erase');
    release();
    const hits = await search;
    assert.equal(hits[0]!.id, 'r42', 'the search answers from the view it started on');
    assert.equal(hits[0]!.score, 0);
    // Once the search ended, the replaced view's segment was unmapped.
    for (let i = 0; i < 100 && mappings(dir, '.segment').length > 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(mappings(dir, '.segment').length, 1);
    await reader.close();
    assert.deepEqual(mappings(dir, '.segment'), []);
  });
});
