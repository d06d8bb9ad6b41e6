/**
 * Every on-disk decoder, fed random and mutated inputs, gives CorruptionError (or a value),
 * never another exception, a hang or a crash: WAL frames (scanWal) and records (decodeRecord),
 * sectioned-file sections, the records section, quiver.manifest, IDENTITY, segments, snapshots,
 * TEXT_EMBEDDER.manifest and .localembed. Inputs are byte-level mutations of real files, and
 * structural ones that keep every CRC valid (a section payload, a JSON body or a msgpack record
 * mutated and re-encoded), so the checks behind the checksums are reached too.
 * `npm run soak` runs fifty times the trials.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, CorruptionError } from '../../src/index.js';
import { decode, encode } from '../../src/format/codec.js';
import { FileName, type MagicKind } from '../../src/format/constants.js';
import { decodeSectioned, encodeSectioned, type Section } from '../../src/format/sectioned-file.js';
import { decodeIdentity } from '../../src/format/identity.js';
import { decodeManifest } from '../../src/segments/manifest.js';
import { decodeSegment } from '../../src/segments/segment-file.js';
import { decodeSnapshot } from '../../src/segments/snapshot-file.js';
import { decodeRecords } from '../../src/segments/records-section.js';
import { decodeEmbedderManifest } from '../../src/embedder/manifest-file.js';
import { decodeLocalEmbed, encodeLocalEmbed } from '../../src/embedder/localembed-file.js';
import { scanWal } from '../../src/wal/wal-reader.js';
import { decodeRecord } from '../../src/format/records.js';
import { fuzz, mutate, mutated, randomBytes, TRIALS, type Random } from '../helpers/fuzz.js';
import { dbPath } from '../helpers/tmp.js';

const DIM = 256; // the local embedder's dimension
const files: Record<string, Buffer> = {};
const logs: Buffer[] = [];

/** Real files: a segmented database with documents, payload indexes, layers and traces, and a snapshot one. */
before(async () => {
  for (const storage of ['segmented', 'snapshot'] as const) {
    const dir = dbPath();
    const db = await open(dir, { embedder: 'local', storage, autoCheckpointBytes: 0 });
    const v = await db.createVault('v', { quota: { maxRecords: 100 } });
    await v.createIndex('tag');
    await v.addDocument({ id: 'd1', text: 'rivers and mountains', payload: { tag: 'geo', n: 1, list: [1, 'x', null], nested: { deep: true } } });
    await v.addText('t', Array.from({ length: 300 }, (_, i) => `word${i % 40}`).join(' '), { payload: { tag: 'long' } });
    await v.insert('raw', Float32Array.from({ length: DIM }, (_, i) => i + 1), { bytes: new Uint8Array([1, 2, 3]) });
    await v.layers.commit({ resources: { 'urn:a': { x: 1 }, 'urn:b': { y: 'z' } }, meta: { by: 'fuzz' } });
    await v.branches.create('side', 'L1');
    await v.traces.put('run/1', { steps: [1, 2, 3] }, { links: { records: ['d1'], layers: ['L1'] } });
    await v.traces.setRetention({ maxCount: 10 });
    await db.createVault('empty');
    await db.checkpoint();
    // The log after the checkpoint: one record of every kind.
    await v.insert('after', Float32Array.from({ length: DIM }, (_, i) => -i - 1), { n: 2 });
    await v.erase('raw');
    await db.batch([{ op: 'insert', vault: 'empty', id: 'e', vector: Float32Array.from({ length: DIM }, () => 1) }, { op: 'trace.delete', vault: 'v', key: 'run/1' }]);
    await v.layers.commit({ resources: { 'urn:a': null } });
    await v.branches.update('side', 'L2');
    await v.dropIndex('tag');
    await db.dropVault('empty');
    await db.close();
    logs.push(fs.readFileSync(path.join(dir, FileName.wal)));
    for (const name of fs.readdirSync(dir, { recursive: true }) as string[]) {
      const full = path.join(dir, name);
      if (fs.statSync(full).isFile() && !name.endsWith('.localembed')) files[`${storage}/${name}`] = fs.readFileSync(full);
    }
  }
});

const sample = (suffix: string): Buffer[] => Object.entries(files).filter(([name]) => name.endsWith(suffix)).map(([, bytes]) => bytes);

/** A small .localembed table (the real one is megabytes; the decoder is the same). */
function localEmbed(): Buffer {
  const words = ['a', 'bb', 'ccc', 'dddd', 'eeeee'];
  const table = {
    meta: { words: words.length, dimension: 4, name: 'fuzz' },
    vocabulary: words,
    weights: new Float32Array([1, 2, 3, 4, 5]),
    scales: new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5]),
    vectors: Int8Array.from({ length: 20 }, (_, i) => i - 10),
  };
  return Buffer.concat(encodeLocalEmbed(table as never));
}

/** A random JSON-ish value: what a mutated body might hold instead of the right thing. */
function randomValue(r: Random, depth = 0): unknown {
  const pick = Math.floor(r() * (depth > 2 ? 7 : 9));
  switch (pick) {
    case 0: return null;
    case 1: return r() < 0.5;
    case 2: return Math.floor(r() * 2 ** 33) - 2 ** 32;
    case 3: return [-1, 0, 0.5, 1e300, -0, 2 ** 53][Math.floor(r() * 6)];
    case 4: return ['', 'x', 'segments/vault_1_1.segment', 'L1', 'main', '__proto__'][Math.floor(r() * 6)];
    case 5: return undefined;
    case 6: return new Uint8Array(Math.floor(r() * 12));
    case 7: return Array.from({ length: Math.floor(r() * 4) }, () => randomValue(r, depth + 1));
    default: return Object.fromEntries(Array.from({ length: Math.floor(r() * 4) }, (_, i) => [['v', 'id', 'ops', 'name', 'layer', `k${i}`][Math.floor(r() * 6)]!, randomValue(r, depth + 1)]));
  }
}

/** A copy of `value` with one node (chosen at random) replaced, removed or changed in type. */
function mutateValue(value: unknown, r: Random): unknown {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array || r() < 0.2) return randomValue(r);
  if (Array.isArray(value)) {
    const out = [...value];
    if (out.length === 0 || r() < 0.15) out.push(randomValue(r));
    else if (r() < 0.15) out.splice(Math.floor(r() * out.length), 1);
    else {
      const i = Math.floor(r() * out.length);
      out[i] = mutateValue(out[i], r);
    }
    return out;
  }
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const keys = Object.keys(out);
  if (keys.length === 0 || r() < 0.1) out[`extra${Math.floor(r() * 3)}`] = randomValue(r);
  else if (r() < 0.15) delete out[keys[Math.floor(r() * keys.length)]!];
  else {
    const k = keys[Math.floor(r() * keys.length)]!;
    out[k] = mutateValue(out[k], r);
  }
  return out;
}

/**
 * A sectioned file with valid CRCs but one thing changed: a section's payload mutated (a JSON
 * one through its value, so it stays JSON), a section dropped, repeated or given another kind.
 */
function structural(kind: MagicKind, samples: readonly Buffer[]): (r: Random) => Uint8Array {
  const parsed = samples.map((s) => decodeSectioned(s, kind, 'sample'));
  return (r) => {
    const file = parsed[Math.floor(r() * parsed.length)]!;
    const sections: Section[] = file.sections.map((s) => ({ ...s }));
    const i = Math.floor(r() * sections.length);
    const s = sections[i]!;
    const what = r();
    if (what < 0.1) sections.splice(i, 1);
    else if (what < 0.15) sections.push({ ...s });
    else if (what < 0.22) s.kind = Math.floor(r() * 24);
    else if (s.kind === 1 && what < 0.75) {
      // JSON body: mutate the value, or break the text.
      const value = JSON.parse(Buffer.from(s.payload).toString('utf8')) as unknown;
      s.payload = Buffer.from(r() < 0.85 ? (JSON.stringify(mutateValue(value, r)) ?? 'null') : Buffer.from(mutate(s.payload, r)).toString('latin1'), 'utf8');
    } else if (what < 0.6) {
      // A msgpack body (most vault sections): mutate the decoded value and encode it again.
      let value: unknown;
      try {
        value = decode(s.payload);
      } catch {
        value = undefined;
      }
      s.payload = value === undefined ? mutate(s.payload, r) : encode(mutateValue(value, r));
    } else {
      s.payload = mutate(s.payload, r);
    }
    return Buffer.concat(encodeSectioned(kind, r() < 0.05 ? Math.floor(r() * 4) : file.version, sections));
  };
}

function check(name: string, failures: ReturnType<typeof fuzz>): void {
  assert.deepEqual(failures, [], `${name}: decoders must raise CorruptionError only`);
}

const both = (seed: number, kind: MagicKind, samples: Buffer[], decoder: (b: Uint8Array) => unknown) => {
  assert.ok(samples.length > 0, `no sample for ${kind}`);
  check(`${kind} (bytes)`, fuzz(seed, TRIALS, mutated(samples), decoder));
  check(`${kind} (structure)`, fuzz(seed + 1, TRIALS, structural(kind, samples), decoder));
};

describe('decoder fuzzing', { timeout: 20 * 60_000 }, () => {
  it('sectioned files: any bytes give CorruptionError or a file', () => {
    for (const kind of ['identity', 'manifest', 'segment', 'snapshot', 'embedderManifest'] as const) {
      const samples = Object.values(files).filter((b) => b.subarray(0, 4).toString('latin1') === { identity: 'QVID', manifest: 'QVMF', segment: 'QVSG', snapshot: 'QVSN', embedderManifest: 'QVEM' }[kind]);
      check(kind, fuzz(11, TRIALS, mutated(samples), (b) => decodeSectioned(b, kind, kind)));
    }
    check('random', fuzz(12, TRIALS, (r) => randomBytes(r, Math.floor(r() * 256)), (b) => decodeSectioned(b, 'segment', 'x')));
  });

  it('IDENTITY', () => both(21, 'identity', sample('IDENTITY'), decodeIdentity));
  it('quiver.manifest', () => both(31, 'manifest', sample('quiver.manifest'), decodeManifest));
  it('TEXT_EMBEDDER.manifest', () => both(41, 'embedderManifest', sample('TEXT_EMBEDDER.manifest'), decodeEmbedderManifest));
  it('.localembed', () => both(51, 'localEmbed', [localEmbed()], (b) => decodeLocalEmbed(b, 'x.localembed')));
  it('segments', () => both(61, 'segment', sample('.segment'), (b) => decodeSegment(b, DIM, 'segments/x.segment')));
  it('snapshots', () => both(71, 'snapshot', sample('quiver.snapshot'), (b) => decodeSnapshot(b, DIM)));

  it('the records section', () => {
    const segments = sample('.segment').map((s) => decodeSectioned(s, 'segment', 'x'));
    const sections = segments.flatMap((f) => f.sections.filter((s) => s.kind === 4).map((s) => Buffer.from(s.payload)));
    assert.ok(sections.length > 0);
    const fail = (why: string): never => {
      throw new CorruptionError('x.segment', why);
    };
    for (const count of [0, 1, 3, 5]) {
      const block = new Float32Array(Math.max(1, count) * DIM);
      check(`records (count ${count})`, fuzz(81 + count, TRIALS, mutated(sections), (b) => decodeRecords(b, count, block, DIM, count % 2 === 0, fail)));
    }
  });

  it('wal.log frames: scanWal reports damage, raises CorruptionError only for the header', () => {
    check('wal', fuzz(91, TRIALS, mutated(logs), (b) => scanWal(Buffer.from(b))));
    check('wal random', fuzz(92, TRIALS, (r) => randomBytes(r, Math.floor(r() * 200)), (b) => scanWal(Buffer.from(b))));
  });

  it('wal.log records: every frame body, mutated as bytes or as a value, decodes or raises CorruptionError', () => {
    const frames = logs.flatMap((l) => scanWal(l).frames);
    assert.ok(frames.length >= 8, `only ${frames.length} frames`);
    const pick = (r: Random) => frames[Math.floor(r() * frames.length)]!;
    const types = [...new Set(frames.map((f) => f.type))];
    check('records (bytes)', fuzz(101, TRIALS * 2, (r) => {
      const f = pick(r);
      return Buffer.concat([Buffer.from([r() < 0.1 ? Math.floor(r() * 32) : f.type]), mutate(f.body, r)]);
    }, (b) => decodeRecord(b[0]!, b.subarray(1), DIM, 0)));
    check('records (values)', fuzz(102, TRIALS * 2, (r) => {
      const f = pick(r);
      return Buffer.concat([Buffer.from([r() < 0.1 ? types[Math.floor(r() * types.length)]! : f.type]), encode(mutateValue(decode(f.body), r))]);
    }, (b) => decodeRecord(b[0]!, b.subarray(1), DIM, 0)));
  });

  it('found by the soak: a layer record whose resource value is bytes that are not one msgpack document', () => {
    const input = Buffer.from('0bde0001a36f7073919206de0003a17601a56c6179657296a24c32a24c31a46d61696ec403000000cb427a230f6bde60009192a575726e3a61c0a46d6f7665a46d61696e', 'hex');
    assert.throws(() => decodeRecord(input[0]!, input.subarray(1), DIM, 0), CorruptionError);
  });
});
