import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open } from '../../src/index.js';
import { graphLag } from '../../src/engine/maintenance/checkpoint-files.js';
import { nodeFileSystem, overlay } from '../../src/fs/file-system.js';
import { nativeGraphs } from '../../src/native/mapped-graph.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';
import { spawnChild, type Child } from '../helpers/spawn.js';
import type { MapStats } from '../helpers/mapped-files.js';
import { BASE, CLOCK, DIM, payloadOf, RaceModel, vectorOf, VAULT } from '../helpers/race-model.js';

/**
 * One writer and four mapped readers on one database, checkpoints racing refreshes (#19; FORMAT.md
 * "Readers", mapped graphs). The writer process writes steps of one batch each (new, moved and
 * erased records and a clock record: race-model.ts), checkpoints every few steps and compacts
 * twice; four reader processes refresh (and now and then reopen) as fast as they can. Each reader,
 * at every round: its graph is mapped; LSN and epoch never go back; its whole state is exactly
 * the model's state at the step its clock shows (no torn batch); every hit is a live record at
 * its current vector's distance and the answers match an exact search of that state; and every
 * graph file it has mapped (found in /proc/self/maps, held by an fd of its own) keeps its size
 * and bytes while mapped, unlinked or not; so does every segment file it maps for its vectors. No process may die by a signal.
 *
 * QUIVER_SOAK=1 (npm run soak) runs it ten times longer.
 */

assert.ok(nativeGraphs(), 'the native addon is not built: run `node native/build.mjs`');

const SOAK = process.env.QUIVER_SOAK === '1';
const STEPS = SOAK ? 600 : 60;
const CHECKPOINT_EVERY = 3;
const REOPEN_EVERY = 15;
const READERS = 4;
const PAUSE_MS = [0, 0, 30, 90];
const SEED = 19;

interface Summary {
  rounds: number;
  refreshes: number;
  reopens: number;
  remaps: number;
  searches: number;
  selfSearches: number;
  selfMisses: number;
  found: number;
  expected: number;
  steps: number;
  epochs: number;
  lsn: number;
  maps: MapStats;
  segmentMaps: MapStats;
  failures: number;
  errors: string[];
}

/** The base state (step 0 of the model), checkpointed, so every reader maps a graph from the start. */
async function createBase(dir: string): Promise<void> {
  const db = await open(dir, { dimension: DIM, metric: 'l2', index: { type: 'hnsw', M: 8, efConstruction: 64 } });
  const v = await db.createVault(VAULT);
  const model = new RaceModel(SEED);
  const records = [...model.live].map(([id, version]) => ({ id, vector: vectorOf(id, version), payload: payloadOf(id, version) }));
  for (let from = 0; from < records.length; from += 1000) await v.insertMany(records.slice(from, from + 1000));
  await db.checkpoint();
  await db.close();
}

/** A child of ours with its stderr kept, for the messages of a failure. */
function spawnRace(args: string[]): Child & { stderr: () => string } {
  const child = spawnChild(args, 'race');
  let stderr = '';
  child.proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return Object.assign(child, { stderr: () => stderr.slice(-4000) });
}

/** How the child ended (waiting at most `ms`): a clean exit is code 0 and no signal. */
async function exitOf(child: Child, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([child.exited, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
  return { code: child.proc.exitCode, signal: child.proc.signalCode };
}

describe('one writer and four mapped readers, checkpoints racing refreshes', () => {
  it(`readers answer correctly and no mapped file changes under them (${STEPS} steps)`, { timeout: SOAK ? 1_800_000 : 180_000, skip: process.platform === 'linux' ? false : 'reads /proc/self/maps' }, async (t) => {
    const dir = dbPath();
    await createBase(dir);
    const stop = path.join(tmpDir(), 'STOP');
    // Two readers go as fast as they can, two pause between rounds: a reader that keeps up with
    // the log follows it past each checkpoint on its old map, one that lags loads the newer
    // checkpoint and maps its graph.
    const readers = Array.from({ length: READERS }, (_, i) => spawnRace(['reader', dir, stop, String(SEED), String(STEPS), String(REOPEN_EVERY), String(PAUSE_MS[i]), String(i)]));
    let writer: ReturnType<typeof spawnRace> | null = null;
    try {
      for (const r of readers) await r.waitFor((l) => l === 'started', 60_000);
      writer = spawnRace(['writer', dir, String(STEPS), String(SEED), String(CHECKPOINT_EVERY)]);
      const ended = await exitOf(writer, SOAK ? 1_500_000 : 120_000);
      assert.deepEqual(ended, { code: 0, signal: null }, `the writer exits cleanly; stderr: ${writer.stderr()}`);
      const done = writer.lines.find((l) => l.startsWith('done '))!;
      assert.equal(writer.lines.filter((l) => l.startsWith('acked ')).length, STEPS);
      const epoch = Number(done.split(' ')[1]);
      t.diagnostic(`writer: ${STEPS} steps, epoch ${epoch}`);
      assert.ok(epoch > STEPS / CHECKPOINT_EVERY, `the writer checkpointed every ${CHECKPOINT_EVERY} steps (epoch ${epoch})`);
      fs.writeFileSync(stop, '');

      const ends = [];
      for (const r of readers) ends.push(await exitOf(r, 60_000));
      const summaries: Summary[] = [];
      for (const [i, r] of readers.entries()) {
        const line = r.lines.find((l) => l.startsWith('{'));
        t.diagnostic(`reader ${i}: ${JSON.stringify(ends[i])} ${line ?? r.stderr()}`);
      }
      for (const [i, r] of readers.entries()) {
        assert.deepEqual(ends[i], { code: 0, signal: null }, `reader ${i} exits cleanly (no SIGBUS, no SIGSEGV); stderr: ${r.stderr()}`);
        const s = JSON.parse(r.lines.find((l) => l.startsWith('{'))!) as Summary;
        summaries.push(s);
        const brief = JSON.stringify({ ...s, errors: s.errors.length });
        assert.deepEqual(s.errors, [], `reader ${i}: ${brief}`);
        // The race happened: the reader saw many steps and checkpoints, and mapped many graphs.
        assert.ok(s.refreshes >= REOPEN_EVERY && s.reopens >= 2, `reader ${i} refreshed and reopened: ${brief}`);
        assert.ok(s.steps >= 5 && s.epochs >= 3, `reader ${i} saw several steps and checkpoints: ${brief}`);
        assert.ok(s.maps.tracked >= 3 && s.maps.byteChecks >= s.maps.tracked, `reader ${i} mapped and checked several graph files: ${brief}`);
        // A file first seen already unlinked is reached through /proc/self/map_files, which
        // needs CAP_SYS_ADMIN: without it, a few such files may go unchecked.
        assert.ok(s.maps.unreachable <= s.maps.tracked / 10, `reader ${i} reached the files it mapped: ${brief}`);
        assert.ok(s.maps.readChecks >= 3, `reader ${i} checked the graphs' sidecars on disk: ${brief}`);
        // Segments are mapped for their vectors, and held to the same rule.
        assert.ok(s.segmentMaps.tracked >= 3 && s.segmentMaps.byteChecks >= s.segmentMaps.tracked, `reader ${i} mapped and checked several segment files: ${brief}`);
        assert.ok(s.segmentMaps.unreachable <= s.segmentMaps.tracked / 10, `reader ${i} reached the segments it mapped: ${brief}`);
        // HNSW is approximate: the answers are checked hit by hit above; here, against exact search.
        assert.ok(s.found / s.expected >= 0.95, `reader ${i}: recall@10 ${s.found / s.expected} against an exact search of the same state`);
        assert.ok(s.selfMisses <= Math.ceil(s.selfSearches * 0.02), `reader ${i}: a record's own vector finds it first (${s.selfMisses} misses in ${s.selfSearches} searches)`);
      }
      assert.ok(summaries.some((s) => s.remaps > 0), 'some refresh mapped a newer checkpoint\'s graph');
      // Some reader checked a file's bytes after the writer had unlinked it (a later checkpoint).
      assert.ok(summaries.some((s) => s.maps.unlinkedChecks > 0), `a mapped file was checked after its name was removed: ${JSON.stringify(summaries.map((s) => s.maps))}`);

      const model = new RaceModel(SEED);
      while (model.step < STEPS) model.next();
      const db = await open(dir, { readOnly: true });
      assert.equal(db.vault(VAULT).count(), model.live.size);
      assert.equal((db.vault(VAULT).get(CLOCK)!.payload as { s: number }).s, STEPS);
      await db.close();
      assert.ok(model.live.size > BASE);
    } finally {
      fs.writeFileSync(stop, '');
      await writer?.kill();
      for (const r of readers) await r.kill();
    }
  });

  it('a checkpoint that removes a graph between the reader\'s check of it and its map: the refresh starts again, it does not fail', async (t) => {
    // Every checkpoint here saves the graph (none keeps the one before for a few changes), so the one before goes.
    const lag = graphLag.share;
    graphLag.share = 0;
    t.after(() => void (graphLag.share = lag));
    const dir = dbPath();
    const writer = await open(dir, { dimension: 4, metric: 'l2', index: { type: 'hnsw', M: 8, efConstruction: 40 } });
    const v = await writer.createVault(VAULT);
    const vector = (n: number): number[] => [Math.sin(n), Math.cos(n), n % 7, 1];
    await v.insertMany(Array.from({ length: 300 }, (_, n) => ({ id: `r${n}`, vector: vector(n) })));
    await writer.checkpoint();
    // While the reader checksums the next checkpoint's graph (through its fd), the writer
    // checkpoints again and removes that graph: the reader's map of it by name finds it gone.
    const graphs = new Map<number, string>();
    let armed = false;
    let raced = 0;
    const racing = overlay(nodeFileSystem, {
      openSync(file, mode) {
        const fd = nodeFileSystem.openSync(file, mode);
        // The graph's sidecar is what a reader reads of a graph before mapping it; an older graph, the graph itself.
        if (/\.hnsw(\.meta)?$/.test(file)) graphs.set(fd, file);
        return fd;
      },
      closeSync(fd) {
        graphs.delete(fd);
        nodeFileSystem.closeSync(fd);
      },
      async read(fd, into, position) {
        const n = await nodeFileSystem.read(fd, into, position);
        if (armed && graphs.has(fd) && raced === 0) {
          raced++;
          await v.insert('late', vector(1000));
          await writer.checkpoint();
          assert.equal(nodeFileSystem.statSync(graphs.get(fd)!), null, 'the checkpoint removed the graph being checked');
        }
        return n;
      },
    });
    const reader = await open(dir, { readOnly: true, fs: racing });
    await v.insert('r300', vector(300));
    await writer.checkpoint();
    armed = true;
    await reader.refresh();
    assert.equal(raced, 1, 'the race happened');
    assert.equal(reader.vault(VAULT).count(), 302);
    assert.equal(reader.stats().vaults[0]!.index.mapped, true);
    assert.equal((await reader.vault(VAULT).search(vector(1000), { k: 1 }))[0]!.id, 'late');
    await reader.close();
    await writer.close();
  });
});
