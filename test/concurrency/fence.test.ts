import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { open, type Durability } from '../../src/index.js';
import { checkDatabase } from '../../src/engine/maintenance/check.js';
import { dbPath } from '../helpers/tmp.js';
import { spawnChild } from '../helpers/spawn.js';

/** Trials per run: a few in `npm test`; `npm run soak:fence` sets FENCE_TRIALS higher. */
const TRIALS = Number(process.env.FENCE_TRIALS ?? 10);
const STALE_MS = 2000;
const MODES: Durability[] = ['standard', 'paranoid', 'relaxed'];
const vector = (n: number): number[] => [Math.cos(n) + 2, Math.sin(n) + 2, 1, n % 5];

/**
 * One takeover: a child writer blocks its event loop until a second writer (this process) has
 * taken its stale lock over, then fires writes (and a checkpoint) while this one writes too.
 */
async function trial(durability: Durability, action: 'writes' | 'checkpoint'): Promise<void> {
  const dir = dbPath();
  await (await open(dir, { dimension: 4 })).close();
  const child = spawnChild([dir, durability, String(STALE_MS), action], 'fence');
  try {
    await child.waitFor((l) => l === 'blocking', 60_000);
    const durable = durability === 'relaxed' ? child.lines.indexOf('flushed') : child.lines.length;
    const childAcked = child.lines.slice(0, durable).filter((l) => l.startsWith('ack ')).map((l) => l.slice(4));
    assert.equal(childAcked.length, 20);

    // Waits for the blocked writer's lock to go stale, then takes it over.
    const db = await open(dir, { lockStaleMs: STALE_MS, lockTimeoutMs: 30_000, durability: 'paranoid' });
    const v = db.vault('v');
    const mine: string[] = [];
    for (let n = 0; n < 10; n++) {
      await v.insert(`b${n}`, vector(n));
      mine.push(`b${n}`);
    }
    await child.waitFor((l) => l === 'taken', 30_000);
    fs.writeFileSync(`${dir}.resume`, '');
    // The fenced writer wakes and writes while this one goes on writing.
    for (let n = 0; n < 20; n++) {
      await v.insert(`c${n}`, vector(50 + n));
      mine.push(`c${n}`);
    }
    const done = await child.waitFor((l) => l.startsWith('done '), 30_000);
    await db.close();

    const late = child.lines.filter((l) => l.startsWith('ack p'));
    assert.deepEqual(late, [], `the fenced writer (${durability}) acknowledged nothing after the takeover: ${child.lines.slice(20).join(' | ')}`);
    const refusals = child.lines.filter((l) => l.startsWith('refused p') || l.startsWith('checkpoint refused'));
    assert.equal(refusals.length, action === 'checkpoint' ? 21 : 20, child.lines.join('\n'));
    for (const line of refusals) assert.match(line, / (LOCK_COMPROMISED|DATABASE_FAILED)$/);
    if (action === 'checkpoint') assert.ok(child.lines.some((l) => l.startsWith('checkpoint refused')), `its checkpoint was refused: ${child.lines.slice(20).join(' | ')}`);
    assert.equal(done, 'done failed');

    // The log stays valid and nothing acknowledged by either writer is lost.
    const report = await checkDatabase(dir);
    assert.deepEqual(report.problems, []);
    const again = await open(dir);
    const ids = new Set(again.vault('v').ids());
    for (const id of [...childAcked, ...mine]) assert.ok(ids.has(id), `${id} was acknowledged and must survive`);
    await again.close();
  } finally {
    await child.kill();
    fs.rmSync(`${dir}.resume`, { force: true });
  }
}

describe('the writer fence', () => {
  it(`a writer whose event loop blocked past lockStaleMs acknowledges nothing after a takeover (${TRIALS} trials)`, { timeout: TRIALS * 60_000 }, async () => {
    // Two trials at a time: each spends most of its time waiting for the lock to go stale.
    for (let i = 0; i < TRIALS; i += 2) {
      // Every pair: one fenced writer that only writes, one that also checkpoints.
      await Promise.all([trial(MODES[(i / 2) % 3]!, 'writes'), ...(i + 1 < TRIALS ? [trial(MODES[(i / 2 + 1) % 3]!, 'checkpoint')] : [])]);
    }
  });
});
