/**
 * The model-based test's writer child: opens the database, runs the operations in the JSON file
 * one after another, printing "ack <i>" as operation i resolves (or "err <i>" as it is refused),
 * then "done" and waits to be killed.
 */
import * as fs from 'node:fs';
import { open, type Durability } from '../../src/index.js';
import { applyToDb, type ModelOp } from './ops.js';

const [dir, file, durability] = process.argv.slice(2);
const ops = JSON.parse(fs.readFileSync(file!, 'utf8')) as ModelOp[];
const db = await open(dir!, { durability: (durability ?? 'standard') as Durability, autoCheckpointBytes: 4096, lockStaleMs: 2000 });
process.stdout.write('ready\n');
for (const [i, op] of ops.entries()) {
  try {
    await applyToDb(db, op);
    process.stdout.write(`ack ${i}\n`);
  } catch {
    process.stdout.write(`err ${i}\n`);
  }
}
process.stdout.write('done\n');
setInterval(() => undefined, 1000);
