import { tokenize } from '../embedder/tokenize.js';

/**
 * Terms for full-text search (README "Full-text and hybrid search"): the embedder's tokens (NFKC,
 * lower-case, runs of letters and digits) minus stop words, plus one compound term for every
 * identifier-like run joined by `_ - . : /` ("ERR_4411" -> "err_4411", "err", "4411";
 * "qx-17" -> "qx-17", "qx", "17"), so identifiers match exactly as rare terms.
 */
const COMPOUND = /[\p{L}\p{N}][\p{L}\p{N}\p{M}]*(?:[_\-.:/][\p{L}\p{N}][\p{L}\p{N}\p{M}]*)+/gu;

/** The stop words: English function words that carry no topic. Documented in README. */
export const STOP_WORDS: ReadonlySet<string> = new Set(
  (
    'a an and are as at be been but by for from had has have he her his i if in into is it its me my no not of on or our she so ' +
    'than that the their them then there these they this those to was we were what when where which who will with you your'
  ).split(' '),
);

export function textTerms(text: string): string[] {
  const terms = tokenize(text).filter((t) => !STOP_WORDS.has(t));
  for (const m of text.normalize('NFKC').toLowerCase().matchAll(COMPOUND)) terms.push(m[0]);
  return terms;
}
