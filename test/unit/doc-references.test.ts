import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Comments in src/ cite documentation as README "Heading" or FORMAT.md "Heading" (several
 * headings: "A", "B" or "A" and "B"). Each cited heading must exist, or the comment points
 * nowhere. "Parent: child" cites a subheading under a heading (FORMAT.md "Object storage:
 * the lease"); a heading's trailing parenthetical may be left out.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface DocReference {
  file: string;
  line: number;
  doc: 'README.md' | 'FORMAT.md';
  heading: string;
}

/** Each heading as a path of titles from the top-level one down, e.g. ["Object storage", "The lease"]. */
export function headingPaths(markdown: string): string[][] {
  const paths: string[][] = [];
  const stack: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^```/.test(line)) fenced = !fenced;
    if (fenced) continue;
    // A paragraph that opens with a bold title ("**Record types** (never renumber)") is a heading below the current one.
    const bold = /^\*\*([^*]+)\*\*(\s*\([^)]*\))?\s*$/.exec(line);
    if (bold) {
      paths.push([...stack.filter((s) => s !== undefined), bold[1]!]);
      continue;
    }
    const m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    stack.length = m[1]!.length - 1;
    stack[m[1]!.length - 1] = m[2]!;
    paths.push(stack.filter((s) => s !== undefined));
  }
  return paths;
}

const norm = (title: string) => title.replace(/\s*\([^)]*\)$/, '').replace(/`/g, '').trim().toLowerCase();

export function resolves(reference: string, paths: readonly string[][]): boolean {
  const parts = reference.split(/:\s+/).map(norm);
  return paths.some((p) => {
    const titles = p.map(norm);
    if (titles.at(-1) === norm(reference)) return true;
    if (parts.length === 1) return false;
    // "Parent: child": the child is this heading, the parent one of its ancestors.
    return titles.at(-1) === parts.at(-1) && parts.slice(0, -1).every((part) => titles.slice(0, -1).includes(part));
  });
}

export function referencesIn(file: string, text: string): DocReference[] {
  const found: DocReference[] = [];
  // Without comment continuations ("\n * "), a reference broken across lines reads whole.
  const joined = text.replace(/\n[ \t]*(\*(?!\/)|\/\/)[ \t]*/g, '\n');
  const cite = /\b(README|FORMAT)(?:\.md)?(?:'s)?((?:\s*(?:,|and|or)?\s*"[^"]{1,80}")+)/g;
  for (const m of joined.matchAll(cite)) {
    const line = joined.slice(0, m.index).split('\n').length;
    for (const h of m[2]!.matchAll(/"([^"]+)"/g)) found.push({ file, line, doc: m[1] === 'README' ? 'README.md' : 'FORMAT.md', heading: h[1]!.replace(/\s+/g, ' ').trim() });
  }
  return found;
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? sources(full) : e.name.endsWith('.ts') ? [full] : [];
  });
}

describe('documentation references in src/', () => {
  const docs = {
    'README.md': headingPaths(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')),
    'FORMAT.md': headingPaths(fs.readFileSync(path.join(ROOT, 'FORMAT.md'), 'utf8')),
  };
  const refs = sources(path.join(ROOT, 'src')).flatMap((f) => referencesIn(path.relative(ROOT, f), fs.readFileSync(f, 'utf8')));

  it('finds the references (the pattern has not gone stale)', () => {
    assert.ok(refs.filter((r) => r.doc === 'README.md').length >= 20, `${refs.length} references`);
    assert.ok(refs.filter((r) => r.doc === 'FORMAT.md').length >= 20, `${refs.length} references`);
  });

  it('every README "..." and FORMAT.md "..." names a heading that exists', () => {
    const broken = refs.filter((r) => !resolves(r.heading, docs[r.doc])).map((r) => `${r.file}:${r.line}: ${r.doc} "${r.heading}"`);
    assert.deepEqual(broken, []);
  });

  it('a reference to a missing heading is caught, a nested one resolves', () => {
    const paths = headingPaths('# A\n## Object storage\n### The lease\n## default_v2 (added later)\n**Record types** (never renumber)\n## Qdrant: `serve`\n```\n# not a heading\n```\n');
    assert.equal(resolves('Object storage: the lease', paths), true);
    assert.equal(resolves('The lease', paths), true);
    assert.equal(resolves('default_v2', paths), true);
    assert.equal(resolves('Record types', paths), true);
    assert.equal(resolves('Qdrant: serve', paths), true);
    assert.equal(resolves('not a heading', paths), false);
    assert.equal(resolves('Record', paths), false);
    assert.equal(resolves('default_v2: the lease', paths), false, 'the lease is not under default_v2');
    const found = referencesIn('x.ts', '/** See README "Ghost" and\n * FORMAT.md "A", "B" or "C\n * D". */');
    assert.deepEqual(found.map((r) => `${r.doc} ${r.heading} ${r.line}`), ['README.md Ghost 1', 'FORMAT.md A 2', 'FORMAT.md B 2', 'FORMAT.md C D 2']);
  });
});
