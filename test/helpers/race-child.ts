/**
 * The processes of test/native/readers-race.test.ts (workload: race-model.ts).
 *   writer <dir> <steps> <seed> <checkpointEvery>
 *       writes steps 1..<steps>, one db.batch each ("acked <s>"), checkpointing every
 *       <checkpointEvery> steps and compacting at a third and two thirds; then "done <epoch>"
 *   reader <dir> <stopFile> <seed> <steps> <reopenEvery> <pauseMs> <readerNo>
 *       opens read-only and, until <stopFile> exists (and for 2 x <reopenEvery> rounds at
 *       least), refreshes (reopening every <reopenEvery> rounds), checks its whole state against
 *       the model, searches, checks every graph file it maps (mapped-files.ts), and pauses
 *       <pauseMs>; then a last refresh, which must reach step <steps>, and one JSON summary line
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, type Database, type Hit, type Vault } from '../../src/index.js';
import { decodeManifest } from '../../src/segments/manifest.js';
import { seededRandom } from '../../src/util/random.js';
import { MappedFiles } from './mapped-files.js';
import { batchOf, CLOCK, DIM, payloadOf, RaceModel, vectorOf, VAULT } from './race-model.js';

const [mode, dir, ...args] = process.argv.slice(2) as [string, string, ...string[]];
const say = (line: string): void => void fs.writeSync(1, line + '\n');

if (mode === 'writer') {
  const [steps, seed, every] = args.map(Number) as [number, number, number];
  // A step logs about 5 KiB: automatic checkpoints also fire, between the explicit ones.
  const db = await open(dir, { create: false, autoCheckpointBytes: 8 * 1024 });
  const model = new RaceModel(seed);
  const compactAt = new Set([Math.floor(steps / 3), Math.floor((2 * steps) / 3)]);
  say('ready');
  for (let s = 1; s <= steps; s++) {
    await db.batch(batchOf(model.next()));
    say(`acked ${s}`);
    if (compactAt.has(s)) await db.compact();
    else if (s % every === 0) await db.checkpoint();
  }
  const epoch = db.stats().epoch;
  await db.close();
  say(`done ${epoch}`);
} else if (mode === 'reader') {
  const [stop, seedArg, stepsArg, reopenArg, pauseArg, readerNo] = args as [string, string, string, string, string, string];
  const seed = Number(seedArg);
  const reopenEvery = Number(reopenArg);
  const errors: string[] = [];
  let failures = 0;
  const fail = (why: string): void => void (failures++ < 20 && errors.push(why));
  const model = new RaceModel(seed);
  const files = new MappedFiles(fs.realpathSync(path.join(dir, 'segments')), '.hnsw', fail);
  // The segments too: a reader views their vectors in a map (segments/vector-block.ts).
  const segments = new MappedFiles(fs.realpathSync(path.join(dir, 'segments')), '.segment', fail);
  const cache = new Map<string, Float32Array>();
  const vec = (id: string, version: number): Float32Array => {
    const key = `${id}@${version}`;
    let v = cache.get(key);
    if (!v) cache.set(key, (v = vectorOf(id, version)));
    return v;
  };
  const l2 = (a: Float32Array, b: Float32Array): number => {
    let sum = 0;
    for (let i = 0; i < DIM; i++) sum += (a[i]! - b[i]!) ** 2;
    return sum;
  };
  const random = seededRandom(seed * 7919 + Number(readerNo));
  const tally = { rounds: 0, refreshes: 0, reopens: 0, remaps: 0, searches: 0, selfSearches: 0, selfMisses: 0, found: 0, expected: 0, steps: new Set<number>(), epochs: new Set<number>() };
  /** The first self-searches that missed, for the report (HNSW is approximate; a few may). */
  const misses: string[] = [];
  let lastLsn = -1;
  let lastEpoch = -1;
  let compared = -1;

  /** The exact k nearest of the model's state (the filter: payload g). */
  const exactTop = (q: Float32Array, k: number, g: number | null): string[] => {
    const all: [number, string][] = [];
    for (const [id, version] of model.live) if (g === null || payloadOf(id, version).g === g) all.push([l2(q, vec(id, version)), id]);
    return all.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1)).slice(0, k).map((e) => e[1]);
  };

  /** Every hit is a live record at the model's step, at its current vector's distance, nearest first. */
  const checkHits = (hits: Hit[], q: Float32Array, g: number | null, what: string): void => {
    const ids = new Set<string>();
    let before = -Infinity;
    for (const h of hits) {
      const version = model.live.get(h.id);
      if (version === undefined) {
        fail(`${what}: ${h.id} is not a record at step ${model.step} (erased or never written)`);
        continue;
      }
      if (ids.has(h.id)) fail(`${what}: ${h.id} returned twice`);
      ids.add(h.id);
      const d = l2(q, vec(h.id, version));
      if (Math.abs(h.distance! - d) > 1e-4 * Math.max(1, d)) fail(`${what}: ${h.id} at distance ${h.distance}, its vector at step ${model.step} is at ${d} (an old vector answered)`);
      if (h.distance! < before) fail(`${what}: hits out of order`);
      before = h.distance!;
      if ((h.payload as { v?: number } | null)?.v !== version) fail(`${what}: ${h.id} carries payload ${JSON.stringify(h.payload)}, version ${version} expected`);
      if (g !== null && (h.payload as { g?: number }).g !== g) fail(`${what}: ${h.id} does not match the filter`);
    }
  };

  const search = async (v: Vault, q: Float32Array, what: string, self: string | null, g: number | null): Promise<void> => {
    const k = 10;
    const hits = await v.search(q, { k, ef: 64, ...(g === null ? {} : { filter: { g } }) });
    tally.searches++;
    checkHits(hits, q, g, what);
    const exact = exactTop(q, k, g);
    if (hits.length !== exact.length) fail(`${what}: ${hits.length} hits, ${exact.length} records match`);
    const got = new Set(hits.map((h) => h.id));
    tally.expected += exact.length;
    tally.found += exact.filter((id) => got.has(id)).length;
    if (self !== null) tally.selfSearches++;
    if (self !== null && (hits[0]?.id !== self || hits[0].distance! > 1e-6)) {
      tally.selfMisses++;
      if (misses.length < 5) misses.push(`${what}: ${JSON.stringify(hits.slice(0, 3).map((h) => [h.id, h.distance]))}, index ${JSON.stringify(db.stats().vaults[0]!.index)}`);
    }
  };

  /** The whole state against the model at the clock's step: every record, vector and payload. */
  const compare = (v: Vault): void => {
    const ids = v.ids();
    if (ids.length !== model.live.size || v.count() !== model.live.size) fail(`step ${model.step}: ${ids.length} records, ${model.live.size} expected (a torn batch?)`);
    for (const id of ids) {
      const version = model.live.get(id);
      if (version === undefined) {
        fail(`step ${model.step}: ${id} should not exist (a torn batch?)`);
        continue;
      }
      const r = v.get(id)!;
      const want = vec(id, version);
      if (r.vector.length !== DIM || r.vector.some((x, i) => x !== want[i])) fail(`step ${model.step}: ${id} holds another vector than version ${version}'s`);
      if ((r.payload as { v?: number }).v !== version) fail(`step ${model.step}: ${id} is at version ${(r.payload as { v?: number }).v}, ${version} expected`);
    }
  };

  /** Every name a manifest on disk gives: a name must always stand for the same bytes. */
  const noteManifest = (): void => {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(path.join(dir, 'quiver.manifest'));
    } catch {
      return;
    }
    for (const entry of decodeManifest(bytes).vaults) {
      segments.named(path.basename(entry.segment.path), entry.segment);
      if (entry.graph) files.named(path.basename(entry.graph.path), entry.graph);
      if (entry.graph && !entry.sidecar) fail(`${entry.graph.path} has no sidecar in the manifest`);
      if (entry.sidecar) files.onDisk(path.join(dir, entry.sidecar.path), entry.sidecar);
    }
  };

  const look = async (db: Database, refreshed: boolean): Promise<void> => {
    const stats = db.stats();
    const index = stats.vaults.find((x) => x.name === VAULT)!.index;
    if (index.mapped !== true) fail(`round ${tally.rounds}: the vault's graph is not mapped (${JSON.stringify(index)})`);
    if (stats.lastLsn < lastLsn) fail(`LSN went back from ${lastLsn} to ${stats.lastLsn}`);
    if (stats.epoch < lastEpoch) fail(`epoch went back from ${lastEpoch} to ${stats.epoch}`);
    lastLsn = stats.lastLsn;
    lastEpoch = stats.epoch;
    tally.epochs.add(stats.epoch);
    const v = db.vault(VAULT);
    const s = (v.get(CLOCK)?.payload as { s?: number } | null)?.s;
    if (s === undefined) return fail('no clock record');
    if (s < model.step) return fail(`went back from step ${model.step} to ${s}`);
    while (model.step < s) model.next();
    tally.steps.add(s);
    if (compared !== s) compare(v);
    compared = s;
    const live = [...model.live.keys()];
    for (let i = 0; i < 2; i++) {
      const id = live[Math.floor(random() * live.length)]!;
      await search(v, vec(id, model.live.get(id)!), `step ${s}, at ${id}`, id, null);
    }
    if (model.latest.length > 0) {
      // A record the last step wrote, new or moved: most often past the reader's map, in its tail.
      const { id, version } = model.latest[Math.floor(random() * model.latest.length)]!;
      await search(v, vec(id, version), `step ${s}, at ${id} (written last)`, id, null);
    }
    if (model.gone.length > 0) {
      // Where an erased or moved record's old vector lies: the map still holds it, masked.
      const old = model.gone[Math.floor(random() * model.gone.length)]!;
      await search(v, vec(old.id, old.version), `step ${s}, at ${old.id}'s old vector`, null, null);
    }
    const q = Float32Array.from({ length: DIM }, () => random() * 2 - 1);
    await search(v, q, `step ${s}, random`, null, null);
    await search(v, q, `step ${s}, random, g 0`, null, 0);
    noteManifest();
    // A refresh that loaded a newer checkpoint maps its graph (one that kept up with the log
    // keeps its map and follows the log instead).
    if (files.scan(tally.rounds % 3 === 0) > 0 && refreshed) tally.remaps++;
    segments.scan(tally.rounds % 3 === 0);
  };

  let db = await open(dir, { readOnly: true });
  say('started');
  // The test stops (or kills) the reader; this only bounds an orphan.
  const deadline = Date.now() + 1_800_000;
  // At least two reopens' worth of rounds, however soon the writer is done.
  while (!(fs.existsSync(stop) && tally.rounds >= 2 * reopenEvery) && Date.now() < deadline) {
    tally.rounds++;
    try {
      if (tally.rounds % reopenEvery === 0) {
        const next = await open(dir, { readOnly: true });
        await db.close();
        db = next;
        tally.reopens++;
        await look(db, false);
      } else {
        await db.refresh();
        tally.refreshes++;
        await look(db, true);
      }
    } catch (err) {
      fail(`round ${tally.rounds}: ${(err as Error).stack ?? String(err)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, Number(pauseArg)));
  }
  try {
    await db.refresh();
    await look(db, true);
  } catch (err) {
    fail(`the last refresh: ${(err as Error).stack ?? String(err)}`);
  }
  if (model.step !== Number(stepsArg)) fail(`the last refresh reached step ${model.step}, the writer wrote ${stepsArg}`);
  files.finish();
  segments.finish();
  await db.close();
  const { steps, epochs, ...counts } = tally;
  say(JSON.stringify({ ...counts, steps: steps.size, epochs: epochs.size, lsn: lastLsn, maps: files.stats, segmentMaps: segments.stats, failures, errors, misses }));
}
