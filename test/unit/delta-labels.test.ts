import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkDatabase, CorruptionError, open, type Database } from '../../src/index.js';
import { RecordChain } from '../../src/vault/record-chain.js';
import { SectionKind } from '../../src/format/constants.js';
import { crc32c } from '../../src/format/crc.js';
import { decodeSectioned, encodeSectioned } from '../../src/format/sectioned-file.js';
import { graphLag } from '../../src/engine/maintenance/checkpoint-files.js';
import { decodeManifest, encodeManifest, type Manifest } from '../../src/segments/manifest.js';
import { decodeDelta, DELTA_VERSION } from '../../src/segments/delta-file.js';
import { dbPath, tmpDir, vectors } from '../helpers/tmp.js';
import { withNative } from '../helpers/native-env.js';

// Open applies delta segments by label, not id (RecordStore.putLabelled): these are the
// corruptions that used to be caught by look-ups by id at open, and where each is caught now.

const DIM = 12;
const vs = vectors(400, DIM, 9);
const savedLag = { ...graphLag };
afterEach(() => Object.assign(graphLag, savedLag));

function manifestOf(dir: string): Manifest {
  return decodeManifest(fs.readFileSync(path.join(dir, 'quiver.manifest')));
}

function writeManifest(dir: string, manifest: Manifest): void {
  fs.writeFileSync(path.join(dir, 'quiver.manifest'), Buffer.concat(encodeManifest(manifest)));
}

/** A copy of `dir` whose first delta names record `from` `to` instead (ids of one length; sections re-encoded, the manifest's size and CRC rewritten). */
function renamed(dir: string, from: string, to: string, k = 0): { copy: string; delta: string } {
  const copy = path.join(tmpDir(), 'db');
  fs.cpSync(dir, copy, { recursive: true });
  const manifest = manifestOf(copy);
  const ref = manifest.vaults[0]!.deltas![k]!;
  const file = path.join(copy, ref.path);
  const parsed = decodeSectioned(fs.readFileSync(file), 'delta', ref.path);
  const sections = parsed.sections.map((s) => {
    if (s.kind !== SectionKind.records) return s;
    const payload = Buffer.from(s.payload);
    const at = payload.indexOf(from);
    assert.ok(at > 0 && payload.indexOf(from, at + 1) < 0 && from.length === to.length);
    payload.write(to, at);
    return { kind: s.kind, payload };
  });
  const bytes = Buffer.concat(encodeSectioned('delta', DELTA_VERSION, sections));
  fs.writeFileSync(file, bytes);
  manifest.vaults[0]!.deltas![k] = { path: ref.path, bytes: bytes.byteLength, crc32c: crc32c(bytes) };
  writeManifest(copy, manifest);
  return { copy, delta: ref.path };
}

/** The vault's record store (white-box: RecordStore.base, RecordStore.byId). */
function storeOf(db: Database): { base: unknown; byId: Map<string, unknown> } {
  const state = (db as unknown as { parts: { state: { vaults: Map<number, { records: unknown }> } } }).parts.state;
  return [...state.vaults.values()][0]!.records as { base: unknown; byId: Map<string, unknown> };
}

const opens = [[false, true], [false, false], [true, true], [true, false]] as const;

describe('delta segments applied by label (FORMAT.md "Delta segments")', () => {
  for (const [kind, share] of [['holding its vectors (after the graph)', 1], ['with GRAPH_VECTORS (a record chain)', 0]] as const) {
    it(`a delta ${kind} whose record's id a base row still holds under another label is CorruptionError on the first look-up by id, and in check`, async () => {
      graphLag.share = share;
      const dir = dbPath();
      const db = await open(dir, { dimension: DIM, index: { type: 'hnsw' } });
      const v = await db.createVault('v');
      await v.insertMany(vs.slice(0, 200).map((vector, i) => ({ id: `r${i}`, vector })));
      await db.checkpoint();
      await v.insert('n7', vs[300]!);
      await db.checkpoint();
      await db.close();
      const entry = manifestOf(dir).vaults[0]!;
      assert.equal(entry.deltas?.length, 1);
      assert.equal(decodeDelta(fs.readFileSync(path.join(dir, entry.deltas![0]!.path)), DIM, 'delta').rows === null, share === 1, 'the delta kind');

      // The delta's n7 renamed r7: a second r7, beside the base's under label 7.
      const { copy, delta } = renamed(dir, 'n7', 'r7');
      for (const [readOnly, native] of opens) {
        await withNative(native, async () => {
          const reopened = await open(copy, { readOnly });
          try {
            assert.throws(() => reopened.vault('v').get('r7'), (err: unknown) => err instanceof CorruptionError && err.file === delta && /does not keep its label/.test(err.message), `readOnly ${readOnly}, native ${native}`);
          } finally {
            await reopened.close();
          }
        });
      }
      const report = await checkDatabase(copy);
      assert.ok(report.problems.some((p) => p.file === delta), JSON.stringify(report.problems));

      // The same database undamaged.
      for (const [readOnly, native] of opens) {
        await withNative(native, async () => {
          const reopened = await open(dir, { readOnly });
          assert.deepEqual(Array.from(reopened.vault('v').get('n7')!.vector), Array.from(vs[300]!));
          assert.deepEqual(Array.from(reopened.vault('v').get('r7')!.vector), Array.from(vs[7]!));
          assert.equal(reopened.vault('v').count(), 201);
          await reopened.close();
        });
      }
      assert.ok((await checkDatabase(dir)).ok);
    });
  }

  it('the error names the delta at fault, not the first that added records', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: DIM, index: { type: 'hnsw' } });
    const v = await db.createVault('v');
    await v.insertMany(vs.slice(0, 200).map((vector, i) => ({ id: `r${i}`, vector })));
    await db.checkpoint();
    // A delta with GRAPH_VECTORS adding records, then one after the graph adding n7.
    graphLag.share = 0;
    await v.insertMany(vs.slice(200, 203).map((vector, i) => ({ id: `m${i}`, vector })));
    await db.checkpoint();
    graphLag.share = 1;
    await v.insert('n7', vs[300]!);
    await db.checkpoint();
    await db.close();
    assert.equal(manifestOf(dir).vaults[0]!.deltas?.length, 2);
    const { copy, delta } = renamed(dir, 'n7', 'r7', 1);
    for (const [readOnly, native] of opens) {
      await withNative(native, async () => {
        const reopened = await open(copy, { readOnly });
        try {
          assert.throws(() => reopened.vault('v').get('m1'), (err: unknown) => err instanceof CorruptionError && err.file === delta, `readOnly ${readOnly}, native ${native}`);
        } finally {
          await reopened.close();
        }
      });
    }
  });

  it('a delta before the graph holding a record no later delta writes again or erases is CorruptionError at open', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: DIM, index: { type: 'hnsw' } });
    const v = await db.createVault('v');
    await v.insertMany(vs.slice(0, 200).map((vector, i) => ({ id: `r${i}`, vector })));
    await db.checkpoint();
    // A checkpoint that keeps the graph (its delta holds VECTORS), then one that saves it.
    graphLag.share = 1;
    await v.insertMany(vs.slice(200, 210).map((vector, i) => ({ id: `n${i}`, vector })));
    await v.erase('r1');
    await db.checkpoint();
    graphLag.share = 0;
    await v.erase('n0');
    await v.insert('n1', vs[220]!);
    await v.insert('x', vs[221]!);
    await db.checkpoint();
    await db.close();
    const manifest = manifestOf(dir);
    const [first, second] = manifest.vaults[0]!.deltas!;
    assert.ok(first && second && manifest.vaults[0]!.deltas!.length === 2);
    for (const [readOnly, native] of opens) {
      await withNative(native, async () => {
        const reopened = await open(dir, { readOnly });
        assert.equal(reopened.vault('v').count(), 209);
        assert.equal(reopened.vault('v').get('n0'), null);
        assert.deepEqual(Array.from(reopened.vault('v').get('n1')!.vector), Array.from(vs[220]!));
        assert.deepEqual(Array.from(reopened.vault('v').get('n2')!.vector), Array.from(vs[202]!));
        assert.equal(reopened.vault('v').get('r1'), null);
        // The graph's delta's records are rows of a chain after the base's, not a record object each.
        const store = storeOf(reopened);
        assert.ok(store.base instanceof RecordChain && store.byId.size === 0, `readOnly ${readOnly}, native ${native}: ${store.byId.size} records made`);
        await reopened.close();
      });
    }
    // Without the graph's delta, the first delta's records are in no saved graph.
    const copy = path.join(tmpDir(), 'db');
    fs.cpSync(dir, copy, { recursive: true });
    writeManifest(copy, { ...manifest, vaults: [{ ...manifest.vaults[0]!, deltas: [first] }] });
    for (const [readOnly, native] of opens) {
      await withNative(native, async () => {
        await assert.rejects(open(copy, { readOnly }), (err: unknown) => err instanceof CorruptionError && err.file === first.path && /in no saved graph/.test(err.message), `readOnly ${readOnly}, native ${native}`);
      });
    }
  });
});
