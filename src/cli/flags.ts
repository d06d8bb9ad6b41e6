import type { QuiverError } from '../errors.js';

/** API option or argument names, as the CLI user types them. */
const FLAGS: Record<string, string> = {
  dimension: '--dim',
  metric: '--metric',
  index: '--index',
  'index.M': '--m',
  'index.efConstruction': '--ef-construction',
  storage: '--storage',
  embedder: '--embedder',
  k: '-k',
  ef: '--ef',
  filter: '--filter',
  vector: '--vector',
  mode: '--mode',
  size: '--chunk-size',
  overlap: '--overlap',
  vault: '--vault',
  name: '--vault',
};

export function flagFor(field: string): string | undefined {
  return FLAGS[field] ?? FLAGS[field.replace(/\[\d+\].*$/, '')];
}

/** API phrasing in messages, rewritten for someone at a shell. */
const REWRITES: [RegExp, string][] = [
  [/open\(path, \{ embedder(: \{ transformers: '<model folder>' \})? \}\)/g, '--embedder <local|model folder>'],
  [/pass allowRemoteModels: true to allow it/g, 'give the path of a local model folder'],
  [/pass the embedder to open\(\)/g, 'pass --embedder'],
  [/, the options ask for /g, ', the flags ask for '],
];

/** The error's message with its leading `field:` named as the CLI flag, and API phrases rewritten. */
export function cliMessage(err: QuiverError): string {
  let message = err.message;
  const field = (err as { field?: unknown }).field;
  if (typeof field === 'string') {
    const flag = flagFor(field);
    if (flag && message.startsWith(`${field}:`)) message = `${flag}:${message.slice(field.length + 1)}`;
  }
  for (const [pattern, replacement] of REWRITES) message = message.replace(pattern, replacement);
  return message;
}
