/**
 * default_v2's hashed bag of words (FORMAT.md "default_v2", README "Search quality"). Averaged
 * word vectors blur the rare, exact words (names, identifiers, codes) that known-item search
 * turns on; this part keeps them. Each distinct word of a text adds weight x n^tfPower (n its
 * count, so repeats count less and less), with a sign, to `hashes` of `dims` slots chosen by
 * hashing the word; the sum is then normalised. A fixed random projection of a weighted bag of
 * words: two texts' dot product here approximates their weighted word overlap. The weights are
 * the table's own SIF weights (unknown words 1), fixed and shipped, never a database's changing
 * statistics; a query's words are also multiplied by the query's term weights.
 */
export interface LexicalPart {
  /** Number of dimensions appended. */
  dims: number;
  /** Share of the cosine given to this part, from 0 to 1. */
  weight: number;
  /** Slots each word adds to. */
  hashes: number;
  /** A word counted n times adds weight x n^tfPower in all. */
  tfPower: number;
}

/** FNV-1a (32 bits) over the word's UTF-16 code units, offset basis XOR 7919 r for hash r. */
function slotHash(word: string, r: number): number {
  let h = (0x811c9dc5 ^ (7919 * r)) >>> 0;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A word's signed slot for hash r: slot + 1, negated when the hash's top bit is set. */
function signedSlot(p: LexicalPart, word: string, r: number): number {
  const h = slotHash(word, r);
  return h & 0x80000000 ? -((h % p.dims) + 1) : (h % p.dims) + 1;
}

/** Every vocabulary row's signed slots, `hashes` per row, computed once per table. */
export function rowSlots(p: LexicalPart, vocabulary: readonly string[]): Int32Array {
  const out = new Int32Array(vocabulary.length * p.hashes);
  vocabulary.forEach((w, i) => {
    for (let r = 0; r < p.hashes; r++) out[i * p.hashes + r] = signedSlot(p, w, r);
  });
  return out;
}

/**
 * Adds the n-th occurrence of `word` to `acc`: weight x m x (n^tfPower - (n-1)^tfPower), so the
 * word's total after n occurrences is weight x m x n^tfPower. `slots` (with `row`) are the
 * word's precomputed slots, or null to hash it here.
 */
export function addWord(p: LexicalPart, acc: Float64Array, word: string, weight: number, m: number, n: number, slots: Int32Array | null, row: number): void {
  const step = n === 1 ? 1 : p.tfPower === 0.5 ? Math.sqrt(n) - Math.sqrt(n - 1) : n ** p.tfPower - (n - 1) ** p.tfPower;
  const w = weight * m * step;
  for (let r = 0; r < p.hashes; r++) {
    const s = slots ? slots[row * p.hashes + r]! : signedSlot(p, word, r);
    if (s > 0) acc[s - 1]! += w;
    else acc[-s - 1]! -= w;
  }
}

/** Normalises in place (all zeros stays all zeros) and returns `v`. */
export function unit(v: Float64Array): Float64Array {
  let norm = 0;
  for (let j = 0; j < v.length; j++) norm += v[j]! * v[j]!;
  if (norm > 0) {
    norm = Math.sqrt(norm);
    for (let j = 0; j < v.length; j++) v[j]! /= norm;
  }
  return v;
}
