import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, ConfigError, StorageError, type Embedder } from '../../src/index.js';
import { FaultFileSystem, InjectedFault } from '../helpers/fault-fs.js';
import { writeTestModel } from '../helpers/onnx-model.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';
import { spawnChild } from '../helpers/spawn.js';

const TEXTS = ['rivers and mountains', 'banks and interest rates', 'cats and kittens', 'ships on the ocean', 'wheat harvest'];

async function documentDb(count: number): Promise<{ dir: string; fingerprint: string }> {
  const dir = dbPath();
  const db = await open(dir, { embedder: 'local' });
  const v = await db.createVault('docs');
  for (let i = 0; i < count; i += 500) {
    await v.addDocuments(Array.from({ length: Math.min(500, count - i) }, (_, j) => ({ id: `d${i + j}`, text: `${TEXTS[(i + j) % 5]} number ${i + j}` })));
  }
  const fingerprint = db.embedder!.manifest.fingerprint;
  await db.close();
  return { dir, fingerprint };
}

class LetterEmbedder implements Embedder {
  readonly dimension = 26;
  readonly manifest = { provider: 'test', model: 'letters', revision: '1', dimension: 26, fingerprint: 'e'.repeat(64), rehydratable: false, artifact: null };
  async embed(texts: readonly string[]): Promise<Float32Array[]> {
    return texts.map((t) => {
      const v = new Float32Array(26).fill(0.01);
      for (const c of t.toLowerCase()) if (c >= 'a' && c <= 'z') v[c.charCodeAt(0) - 97]! += 1;
      const n = Math.hypot(...v);
      return v.map((x) => x / n);
    });
  }
}

describe('a crash during re-embedding', () => {
  it('SIGKILL in the middle leaves a database that opens with the old embedder and all documents', { timeout: 120_000 }, async () => {
    const { dir, fingerprint } = await documentDb(3000);
    const model = writeTestModel(path.join(tmpDir(), 'model')).dir;
    const child = spawnChild(['reembed', dir, model]);
    await child.waitFor((l) => l.startsWith('progress '), 60_000);
    await child.kill();
    assert.ok(!child.lines.includes('done'));
    const db = await open(dir, { lockStaleMs: 2000 });
    assert.equal(db.embedder!.manifest.fingerprint, fingerprint);
    assert.equal(db.embedder!.manifest.provider, 'local');
    const v = db.vault('docs');
    assert.equal(v.count(), 3000);
    assert.ok(v.ids().every((id) => v.get(id)!.document!.lineage.fingerprint === fingerprint));
    assert.equal((await v.search('kittens and cats', { k: 1 }))[0]!.document!.text.startsWith('cats and kittens'), true);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.next') || f === 'REEMBED'), []);
    await db.close();
  });

  it('a fault at every filesystem call of the switch reopens fully old or fully new, never a mix', async () => {
    const { dir: src, fingerprint } = await documentDb(40);
    const probe = new FaultFileSystem();
    const probeDir = path.join(tmpDir(), 'probe');
    fs.cpSync(src, probeDir, { recursive: true });
    const p = await open(probeDir, { fs: probe });
    const start = probe.calls.length;
    await p.reembed(new LetterEmbedder());
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
      // A fault in best-effort cleanup after the commit is swallowed: the call succeeds.
      const resolved = await db.reembed(new LetterEmbedder()).then(
        () => true,
        (err: unknown) => {
          assert.ok(err instanceof InjectedFault || (err instanceof StorageError && err.cause instanceof InjectedFault), String(err));
          return false;
        },
      );
      await db.close().catch(() => undefined);

      let again;
      try {
        again = await open(dir);
        assert.equal(resolved, false, `step ${n}: a re-embed that resolved must have switched`);
        outcomes.add('old');
        assert.equal(again.embedder!.manifest.fingerprint, fingerprint, `step ${n}`);
        assert.equal(again.identity.dimension, 256);
      } catch (err) {
        assert.ok(err instanceof ConfigError, `step ${n}: ${(err as Error).message}`);
        again = await open(dir, { embedder: new LetterEmbedder() });
        outcomes.add('new');
        assert.equal(again.identity.dimension, 26, `step ${n}`);
      }
      const v = again.vault('docs');
      assert.equal(v.count(), 40, `step ${n}`);
      const lineages = new Set(v.ids().map((id) => v.get(id)!.document!.lineage.fingerprint));
      assert.equal(lineages.size, 1, `step ${n}: one embedder's vectors only`);
      assert.ok(v.ids().every((id) => v.get(id)!.vector.length === again.identity.dimension));
      assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.next') || f === 'REEMBED'), [], `step ${n}: no leftovers`);
      await again.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual([...outcomes].sort(), ['new', 'old'], 'faults before the commit point keep the old state, after it finish the new one');
  });
});
