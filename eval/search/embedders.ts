import { LocalEmbedder } from '../../src/index.js';
import type { Embedder } from '../../src/index.js';
import { encodeLocalEmbed, type LocalEmbedTable } from '../../src/embedder/localembed-file.js';
import { sumV2, v2Context } from '../../src/embedder/local-v2.js';
import { hashedVector } from '../../src/embedder/local-embedder.js';
import { readWink, type WinkWords } from '../../scripts/embedder-v2/wink-source.js';
import { buildV2Table, V2_DEFAULTS, type V2Options } from '../../scripts/embedder-v2/build-table.js';
import { sotuParagraphs } from '../../scripts/embedder-v2/reference.js';

/**
 * The embedders compared: default_v1 and the shipped default_v2, and with --experiments each
 * step tried on the way to default_v2, built in memory from the devDependency's table.
 */
export function embedders(experiments: boolean): [string, () => Promise<Embedder>][] {
  const list: [string, () => Promise<Embedder>][] = [
    ['v1', () => LocalEmbedder.create({ model: 'default_v1' })],
  ];
  if (!experiments) {
    list.push(['v2', () => LocalEmbedder.create({ model: 'default_v2' })]);
    return list;
  }
  let wink: WinkWords | null = null;
  const variant = (o: Partial<V2Options> & { sotu?: boolean }) => async () => {
    wink ??= readWink(200_000);
    const opts = { ...V2_DEFAULTS, ...o };
    // Components come from the table itself, or (sotu) from the speeches of a devDependency.
    if (opts.components > 0 && o.sotu) opts.reference = sotuParagraphs();
    const sum = (t: LocalEmbedTable, text: string) => sumV2(v2Context(t, new Map(t.vocabulary.map((w, i) => [w, i])), hashedVector), text) ?? new Float64Array(t.meta.dimension);
    return LocalEmbedder.fromTable(Buffer.concat(encodeLocalEmbed(buildV2Table(wink, opts, sum))));
  };
  // Every step tried on the way to default_v2 (README "Search quality"), in order.
  const base = { abtt: 1, components: 0, oovWeight: 1, splitIdentifiers: false, lexicalDims: 0 };
  const steps: [string, Partial<V2Options> & { sotu?: boolean }][] = [
    ['v1 rebuilt as v2 (50k, raw rows)', { ...base, words: 50_000, abtt: -1 }],
    ['+ centred rows', { ...base, words: 50_000, abtt: 0 }],
    ['+ top direction removed (abtt 1)', { ...base, words: 50_000 }],
    ['abtt 3 instead', { ...base, words: 50_000, abtt: 3 }],
    ['abtt 1, 100k words', { ...base, words: 100_000 }],
    ['abtt 1, 200k words (over 12 MB)', { ...base, words: 200_000 }],
    ['100k + split identifiers', { ...base, words: 100_000, splitIdentifiers: true }],
    ['+ common component (speeches)', { ...base, words: 100_000, splitIdentifiers: true, components: 1, sotu: true }],
    ['split, a = 1e-4', { ...base, words: 100_000, splitIdentifiers: true, a: 1e-4 }],
    ['split, unknown words 0.5', { ...base, words: 100_000, splitIdentifiers: true, oovWeight: 0.5 }],
    ['+ common component (table) = default_v2 revision 1', { lexicalDims: 0 }],
    ['3 components (table)', { components: 3, lexicalDims: 0 }],
    ['unknown words 0.3', { components: 0, oovWeight: 0.3, lexicalDims: 0 }],
    ['uSIF weights', { components: 0, weighting: 'usif', lexicalDims: 0 }],
    ['a = 3e-3', { components: 0, a: 3e-3, lexicalDims: 0 }],
    ['centred only (abtt 0)', { components: 0, abtt: 0, lexicalDims: 0 }],
    ['+ hashed words, 100 dims appended', { lexicalDims: 100 }],
    ['+ hashed words, 156 dims appended (256 in all) = default_v2', {}],
    ['156 dims, weight 0.4', { lexicalWeight: 0.4 }],
    ['156 dims, weight 0.6', { lexicalWeight: 0.6 }],
    ['400 dims appended (500 in all)', { lexicalDims: 400 }],
    // Tried against hubness in vector mode (README "Search quality"): not kept.
    ['uSIF weights, with the hashed words', { weighting: 'usif' }],
    ['a = 3e-4, with the hashed words', { a: 3e-4 }],
  ];
  for (const [name, o] of steps) list.push([name, variant(o)]);
  return list;
}
