/**
 * A payload comes back as it was written, or is refused with ValidationError: never silently
 * altered (README "Vaults, records, search"). `__proto__` keys (which the codec would read back
 * as `__proto_`), sparse-array holes and symbol keys are refused; every other own key, however
 * it is named, round-trips, through memory, a reopen of the log and a reopen of a checkpoint.
 * -0 is the one documented normalisation (stored as 0).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { open, ValidationError, type Payload } from '../../src/index.js';
import { dbPath } from '../helpers/tmp.js';

const invalid = (field: string) => (err: unknown) => err instanceof ValidationError && err.field === field;

describe('payloads round-trip faithfully or are refused', () => {
  it('__proto__ keys, holes and symbol keys are refused, with nothing written', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2 });
    const v = await db.createVault('v');
    const proto = JSON.parse('{"a": 1, "__proto__": {"x": 1}}') as Payload;
    await assert.rejects(v.insert('p', [1, 2], proto), invalid('payload.__proto__'));
    await assert.rejects(v.insert('p', [1, 2], JSON.parse('{"n": {"__proto__": 1}}') as Payload), invalid('payload.n.__proto__'));
    // eslint-disable-next-line no-sparse-arrays
    await assert.rejects(v.insert('p', [1, 2], { list: [1, , 3] } as Payload), invalid('payload.list[1]'));
    await assert.rejects(v.insert('p', [1, 2], { [Symbol('s')]: 1 } as unknown as Payload), invalid('payload'));
    await assert.rejects(v.insertMany([{ id: 'p', vector: [1, 2], payload: proto }]), invalid('payload.__proto__'));
    await assert.rejects(v.layers.commit({ resources: { 'urn:x': proto } }), (err: unknown) => err instanceof ValidationError);
    await assert.rejects(v.traces.put('t', proto), (err: unknown) => err instanceof ValidationError);
    await assert.rejects(v.traces.put('t', [proto]), (err: unknown) => err instanceof ValidationError);
    assert.equal(v.count(), 0);
    assert.equal(v.traces.count(), 0);
    await db.close();
  });

  it('every other own key and value comes back the same, after reopen and after checkpoint', async () => {
    const dir = dbPath();
    const keys = ['constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto_', 'proto', '', ' ', '0', '1e3', 'a.b', '$in', 'ünï', '__defineGetter__'];
    const payload: Payload = {};
    for (const [i, k] of keys.entries()) payload[k] = { [k]: i, list: [k, null, i] };
    payload.neg = -1.5;
    payload.big = 2 ** 53 - 1;
    payload.bytes = new Uint8Array([0, 255]);
    let db = await open(dir, { dimension: 2 });
    const v = await db.createVault('v');
    await v.insert('r', [1, 2], payload);
    await v.traces.put('t', [payload, 1, 'x']);
    // Bytes come back as a Uint8Array (sometimes its Buffer subclass): compared by content.
    const plain = (x: unknown): unknown =>
      x instanceof Uint8Array ? { bytes: [...x] } : Array.isArray(x) ? x.map(plain) : x && typeof x === 'object' ? Object.fromEntries(Object.entries(x).map(([k, y]) => [k, plain(y)])) : x;
    const same = (d: typeof db) => {
      const got = d.vault('v').get('r')!.payload!;
      assert.deepEqual(Object.keys(got), Object.keys(payload));
      assert.ok(got.bytes instanceof Uint8Array);
      assert.deepEqual(plain(got), plain(payload));
      assert.equal(Object.getPrototypeOf(got), Object.prototype);
      assert.deepEqual(plain(d.vault('v').traces.get('t')?.trace), plain([payload, 1, 'x']));
    };
    same(db);
    await db.close();
    db = await open(dir);
    same(db);
    await db.checkpoint();
    await db.close();
    db = await open(dir);
    same(db);
    await db.close();
  });

  it('-0 is stored as 0 (the documented normalisation)', async () => {
    const db = await open(undefined, { dimension: 2 });
    const v = await db.createVault('v');
    await v.insert('z', [1, 2], { z: -0 });
    assert.ok(Object.is(v.get('z')!.payload!.z, 0));
    await db.close();
  });
});
