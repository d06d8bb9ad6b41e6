import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

// README "Errors": every error the public API raises is a QuiverError with a stable code. A plain
// `new Error(...)` anywhere in src/ would escape as an untyped error, so none may be written
// outside src/errors.ts (where the typed classes are defined).

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sources(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

describe('no raw Error in src/', () => {
  it('no `new Error(` outside src/errors.ts', () => {
    const offenders: string[] = [];
    for (const file of sources(SRC)) {
      if (path.relative(SRC, file) === 'errors.ts') continue;
      fs.readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/\bnew Error\s*\(/.test(line)) offenders.push(`src/${path.relative(SRC, file)}:${i + 1}: ${line.trim()}`);
        });
    }
    assert.deepEqual(offenders, []);
  });
});
