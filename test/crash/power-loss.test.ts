import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, CorruptionError, type Database, type Payload } from '../../src/index.js';
import { scanWal } from '../../src/wal/wal-reader.js';
import { atEveryCall, checkRecords, DIM, fresh, logged, session, SOAK, stillWorks } from '../helpers/power-loss.js';
import { dump } from '../helpers/state.js';
import { dbPath, tmpDir, vectors } from '../helpers/tmp.js';

// A power cut at every call of the writer's own paths: a session (a new log generation on open
// and at a checkpoint), creating a database, a salvaging open (test/helpers/power-loss.ts).

for (const storage of ['segmented', 'snapshot'] as const) {
  describe(`power loss at every call of a ${storage} session: open (a new log generation), writes, a checkpoint (another), close`, () => {
    it('keeps every acknowledged write and reopens without corruption', async () => {
      const { dir: src, base } = await logged(storage, SOAK ? 400 : 40);
      const tried = new Map(['w1', 'w2', 'w3'].map((id, i) => [id, fresh(id, 100 + i)]));
      const write = async (db: Database, id: string, acked: string[]) => {
        const [, vector, payload] = tried.get(id)!;
        await db.vault('a').insert(id, vector, payload as Payload);
        acked.push(id);
      };
      const calls = await atEveryCall(
        src,
        (dir, ffs, acked) =>
          session(dir, { fs: ffs, durability: 'paranoid' }, async (db) => {
            await write(db, 'w1', acked);
            await db.checkpoint();
            await write(db, 'w2', acked);
            if (SOAK) await db.checkpoint();
            await write(db, 'w3', acked);
          }),
        async (dir, acked, at) => {
          const db = await open(dir);
          checkRecords(dump(db), 'a', base['a']!, tried, acked, at);
          assert.deepEqual(Object.keys(dump(db)), ['a'], at);
          await stillWorks(db, at);
        },
      );
      assert.ok(calls > 20, `the session makes ${calls} calls`);
    });
  });
}

describe('power loss at every call of creating a database', () => {
  it('leaves no database, or an empty one, or one with the acknowledged write; never one that fails to open', async () => {
    const tried = new Map([['w', fresh('w', 7)]]);
    const calls = await atEveryCall(
      path.join(tmpDir(), 'absent'),
      (dir, ffs, acked) =>
        session(dir, { dimension: DIM, fs: ffs, durability: 'paranoid' }, async (db) => {
          const v = await db.createVault('a');
          acked.push('vault');
          const [, vector, payload] = tried.get('w')!;
          await v.insert('w', vector, payload as Payload);
          acked.push('w');
        }),
      async (dir, acked, at) => {
        const db = await open(dir, { dimension: DIM });
        const got = dump(db);
        if (acked.includes('vault')) assert.ok(got['a'], `${at}: the acknowledged vault is there`);
        if (got['a']) checkRecords(got, 'a', [], tried, acked, at);
        await stillWorks(db, at);
      },
    );
    assert.ok(calls > 8, `creation makes ${calls} calls`);
  });
});

describe('power loss at every call of a salvaging open (damage in the middle of the log)', () => {
  it('reopens strictly only once the salvage is durable; before, the damage is still there and a salvage again gives the same state', async () => {
    const src = dbPath();
    const sdb = await open(src, { dimension: DIM });
    const a = await sdb.createVault('a');
    for (const [i, vector] of vectors(6, DIM, 9).entries()) await a.insert(`r${i}`, vector);
    await sdb.close();
    const wal = fs.readFileSync(path.join(src, 'wal.log'));
    const frames = scanWal(wal).frames;
    const victim = frames[3]!.offset;
    wal[victim + 25] = wal[victim + 25]! ^ 0xff;
    fs.writeFileSync(path.join(src, 'wal.log'), wal);
    // What survives: the vault and the records before the damaged frame (frame 0 creates the vault).
    const kept = ['r0', 'r1'];
    const tried = new Map([['w', fresh('w', 11)]]);
    await atEveryCall(
      src,
      (dir, ffs, acked) =>
        session(dir, { fs: ffs, recovery: 'salvage', durability: 'paranoid' }, async (db) => {
          acked.push('salvaged');
          const [, vector, payload] = tried.get('w')!;
          await db.vault('a').insert('w', vector, payload as Payload);
          acked.push('w');
        }),
      async (dir, acked, at) => {
        let db: Database;
        try {
          db = await open(dir);
        } catch (err) {
          assert.ok(err instanceof CorruptionError && err.file === 'wal.log', `${at}: ${String(err)}`);
          assert.ok(!acked.includes('salvaged'), `${at}: a salvaging open that resolved was durable`);
          db = await open(dir, { recovery: 'salvage' });
        }
        const ids = db.vault('a').ids().filter((id) => id !== 'w');
        assert.deepEqual(ids, kept, at);
        const got = dump(db);
        checkRecords(got, 'a', got['a']!.filter((r) => r[0] !== 'w'), tried, acked, at);
        await stillWorks(db, at);
      },
    );
  });
});
