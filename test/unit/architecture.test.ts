import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkArchitecture, partOf, RULE } from '../../scripts/check-architecture.js';
import { tmpDir } from '../helpers/tmp.js';

// docs/ARCHITECTURE.md: src/ has no import cycle and no import against the dependency rule.
// The checker is tried on small trees first, so that it cannot pass by finding nothing.

const SRC = fileURLToPath(new URL('../../src', import.meta.url));
const SCRIPT = fileURLToPath(new URL('../../scripts/check-architecture.ts', import.meta.url));

/** A tree of files (path -> source) in a fresh directory. */
function fixture(files: Record<string, string>): string {
  const root = tmpDir('quiver-arch-');
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return root;
}

const rule = { low: [], mid: ['low'], top: ['mid', 'low'] };
const clean = {
  'low/a.ts': 'export const a = 1;\n',
  'mid/b.ts': "import { a } from '../low/a.js';\nexport const b = a + 1;\n",
  'top/c.ts': "import { b } from '../mid/b.js';\nimport type { Nothing } from './d.js';\nexport const c = b;\n",
  'top/d.ts': 'export type Nothing = never;\n',
};

describe('the architecture checker', () => {
  it('passes a tree that keeps its rule, counting every import', () => {
    const report = checkArchitecture(fixture(clean), rule);
    assert.deepEqual(report.problems, []);
    assert.equal(report.files, 4);
    assert.equal(report.imports, 3);
  });

  it('finds an injected cycle and names its files, type-only imports included', () => {
    const root = fixture({
      ...clean,
      'mid/b.ts': "import { a } from '../low/a.js';\nimport { e } from './e.js';\nexport const b = a + e;\n",
      'mid/e.ts': "import type { F } from './f.js';\nexport const e: F = 1;\n",
      'mid/f.ts': "export type { B } from './b.js';\nexport type F = number;\n",
    });
    const report = checkArchitecture(root, rule);
    assert.deepEqual(report.cycles, [['mid/b.ts', 'mid/e.ts', 'mid/f.ts', 'mid/b.ts']]);
    assert.deepEqual(report.problems, ['cycle: mid/b.ts -> mid/e.ts -> mid/f.ts -> mid/b.ts']);
  });

  it('finds a dynamic import that goes up a layer, and a file outside the rule', () => {
    const root = fixture({ ...clean, 'low/g.ts': "export const g = () => import('../top/c.js');\n", 'stray/h.ts': 'export {};\n' });
    const report = checkArchitecture(root, rule);
    assert.deepEqual(report.problems, [
      'rule: low/g.ts (low) imports top/c.ts (top); low may import only: nothing',
      'layout: stray/h.ts is in no part of the dependency rule (add its folder to RULE and docs/ARCHITECTURE.md)',
    ]);
  });

  it('refuses an import of a file that is not there, and a rule with a cycle of its own', () => {
    const root = fixture({ ...clean, 'low/i.ts': "import './gone.js';\n" });
    assert.deepEqual(checkArchitecture(root, rule).problems, [`import: low/i.ts imports "./gone.js", which is no file under ${path.basename(root)}/`]);
    const looping = checkArchitecture(fixture(clean), { ...rule, low: ['top'] });
    assert.ok(looping.problems.some((p) => p.startsWith('rule: the rule itself has a cycle: ')), looping.problems.join('\n'));
  });

  it('puts a file in the longest part that holds it', () => {
    assert.equal(partOf('engine/open/reader.ts', RULE), 'engine/open');
    assert.equal(partOf('engine/database.ts', RULE), 'engine');
    assert.equal(partOf('engine/open-database.ts', RULE), 'engine');
    assert.equal(partOf('errors.ts', RULE), 'errors.ts');
    assert.equal(partOf('nowhere/x.ts', RULE), null);
  });

  it('exits 1 naming the files when run on a broken tree', () => {
    const root = fixture({ 'vault/a.ts': "import { b } from '../engine/b.js';\nexport const a = b;\n", 'engine/b.ts': 'export const b = 1;\n' });
    const run = spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, root], { encoding: 'utf8' });
    assert.equal(run.status, 1, run.stderr);
    assert.match(run.stderr, /rule: vault\/a\.ts \(vault\) imports engine\/b\.ts \(engine\)/);
  });
});

describe('src/', () => {
  it('has no import cycle and no import against docs/ARCHITECTURE.md', () => {
    const report = checkArchitecture(SRC);
    assert.deepEqual(report.problems, []);
    // Sanity: it read the tree (a wrong root would find nothing and pass).
    assert.ok(report.files > 100 && report.imports > 500, `${report.files} files, ${report.imports} imports`);
  });

  it('docs/ARCHITECTURE.md states the rule the checker enforces, part for part', () => {
    const doc = fs.readFileSync(fileURLToPath(new URL('../../docs/ARCHITECTURE.md', import.meta.url)), 'utf8');
    const table = doc.slice(doc.indexOf('| part | may import |'));
    const stated = Object.fromEntries(
      [...table.matchAll(/^\| `([^`]+)` \| ([^|]+) \|$/gm)].map(([, part, deps]) => [part, deps!.trim() === 'nothing' ? [] : deps!.split(',').map((d) => d.trim())]),
    );
    assert.deepEqual(stated, RULE);
  });
});
