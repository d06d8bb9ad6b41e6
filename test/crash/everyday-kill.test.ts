import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { open } from '../../src/index.js';
import { dbPath } from '../helpers/tmp.js';

const CHILD = fileURLToPath(new URL('../helpers/everyday-child.ts', import.meta.url));

/** Runs the churn child until it has acknowledged `acks` rounds, then SIGKILLs it; returns the last ack. */
async function churnThenKill(dir: string, acks: number, extraMs: number): Promise<number> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD, 'churn', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let last = -1;
  let seen = 0;
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let partial = '';
    proc.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        if (!line.startsWith('ack ')) continue;
        last = Number(line.slice(4));
        if (++seen === acks) setTimeout(resolve, extraMs);
      }
    });
    proc.on('exit', (code) => reject(new Error(`child exited (${code}); ${stderr}`)));
  });
  proc.kill('SIGKILL');
  await exited;
  return last;
}

describe('the everyday writes under SIGKILL', () => {
  it('patchWhere and eraseWhere are all or nothing, and every acknowledged one survives', { timeout: 180_000 }, async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 4 });
    const v = await db.createVault('v');
    await v.insertMany(Array.from({ length: 3000 }, (_, i) => ({ id: `base${i}`, vector: [1, i, 2, 3], payload: { base: true, gen: 0, i } })));
    await db.close();
    for (const [round, extraMs] of [[0, 0], [1, 3], [2, 11], [3, 29]] as const) {
      const acked = await churnThenKill(dir, 4 + round, extraMs);
      const reopened = await open(dir, { lockStaleMs: 2000 });
      const r = reopened.vault('v');
      const gens = new Map<unknown, number>();
      for await (const rec of r.records({ filter: { base: true } })) gens.set(rec.payload!.gen, (gens.get(rec.payload!.gen) ?? 0) + 1);
      assert.equal(gens.size, 1, `round ${round}: one generation across all base records, got ${JSON.stringify([...gens])}`);
      const [[gen, count]] = [...gens] as [[number, number]];
      assert.equal(count, 3000);
      assert.ok(gen >= acked, `round ${round}: acknowledged gen ${acked} survives (have ${gen})`);
      assert.equal(r.count({ 'meta.last': `g${gen}` }), 3000);
      const blocks = new Map<unknown, number>();
      for await (const rec of r.records({ filter: { block: { $exists: true } } })) blocks.set(rec.payload!.block, (blocks.get(rec.payload!.block) ?? 0) + 1);
      for (const [block, n] of blocks) assert.equal(n, 200, `round ${round}: block ${block} whole or absent`);
      assert.ok(blocks.size <= 2, `round ${round}: erased blocks stay erased (${[...blocks.keys()]})`);
      // The newest block is the acknowledged one or one after it (a round may finish unacknowledged).
      assert.ok(Math.max(...(blocks.keys() as Iterable<number>)) >= acked, `round ${round}: the last acknowledged block is there`);
      await reopened.close();
    }
  });
});
