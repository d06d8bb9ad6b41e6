import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkDatabase, CorruptionError, open } from '../../src/index.js';
import { SectionKind } from '../../src/format/constants.js';
import { crc32c } from '../../src/format/crc.js';
import { decodeSectioned, encodeSectioned } from '../../src/format/sectioned-file.js';
import { graphLag } from '../../src/engine/maintenance/checkpoint-files.js';
import { decodeManifest, encodeManifest, type Manifest } from '../../src/segments/manifest.js';
import { DELTA_VERSION } from '../../src/segments/delta-file.js';
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

/** A copy of `dir` whose first delta has an empty ERASED (sections re-encoded, the manifest's size and CRC rewritten). */
function withoutErasures(dir: string): { copy: string; delta: string } {
  const copy = path.join(tmpDir(), 'db');
  fs.cpSync(dir, copy, { recursive: true });
  const manifest = manifestOf(copy);
  const ref = manifest.vaults[0]!.deltas![0]!;
  const file = path.join(copy, ref.path);
  const parsed = decodeSectioned(fs.readFileSync(file), 'delta', ref.path);
  const sections = parsed.sections.map((s) => (s.kind === SectionKind.erased ? { kind: s.kind, payload: new Uint8Array(4) } : s));
  const bytes = Buffer.concat(encodeSectioned('delta', DELTA_VERSION, sections));
  fs.writeFileSync(file, bytes);
  manifest.vaults[0]!.deltas![0] = { path: ref.path, bytes: bytes.byteLength, crc32c: crc32c(bytes) };
  writeManifest(copy, manifest);
  return { copy, delta: ref.path };
}

const opens = [[false, true], [false, false], [true, true], [true, false]] as const;

describe('delta segments applied by label (FORMAT.md "Delta segments")', () => {
  it('a delta record whose id a base row still holds under another label is CorruptionError on the first look-up by id, and in check', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: DIM, index: { type: 'hnsw' } });
    const v = await db.createVault('v');
    await v.insertMany(vs.slice(0, 200).map((vector, i) => ({ id: `r${i}`, vector })));
    await db.checkpoint();
    // r5 erased and written again: a new label, and the old one in the delta's ERASED.
    await v.erase('r5');
    await v.insert('r5', vs[300]!);
    await db.checkpoint();
    await db.close();
    assert.equal(manifestOf(dir).vaults[0]!.deltas?.length, 1);
    const good = path.join(tmpDir(), 'db');
    fs.cpSync(dir, good, { recursive: true });

    // Without its ERASED, the delta's r5 lies beside the base's r5.
    const { copy, delta } = withoutErasures(dir);
    for (const [readOnly, native] of opens) {
      await withNative(native, async () => {
        const reopened = await open(copy, { readOnly });
        try {
          assert.throws(() => reopened.vault('v').get('r5'), (err: unknown) => err instanceof CorruptionError && err.file === delta && /does not keep its label/.test(err.message), `readOnly ${readOnly}, native ${native}`);
        } finally {
          await reopened.close();
        }
      });
    }
    const report = await checkDatabase(copy);
    assert.ok(report.problems.some((p) => p.file === delta), JSON.stringify(report.problems));

    // The same database undamaged: r5 is the delta's, once.
    for (const [readOnly, native] of opens) {
      await withNative(native, async () => {
        const reopened = await open(good, { readOnly });
        assert.deepEqual(Array.from(reopened.vault('v').get('r5')!.vector), Array.from(vs[300]!));
        assert.equal(reopened.vault('v').count(), 200);
        await reopened.close();
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
