import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type { KnownItem } from './npm-corpus.js';
import { splitOf } from './npm-corpus.js';

/**
 * A second known-item corpus from the installed Debian packages: each package's one-line
 * synopsis is the query and its long description the one relevant document. Packages whose
 * long description is shorter than 200 characters or shared with another package (a -dev and
 * its library often share one) are left out. The set used is recorded in debian-packages.txt.
 */
const LIST = new URL('./debian-packages.txt', import.meta.url);

export function loadDebianCorpus(writeList: boolean): { items: KnownItem[]; missing: string[] } {
  let out = '';
  try {
    out = execFileSync('dpkg-query', ['-W', '-f', '${Package}@${Version}\t${Description}\n\x1e'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  } catch {
    // not a Debian system: every listed package counts as missing
  }
  const found = new Map<string, { query: string; doc: string }>();
  const byDoc = new Map<string, number>();
  for (const block of out.split('\x1e')) {
    const tab = block.indexOf('\t');
    if (tab < 0) continue;
    const key = block.slice(0, tab).trim();
    const [synopsis, ...rest] = block.slice(tab + 1).split('\n');
    // Debian's long description: lines indented by one space, " ." an empty line.
    const doc = rest.map((l) => l.replace(/^ \.?$/, '').replace(/^ /, '')).join('\n').trim();
    if (!synopsis?.trim() || doc.length < 200) continue;
    found.set(key, { query: synopsis.trim(), doc });
    byDoc.set(doc, (byDoc.get(doc) ?? 0) + 1);
  }
  for (const [key, v] of found) if (byDoc.get(v.doc)! > 1) found.delete(key);
  if (writeList) fs.writeFileSync(LIST, [...found.keys()].sort().join('\n') + '\n');
  const items: KnownItem[] = [];
  const missing: string[] = [];
  for (const key of fs.readFileSync(LIST, 'utf8').split('\n').filter(Boolean)) {
    const entry = found.get(key);
    if (!entry) missing.push(key);
    else items.push({ name: `deb:${key.slice(0, key.indexOf('@'))}`, query: entry.query, doc: entry.doc, split: splitOf(key.slice(0, key.indexOf('@'))) });
  }
  return { items, missing };
}
