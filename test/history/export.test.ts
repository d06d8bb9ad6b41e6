import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, ConfigError, ConflictError, EmbedderDriftError } from '../../src/index.js';
import { dbPath, tmpDir } from '../helpers/tmp.js';

/** Float32 values that are hard to print: subnormals, 0.1f, -0, the extremes. */
const HARD = [1e-45, -1e-45, 1.17549435e-38, 0.1, -0, 3.4028234663852886e38, -3.4028234663852886e38, 1 / 3, 16777217, 5e-324 * 0 + 2 ** -149];

function files(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(child);
      else out[child] = fs.readFileSync(path.join(dir, child), 'utf8');
    }
  };
  walk('');
  return out;
}

describe('export and import', () => {
  it('export -> import into a fresh database -> export is byte-identical, vectors exact to the bit', async () => {
    const src = dbPath();
    const db = await open(src, { embedder: 'local' });
    const v = await db.createVault('kb', { quota: { maxRecords: 1000 } });
    const hard = new Float32Array(256).fill(0.25);
    HARD.forEach((x, i) => (hard[i] = x));
    await v.insert('hard', hard, { blob: new Uint8Array([0, 1, 255]), nested: { list: [1, 'two', null, true] }, ünïcode: 'ok' });
    await v.addText('doc', 'Volcanoes erupt when magma reaches the surface. '.repeat(40), { size: 300, overlap: 50, payload: { kind: 'doc' } });
    await v.layers.commit({ resources: { 'urn:a': { text: 'first' }, 'urn:b': { bytes: new Uint8Array([9]) } }, meta: { by: 'test' }, embed: true });
    await v.layers.commit({ resources: { 'urn:a': null } });
    await v.branches.create('side', 'L1');
    await v.traces.put('run/1', { steps: [1, 2], ok: true }, { at: 1234, links: { records: ['hard'], layers: ['L1'] } });
    await v.traces.put('run/2', [0.1, 'x'], { at: 99 });
    await v.traces.setRetention({ maxCount: 100, maxAgeMs: 1e12 });
    await db.createVault('empty');
    await v.createIndex('nested.list');

    const first = path.join(tmpDir(), 'export1');
    const summary = await db.export(first);
    assert.deepEqual([summary.vaults, summary.layers, summary.branches, summary.traces], [2, 2, 3, 2]);
    const original = v.get('hard')!.vector;
    await db.close();

    const dst = dbPath();
    const fresh = await open(dst, { embedder: 'local' });
    const imported = await fresh.import(first);
    assert.equal(imported.records, summary.records);
    const back = fresh.vault('kb').get('hard')!;
    assert.deepEqual(new Uint8Array(back.vector.buffer), new Uint8Array(original.buffer), 'float32 bits survive');
    assert.ok(Object.is(back.vector[4], -0));
    assert.deepEqual(new Uint8Array(back.payload!.blob as Uint8Array), new Uint8Array([0, 1, 255]));
    assert.equal(fresh.vault('kb').layers.resolve('urn:a', { branch: 'side' })!.text, 'first');
    assert.equal(fresh.vault('kb').traces.get('run/1')!.at.getTime(), 1234);
    assert.deepEqual(fresh.vault('kb').indexes().map((i) => i.field), ['nested.list'], 'payload indexes come along');
    const second = path.join(tmpDir(), 'export2');
    await fresh.export(second);
    assert.deepEqual(files(second), files(first));
    execFileSync('diff', ['-r', first, second]);

    await assert.rejects(fresh.import(first), (err: unknown) => err instanceof ConflictError && err.code === 'ALREADY_EXISTS');
    assert.equal(fresh.vaults().length, 2, 'a refused import changes nothing');
    await fresh.close();

    const other = await open(dbPath(), { dimension: 256 });
    await assert.rejects(other.import(first), EmbedderDriftError, 'a database without the embedder is refused');
    await other.close();
    const l2 = await open(dbPath(), { embedder: 'local', metric: 'l2' });
    await assert.rejects(l2.import(first), (err: unknown) => err instanceof ConfigError && err.field === 'metric');
    await l2.close();
  });
});
