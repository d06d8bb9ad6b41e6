/**
 * Model-based test: random operations against an in-memory oracle (ops.ts), in steps: a group
 * of writes issued without awaiting (they must apply in call order), a checkpoint, a compaction,
 * a close and reopen, or a writer child process killed with SIGKILL part-way through a run of
 * writes (the reopened state must be the oracle after every acknowledged write, and at most the
 * one in flight). After every step the database's state must equal the oracle's, and every
 * write's answer (value or error class) must be the oracle's.
 * `npm run soak` runs many more seeds and steps (QUIVER_SOAK=1).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { open, type Database } from '../../src/index.js';
import { seededRandom } from '../../src/util/random.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';
import { applyToDb, applyToOracle, cloneOracle, DIM, emptyOracle, expectedState, randomOp, stateOf, type ModelOp, type Oracle } from './ops.js';

const SOAK = process.env.QUIVER_SOAK === '1';
const SEEDS = Number(process.env.QUIVER_MODEL_SEEDS ?? (SOAK ? 20 : 3));
const STEPS = Number(process.env.QUIVER_MODEL_STEPS ?? (SOAK ? 40 : 10));
const STALE = 2000;
const CHILD = fileURLToPath(new URL('./model-child.ts', import.meta.url));

/** Runs `ops` in a writer child and kills it once it has answered about `killAfter` of them; returns how many it answered. */
async function killedRun(dir: string, ops: ModelOp[], killAfter: number, durability: string): Promise<number> {
  const file = path.join(tmpDir(), 'ops.json');
  fs.writeFileSync(file, JSON.stringify(ops));
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, file, durability], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const closed = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  let killed = false;
  proc.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const answered = (out.match(/^(ack|err) \d+$/gm) ?? []).length;
    if (!killed && (answered >= killAfter || out.includes('done\n'))) {
      killed = true;
      proc.kill('SIGKILL');
    }
  });
  const code = await closed;
  assert.ok(killed, `the child exited by itself (${code}): ${err}`);
  // Everything it printed before the kill has been read: 'close' follows the end of stdout.
  return (out.match(/^(ack|err) \d+$/gm) ?? []).length;
}

function compare(db: Database, oracle: Oracle, where: string): void {
  assert.deepEqual(stateOf(db), expectedState(oracle), `${where}: state`);
}

async function run(seed: number): Promise<{ kills: number; ops: number }> {
  const dir = dbPath();
  const r = seededRandom(seed);
  let db = await open(dir, { dimension: DIM, autoCheckpointBytes: r() < 0.5 ? 0 : 8192, lockStaleMs: STALE });
  await db.createVault('a');
  let oracle = emptyOracle();
  applyToOracle(oracle, { kind: 'createVault', vault: 'a' });
  let n = 0;
  let kills = 0;
  for (let step = 0; step < STEPS; step++) {
    const where = `seed ${seed} step ${step}`;
    const x = r();
    if (x < 0.55) {
      const ops = Array.from({ length: 1 + Math.floor(r() * 15) }, () => randomOp(r, n++));
      const expected = ops.map((op) => applyToOracle(oracle, op));
      const settled = await Promise.allSettled(ops.map((op) => applyToDb(db, op)));
      settled.forEach((s, i) => {
        const e = expected[i]!;
        const what = `${where} op ${i} ${JSON.stringify(ops[i])}`;
        if ('error' in e) {
          assert.equal(s.status, 'rejected', `${what}: should be refused with ${e.error}`);
          assert.equal((s as PromiseRejectedResult).reason?.constructor?.name, e.error, what);
        } else {
          assert.equal(s.status, 'fulfilled', `${what}: ${(s as PromiseRejectedResult).reason}`);
          const value = (s as PromiseFulfilledResult<unknown>).value;
          if (value !== null) assert.deepEqual(value, e.ok, what);
        }
      });
    } else if (x < 0.65) {
      await db.checkpoint();
    } else if (x < 0.7) {
      await db.compact();
    } else if (x < 0.82) {
      await db.close();
      db = await open(dir, { lockStaleMs: STALE });
    } else {
      await db.close();
      const ops = Array.from({ length: 5 + Math.floor(r() * 40) }, () => randomOp(r, n++));
      const answered = await killedRun(dir, ops, Math.floor(r() * ops.length), r() < 0.5 ? 'standard' : 'paranoid');
      kills++;
      // The dead child's lock is taken over once stale (2 s, as the child agreed).
      db = await open(dir, { lockStaleMs: STALE });
      // Acknowledged (or refused) writes are all there; the one in flight may or may not be.
      const after = (count: number) => {
        const o = cloneOracle(oracle);
        for (const op of ops.slice(0, count)) applyToOracle(o, op);
        return o;
      };
      const candidates = [after(answered), after(Math.min(ops.length, answered + 1))];
      const got = stateOf(db);
      const match = candidates.find((o) => JSON.stringify(expectedState(o)) === JSON.stringify(got));
      assert.ok(match, `${where}: after SIGKILL with ${answered} of ${ops.length} answered, the state is neither the oracle after ${answered} nor after ${answered + 1}\n${JSON.stringify(got)}\n${JSON.stringify(expectedState(candidates[0]!))}`);
      oracle = match;
    }
    compare(db, oracle, where);
  }
  await db.close();
  db = await open(dir, { readOnly: true });
  compare(db, oracle, `seed ${seed} end (read-only)`);
  await db.close();
  return { kills, ops: n };
}

describe('model-based: random operations against an oracle, with reopen, checkpoint and SIGKILL', { timeout: SOAK ? 4 * 3600_000 : 10 * 60_000 }, () => {
  it(`${SEEDS} seeds x ${STEPS} steps`, async () => {
    let kills = 0;
    let ops = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const done = await run(seed);
      kills += done.kills;
      ops += done.ops;
    }
    if (SOAK) console.log(`model: ${SEEDS} seeds, ${STEPS} steps, ${ops} operations, ${kills} SIGKILLs: no divergence`);
    assert.ok(ops > 0);
  });
});
