/**
 * npm run bench:fence [-- --n 20000 --rounds 5]
 * The writer fence's cost (README "Processes and locks"): writes per second with the fence and
 * with its check switched off, in the same process, alternating runs; the ratio is the cost.
 * - awaited one by one: every write waits for its own check (the worst case: one read of LOCK
 *   per write);
 * - 100 in flight: writes issued in one turn share one check (group confirm);
 * - paranoid, one by one: the check beside an fsync.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { open, type Durability } from '../src/index.js';
import { Fence } from '../src/lock/fence.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => (args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback);
const N = flag('n', 20_000);
const ROUNDS = flag('rounds', 5);
const DIM = 16;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const realConfirm = Fence.prototype.confirm;
const noConfirm = (): Promise<void> => Promise.resolve();

async function run(fenced: boolean, durability: Durability, inFlight: number, n: number): Promise<number> {
  Fence.prototype.confirm = fenced ? realConfirm : noConfirm;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quiver-bench-fence-'));
  try {
    const db = await open(dir, { dimension: DIM, durability, index: 'flat', autoCheckpointBytes: 0 });
    const v = await db.createVault('v');
    const vector = new Float32Array(DIM).fill(0.5);
    const started = performance.now();
    for (let i = 0; i < n; i += inFlight) {
      const batch = [];
      for (let j = i; j < Math.min(n, i + inFlight); j++) batch.push(v.insert(`k${j}`, vector));
      await Promise.all(batch);
    }
    const seconds = (performance.now() - started) / 1000;
    await db.close();
    return n / seconds;
  } finally {
    Fence.prototype.confirm = realConfirm;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const cases: [string, Durability, number, number][] = [
  ['standard, awaited one by one', 'standard', 1, N],
  ['standard, 100 in flight', 'standard', 100, N],
  ['paranoid, awaited one by one', 'paranoid', 1, Math.max(200, Math.floor(N / 20))],
];
console.log(`writer fence cost: ${N} inserts of ${DIM} dims, median of ${ROUNDS} alternating rounds`);
for (const [name, durability, inFlight, n] of cases) {
  const withFence: number[] = [];
  const without: number[] = [];
  await run(true, durability, inFlight, Math.min(n, 1000)); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    without.push(await run(false, durability, inFlight, n));
    withFence.push(await run(true, durability, inFlight, n));
  }
  const a = median(withFence);
  const b = median(without);
  console.log(`  ${name.padEnd(30)} with fence ${a.toFixed(0).padStart(7)} writes/s, without ${b.toFixed(0).padStart(7)} writes/s, ratio ${(a / b).toFixed(3)}`);
}
