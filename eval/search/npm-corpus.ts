import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';

/**
 * The known-item corpus: for every package installed under node_modules that has a
 * `description` and a README, the description is a query whose one relevant document is that
 * package's README. The packages used are recorded in packages.txt (name@version), so the
 * corpus stays the same while node_modules moves: listed packages that are absent are reported,
 * unlisted ones ignored. `npm run eval:search -- --write-list` records the current set.
 */
export interface KnownItem {
  name: string;
  query: string;
  doc: string;
  split: 'tuning' | 'held-out';
}

const LIST = new URL('./packages.txt', import.meta.url);

/** Deterministic split: the first byte of SHA-256(name); half the packages are never tuned on. */
export function splitOf(name: string): KnownItem['split'] {
  return createHash('sha256').update(name).digest()[0]! < 128 ? 'tuning' : 'held-out';
}

function discover(root: string): Map<string, { version: string; description: string; readme: string }> {
  const found = new Map<string, { version: string; description: string; readme: string }>();
  const walk = (dir: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory() && !e.isSymbolicLink()) continue;
      const p = path.join(dir, e.name);
      if (e.name.startsWith('@')) {
        walk(p, depth);
        continue;
      }
      try {
        const pkg = JSON.parse(fs.readFileSync(path.join(p, 'package.json'), 'utf8')) as { name?: string; version?: string; description?: string };
        const readme = fs.readdirSync(p).find((f) => /^readme(\.md|\.markdown|\.txt)?$/i.test(f));
        const key = `${pkg.name}@${pkg.version}`;
        if (pkg.name && pkg.version && typeof pkg.description === 'string' && pkg.description.trim() && readme && !found.has(key)) {
          const text = fs.readFileSync(path.join(p, readme), 'utf8');
          if (/\p{L}/u.test(text)) found.set(key, { version: pkg.version, description: pkg.description.trim(), readme: text });
        }
      } catch {
        // not a package
      }
      if (depth < 6) walk(path.join(p, 'node_modules'), depth + 1);
    }
  };
  walk(root, 0);
  return found;
}

export function loadNpmCorpus(roots: string[], writeList: boolean): { items: KnownItem[]; missing: string[] } {
  const found = new Map<string, { version: string; description: string; readme: string }>();
  for (const root of roots) for (const [k, v] of discover(root)) if (!found.has(k)) found.set(k, v);
  if (writeList) fs.writeFileSync(LIST, [...found.keys()].sort().join('\n') + '\n');
  const listed = fs.readFileSync(LIST, 'utf8').split('\n').filter(Boolean);
  const items: KnownItem[] = [];
  const missing: string[] = [];
  const names = new Set<string>();
  for (const key of listed) {
    const entry = found.get(key);
    if (!entry) {
      missing.push(key);
      continue;
    }
    const name = key.slice(0, key.lastIndexOf('@'));
    if (names.has(name)) continue; // two versions of one package: one query
    names.add(name);
    items.push({ name, query: entry.description, doc: entry.readme, split: splitOf(name) });
  }
  return { items, missing };
}
