import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { covariance, dot, kOccurrence, removeDirections, shrunkWhitener, topDirections, topIndexes } from '../../eval/search/hubness-math.js';

// The hubness corrections replayed by `npm run eval:search -- --hubness` (README "Search
// quality"): their figures are only as good as this arithmetic, so each piece is checked on
// inputs whose answer is known.

/** Points spread along `axis` (long) and the other axes (short), deterministic. */
function stretched(axis: number[], n: number): Float32Array[] {
  const rows: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const t = Math.sin(i * 1.7) * 3;
    const e = [Math.cos(i * 0.9) * 0.2, Math.sin(i * 2.3) * 0.2, Math.cos(i * 3.1) * 0.2];
    rows.push(Float32Array.from(axis, (a, j) => 1 + a * t + e[j]!));
  }
  return rows;
}

describe('eval hubness arithmetic', () => {
  it('covariance is centred and symmetric', () => {
    const { mean, cov } = covariance([Float32Array.of(1, 2), Float32Array.of(3, 2), Float32Array.of(5, 2)], 2);
    assert.deepEqual([...mean], [3, 2]);
    assert.deepEqual([...cov], [8 / 3, 0, 0, 0]);
  });

  it('topDirections finds the direction the points are stretched along', () => {
    const axis = [Math.SQRT1_2, Math.SQRT1_2, 0];
    const { cov } = covariance(stretched(axis, 200), 3);
    const [u] = topDirections(cov, 3, 1);
    assert.ok(Math.abs(dot(u!, Float64Array.from(axis))) > 0.999, `found ${[...u!]}`);
  });

  it('removeDirections leaves the query orthogonal to each direction and keeps the rest', () => {
    const dirs = [Float64Array.of(1, 0, 0), Float64Array.of(0, Math.SQRT1_2, Math.SQRT1_2)];
    const out = removeDirections(Float32Array.of(0.5, 0.25, -0.75, 2), dirs);
    for (const u of dirs) assert.ok(Math.abs(dot(out, u, 0, 3)) < 1e-12);
    assert.equal(out[3], 2);
    // On the hashed half only: the word-vector dimensions before `from` stay as they were.
    const shifted = removeDirections(Float32Array.of(7, 1, 1, 1), [Float64Array.of(1, 0, 0)], 1);
    assert.deepEqual([...shifted], [7, 0, 1, 1]);
  });

  it('shrunkWhitener solves (cov + lambda x mean eigenvalue x I) x = q', () => {
    const { cov } = covariance(stretched([0.6, 0.8, 0], 50), 3);
    const q = Float32Array.of(0.3, -0.2, 0.9);
    for (const lambda of [0.1, 3]) {
      const x = shrunkWhitener(cov, 3, lambda)(q);
      const shrink = (lambda * (cov[0]! + cov[4]! + cov[8]!)) / 3;
      for (let i = 0; i < 3; i++) {
        const row = cov[i * 3]! * x[0]! + cov[i * 3 + 1]! * x[1]! + cov[i * 3 + 2]! * x[2]! + shrink * x[i]!;
        assert.ok(Math.abs(row - q[i]!) < 1e-9, `lambda ${lambda} row ${i}: ${row} vs ${q[i]}`);
      }
    }
  });

  it('topIndexes and kOccurrence count each probe\'s k best, skipping what the probe rejects', () => {
    assert.deepEqual(topIndexes(Float64Array.of(0.1, 0.9, 0.5, 0.7), 2, () => false), [1, 3]);
    assert.deepEqual(topIndexes(Float64Array.of(0.1, 0.9, 0.5, 0.7), 2, (i) => i === 1), [3, 2]);
    // Three probes over four items; each probe rejects the item with its own number.
    const scores = [Float64Array.of(0.9, 0.8, 0.1, 0.7), Float64Array.of(0.9, 0.8, 0.1, 0.7), Float64Array.of(0.2, 0.3, 0.9, 0.1)];
    const counts = kOccurrence(3, 4, 2, (p) => scores[p]!, (p, i) => p === i);
    // probe 0: items 1, 3; probe 1: items 0, 3; probe 2: items 1, 0.
    assert.deepEqual([...counts], [2, 2, 0, 2]);
  });
});
