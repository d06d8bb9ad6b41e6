import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, LocalEmbedder, type Database, type Payload } from '../../src/index.js';
import { atEveryCall, checkRecords, DIM, fresh, logged, session, SOAK, stillWorks } from '../helpers/power-loss.js';
import { FaultFileSystem } from '../helpers/fault-fs.js';
import { dump } from '../helpers/state.js';
import { dbPath, tmpDir, vectors } from '../helpers/tmp.js';

// A power cut at every call of import, re-embed, export and backup, after the open each runs in
// (whose own calls test/crash/power-loss.test.ts covers); test/helpers/power-loss.ts.

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
        (dir, ffs, acked, arm) =>
          session(dir, { fs: ffs, durability: 'paranoid' }, async (db) => {
            arm();
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
      (dir, ffs, acked, arm) =>
        session(dir, { fs: ffs }, async (db) => {
          arm();
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

// An export and a backup: the destination is absent, empty or whole at every cut, and one that
// resolved is whole. They differ only in the call and in how a copy is read back.
const copies = [
  {
    kind: 'export',
    make: (db: Database, dest: string) => db.export(dest),
    readBack: async (dest: string, dir: string) => {
      const copy = await open(path.join(path.dirname(dir), 'reimported'), { dimension: DIM });
      await copy.import(dest);
      return copy;
    },
    least: 10,
  },
  { kind: 'backup', make: (db: Database, dest: string) => db.backup(dest), readBack: (dest: string) => open(dest), least: 8 },
] as const;

for (const { kind, make, readBack, least } of copies) {
  describe(`power loss at every call of ${kind === 'export' ? 'an' : 'a'} ${kind}`, () => {
    it(`leaves the destination absent, empty, or a whole ${kind === 'export' ? 'export' : 'database'}; one that resolved is whole`, async () => {
      const { dir: src, base } = await logged('segmented', 20);
      const calls = await atEveryCall(
        src,
        (dir, ffs, acked, arm) =>
          session(dir, { fs: ffs }, async (db) => {
            arm();
            await make(db, path.join(path.dirname(dir), kind));
            acked.push(kind);
          }),
        async (dir, acked, at) => {
          const dest = path.join(path.dirname(dir), kind);
          const entries = fs.existsSync(dest) ? fs.readdirSync(dest) : [];
          if (acked.includes(kind)) assert.ok(entries.length > 0, `${at}: the ${kind} that resolved is there`);
          if (entries.length > 0) {
            const copy = await readBack(dest, dir);
            assert.deepEqual(dump(copy), base, `${at}: the ${kind} is whole`);
            await copy.close();
          }
        },
      );
      assert.ok(calls > least, `the ${kind} makes ${calls} calls`);
    });
  });
}

describe('power loss right after an export or a backup into folders it had to create', () => {
  for (const kind of ['export', 'backup'] as const) {
    it(`${kind} to new1/new2/db: the result is there, each new folder's entry fsynced into its parent`, async () => {
      const { dir: src, base } = await logged('segmented', 20);
      const parent = tmpDir();
      const dest = path.join(parent, 'new1', 'new2', 'db');
      const ffs = new FaultFileSystem();
      await session(src, { fs: ffs }, async (db) => {
        await (kind === 'export' ? db.export(dest) : db.backup(dest));
      });
      const synced = ffs.calls.filter((c) => c.name === 'syncDir').map((c) => path.resolve(c.arg));
      for (const d of [parent, path.join(parent, 'new1'), path.join(parent, 'new1', 'new2')]) {
        assert.ok(synced.includes(d), `${kind}: ${d} was fsynced (it holds a folder the ${kind} created)`);
      }
      ffs.powerLoss();
      assert.ok(fs.existsSync(dest), `${kind}: the ${kind} that resolved is there after the power cut`);
      const copy = kind === 'export' ? await open(path.join(tmpDir(), 'reimported'), { dimension: DIM }) : await open(dest);
      if (kind === 'export') await copy.import(dest);
      assert.deepEqual(dump(copy), base, `${kind}: whole`);
      await copy.close();
    });
  }
});
