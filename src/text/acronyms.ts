import { STOP_WORDS } from './text-tokens.js';

/**
 * The acronyms a query spells with its capitals (README "Full-text and hybrid search"), added
 * to a hybrid search's text terms: technical names are often their description's initials, and
 * a description names the thing it describes ("GNU Bourne Again SHell" is bash, "International
 * Components for Unicode" is ICU, "GNU Privacy Guard" is GnuPG), while BM25 matches words only.
 * For each run of words that start with a capital (lower-case stop words inside it skipped:
 * "for", "of"), the capital letters of each word joined, lower-cased, from the second word on
 * and at least MIN_LENGTH letters. The query's case carries the signal, so a lower-case query
 * adds nothing; an acronym no document holds scores nothing, like any unknown term.
 */
const MIN_LENGTH = 3;
/** Runs longer than this are sentences in title case, not names. */
const MAX_WORDS = 6;
const WORD = /[\p{L}\p{N}]+/gu;
const CAPITAL_FIRST = /^\p{Lu}/u;
const CAPITALS = /\p{Lu}+/gu;

export function queryAcronyms(query: string): string[] {
  const words = query.normalize('NFKC').match(WORD) ?? [];
  const out = new Set<string>();
  for (let i = 0; i < words.length; i++) {
    let acronym = '';
    let n = 0;
    for (let j = i; j < words.length && j < i + MAX_WORDS; j++) {
      const w = words[j]!;
      if (!CAPITAL_FIRST.test(w)) {
        if (n > 0 && STOP_WORDS.has(w)) continue;
        break;
      }
      acronym += w.match(CAPITALS)!.join('');
      n++;
      if (n >= 2 && acronym.length >= MIN_LENGTH) out.add(acronym.toLowerCase());
    }
  }
  return [...out];
}
