import type { SearchOptions } from '../../src/index.js';

/**
 * The search settings compared for each embedder (text-only ones run once). `--grid` adds the
 * settings the default text and document weights were chosen among, on the tuning split.
 */
export function settings(grid: boolean): [string, SearchOptions][] {
  const list: [string, SearchOptions][] = [
    ['text (BM25)', { mode: 'text' }],
    ['vector', { mode: 'vector' }],
    ['hybrid rrf (k 60)', { mode: 'hybrid', fusion: 'rrf' }],
    ['hybrid weighted 0.85, chunk BM25 only (previous default)', { mode: 'hybrid', fusion: 'weighted', textWeight: 0.85, documentWeight: 0 }],
    ['default (hybrid weighted)', {}],
  ];
  if (grid) {
    for (const w of [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95]) list.push([`hybrid weighted ${w}`, { mode: 'hybrid', fusion: 'weighted', textWeight: w }]);
    for (const w of [0.9]) list.push([`hybrid weighted ${w} floor 0`, { mode: 'hybrid', fusion: 'weighted', textWeight: w, textFloor: 0 }]);
    list.push(['hybrid rrf (k 10)', { mode: 'hybrid', fusion: 'rrf', rrfK: 10 }]);
    for (const d of [0.3, 0.4, 0.5, 0.7, 1]) list.push([`hybrid weighted 0.85 document ${d}`, { mode: 'hybrid', fusion: 'weighted', textWeight: 0.85, documentWeight: d }]);
    for (const w of [0.8, 0.9]) list.push([`hybrid weighted ${w} document 0.6`, { mode: 'hybrid', fusion: 'weighted', textWeight: w, documentWeight: 0.6 }]);
  }
  return list;
}
