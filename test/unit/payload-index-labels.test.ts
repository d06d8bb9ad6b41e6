import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PayloadIndex } from '../../src/vault/payload-index.js';
import type { Payload } from '../../src/vault/payload.js';
import { seededRandom } from '../../src/util/random.js';

/**
 * remove(label) finds a record's values through the label's back-pointers, not its payload. A
 * random run of adds (arrays with repeated values, nested paths, mixed types) and removes, also
 * across dump() and load(), must leave the index exactly as a naive rebuild from the live
 * payloads would.
 */
describe('payload index back-pointers', () => {
  it('removal by label matches a rebuild from the live payloads, also after dump and load', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const r = seededRandom(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
      const value = () => pick<Payload[string]>(['a', 'b', 1, 2, '1', true, null, ['a', 'a', 'b'], ['b', 2, 2], [], { x: 1 }]);
      const payloadOf = (): Payload | null => (r() < 0.1 ? null : r() < 0.3 ? { other: 1 } : { f: { g: value() } });
      let index = new PayloadIndex('f.g');
      const live = new Map<number, Payload | null>();
      let next = 0;
      for (let step = 0; step < 600; step++) {
        const roll = r();
        if (roll < 0.5 || live.size === 0) {
          const payload = payloadOf();
          index.add(next, payload);
          live.set(next++, payload);
        } else if (roll < 0.8) {
          const label = pick([...live.keys()]);
          index.remove(label);
          live.delete(label);
        } else if (roll < 0.95) {
          // An upsert (or patch): the same label, new values.
          const label = pick([...live.keys()]);
          const payload = payloadOf();
          index.remove(label);
          index.add(label, payload);
          live.set(label, payload);
        } else {
          index = PayloadIndex.load('f.g', index.dump(), next)!;
        }
        const naive = new PayloadIndex('f.g');
        for (const [label, payload] of live) naive.add(label, payload);
        assert.deepEqual(index.dump(), naive.dump(), `seed ${seed} step ${step}`);
      }
      for (const label of live.keys()) index.remove(label);
      assert.equal(index.values.size, 0, 'every value goes with its last label');
    }
  });

  it('removeMany (eraseWhere) leaves the index as removing each label would, entries emptied whole or in part', () => {
    for (const seed of [11, 12, 13, 14, 15, 16]) {
      const r = seededRandom(seed);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
      const value = () => pick<Payload[string]>(['a', 'b', 'c', 1, 2, '1', true, null, ['a', 'a', 'b'], ['b', 2, 2], ['c', 'a'], []]);
      const index = new PayloadIndex('f');
      const live = new Map<number, Payload | null>();
      let next = 0;
      for (let round = 0; round < 60; round++) {
        for (let i = Math.floor(r() * 30); i > 0; i--) {
          const payload = r() < 0.1 ? null : { f: value() };
          index.add(next, payload);
          live.set(next++, payload);
        }
        // Every label holding one value (that entry goes whole; those labels' other values go in
        // part), or a random subset, plus a label the index does not hold.
        const held = index.dump();
        const whole = r() < 0.6 && held.length > 0 ? pick(held)[0] : undefined;
        const emptied = whole === undefined ? null : index.equal(whole);
        const labels = emptied ? [...emptied] : [...live.keys()].filter(() => r() < 0.3);
        labels.push(next + 5);
        index.removeMany(labels);
        for (const l of labels) live.delete(l);
        if (emptied) assert.equal(emptied.size, 0, `seed ${seed} round ${round}: the emptied set is empty, as after remove()`);
        const naive = new PayloadIndex('f');
        for (const [label, payload] of live) naive.add(label, payload);
        assert.deepEqual(index.dump(), naive.dump(), `seed ${seed} round ${round}`);
        // Its scratch counts are reset: removing and adding a label after it works as always.
        const some = [...live.keys()][0];
        if (some !== undefined) {
          index.remove(some);
          index.add(some, live.get(some)!);
          assert.deepEqual(index.dump(), naive.dump(), `seed ${seed} round ${round}: after remove and add`);
        }
      }
    }
  });

  it('load refuses a label at or past the vault\'s next label', () => {
    assert.ok(PayloadIndex.load('f', [['a', [0, 1]]], 2));
    assert.equal(PayloadIndex.load('f', [['a', [0, 2]]], 2), null);
    assert.equal(PayloadIndex.load('f', [['a', [-1]]], 2), null);
  });
});
