import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptionError } from '../../src/errors.js';
import { encode } from '../../src/format/codec.js';
import { decodeRecords, encodeRecords } from '../../src/segments/records-section.js';
import { StoredRecord } from '../../src/vault/stored-record.js';
import type { DocumentInfo } from '../../src/vault/document.js';

const DIM = 3;
const fail = (why: string): never => {
  throw new CorruptionError('test.segment', why);
};

function sample(): StoredRecord[] {
  const doc: DocumentInfo = { text: 'héllo wörld', chunk: { docId: 'd', index: 0, start: 0, end: 11 }, lineage: { provider: 'local', model: 'm', revision: 'r', fingerprint: 'f', at: '2026-11-21T00:00:00.000Z' } };
  return [
    new StoredRecord('a', 0, new Float32Array([1, 2, 3]), encode({ k: 1 }), 1, null),
    new StoredRecord('b', 2, new Float32Array([4, 5, 6]), null, 2 ** 40 + 7, null),
    new StoredRecord('δ-naïve', 5, new Float32Array([7, 8, 9]), encode({ nested: { x: [1, 'y'] } }), 3, doc),
  ];
}

function decoded(records: StoredRecord[], bytes: Uint8Array, share: boolean): StoredRecord[] {
  const block = new Float32Array(records.length * DIM);
  records.forEach((r, i) => block.set(r.vector, i * DIM));
  return decodeRecords(bytes, records.length, block, DIM, share, fail);
}

const view = (r: StoredRecord) => ({ id: r.id, label: r.label, lsn: r.lsn, vector: [...r.vector], payload: r.payload, bytes: r.payloadBytes ? [...r.payloadBytes] : null, doc: r.doc });

describe('RECORDS section (columnar)', () => {
  it('round-trips ids (non-ASCII too), labels, LSNs past 2^32, payloads, documents and empty vaults', () => {
    const records = sample();
    for (const share of [true, false]) {
      assert.deepEqual(decoded(records, encodeRecords(records), share).map(view), records.map(view));
    }
    const ascii = records.slice(0, 2);
    assert.deepEqual(decoded(ascii, encodeRecords(ascii), true).map(view), ascii.map(view));
    assert.deepEqual(decoded([], encodeRecords([]), true), []);
  });

  it('keeps payloads as ranges when the section shares the vector block\'s buffer (a segment read whole)', () => {
    const records = sample();
    const section = encodeRecords(records);
    const vectorBytes = records.length * DIM * 4;
    const whole = new ArrayBuffer(vectorBytes + 8 + section.byteLength);
    const block = new Float32Array(whole, 0, records.length * DIM);
    records.forEach((r, i) => block.set(r.vector, i * DIM));
    const at = vectorBytes + 8 - (vectorBytes % 8);
    new Uint8Array(whole, at, section.byteLength).set(section);
    const out = decodeRecords(new Uint8Array(whole, at, section.byteLength), records.length, block, DIM, true, fail);
    assert.deepEqual(out.map(view), records.map(view));
    assert.equal(out[0]!.payloadBytes!.buffer, whole, 'a view of the shared buffer, not a copy');
    assert.equal(out[0]!.payloadLength, records[0]!.payloadBytes!.byteLength);
    // Relabelled (compaction) it keeps the shared range; with a new vector (re-embedding), the same bytes.
    const relabelled = out[2]!.with({ label: 0 });
    assert.deepEqual([relabelled.label, [...relabelled.payloadBytes!], relabelled.payload], [0, [...out[2]!.payloadBytes!], out[2]!.payload]);
    assert.equal(relabelled.payloadBytes!.buffer, whole);
    const reembedded = out[2]!.with({ label: 0, vector: new Float32Array([0, 0, 1]) });
    assert.deepEqual([[...reembedded.vector], reembedded.payload], [[0, 0, 1], out[2]!.payload]);
  });

  it('reads from a section that is not 4-byte aligned in memory', () => {
    const records = sample();
    const bytes = encodeRecords(records);
    const shifted = new Uint8Array(bytes.byteLength + 1).subarray(1);
    shifted.set(bytes);
    assert.deepEqual(decoded(records, shifted, true).map(view), records.map(view));
  });

  it('refuses a wrong count, a wrong length and offsets that run backwards', () => {
    const records = sample();
    const bytes = Buffer.from(encodeRecords(records));
    assert.throws(() => decodeRecords(bytes, 2, new Float32Array(2 * DIM), DIM, true, fail), CorruptionError);
    assert.throws(() => decoded(records, Buffer.concat([bytes, Buffer.alloc(1)]), true), CorruptionError);
    const backwards = Buffer.from(bytes);
    // idEnd column starts after the header (8 bytes) and three columns of 3 u32: make id 1 end before it starts.
    backwards.writeUInt32LE(0, 8 + 3 * 4 * 3 + 4);
    assert.throws(() => decoded(records, backwards, true), CorruptionError);
  });

  it('refuses a section that flags its ids ASCII when one byte is not, wherever it lies', () => {
    // Enough ids that the blob spans several of the check's slices (512 KiB each).
    const records = Array.from({ length: 120_000 }, (_, i) => new StoredRecord(`id-${i.toString().padStart(8, '0')}`, i, new Float32Array(DIM), null, 1, null));
    const bytes = Buffer.from(encodeRecords(records));
    assert.equal(decoded(records, bytes, true).length, records.length);
    const idBase = 8 + 6 * 4 * records.length;
    for (const at of [idBase, idBase + 700_000, bytes.length - 1]) {
      const bad = Buffer.from(bytes);
      bad[at] = 0xe9;
      assert.throws(() => decoded(records, bad, true), (err: unknown) => err instanceof CorruptionError && /ASCII/.test(err.message), `byte ${at}`);
    }
  });
});

describe('RecordStore.load', () => {
  it('fills an empty store like put() does, and reports records that share an id or a label', async () => {
    const { RecordStore } = await import('../../src/vault/record-store.js');
    const records = sample();
    const loaded = new RecordStore(DIM);
    assert.equal(loaded.load(records), true);
    const put = new RecordStore(DIM);
    for (const r of records) put.put(r);
    assert.deepEqual([loaded.count, loaded.bytes, loaded.nextLabel], [put.count, put.bytes, put.nextLabel]);
    assert.equal(loaded.byLabelGet(5)!.id, 'δ-naïve');
    const [a, b] = records as [StoredRecord, StoredRecord];
    assert.equal(new RecordStore(DIM).load([a, a.with({ label: 9 })]), false, 'same id');
    assert.equal(new RecordStore(DIM).load([a, new StoredRecord('other', a.label, b.vector, null, 1, null)]), false, 'same label');
  });
});
