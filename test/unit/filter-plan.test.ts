import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { planFiltered, routeCosts } from '../../src/vault/filter-plan.js';

/**
 * The filtered-search planner's choice (src/vault/filter-plan.ts), as a decision, not a timing:
 * without the native scan it is the count rule it always was; with it, the scan is taken where
 * the cost model says it is the cheaper, which on 100k real 100-dimensional vectors includes the
 * 10% filter the post-filter used to answer at lower recall.
 */
const plan = (matches: number, dimension: number, native: boolean, total = 100_000, k = 10, ef?: number) => planFiltered({ matches, total, k, ef, dimension, native });

describe('filtered search planner', () => {
  it('without the native scan: scan up to 2,000 matches or 2%, post-filter from 10%, the graph between', () => {
    for (const dimension of [100, 384]) {
      assert.equal(plan(2_000, dimension, false), 'scan');
      assert.equal(plan(2_001, dimension, false), 'graph');
      assert.equal(plan(3_000, dimension, false, 200_000), 'scan'); // 1.5%
      assert.equal(plan(5_000, dimension, false), 'graph');
      assert.equal(plan(10_000, dimension, false), 'post-filter');
      assert.equal(plan(50_000, dimension, false), 'post-filter');
      // At --quick size a 10% filter is 1,000 matches: scanned by count.
      assert.equal(plan(1_000, dimension, false, 10_000), 'scan');
    }
  });

  it('with it: 10% of 100k x 100 is scanned; 10% of 100k x 384 and 20% or more are post-filtered', () => {
    assert.equal(plan(10_000, 100, true), 'scan');
    assert.equal(plan(5_000, 100, true), 'scan');
    assert.equal(plan(5_000, 384, true), 'scan');
    assert.equal(plan(10_000, 384, true), 'post-filter');
    assert.equal(plan(20_000, 100, true), 'post-filter');
    assert.equal(plan(50_000, 100, true), 'post-filter');
    assert.equal(plan(50_000, 384, true), 'post-filter');
  });

  it('with it: a mid-selectivity filter too costly to scan goes to the graph, and small sets are always scanned', () => {
    // 6% of 1M x 384: 60,000 matches, 23M floats, against a filtered graph search at ef 64.
    assert.equal(plan(60_000, 384, true, 1_000_000), 'graph');
    assert.equal(plan(30_000, 100, true, 1_000_000), 'scan');
    assert.equal(plan(2_000, 4096, true, 1_000_000), 'scan');
    const c = routeCosts({ matches: 10_000, total: 100_000, k: 10, ef: undefined, dimension: 100, native: true });
    assert.ok(c.postFilter !== null && c.scan < c.postFilter && c.scan < c.graph);
    // A larger ef makes the graph dearer, never the scan.
    assert.equal(plan(10_000, 384, true, 100_000, 10, 400), 'scan');
  });
});
