import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, CorruptionError } from '../../src/index.js';
import { encode } from '../../src/format/codec.js';
import { RecordType } from '../../src/format/constants.js';
import { decodeRecord, encodeRecord } from '../../src/format/records.js';
import { scanWal } from '../../src/wal/wal-reader.js';
import { dbPath } from '../helpers/tmp.js';

describe('WAL record types 16 (erase_many) and 17 (patch)', () => {
  it('encode to the bytes FORMAT.md shows and decode back', () => {
    const set = { 'meta.k': 1 };
    const { type, body } = encodeRecord([{ type: 'patch', vault: 0, ids: ['a'], set, setBytes: encode(set), unset: ['tmp'] }], false);
    assert.equal(type, 17);
    assert.equal(Buffer.from(body).toString('hex'), 'de0004a17600a369647391a161a173c40bde0001a66d6574612e6b01a17591a3746d70');
    const [op] = decodeRecord(type, body, 3, 0);
    assert.deepEqual({ ...op, setBytes: undefined }, { type: 'patch', vault: 0, ids: ['a'], set, setBytes: undefined, unset: ['tmp'] });
    const erase = encodeRecord([{ type: 'eraseMany', vault: 2, ids: ['x', 'y'] }], false);
    assert.equal(erase.type, RecordType.eraseMany);
    assert.deepEqual(decodeRecord(erase.type, erase.body, 3, 0), [{ type: 'eraseMany', vault: 2, ids: ['x', 'y'] }]);
  });

  it('a body that does not fit its type is corruption', () => {
    const bad: [number, object][] = [
      [16, { v: 0, ids: 'a' }],
      [16, { v: 0, ids: [''] }],
      [16, { v: 0, ids: [1] }],
      [17, { v: 0, ids: ['a'], s: null, u: [] }],
      [17, { v: 0, ids: ['a'], s: 'nope', u: [] }],
      [17, { v: 0, ids: ['a'], s: encode([1]), u: [] }],
      [17, { v: 0, ids: ['a'], u: [3] }],
      [17, { v: -1, ids: ['a'], u: ['x'] }],
    ];
    for (const [type, body] of bad) assert.throws(() => decodeRecord(type, encode(body), 3, 16), CorruptionError, JSON.stringify(body));
  });

  it('each call is one frame of its type; a batch nests them', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2 });
    const v = await db.createVault('v');
    await v.insertMany([1, 2, 3].map((i) => ({ id: `r${i}`, vector: [1, i], payload: { i } })));
    await v.patch('r1', { set: { a: 1 } });
    await v.patchWhere({ i: { $gte: 2 } }, { unset: ['i'] });
    await v.eraseWhere({ a: 1 });
    await db.batch([{ op: 'eraseWhere', vault: 'v', filter: { i: 99 } }, { op: 'patch', vault: 'v', id: 'r2', set: { b: 2 } }]);
    await db.close();
    const frames = scanWal(fs.readFileSync(path.join(dir, 'wal.log'))).frames;
    assert.deepEqual(frames.map((f) => f.type), [4, 11, 17, 17, 16, 11]);
    const last = decodeRecord(frames[5]!.type, frames[5]!.body, 2, frames[5]!.offset);
    assert.deepEqual(last.map((op) => [op.type, (op as { ids: string[] }).ids]), [['eraseMany', []], ['patch', ['r2']]]);
    assert.deepEqual(decodeRecord(frames[3]!.type, frames[3]!.body, 2, 0).map((op) => (op as { ids: string[] }).ids), [['r2', 'r3']], 'resolved ids, in id order');
  });
});
