import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LabelSlots } from '../../src/vault/label-slots.js';

test('label slots: an array from the first label put, lower labels in a map, the same answers as a plain array', () => {
  const slots = new LabelSlots<string>();
  const plain: (string | undefined)[] = [];
  const put = (label: number, value: string) => {
    slots.set(label, value);
    plain[label] = value;
  };
  const drop = (label: number) => {
    slots.delete(label);
    if (plain[label] !== undefined) plain[label] = undefined;
  };
  assert.equal(slots.end, 0);
  put(1_000_000, 'a'); // the first label since a load of a million rows
  put(1_000_001, 'b');
  put(17, 'patched base row'); // below the array's start: kept in the map
  put(1_000_005, 'c');
  drop(1_000_001);
  drop(17);
  put(42, 'another');
  drop(999_999); // never set: no write past either end
  drop(2_000_000);
  assert.equal(slots.end, 1_000_006);
  for (const label of [0, 17, 42, 999_999, 1_000_000, 1_000_001, 1_000_004, 1_000_005, 1_000_006]) assert.equal(slots.get(label), plain[label], `label ${label}`);
  const seen: [number, string][] = [];
  slots.forEach((value, label) => seen.push([label, value]));
  const expected: [number, string][] = [];
  plain.forEach((value, label) => value !== undefined && expected.push([label, value]));
  assert.deepEqual(seen.sort((x, y) => x[0] - y[0]), expected);
});

test('label slots: only low labels set, end is one past the largest', () => {
  const slots = new LabelSlots<number>();
  slots.set(5, 5);
  assert.equal(slots.get(5), 5);
  slots.set(3, 3); // below the array's start at 5
  assert.equal(slots.get(3), 3);
  assert.equal(slots.end, 6);
});
