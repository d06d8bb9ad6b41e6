/**
 * The tokeniser shared by the built-in embedder (and, later, full-text search). Deterministic:
 * NFKC-normalise, lower-case (locale-independent), then take maximal runs of Unicode letters
 * and digits (`\p{L}` / `\p{N}`, plus combining marks `\p{M}` inside a run). Everything else
 * separates tokens: "ERR_4411 isn't" -> ["err", "4411", "isn", "t"].
 */
const TOKEN = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu;

export function tokenize(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(TOKEN) ?? [];
}

/** Tokens with their UTF-16 offsets in the original text (used to cut chunks on word boundaries). */
export function wordSpans(text: string): { start: number; end: number }[] {
  const spans: { start: number; end: number }[] = [];
  for (const m of text.matchAll(/[\p{L}\p{N}][\p{L}\p{N}\p{M}]*/gu)) spans.push({ start: m.index!, end: m.index! + m[0].length });
  return spans;
}
