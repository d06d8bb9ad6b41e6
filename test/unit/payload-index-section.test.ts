import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode } from '../../src/format/codec.js';
import { readPayloadIndexes } from '../../src/segments/payload-index-section.js';
import { PayloadIndex } from '../../src/vault/payload-index.js';
import type { Scalar } from '../../src/vault/filter-terms.js';
import { seededRandom } from '../../src/util/random.js';

const LIMIT = 20_000_000;

/** Two indexes over labels up to 2^24 and beyond (every msgpack integer width), values of each scalar kind. */
function indexes(): PayloadIndex[] {
  const r = seededRandom(9);
  const values: Scalar[] = ['a', 'é', 'x'.repeat(40), 'y'.repeat(300), '', 0, 1, -1, -200, 70_000, -70_000, 2 ** 40, 1.5, -0.25, true, false, null];
  const a = new PayloadIndex('f');
  const b = new PayloadIndex('nested.g');
  for (let i = 0; i < 3000; i++) {
    const label = i < 1000 ? i : i < 2000 ? 60_000 + i * 7 : 17_000_000 + i;
    a.add(label, { f: values[Math.floor(r() * values.length)]! });
    if (r() < 0.5) b.add(label, { nested: { g: [values[Math.floor(r() * values.length)]!, 'any'] } });
  }
  return [a, b];
}

const section = (list: PayloadIndex[]) => encode(list.map((i) => [i.field, i.dump()]));

describe('PAYLOAD_INDEX section read as typed label arrays', () => {
  it('gives the indexes the generic decode gives, for every scalar kind and integer width', () => {
    const list = indexes();
    const typed = readPayloadIndexes(section(list), LIMIT);
    assert.ok(typed, 'read as dump() writes it');
    const generic = (decode(section(list)) as [string, [Scalar, number[]][]][]).map(([field, entries]) => PayloadIndex.load(field, entries, LIMIT)!);
    const loaded = typed.map(({ field, entries }) => PayloadIndex.loaded(field, entries));
    assert.deepEqual(loaded.map((i) => [i.field, i.dump()]), generic.map((i) => [i.field, i.dump()]));
    assert.deepEqual(loaded.map((i) => [i.field, i.dump()]), list.map((i) => [i.field, i.dump()]));
    for (const [i, index] of loaded.entries()) {
      for (const v of ['a', 1, -70_000, true, null, 'missing'] as Scalar[]) assert.deepEqual([...index.equal(v)].sort(), [...list[i]!.equal(v)].sort());
      assert.deepEqual([...index.range('$gt', 0)].sort(), [...list[i]!.range('$gt', 0)].sort());
    }
  });

  it('leaves to the generic decode what dump() does not write', () => {
    const odd = (value: unknown) => readPayloadIndexes(encode(value), LIMIT);
    assert.notEqual(odd([['f', [['a', [1, 2]]]]]), null, 'the plain shape is read');
    assert.equal(odd([['f', [['a', [2, 1]]]]]), null, 'labels out of order');
    assert.equal(odd([['f', [['a', [1, 1]]]]]), null, 'a label twice');
    assert.equal(odd([['f', [['a', [LIMIT]]]]]), null, 'a label past the next label');
    assert.equal(odd([['f', [['a', [-1]]]]]), null, 'a negative label');
    assert.equal(odd([['f', [['a', [1.5]]]]]), null, 'a fractional label');
    assert.equal(odd([['f', [[{ x: 1 }, [1]]]]]), null, 'a map as value');
    assert.equal(odd([['f', [[[1], [1]]]]]), null, 'an array as value');
    assert.equal(odd([['f', [['a', [1], 'extra']]]]), null, 'an entry of three');
    assert.equal(odd([[7, [['a', [1]]]]]), null, 'a field that is not a string');
    assert.equal(odd({ f: 1 }), null, 'not an array');
    const bytes = section(indexes());
    assert.equal(readPayloadIndexes(bytes.subarray(0, bytes.length - 1), LIMIT), null, 'cut short');
    assert.equal(readPayloadIndexes(Buffer.concat([bytes, Buffer.from([0xc0])]), LIMIT), null, 'trailing bytes');
  });
});
