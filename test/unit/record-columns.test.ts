import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CorruptionError } from '../../src/errors.js';
import { encode } from '../../src/format/codec.js';
import { decodeRecords, encodeRecords, recordColumns } from '../../src/segments/records-section.js';
import { VectorBlock } from '../../src/segments/vector-block.js';
import { RecordStore } from '../../src/vault/record-store.js';
import { StoredRecord } from '../../src/vault/stored-record.js';
import type { DocumentInfo } from '../../src/vault/document.js';
import { seededRandom } from '../../src/util/random.js';

const DIM = 2;
const fail = (why: string): never => {
  throw new CorruptionError('test.segment', why);
};
const doc: DocumentInfo = { text: 'héllo', chunk: null, lineage: { provider: 'local', model: 'm', revision: 'r', fingerprint: 'f', at: '2026-12-01T00:00:00.000Z' } };

/** `n` records with labels 0, 2, 4, ... (gaps, as after erases), some ids non-ASCII, some payloads and documents. */
function segmentRecords(n: number, ascii: boolean, docs: boolean): StoredRecord[] {
  return Array.from({ length: n }, (_, i) => {
    const id = ascii || i % 3 ? `r${i}` : `ré${i}`;
    const payload = i % 4 === 0 ? null : encode({ i, tag: i % 2 ? 'odd' : 'even' });
    return new StoredRecord(id, 2 * i, new Float32Array([i, -i]), payload, 10 + i, docs && i % 5 === 0 ? doc : null);
  });
}

/** The same section loaded twice: as columns (what open does now) and as StoredRecords (as before). */
function stores(records: StoredRecord[]): { columns: RecordStore; eager: RecordStore } {
  const bytes = encodeRecords(records);
  const vectors = new Float32Array(records.length * DIM);
  records.forEach((r, i) => vectors.set(r.vector, i * DIM));
  const block = VectorBlock.resident(vectors);
  const rows = recordColumns(bytes, records.length, block, DIM, 'test.segment', fail);
  assert.ok(rows, 'labels ascend: columns');
  const columns = new RecordStore(DIM);
  assert.equal(columns.load(rows), true);
  const eager = new RecordStore(DIM);
  assert.equal(eager.load(decodeRecords(bytes, records.length, block, DIM, true, fail)), true);
  return { columns, eager };
}

const view = (r: StoredRecord | undefined) => (r ? { id: r.id, label: r.label, lsn: r.lsn, vector: [...r.vector], payload: r.payload, doc: r.doc, bytes: r.bytes(DIM) } : undefined);

/** A store's (label, vector) pairs from its record-free scan, by label (read as they come: the scan reuses its object). */
const scanned = (s: RecordStore): number[][] => Array.from(s.vectors(), (c) => [c.label, ...c.vector]).sort((x, y) => x[0]! - y[0]!);

function same(a: RecordStore, b: RecordStore, ids: string[], at: string): void {
  // First, before the look-ups below make a's rows into records: the scan of rows not yet read.
  assert.deepEqual(scanned(a), [...b.values()].map((r) => [r.label, ...r.vector]).sort((x, y) => x[0]! - y[0]!), `${at}: the exact scan's labels and vectors`);
  assert.deepEqual([a.count, a.bytes, a.nextLabel], [b.count, b.bytes, b.nextLabel], `${at}: count, bytes, next label`);
  assert.deepEqual([...a.values()].map(view), [...b.values()].map(view), `${at}: values() in the same order`);
  for (const id of [...ids, 'absent', '', '\ud800']) assert.deepEqual(view(a.get(id)), view(b.get(id)), `${at}: get ${id}`);
  for (let label = 0; label <= b.nextLabel; label++) {
    assert.deepEqual(view(a.byLabelGet(label)), view(b.byLabelGet(label)), `${at}: label ${label}`);
    assert.equal(a.hasLabel(label), b.byLabelGet(label) !== undefined, `${at}: has label ${label}`);
  }
  const labels = a.labelSet();
  assert.equal(labels.size, b.count, `${at}: label set size`);
  for (const r of b.values()) assert.ok(labels.has(r.label), `${at}: label set holds ${r.label}`);
}

describe('RecordStore over a segment\'s columns', () => {
  it('answers exactly as the store of decoded records, through random inserts, upserts, patches and erases', () => {
    for (const [seed, ascii, docs] of [[1, true, false], [2, false, true], [3, true, true], [4, false, false]] as const) {
      const r = seededRandom(seed);
      const { columns, eager } = stores(segmentRecords(60, ascii, docs));
      const ids = [...eager.values()].map((x) => x.id);
      let next = eager.nextLabel;
      same(columns, eager, ids, `seed ${seed} loaded`);
      for (let step = 0; step < 300; step++) {
        const roll = r();
        const id = r() < 0.7 ? ids[Math.floor(r() * ids.length)]! : `new${Math.floor(r() * 40)}`;
        if (!ids.includes(id)) ids.push(id);
        const old = eager.get(id);
        if (roll < 0.35) {
          // An insert or upsert: a new label.
          const label = next++;
          const payload = r() < 0.5 ? null : encode({ step });
          for (const s of [columns, eager]) s.put(new StoredRecord(id, label, new Float32Array([label, 1]), payload, 1000 + step, null));
        } else if (roll < 0.55 && old) {
          // A patch: the same label, a new payload.
          for (const s of [columns, eager]) s.put(s.get(id)!.withPayload(encode({ patched: step }), { patched: step }, 1000 + step));
        } else {
          assert.deepEqual(view(columns.delete(id)), view(eager.delete(id)), `seed ${seed} step ${step}: delete ${id}`);
        }
        same(columns, eager, ids, `seed ${seed} step ${step}`);
      }
    }
  });

  it('finds ids by their bytes only: no match across lone surrogates, U+FFFD or prefixes', () => {
    const records = [new StoredRecord('\ufffd', 0, new Float32Array(DIM), null, 1, null), new StoredRecord('ab', 1, new Float32Array(DIM), null, 1, null), new StoredRecord('abc', 2, new Float32Array(DIM), null, 1, null)];
    const { columns } = stores(records);
    assert.equal(columns.get('\ud800'), undefined);
    assert.equal(columns.get('\ufffd')?.label, 0);
    assert.equal(columns.get('a'), undefined);
    assert.equal(columns.get('abc')?.label, 2);
    assert.equal(columns.get('x'.repeat(2000)), undefined);
  });

  it('reports two records sharing an id as CorruptionError on the first look-up by id', () => {
    const a = new StoredRecord('same', 0, new Float32Array(DIM), null, 1, null);
    const b = new StoredRecord('same', 1, new Float32Array(DIM), null, 2, null);
    const block = VectorBlock.resident(new Float32Array(2 * DIM));
    const rows = recordColumns(encodeRecords([a, b]), 2, block, DIM, 'test.segment', fail)!;
    const store = new RecordStore(DIM);
    assert.equal(store.load(rows), true);
    assert.equal(store.byLabelGet(1)?.id, 'same');
    assert.throws(() => store.get('same'), (err: unknown) => err instanceof CorruptionError && /share an id/.test(err.message));
  });

  it('refuses to walk a base whose rows share an id (checkpoint, compaction, export): one of them is never dropped silently', () => {
    const a = new StoredRecord('same', 0, new Float32Array(DIM), null, 1, null);
    const b = new StoredRecord('same', 1, new Float32Array(DIM), null, 2, null);
    const c = new StoredRecord('other', 2, new Float32Array(DIM), null, 3, null);
    const block = VectorBlock.resident(new Float32Array(3 * DIM));
    const store = new RecordStore(DIM);
    assert.equal(store.load(recordColumns(encodeRecords([a, b, c]), 3, block, DIM, 'test.segment', fail)!), true);
    assert.throws(() => [...store.values()], (err: unknown) => err instanceof CorruptionError && /share an id/.test(err.message));
  });

  it('refuses a section that flags its ids ASCII when they are not (they would be listed but never found)', () => {
    const bytes = Buffer.from(encodeRecords([new StoredRecord('ab', 0, new Float32Array(DIM), null, 1, null), new StoredRecord('zz', 1, new Float32Array(DIM), null, 2, null)]));
    assert.equal(bytes.readUInt32LE(4) & 1, 1, 'ASCII ids are flagged');
    bytes[8 + 6 * 4 * 2] = 0xc3; // the first id's first byte
    const block = VectorBlock.resident(new Float32Array(2 * DIM));
    assert.throws(() => recordColumns(bytes, 2, block, DIM, 'test.segment', fail), (err: unknown) => err instanceof CorruptionError && /ASCII/.test(err.message));
    assert.throws(() => decodeRecords(bytes, 2, block, DIM, true, fail), (err: unknown) => err instanceof CorruptionError && /ASCII/.test(err.message));
  });

  it('leaves a section whose labels do not ascend to the decoder', () => {
    const records = [new StoredRecord('a', 3, new Float32Array(DIM), null, 1, null), new StoredRecord('b', 1, new Float32Array(DIM), null, 1, null)];
    const block = VectorBlock.resident(new Float32Array(2 * DIM));
    assert.equal(recordColumns(encodeRecords(records), 2, block, DIM, 'test.segment', fail), null);
    const bytes = Buffer.from(encodeRecords(records));
    bytes.writeUInt32LE(0, 8 + 3 * 4 * 2 + 4);
    assert.throws(() => recordColumns(bytes, 2, block, DIM, 'test.segment', fail), CorruptionError, 'offsets are checked first');
  });
});
