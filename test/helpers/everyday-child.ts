/**
 * A child process for the everyday-API kill test:
 *   churn <dir>   forever: patchWhere({ base: true }, { set: { gen: n } }), then insertMany block n
 *                 and eraseWhere({ block: n - 1 }); prints "ack <n>" after each round.
 */
import { open } from '../../src/index.js';

const [mode, dir] = process.argv.slice(2);
if (mode !== 'churn') throw new Error(`unknown mode ${mode}`);
const db = await open(dir!, { durability: 'standard', autoCheckpointBytes: 256 * 1024 });
const v = db.vault('v');
const start = Number(v.get('base0')?.payload?.gen ?? 0) + 1;
process.stdout.write('ready\n');
for (let n = start; ; n++) {
  await v.patchWhere({ base: true }, { set: { gen: n, 'meta.last': `g${n}` } });
  await v.insertMany(Array.from({ length: 200 }, (_, i) => ({ id: `b${n}_${i}`, vector: [n, i, 1, 1], payload: { block: n } })));
  await v.eraseWhere({ block: n - 1 });
  process.stdout.write(`ack ${n}\n`);
}
