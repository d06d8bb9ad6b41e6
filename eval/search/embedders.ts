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
  const variant = (o: Partial<V2Options>) => async () => {
    wink ??= readWink(200_000);
    const opts = { ...V2_DEFAULTS, ...o };
    if (opts.components > 0 && process.env.V2_REFERENCE === 'sotu') opts.reference = sotuParagraphs();
    const sum = (t: LocalEmbedTable, text: string) => sumV2(v2Context(t, new Map(t.vocabulary.map((w, i) => [w, i])), hashedVector), text) ?? new Float64Array(t.meta.dimension);
    return LocalEmbedder.fromTable(Buffer.concat(encodeLocalEmbed(buildV2Table(wink, opts, sum))));
  };
  const steps: [string, Partial<V2Options>][] = (process.env.V2_STEPS ? JSON.parse(process.env.V2_STEPS) : [
    ['v2 as v1 (50k, raw rows, no split)', { words: 50_000, abtt: -1, splitIdentifiers: false }],
    ['+ centred rows', { words: 50_000, abtt: 0, splitIdentifiers: false }],
    ['+ abtt 1', { words: 50_000, abtt: 1, splitIdentifiers: false }],
    ['+ abtt 3', { words: 50_000, abtt: 3, splitIdentifiers: false }],
  ]) as [string, Partial<V2Options>][];
  for (const [name, o] of steps) list.push([name, variant(o)]);
  return list;
}
