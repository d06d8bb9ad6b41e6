import type { SearchOptions } from '../../src/index.js';

/**
 * The search settings compared for each embedder (text-only ones run once). `--grid` adds the
 * settings the default text weight was chosen among, on the tuning split.
 */
export function settings(grid: boolean): [string, SearchOptions][] {
  const list: [string, SearchOptions][] = [
    ['text (BM25)', { mode: 'text' }],
    ['vector', { mode: 'vector' }],
    ['hybrid rrf (k 60)', { mode: 'hybrid', fusion: 'rrf' }],
    ['default (hybrid weighted)', {}],
  ];
  if (grid) {
    for (const w of [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95]) list.push([`hybrid weighted ${w}`, { mode: 'hybrid', fusion: 'weighted', textWeight: w }]);
    for (const w of [0.9]) list.push([`hybrid weighted ${w} floor 0`, { mode: 'hybrid', fusion: 'weighted', textWeight: w, textFloor: 0 }]);
    list.push(['hybrid rrf (k 10)', { mode: 'hybrid', fusion: 'rrf', rrfK: 10 }]);
  }
  return list;
}
