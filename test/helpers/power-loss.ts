import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, type Database, type OpenOptions } from '../../src/index.js';
import { FaultFileSystem } from './fault-fs.js';
import { dump, type Dump } from './state.js';
import { dbPath, tmpDir, vectors } from './tmp.js';

/**
 * Power loss at every filesystem call (FORMAT.md "Crash analysis"), shared by the test/crash
 * power-loss tests: a path is run once to count
 * its calls; then, for each k, a fresh copy runs it with the k-th call failing (the process dies
 * there), the fault filesystem drops every byte and directory entry not made durable by an
 * fsync, and the real code reopens what is left. Whatever was acknowledged must be there, and
 * nothing else may be half there. QUIVER_SOAK=1 runs bigger databases.
 */
export const SOAK = process.env['QUIVER_SOAK'] === '1';
export const DIM = 4;

function copy(src: string): string {
  const dir = path.join(tmpDir('quiver-power-'), 'db');
  if (fs.existsSync(src)) fs.cpSync(src, dir, { recursive: true });
  return dir;
}

/**
 * The path under test; `acked` collects what it was told is done. Crash points begin at its
 * first call, or where it calls `arm()` (after an open whose own calls another test covers).
 */
export type Run = (dir: string, ffs: FaultFileSystem, acked: string[], arm: () => void) => Promise<void>;
export type Check = (dir: string, acked: readonly string[], at: string) => Promise<void>;

/**
 * Runs `run` to completion once, then crashes it at each of its calls in turn, and last cuts the
 * power after it completed (what it acknowledged must have been durable); returns the count.
 */
export async function atEveryCall(src: string, run: Run, check: Check): Promise<number> {
  const probe = new FaultFileSystem();
  const probeDir = copy(src);
  const all: string[] = [];
  let start = 0;
  await run(probeDir, probe, all, () => (start = probe.calls.length));
  await check(probeDir, all, 'no crash');
  const calls = probe.calls.slice(start);
  const total = calls.length;
  for (let k = 1; k <= total + 1; k++) {
    // After a call that changed nothing, a crash finds the disk as a crash just before it did.
    if (k > 1 && calls[k - 2]!.noop) continue;
    const dir = copy(src);
    const ffs = new FaultFileSystem();
    const acked: string[] = [];
    let armedFrom: number | null = null;
    const armAt = (from: number) => {
      armedFrom = from;
      ffs.failAt = k > total ? Infinity : from + k;
    };
    // A path that arms itself is armed only there: armed before, its crash points would land in the open.
    if (start === 0) armAt(0);
    await run(dir, ffs, acked, () => armAt(ffs.calls.length)).catch(() => undefined);
    ffs.powerLoss();
    const call = calls[k - 1];
    const at = call ? `power loss at call ${k} of ${total} (${call.name} ${call.arg.replaceAll(path.dirname(probeDir), '…')})` : `power loss after all ${total} calls`;
    if (call) {
      // The crash landed on the k-th call of the armed path, the one the probe saw there.
      assert.ok(armedFrom !== null, `${at}: the path was armed`);
      assert.deepEqual(ffs.diedAt, { n: armedFrom + k, name: call.name }, `${at}: the process died at the armed call`);
    }
    await check(dir, acked, at).catch((err: Error) => {
      if (!err.message.includes(at)) err.message = `${at}: ${err.message}`;
      throw err;
    });
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
  return total;
}

/** Opens with `options`, runs `body`, and closes whatever happens (a dead database's close fails). */
export async function session(dir: string, options: OpenOptions, body: (db: Database) => Promise<void>): Promise<void> {
  const db = await open(dir, options);
  try {
    await body(db);
  } finally {
    await db.close().catch(() => undefined);
  }
}

/** `vault` holds exactly `base`, every acked record of `tried`, and otherwise only whole records of `tried`. */
export function checkRecords(got: Dump, vault: string, base: Dump[string], tried: Map<string, Dump[string][number]>, acked: readonly string[], at: string): void {
  const records = new Map((got[vault] ?? []).map((r) => [r[0], r]));
  for (const r of base) assert.deepEqual(records.get(r[0]), r, `${at}: ${vault}/${r[0]} from before is intact`);
  for (const id of acked) if (tried.has(id)) assert.ok(records.has(id), `${at}: acknowledged ${vault}/${id} is there`);
  for (const [id, r] of records) {
    if (base.some((b) => b[0] === id)) continue;
    assert.deepEqual(r, tried.get(id), `${at}: ${vault}/${id} is whole (or absent), never half there`);
  }
}

/** After recovery the database keeps working: a checkpoint and a reopen give the same state. */
export async function stillWorks(db: Database, at: string): Promise<void> {
  const before = dump(db);
  const dir = db.path!;
  await db.checkpoint();
  await db.close();
  const again = await open(dir);
  assert.deepEqual(dump(again), before, `${at}: after a checkpoint and a reopen`);
  await again.close();
}

/** A database with a checkpoint behind it and more records in its log. */
export async function logged(storage: 'segmented' | 'snapshot', n: number): Promise<{ dir: string; base: Dump }> {
  const dir = dbPath();
  const db = await open(dir, { dimension: DIM, storage });
  const a = await db.createVault('a');
  const vs = vectors(n, DIM, 5);
  await a.insertMany(vs.slice(0, n / 2).map((vector, i) => ({ id: `a${i}`, vector, payload: { i } })));
  await db.checkpoint();
  await a.insertMany(vs.slice(n / 2).map((vector, i) => ({ id: `a${n / 2 + i}`, vector })));
  await a.erase('a0');
  const base = dump(db);
  await db.close();
  return { dir, base };
}

export const fresh = (id: string, seed: number): Dump[string][number] => [id, Array.from(vectors(1, DIM, seed)[0]!), { fresh: id }];

