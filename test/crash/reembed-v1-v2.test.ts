import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, LocalEmbedder, StorageError } from '../../src/index.js';
import { FaultFileSystem, InjectedFault } from '../helpers/fault-fs.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';

const TEXTS = ['rivers and mountains', 'banks and interest rates', 'cats and kittens', 'ships on the ocean', 'wheat harvest'];

/** A database made by an earlier release, whose 'local' meant default_v1. */
async function v1Database(): Promise<{ dir: string; fingerprint: string }> {
  const dir = dbPath();
  const db = await open(dir, { embedder: await LocalEmbedder.create({ model: 'default_v1' }) });
  const v = await db.createVault('docs');
  await v.addDocuments(Array.from({ length: 40 }, (_, i) => ({ id: `d${i}`, text: `${TEXTS[i % 5]} number ${i}` })));
  const fingerprint = db.embedder!.manifest.fingerprint;
  await db.close();
  return { dir, fingerprint };
}

describe("re-embedding a default_v1 database with reembed('local')", () => {
  it("reopens a v1 database as v1 under embedder 'local', and reembed('local') moves it to default_v2", async () => {
    const { dir, fingerprint } = await v1Database();
    const db = await open(dir, { embedder: 'local' });
    assert.equal(db.embedder!.manifest.model, 'default_v1');
    assert.equal(db.embedder!.manifest.fingerprint, fingerprint);
    const result = await db.reembed('local');
    assert.equal(result.documents, 40);
    assert.equal(db.embedder!.manifest.model, 'default_v2');
    await db.close();
    const again = await open(dir);
    assert.equal(again.embedder!.manifest.model, 'default_v2');
    assert.equal(fs.existsSync(path.join(dir, 'text_embedder', 'default_v2_256.localembed')), true);
    assert.equal(fs.existsSync(path.join(dir, 'text_embedder', 'default_v1_100.localembed')), false);
    const v = again.vault('docs');
    assert.ok(v.ids().every((id) => v.get(id)!.document!.lineage.model === 'default_v2'));
    assert.equal((await v.search('kittens and cats', { mode: 'vector', k: 1 }))[0]!.document!.text.startsWith('cats and kittens'), true);
    await again.close();
  });

  it('a fault at every filesystem call of the v1 -> v2 switch reopens fully v1 or fully v2, never a mix', { timeout: 300_000 }, async () => {
    const { dir: src, fingerprint } = await v1Database();
    const probe = new FaultFileSystem();
    const probeDir = path.join(tmpDir(), 'probe');
    fs.cpSync(src, probeDir, { recursive: true });
    const p = await open(probeDir, { fs: probe });
    const start = probe.calls.length;
    await p.reembed('local');
    const steps = probe.calls.length - start;
    await p.close();
    assert.ok(steps > 10);
    const outcomes = new Set<string>();
    for (let n = 1; n <= steps; n++) {
      const dir = path.join(tmpDir(), `run${n}`);
      fs.cpSync(src, dir, { recursive: true });
      const ffs = new FaultFileSystem();
      const db = await open(dir, { fs: ffs });
      ffs.failAt = ffs.calls.length + n;
      const resolved = await db.reembed('local').then(
        () => true,
        (err: unknown) => {
          assert.ok(err instanceof InjectedFault || (err instanceof StorageError && err.cause instanceof InjectedFault), String(err));
          return false;
        },
      );
      await db.close().catch(() => undefined);
      const again = await open(dir);
      const model = again.embedder!.manifest.model;
      outcomes.add(model);
      if (model === 'default_v1') {
        assert.equal(resolved, false, `step ${n}: a re-embed that resolved must have switched`);
        assert.equal(again.embedder!.manifest.fingerprint, fingerprint, `step ${n}`);
      } else {
        assert.equal(model, 'default_v2', `step ${n}`);
      }
      const v = again.vault('docs');
      assert.equal(v.count(), 40, `step ${n}`);
      assert.ok(v.ids().every((id) => v.get(id)!.document!.lineage.fingerprint === again.embedder!.manifest.fingerprint), `step ${n}: one embedder's vectors only`);
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.next') || f === 'REEMBED'), [], `step ${n}: no leftovers`);
      await again.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual([...outcomes].sort(), ['default_v1', 'default_v2'], 'faults before the commit point keep v1, after it finish v2');
  });
});
