/**
 * The hubness corrections tried for vector mode (README "Search quality", `--hubness`), as plain
 * functions over dense float vectors so that each can be tested on its own. None is used by the
 * product: none paid on the tuning split.
 */

/** Dot product of `a` and `b` over dimensions `from` to `to` (exclusive). */
export function dot(a: Float32Array | Float64Array, b: Float32Array | Float64Array, from = 0, to = a.length): number {
  let s = 0;
  for (let j = from; j < to; j++) s += a[j]! * b[j]!;
  return s;
}

/** The mean and the (biased) covariance of `rows`, in float64; covariance row-major, dim x dim. */
export function covariance(rows: readonly Float32Array[], dim: number): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(dim);
  for (const r of rows) for (let j = 0; j < dim; j++) mean[j]! += r[j]!;
  for (let j = 0; j < dim; j++) mean[j]! /= rows.length || 1;
  const cov = new Float64Array(dim * dim);
  const c = new Float64Array(dim);
  for (const r of rows) {
    for (let j = 0; j < dim; j++) c[j] = r[j]! - mean[j]!;
    for (let i = 0; i < dim; i++) {
      const ci = c[i]!;
      for (let j = i; j < dim; j++) cov[i * dim + j]! += ci * c[j]!;
    }
  }
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      cov[i * dim + j]! /= rows.length || 1;
      cov[j * dim + i] = cov[i * dim + j]!;
    }
  }
  return { mean, cov };
}

/**
 * The top `count` eigenvectors of a symmetric positive semi-definite matrix (row-major, dim x
 * dim) by power iteration with deflation, from a fixed start so that runs agree.
 */
export function topDirections(m: Float64Array, dim: number, count: number, iterations = 300): Float64Array[] {
  const found: Float64Array[] = [];
  for (let c = 0; c < count; c++) {
    let v = Float64Array.from({ length: dim }, (_, j) => (j % 3 === 0 ? 1 : j % 3 === 1 ? -0.5 : 0.25));
    for (let it = 0; it < iterations; it++) {
      const next = new Float64Array(dim);
      for (let i = 0; i < dim; i++) next[i] = dot(m.subarray(i * dim, (i + 1) * dim), v);
      for (const u of found) {
        const d = dot(next, u);
        for (let j = 0; j < dim; j++) next[j]! -= d * u[j]!;
      }
      const norm = Math.sqrt(dot(next, next)) || 1;
      v = next.map((x) => x / norm);
    }
    found.push(v);
  }
  return found;
}

/** `q` with its projections on the unit vectors `dirs` removed ("all-but-the-top" on the query). */
export function removeDirections(q: Float32Array, dirs: readonly Float64Array[], from = 0): Float64Array {
  const out = Float64Array.from(q);
  for (const u of dirs) {
    let d = 0;
    for (let j = 0; j < u.length; j++) d += out[from + j]! * u[j]!;
    for (let j = 0; j < u.length; j++) out[from + j]! -= d * u[j]!;
  }
  return out;
}

/**
 * Solves (cov + lambda x mean eigenvalue x I) x = q by Cholesky: the query whitened by the
 * vault's covariance, shrunk towards the identity (lambda large: no change in direction).
 */
export function shrunkWhitener(cov: Float64Array, dim: number, lambda: number): (q: Float32Array) => Float64Array {
  let trace = 0;
  for (let i = 0; i < dim; i++) trace += cov[i * dim + i]!;
  const a = Float64Array.from(cov);
  for (let i = 0; i < dim; i++) a[i * dim + i]! += (lambda * trace) / dim;
  const l = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * dim + j]!;
      for (let k = 0; k < j; k++) s -= l[i * dim + k]! * l[j * dim + k]!;
      l[i * dim + j] = i === j ? Math.sqrt(s) : s / l[j * dim + j]!;
    }
  }
  return (q) => {
    const y = new Float64Array(dim);
    for (let i = 0; i < dim; i++) {
      let s = q[i]!;
      for (let k = 0; k < i; k++) s -= l[i * dim + k]! * y[k]!;
      y[i] = s / l[i * dim + i]!;
    }
    const x = new Float64Array(dim);
    for (let i = dim - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let k = i + 1; k < dim; k++) s -= l[k * dim + i]! * x[k]!;
      x[i] = s / l[i * dim + i]!;
    }
    return x;
  };
}

/** The indexes of the `k` largest scores, skipping those `skip` rejects. */
export function topIndexes(scores: Float64Array, k: number, skip: (i: number) => boolean): number[] {
  const best: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    if (skip(i)) continue;
    if (best.length < k) {
      best.push(i);
      best.sort((x, y) => scores[y]! - scores[x]!);
    } else if (scores[i]! > scores[best[k - 1]!]!) {
      best[k - 1] = i;
      best.sort((x, y) => scores[y]! - scores[x]!);
    }
  }
  return best;
}

/**
 * k-occurrence: how many probes have each item among their `k` best, probes' scores given row by
 * row (`scoresOf(p)`), each probe skipping the items `skip(p, i)` rejects (its own document).
 */
export function kOccurrence(probes: number, items: number, k: number, scoresOf: (p: number) => Float64Array, skip: (p: number, i: number) => boolean): Int32Array {
  const counts = new Int32Array(items);
  for (let p = 0; p < probes; p++) for (const i of topIndexes(scoresOf(p), k, (i) => skip(p, i))) counts[i]!++;
  return counts;
}
