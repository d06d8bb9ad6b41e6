import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { open } from '../../src/index.js';
import { restoreFromObjectStore } from '../../src/replica/restore.js';
import { seededRandom } from '../../src/util/random.js';
import { checkView } from './child.js';
import { freshUrl, s3Options, skip } from './env.js';
import { tmpDir } from '../helpers/tmp.js';
import { child, readRoot } from './util.js';
import { S3Store } from '../../src/object-store/s3-store.js';

const lastShipped = (lines: string[]): number => Math.max(-1, ...lines.filter((l) => l.startsWith('shipped ')).map((l) => Number(l.split(' ')[1])));
/** n of the last batch acknowledged at or below `lsn`. */
const ackedAt = (lines: string[], lsn: number): number =>
  Math.max(-1, ...lines.filter((l) => l.startsWith('ack ')).map((l) => l.split(' ').map(Number)).filter(([, , at]) => at! <= lsn).map(([, n]) => n!));

describe('writer and replica processes against the bucket', { skip }, () => {
  it('replica processes follow a writer under load through checkpoints and deletions: no torn view, never backwards, lag reported', async () => {
    const url = await freshUrl('load');
    const writer = child('writer', path.join(tmpDir(), 'db'), url, '30000');
    await writer.waitFor((l) => l.startsWith('shipped ') && Number(l.split(' ')[1]) > 50);
    const replicas = [0, 1, 2].map(() => child('replica', url, path.join(tmpDir(), 'cache'), '6000'));
    const done = await Promise.all(replicas.map((r) => r.waitFor((l) => l.startsWith('done '))));
    writer.kill('SIGTERM');
    await writer.exited;
    for (const line of done) {
      const s = JSON.parse(line.slice(5)) as { refreshes: number; backwards: number; torn: number; errors: number; maxLagLsn: number; lastLsn: number; lastError: string };
      assert.equal(s.torn, 0, line);
      assert.equal(s.backwards, 0, line);
      assert.equal(s.errors, 0, line);
      assert.ok(s.refreshes > 10, line);
      assert.ok(s.lastLsn > 50, line);
    }
    // The writer checkpointed (autoCheckpointBytes 64 KiB) and deleted what no root needs any more.
    const store = await S3Store.open(url, s3Options());
    const root = (await readRoot(store))!;
    const kept = (await store.list('checkpoints/')).length;
    store.close();
    assert.ok(root.checkpoint!.epoch >= 3, `checkpoints ran (epoch ${root.checkpoint!.epoch})`);
    assert.ok(kept < root.checkpoint!.epoch, `old checkpoints were deleted (${kept} kept of ${root.checkpoint!.epoch})`);
    const views = replicas.flatMap((r) => r.lines.filter((l) => l.startsWith('view ')).map((l) => Number(l.split(' ')[2])));
    assert.ok(views.some((lag) => lag >= 0), 'lag is reported');
  });

  it('SIGKILL while shipping: a fresh replica and a restore hold every acknowledged and shipped batch, in order, none half-applied', async () => {
    const random = seededRandom(11);
    for (let trial = 0; trial < 4; trial++) {
      const url = await freshUrl(`kill${trial}`);
      const writer = child('writer', path.join(tmpDir(), 'db'), url, '30000');
      await writer.waitFor((l) => l.startsWith('shipped ') && Number(l.split(' ')[1]) > 20);
      await new Promise((r) => setTimeout(r, 100 + random() * 1500));
      writer.kill('SIGKILL');
      await writer.exited;
      const shippedLsn = lastShipped(writer.lines);
      const mustHave = ackedAt(writer.lines, shippedLsn);
      assert.ok(mustHave >= 0);

      const replica = await open(url, { readOnly: true, cacheDir: tmpDir(), s3: s3Options() });
      const view = checkView(replica);
      assert.ok(replica.stats().lastLsn >= shippedLsn, `trial ${trial}: replica at ${replica.stats().lastLsn}, shipped ${shippedLsn}`);
      assert.ok(view.whole, `trial ${trial}: torn view`);
      assert.ok(view.n >= mustHave, `trial ${trial}: batch ${mustHave} was acknowledged and shipped, replica has up to ${view.n}`);
      const lsn = replica.stats().lastLsn;
      await replica.close();

      const dir = path.join(tmpDir(), 'restored');
      const restored = await restoreFromObjectStore(url, dir, {}, s3Options());
      assert.equal(restored.lsn, lsn);
      const db = await open(dir, { readOnly: true });
      assert.deepEqual(checkView(db), view);
      await db.close();
    }
  });
});

