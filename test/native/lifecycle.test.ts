import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, CorruptionError, StorageError } from '../../src/index.js';
import { MappedGraph, nativeGraphs } from '../../src/native/mapped-graph.js';
import { nodeFileSystem, type FileSystem } from '../../src/fs/file-system.js';
import { loadSegmented } from '../../src/engine/open/load.js';
import { decodeIdentity } from '../../src/format/identity.js';
import { dbPath } from '../helpers/tmp.js';
import { withoutSidecars } from '../helpers/graph-sidecar.js';

/**
 * A mapped graph's life in a reader: a graph a checkpoint removes between its check and its
 * mapping is a CorruptionError (which readers retry on the newer manifest), never an I/O error
 * that fails the open; close() unmaps every graph at once instead of leaving them to garbage
 * collection (an unlinked graph's disk space stays taken while it is mapped); a search reaching
 * a graph after its database closed is refused as DATABASE_CLOSED.
 */

assert.ok(nativeGraphs(), 'the native addon is not built: run `node native/build.mjs`');

async function smallDatabase(): Promise<string> {
  const dir = dbPath();
  const db = await open(dir, { dimension: 4, index: { type: 'hnsw', M: 8, efConstruction: 40 } });
  const v = await db.createVault('v');
  await v.insertMany(Array.from({ length: 300 }, (_, i) => ({ id: `a${i}`, vector: Float32Array.from([i, 1, 2, (i * 7) % 5]) })));
  await db.checkpoint();
  await db.close();
  return dir;
}

const mappedGraphs = (dir: string): string[] =>
  fs
    .readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((line) => line.includes(path.join(dir, 'segments')) && /\.hnsw( \(deleted\))?$/.test(line));

describe('mapped graphs in a reader', () => {
  for (const sidecar of [true, false]) it(`a graph removed after its check and before its mapping is a CorruptionError, not an I/O error (${sidecar ? 'with its sidecar' : 'saved before sidecars'})`, async () => {
    const dir = await smallDatabase();
    if (!sidecar) withoutSidecars(dir);
    const identity = decodeIdentity(fs.readFileSync(path.join(dir, 'IDENTITY')));
    // As a checkpoint's last step would: the graph goes once its checksum has been read through.
    const paths = new Map<number, string>();
    let graphCloses = 0;
    let moved = false;
    const racing: FileSystem = {
      ...nodeFileSystem,
      openSync(file, mode) {
        const fd = nodeFileSystem.openSync(file, mode);
        paths.set(fd, file);
        return fd;
      },
      closeSync(fd) {
        nodeFileSystem.closeSync(fd);
        const file = paths.get(fd);
        // The first close ends the header check, the second the whole-file checksum; with a
        // sidecar, reading the sidecar is the last step before the mapping.
        if (moved || !file) return;
        if (file.endsWith('.hnsw.meta')) {
          moved = true;
          fs.renameSync(file.slice(0, -'.meta'.length), path.join(dir, 'moved-away.hnsw'));
        }
        if (!file.endsWith('.hnsw') || ++graphCloses !== 2) return;
        moved = true;
        fs.renameSync(file, path.join(dir, 'moved-away.hnsw'));
      },
    };
    let caught: unknown = null;
    await loadSegmented(racing, dir, identity, undefined, undefined, true).catch((err: unknown) => (caught = err));
    assert.ok(moved, 'the graph was read through a descriptor before the mapping');
    assert.ok(caught instanceof CorruptionError, `a CorruptionError readers retry, not ${(caught as Error)?.constructor.name} ${(caught as StorageError)?.code}: ${(caught as Error)?.message}`);
    assert.match((caught as CorruptionError).message, /\.hnsw/);
  });

  it('close() unmaps the graphs, and a search reaching one after close is DATABASE_CLOSED', { skip: process.platform !== 'linux' }, async () => {
    const dir = await smallDatabase();
    const reader = await open(dir, { readOnly: true });
    assert.equal(reader.stats().vaults[0]!.index.mapped, true);
    const v = reader.vault('v');
    assert.equal((await v.search([3, 1, 2, 1], { k: 3 }))[0]!.id, 'a3');
    assert.equal(mappedGraphs(dir).length, 1, 'the reader maps its graph');
    // A search in flight: its query embedded, the graph not yet reached.
    const index = (reader as unknown as { parts: { state: { vaults: Map<number, { index: { search: (q: Float32Array, k: number, o: object) => Promise<unknown> } }> } } }).parts.state.vaults.values().next().value!.index;
    await reader.close();
    assert.deepEqual(mappedGraphs(dir), [], 'close() leaves no graph mapped');
    await assert.rejects(index.search(Float32Array.from([3, 1, 2, 1]), 3, {}), (err: unknown) => err instanceof StorageError && err.code === 'DATABASE_CLOSED');
  });

  it('a filter callback that closes the graph or searches it again neither crashes nor corrupts the running search', async () => {
    const dir = await smallDatabase();
    const file = path.join(dir, 'segments', fs.readdirSync(path.join(dir, 'segments')).find((f) => f.endsWith('.hnsw'))!);
    const query = Float32Array.from([3, 1, 2, 1]);
    const graph = MappedGraph.open(file, 'g', 'cosine', 4);
    const plain = graph.search(query, 5, 32, null, null, null);
    // A nested search would overwrite the running one's query and heaps: refused.
    let nested: unknown = null;
    const again = graph.search(query, 5, 32, null, null, () => {
      if (nested === null) {
        try {
          graph.search(Float32Array.from([200, 1, 2, 0]), 5, 32, null, null, null);
          nested = 'ran';
        } catch (err) {
          nested = err;
        }
      }
      return true;
    });
    assert.ok(nested instanceof Error && /already searching/.test(nested.message), `nested search refused, got ${String(nested)}`);
    assert.deepEqual(again, plain, 'the running search kept its own query');
    // A close from the callback waits for the search to return, then unmaps.
    let closed = false;
    const during = graph.search(query, 5, 32, null, null, () => {
      if (!closed) graph.close();
      closed = true;
      return true;
    });
    assert.deepEqual(during, plain);
    assert.throws(() => graph.search(query, 5, 32, null, null, null), (err: unknown) => err instanceof StorageError && err.code === 'DATABASE_CLOSED');
  });

  it('a reader that keeps up with the log adopts a newer checkpoint once its private tail outgrows its bound', async () => {
    const dir = dbPath();
    const writer = await open(dir, { dimension: 4, index: { type: 'hnsw', M: 8, efConstruction: 40 } });
    const w = await writer.createVault('v');
    const vec = (i: number): Float32Array => Float32Array.from([Math.cos(i), Math.sin(i), (i % 97) / 97, (i % 13) / 13]);
    const add = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i += 1000) await w.insertMany(Array.from({ length: Math.min(1000, to - i) }, (_, j) => ({ id: `r${i + j}`, vector: vec(i + j) })));
    };
    await add(0, 2000);
    await writer.checkpoint();
    const reader = await open(dir, { readOnly: true });
    const index = () => reader.stats().vaults[0]!.index;
    try {
      assert.equal(index().mapped, true);
      // Below the bound (TAIL_BOUND vectors): a checkpoint the reader is already past keeps its state.
      await add(2000, 3000);
      await reader.refresh();
      await writer.checkpoint();
      await reader.refresh();
      assert.equal(index().tail, 1000, 'a small tail is kept across a checkpoint');
      // Past the bound: the same situation loads the newest checkpoint, whose graph holds them all.
      await add(3000, 8000);
      await reader.refresh();
      assert.equal(index().tail, 6000);
      const lsn = reader.stats().lastLsn;
      await writer.checkpoint();
      await reader.refresh();
      assert.equal(index().tail, 0, 'the outgrown tail was replaced by the new checkpoint\'s mapped graph');
      assert.equal(index().mapped, true);
      assert.equal(index().elements, 8000);
      assert.ok(reader.stats().lastLsn >= lsn, 'never a step back');
      for (const i of [5, 2500, 7999]) assert.equal((await reader.vault('v').search(vec(i), { k: 1 }))[0]!.id, `r${i}`);
      assert.equal(reader.vault('v').count(), 8000);
    } finally {
      await reader.close();
      await writer.close();
    }
  });
});
