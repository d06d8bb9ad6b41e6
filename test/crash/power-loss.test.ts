import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, CorruptionError, LocalEmbedder, type Database, type OpenOptions, type Payload } from '../../src/index.js';
import { scanWal } from '../../src/wal/wal-reader.js';
import { FaultFileSystem } from '../helpers/fault-fs.js';
import { dump, type Dump } from '../helpers/state.js';
import { dbPath, tmpDir, vectors } from '../helpers/tmp.js';

/**
 * Power loss at every filesystem call (FORMAT.md "Crash analysis"): a path is run once to count
 * its calls; then, for each k, a fresh copy runs it with the k-th call failing (the process dies
 * there), the fault filesystem drops every byte and directory entry not made durable by an
 * fsync, and the real code reopens what is left. Whatever was acknowledged must be there, and
 * nothing else may be half there. QUIVER_SOAK=1 runs bigger databases.
 */
const SOAK = process.env['QUIVER_SOAK'] === '1';
const DIM = 4;

function copy(src: string): string {
  const dir = path.join(tmpDir('quiver-power-'), 'db');
  if (fs.existsSync(src)) fs.cpSync(src, dir, { recursive: true });
  return dir;
}

type Run = (dir: string, ffs: FaultFileSystem, acked: string[]) => Promise<void>;
type Check = (dir: string, acked: readonly string[], at: string) => Promise<void>;

/**
 * Runs `run` to completion once, then crashes it at each of its calls in turn, and last cuts the
 * power after it completed (what it acknowledged must have been durable); returns the count.
 */
async function atEveryCall(src: string, run: Run, check: Check): Promise<number> {
  const probe = new FaultFileSystem();
  const probeDir = copy(src);
  const all: string[] = [];
  await run(probeDir, probe, all);
  await check(probeDir, all, 'no crash');
  const total = probe.calls.length;
  for (let k = 1; k <= total + 1; k++) {
    // After a call that changed nothing, a crash finds the disk as a crash just before it did.
    if (k > 1 && probe.calls[k - 2]!.noop) continue;
    const dir = copy(src);
    const ffs = new FaultFileSystem();
    ffs.failAt = k > total ? Infinity : k;
    const acked: string[] = [];
    await run(dir, ffs, acked).catch(() => undefined);
    ffs.powerLoss();
    const call = probe.calls[k - 1];
    const at = call ? `power loss at call ${k} of ${total} (${call.name} ${call.arg.replaceAll(path.dirname(probeDir), '…')})` : `power loss after all ${total} calls`;
    await check(dir, acked, at).catch((err: Error) => {
      if (!err.message.includes(at)) err.message = `${at}: ${err.message}`;
      throw err;
    });
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
  return total;
}

/** Opens with `options`, runs `body`, and closes whatever happens (a dead database's close fails). */
async function session(dir: string, options: OpenOptions, body: (db: Database) => Promise<void>): Promise<void> {
  const db = await open(dir, options);
  try {
    await body(db);
  } finally {
    await db.close().catch(() => undefined);
  }
}

/** `vault` holds exactly `base`, every acked record of `tried`, and otherwise only whole records of `tried`. */
function checkRecords(got: Dump, vault: string, base: Dump[string], tried: Map<string, Dump[string][number]>, acked: readonly string[], at: string): void {
  const records = new Map((got[vault] ?? []).map((r) => [r[0], r]));
  for (const r of base) assert.deepEqual(records.get(r[0]), r, `${at}: ${vault}/${r[0]} from before is intact`);
  for (const id of acked) if (tried.has(id)) assert.ok(records.has(id), `${at}: acknowledged ${vault}/${id} is there`);
  for (const [id, r] of records) {
    if (base.some((b) => b[0] === id)) continue;
    assert.deepEqual(r, tried.get(id), `${at}: ${vault}/${id} is whole (or absent), never half there`);
  }
}

/** After recovery the database keeps working: a checkpoint and a reopen give the same state. */
async function stillWorks(db: Database, at: string): Promise<void> {
  const before = dump(db);
  const dir = db.path!;
  await db.checkpoint();
  await db.close();
  const again = await open(dir);
  assert.deepEqual(dump(again), before, `${at}: after a checkpoint and a reopen`);
  await again.close();
}

/** A database with a checkpoint behind it and more records in its log. */
async function logged(storage: 'segmented' | 'snapshot', n: number): Promise<{ dir: string; base: Dump }> {
  const dir = dbPath();
  const db = await open(dir, { dimension: DIM, storage });
  const a = await db.createVault('a');
  const vs = vectors(n, DIM, 5);
  await a.insertMany(vs.slice(0, n / 2).map((vector, i) => ({ id: `a${i}`, vector, payload: { i } })));
  await db.checkpoint();
  await a.insertMany(vs.slice(n / 2).map((vector, i) => ({ id: `a${n / 2 + i}`, vector })));
  await a.erase('a0');
  const base = dump(db);
  await db.close();
  return { dir, base };
}

const fresh = (id: string, seed: number): Dump[string][number] => [id, Array.from(vectors(1, DIM, seed)[0]!), { fresh: id }];

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

describe('power loss at every call of an import (staged, committed by one checkpoint)', () => {
  for (const storage of ['segmented', 'snapshot'] as const) {
    it(`${storage}: the import is all there or not at all, and the writes around it keep their acknowledgement`, async () => {
      const { dir: src, base } = await logged(storage, 20);
      // The export: two vaults from another database of the same shape.
      const other = dbPath();
      const exportDir = path.join(tmpDir(), 'export');
      const odb = await open(other, { dimension: DIM, storage });
      for (const name of ['x', 'y']) {
        const v = await odb.createVault(name);
        await v.insertMany(vectors(SOAK ? 300 : 15, DIM, name.charCodeAt(0)).map((vector, i) => ({ id: `${name}${i}`, vector, payload: { name } })));
      }
      const imported = dump(odb);
      await odb.export(exportDir);
      await odb.close();
      const tried = new Map(['pre', 'post'].map((id, i) => [id, fresh(id, 200 + i)]));
      const write = async (db: Database, id: string, acked: string[]) => {
        const [, vector, payload] = tried.get(id)!;
        await db.vault('a').insert(id, vector, payload as Payload);
        acked.push(id);
      };
      await atEveryCall(
        src,
        (dir, ffs, acked) =>
          session(dir, { fs: ffs, durability: 'paranoid' }, async (db) => {
            await write(db, 'pre', acked);
            await db.import(exportDir);
            acked.push('import');
            await write(db, 'post', acked);
          }),
        async (dir, acked, at) => {
          const db = await open(dir);
          const got = dump(db);
          checkRecords(got, 'a', base['a']!, tried, acked, at);
          if (acked.includes('import') || got['x'] || got['y']) {
            assert.deepEqual({ x: got['x'], y: got['y'] }, imported, `${at}: the whole import`);
          }
          await stillWorks(db, at);
        },
      );
    });
  }
});

describe('power loss at every call of a re-embed (default_v1 to default_v2, with its artifact)', () => {
  it('reopens fully old or fully new, with the artifact its manifest names', async () => {
    const src = dbPath();
    const texts = ['rivers and mountains', 'cats and kittens', 'ships on the ocean'];
    const sdb = await open(src, { embedder: await LocalEmbedder.create({ model: 'default_v1' }) });
    await (await sdb.createVault('docs')).addDocuments(Array.from({ length: SOAK ? 200 : 12 }, (_, i) => ({ id: `d${i}`, text: `${texts[i % 3]} ${i}` })));
    const count = sdb.vault('docs').count();
    await sdb.close();
    const outcomes = new Set<string>();
    await atEveryCall(
      src,
      (dir, ffs, acked) =>
        session(dir, { fs: ffs }, async (db) => {
          await db.reembed('local');
          acked.push('reembed');
        }),
      async (dir, acked, at) => {
        const db = await open(dir);
        const model = db.embedder!.manifest.model;
        outcomes.add(model);
        if (acked.includes('reembed')) assert.equal(model, 'default_v2', `${at}: an acknowledged re-embed stays`);
        const v = db.vault('docs');
        assert.equal(v.count(), count, at);
        assert.ok(v.ids().every((id) => v.get(id)!.document!.lineage.model === model), `${at}: one embedder's vectors only`);
        assert.ok(v.ids().every((id) => v.get(id)!.vector.length === db.identity.dimension), at);
        assert.ok(fs.existsSync(path.join(dir, db.embedder!.manifest.artifact!)), `${at}: the artifact is there`);
        assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.next') || f === 'REEMBED'), [], `${at}: no leftovers`);
        // Each open here loads an embedder table: the further checkpoint and reopen only in a soak.
        if (SOAK) await stillWorks(db, at);
        else await db.close();
      },
    );
    assert.deepEqual([...outcomes].sort(), ['default_v1', 'default_v2']);
  });
});

describe('power loss at every call of an export', () => {
  it('leaves the destination absent, empty, or a whole export; one that resolved is whole', async () => {
    const { dir: src, base } = await logged('segmented', 20);
    const calls = await atEveryCall(
      src,
      (dir, ffs, acked) =>
        session(dir, { fs: ffs }, async (db) => {
          await db.export(path.join(path.dirname(dir), 'export'));
          acked.push('export');
        }),
      async (dir, acked, at) => {
        const dest = path.join(path.dirname(dir), 'export');
        const entries = fs.existsSync(dest) ? fs.readdirSync(dest) : [];
        if (acked.includes('export')) assert.ok(entries.length > 0, `${at}: the export that resolved is there`);
        if (entries.length > 0) {
          const copy = await open(path.join(path.dirname(dir), 'reimported'), { dimension: DIM });
          await copy.import(dest);
          assert.deepEqual(dump(copy), base, `${at}: the export is whole`);
          await copy.close();
        }
      },
    );
    assert.ok(calls > 10, `the export makes ${calls} calls`);
  });
});

describe('power loss at every call of a backup', () => {
  it('leaves the destination absent, empty, or a whole database; one that resolved is whole', async () => {
    const { dir: src, base } = await logged('segmented', 20);
    const calls = await atEveryCall(
      src,
      (dir, ffs, acked) =>
        session(dir, { fs: ffs }, async (db) => {
          await db.backup(path.join(path.dirname(dir), 'backup'));
          acked.push('backup');
        }),
      async (dir, acked, at) => {
        const dest = path.join(path.dirname(dir), 'backup');
        const entries = fs.existsSync(dest) ? fs.readdirSync(dest) : [];
        if (acked.includes('backup')) assert.ok(entries.length > 0, `${at}: the backup that resolved is there`);
        if (entries.length > 0) {
          const copy = await open(dest);
          assert.deepEqual(dump(copy), base, `${at}: the backup is whole`);
          await copy.close();
        }
      },
    );
    assert.ok(calls > 8, `the backup makes ${calls} calls`);
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
