import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { open } from '../../src/index.js';
import { S3Store } from '../../src/object-store/s3-store.js';
import { decodeChunk, parseChunkKey } from '../../src/replica/layout.js';
import { restoreFromObjectStore } from '../../src/replica/restore.js';
import { seededRandom } from '../../src/util/random.js';
import { tmpDir } from '../helpers/tmp.js';
import { checkView } from './child.js';
import { freshUrl, s3Options, skip } from './env.js';
import { child, exportBytes, readRoot, replicate, until } from './util.js';

/** n of the last batch acknowledged at or below `lsn` (each batch is one LSN). */
const ackedAt = (lines: string[], lsn: number): number =>
  Math.max(-1, ...lines.filter((l) => l.startsWith('ack ')).map((l) => l.split(' ').map(Number)).filter(([, , at]) => at! <= lsn).map(([, n]) => n!));

describe('quiver replicate beside a writer that checkpoints several times per round', { skip }, () => {
  it('ships every record: the chunks chain across every checkpoint, a replica ends with every acknowledged batch and never goes backwards, restore reaches any LSN', async () => {
    const url = await freshUrl('race');
    const dir = path.join(tmpDir(), 'db');
    const init = await open(dir, { dimension: 8 });
    await init.createVault('docs');
    await init.close();
    // A round every 300 ms, a checkpoint every 8 KiB of log (a few dozen batches): most rounds
    // find that wal.log was replaced more than once since the last one.
    const proc = replicate(dir, url, 300);
    const store = await S3Store.open(url, s3Options());
    const root = () => readRoot(store);
    try {
      await until('the first round', async () => ((await root())?.files.length ?? 0) > 0);
      const writer = child('plain', dir, String(8 * 1024), '5000');
      await writer.waitFor((l) => l.startsWith('ready '));
      const replica = child('replica', url, path.join(tmpDir(), 'cache'), '6000');
      const closed = Number((await writer.waitFor((l) => l.startsWith('closed '), 60_000)).split(' ')[1]);
      await until('quiver replicate to ship everything', async () => (await root())?.shippedLsn === closed).catch(async (err: Error) => {
        throw new Error(`${err.message}: root ${JSON.stringify(await root())}, writer at ${closed}, stderr ${proc.stderr()}`);
      });
      const summary = JSON.parse((await replica.waitFor((l) => l.startsWith('done '))).slice(5)) as { backwards: number; torn: number; errors: number; refreshes: number };
      assert.equal(summary.torn, 0, JSON.stringify(summary));
      assert.equal(summary.backwards, 0, JSON.stringify(summary));
      assert.equal(summary.errors, 0, JSON.stringify(summary));
      const last = (await root())!;
      const lastN = ackedAt(writer.lines, closed);
      assert.ok(last.checkpoint!.epoch >= 10, `the writer checkpointed often (epoch ${last.checkpoint!.epoch})`);

      // The chain: every LSN from the generation's start to shippedLsn is in exactly one chunk.
      const chunks = [];
      for (const o of await store.list(`wal/${last.wal.generation}/`)) {
        if (!parseChunkKey(o.key)) continue;
        chunks.push(decodeChunk((await store.get(o.key))!.body, o.key));
      }
      chunks.sort((a, b) => a.firstLsn - b.firstLsn);
      let next = last.wal.startLsn;
      const gaps: string[] = [];
      for (const c of chunks) {
        if (c.firstLsn !== next) gaps.push(`${next}..${c.firstLsn - 1}`);
        next = Math.max(next, c.lastLsn + 1);
      }
      if (next <= last.shippedLsn) gaps.push(`${next}..${last.shippedLsn}`);
      assert.deepEqual(gaps, [], `log chunks missing for LSNs ${gaps.join(', ')} (${chunks.length} chunks, ${last.checkpoint!.epoch} checkpoints)`);

      // What the writer kept for the shipper is read and removed (the last one by the next round): nothing piles up.
      const kept = path.join(dir, 'wal.kept');
      await until('the kept generations to be read and removed', () => !fs.existsSync(kept) || fs.readdirSync(kept).length === 0, 10_000);

      // A fresh replica holds every acknowledged batch, exactly the writer's state.
      const fresh = await open(url, { readOnly: true, cacheDir: tmpDir(), s3: s3Options() });
      assert.deepEqual(checkView(fresh), { n: lastN, whole: true });
      const local = await open(dir, { readOnly: true });
      assert.deepEqual(await exportBytes(fresh), await exportBytes(local));
      await Promise.all([fresh.close(), local.close()]);

      // Restore reaches any LSN, also those a checkpoint covered before a round could read them.
      const random = seededRandom(5);
      for (let i = 0; i < 4; i++) {
        const lsn = 2 + Math.floor(random() * (closed - 2));
        const out = path.join(tmpDir(), `restored-${i}`);
        assert.equal((await restoreFromObjectStore(url, out, { lsn }, s3Options())).lsn, lsn);
        const db = await open(out, { readOnly: true });
        assert.deepEqual(checkView(db), { n: ackedAt(writer.lines, lsn), whole: true }, `restored at LSN ${lsn}`);
        await db.close();
      }
    } finally {
      proc.kill('SIGTERM');
      store.close();
    }
    assert.equal(await proc.exited, 0, proc.stderr());
  });
});
