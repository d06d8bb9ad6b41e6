import * as os from 'node:os';
import * as path from 'node:path';
import * as fs from 'node:fs/promises';
import { open } from '../engine/open.js';
import { gaussian, seededRandom } from '../util/random.js';
import { progress } from './progress.js';

const TOPICS = ['astronomy', 'botany', 'cooking', 'geology', 'music', 'poetry', 'sailing', 'weather'];

/**
 * `npm run demo` / `quiver demo [db]`: builds a database of clustered vectors (one cluster per
 * topic), searches it with and without filters, checkpoints, reopens and prints stats.
 */
export async function runDemo(target: string | undefined, log: (line: string) => void): Promise<void> {
  const dir = target ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'quiver-demo-')));
  const dim = 64;
  const gauss = gaussian(seededRandom(42));
  const centres = TOPICS.map(() => Float32Array.from({ length: dim }, gauss));
  const near = (c: Float32Array, spread: number): Float32Array => c.map((x) => x + spread * gauss());

  log(`database: ${dir}`);
  const db = await open(dir, { dimension: dim, metric: 'cosine' });
  try {
    const notes = db.hasVault('notes') ? db.vault('notes') : await db.createVault('notes', { quota: { maxRecords: 100_000 } });
    const total = 4000;
    const bar = progress('inserting', total, true);
    for (let start = 0; start < total; start += 500) {
      const batch = [];
      for (let i = start; i < start + 500; i++) {
        const t = i % TOPICS.length;
        batch.push({ id: `note-${i}`, vector: near(centres[t]!, 0.6), payload: { topic: TOPICS[t]!, year: 1990 + (i % 35), n: i } });
      }
      await notes.insertMany(batch);
      bar.tick(batch.length);
    }
    bar.stop();
    log(`inserted ${total} records into vault "notes" (${notes.count()} now)`);

    const query = near(centres[2]!, 0.3);
    const show = (label: string, hits: { id: string; score: number; payload: unknown }[]): void => {
      log(`\n${label}`);
      for (const h of hits) log(`  ${h.score.toFixed(4)}  ${h.id}  ${JSON.stringify(h.payload)}`);
    };
    show('nearest 5 to a "cooking" query:', await notes.search(query, { k: 5 }));
    show('nearest 3 with filter { topic: "cooking", year: { $gte: 2015 } }:', await notes.search(query, { k: 3, filter: { topic: 'cooking', year: { $gte: 2015 } } }));
    show('nearest 3 with filter { topic: { $in: ["music", "poetry"] } }:', await notes.search(query, { k: 3, filter: { topic: { $in: ['music', 'poetry'] } } }));

    await notes.erase('note-2');
    const cp = await db.checkpoint();
    log(`\ncheckpoint: epoch ${cp.epoch}, lsn ${cp.lsn}, ${cp.bytesWritten} bytes written`);
  } finally {
    await db.close();
  }
  const again = await open(dir, { readOnly: true });
  const stats = again.stats();
  log(`\nreopened read-only: ${stats.vaults.map((v) => `${v.name}: ${v.records} records, ${v.bytes} bytes`).join('; ')}`);
  log(`files: ${JSON.stringify(stats.files)}`);
  await again.close();
  log(`\ntry: npx quiver stats ${dir}   npx quiver check ${dir}`);
}
