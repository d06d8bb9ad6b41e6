/**
 * Maximal marginal relevance (Carbonell and Goldstein, 1998): picks k of the candidates one at a
 * time, each maximising  lambda * relevance(c) - (1 - lambda) * max over picked p of sim(c, p),
 * so near-duplicates of what is already picked lose to slightly less relevant but new ones.
 * sim is the cosine similarity of the stored vectors, whatever the vault's metric, so relevance
 * must be on the same scale: the caller passes cosine(query, c) for vector search, or the
 * hits' scores scaled to [0, 1] for text and hybrid search. Returns indexes into `vectors`.
 */
export function mmrSelect(vectors: readonly Float32Array[], relevance: readonly number[], k: number, lambda: number): number[] {
  const n = vectors.length;
  const norms = vectors.map((v) => Math.sqrt(dot(v, v)) || 1);
  const picked: number[] = [];
  // The largest similarity of each candidate to anything picked so far.
  const nearest = new Float64Array(n).fill(-Infinity);
  const taken = new Uint8Array(n);
  while (picked.length < Math.min(k, n)) {
    let best = -1;
    let bestScore = -Infinity;
    for (let i = 0; i < n; i++) {
      if (taken[i]) continue;
      const redundancy = picked.length === 0 ? 0 : nearest[i]!;
      const score = lambda * relevance[i]! - (1 - lambda) * redundancy;
      // Ties keep the candidates' order (best first).
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    taken[best] = 1;
    picked.push(best);
    for (let i = 0; i < n; i++) {
      if (taken[i]) continue;
      const sim = dot(vectors[i]!, vectors[best]!) / (norms[i]! * norms[best]!);
      if (sim > nearest[i]!) nearest[i] = sim;
    }
  }
  return picked;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  return dot(a, b) / ((Math.sqrt(dot(a, a)) || 1) * (Math.sqrt(dot(b, b)) || 1));
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Scores scaled to [0, 1] (all 1 when they are equal); `higherBetter` false for distances. */
export function scaled(scores: readonly number[], higherBetter: boolean): number[] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of scores) {
    if (s < lo) lo = s;
    if (s > hi) hi = s;
  }
  return scores.map((s) => (hi === lo ? 1 : higherBetter ? (s - lo) / (hi - lo) : (hi - s) / (hi - lo)));
}
