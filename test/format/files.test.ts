import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open, CorruptionError, type OpenOptions } from '../../src/index.js';
import { checkDatabase } from '../../src/engine/maintenance/check.js';
import { decodeSectioned, encodeSectioned } from '../../src/format/sectioned-file.js';
import { encodeManifest, decodeManifest } from '../../src/segments/manifest.js';
import { crc32c } from '../../src/format/crc.js';
import { HnswIndex, checkGraphHeader } from '../../src/vault/index/hnsw-index.js';
import { dbPath, fingerprint, tmpDir, vectors } from '../helpers/tmp.js';

async function checkpointed(options: OpenOptions = {}): Promise<string> {
  const dir = dbPath();
  const db = await open(dir, { dimension: 8, ...options });
  const v = await db.createVault('v');
  await v.insertMany(vectors(50, 8, 2).map((vector, i) => ({ id: `r${i}`, vector, payload: { i } })));
  await db.checkpoint();
  await db.close();
  return dir;
}

function flip(file: string, at: number): void {
  const bytes = fs.readFileSync(file);
  bytes[at] = bytes[at]! ^ 0x01;
  fs.writeFileSync(file, bytes);
}

function segmentFiles(dir: string): string[] {
  return fs.readdirSync(path.join(dir, 'segments')).sort();
}

describe('every checksummed file: a flipped byte raises CorruptionError naming the file, and changes nothing', () => {
  const cases: [string, (dir: string) => string, OpenOptions?][] = [
    ['IDENTITY', (dir) => path.join(dir, 'IDENTITY')],
    ['quiver.manifest', (dir) => path.join(dir, 'quiver.manifest')],
    ['segment', (dir) => path.join(dir, 'segments', segmentFiles(dir).find((f) => f.endsWith('.segment'))!)],
    ['graph', (dir) => path.join(dir, 'segments', segmentFiles(dir).find((f) => f.endsWith('.hnsw'))!)],
    ['quiver.snapshot', (dir) => path.join(dir, 'quiver.snapshot'), { storage: 'snapshot' }],
  ];
  for (const [name, target, options] of cases) {
    it(name, async () => {
      const dir = await checkpointed(options);
      const file = target(dir);
      const size = fs.statSync(file).size;
      for (const at of [0, 13, Math.floor(size / 2), size - 1]) {
        flip(file, at);
        const before = fingerprint(dir);
        await assert.rejects(open(dir), (err: unknown) => err instanceof CorruptionError && path.join(dir, err.file) === file, `flip at ${at}`);
        assert.deepEqual(fingerprint(dir), before);
        const report = await checkDatabase(dir);
        assert.equal(report.ok, false);
        assert.ok(report.problems.some((p) => path.join(dir, p.file) === file), JSON.stringify(report.problems));
        flip(file, at);
      }
      const db = await open(dir);
      assert.equal(db.vault('v').count(), 50, 'restoring the byte restores the database');
      await db.close();
    });
  }

  it('a flipped bit anywhere in a graph header is corruption, found before hnswlib trusts it', async () => {
    // hnswlib sizes its allocations by the header and reads the file while its checksum runs,
    // so every header field must be refused (checkGraphHeader) or caught by the checksum.
    const dir = await checkpointed();
    const file = path.join(dir, 'segments', segmentFiles(dir).find((f) => f.endsWith('.hnsw'))!);
    for (let at = 0; at < 96; at++) {
      for (const bit of [0x01, 0x80]) {
        const bytes = fs.readFileSync(file);
        bytes[at] = bytes[at]! ^ bit;
        fs.writeFileSync(file, bytes);
        await assert.rejects(open(dir, { readOnly: true }), (err: unknown) => err instanceof CorruptionError && path.join(dir, err.file) === file, `bit ${bit} of byte ${at}`);
        bytes[at] = bytes[at]! ^ bit;
        fs.writeFileSync(file, bytes);
      }
    }
    const db = await open(dir);
    assert.equal(db.vault('v').count(), 50);
    await db.close();
  });

  it('a missing segment, a truncated segment, and a manifest path outside segments/ are corruption', async () => {
    const dir = await checkpointed();
    const seg = path.join(dir, 'segments', segmentFiles(dir).find((f) => f.endsWith('.segment'))!);
    const bytes = fs.readFileSync(seg);
    fs.truncateSync(seg, bytes.byteLength - 3);
    await assert.rejects(open(dir), (err: unknown) => err instanceof CorruptionError && err.file.endsWith('.segment'));
    fs.rmSync(seg);
    await assert.rejects(open(dir), (err: unknown) => err instanceof CorruptionError && /missing/.test(err.message));
    fs.writeFileSync(seg, bytes);

    const manifestFile = path.join(dir, 'quiver.manifest');
    const manifest = decodeManifest(fs.readFileSync(manifestFile));
    const evil = structuredClone(manifest);
    evil.vaults[0]!.segment.path = '../../etc/passwd';
    fs.writeFileSync(manifestFile, Buffer.concat(encodeManifest(evil)));
    await assert.rejects(open(dir), (err: unknown) => err instanceof CorruptionError && err.file === 'quiver.manifest' && /inside segments/.test(err.message));
    fs.writeFileSync(manifestFile, Buffer.concat(encodeManifest(manifest)));
    await (await open(dir)).close();
  });
});

describe('sectioned files', () => {
  it('round-trip sections and reject trailing bytes, bad padding, and a wrong magic', () => {
    const chunks = encodeSectioned('segment', 1, [
      { kind: 2, payload: Buffer.from('abc') },
      { kind: 3, payload: Buffer.alloc(16, 7) },
    ]);
    const bytes = Buffer.concat(chunks);
    assert.equal(bytes.byteLength, 16 + 16 + 8 + 16 + 16);
    const decoded = decodeSectioned(bytes, 'segment', 'f');
    assert.deepEqual(decoded.sections.map((s) => [s.kind, Buffer.from(s.payload).toString('hex')]), [[2, '616263'], [3, '07'.repeat(16)]]);
    assert.throws(() => decodeSectioned(Buffer.concat([bytes, Buffer.alloc(1)]), 'segment', 'f'), CorruptionError);
    const padded = Buffer.from(bytes);
    padded[16 + 16 + 3] = 1;
    assert.throws(() => decodeSectioned(padded, 'segment', 'f'), /padding/);
    assert.throws(() => decodeSectioned(bytes, 'manifest', 'f'), /bad magic/);
    // The header CRC is CRC32C of its first 12 bytes: pin the algorithm with a known vector.
    assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
  });
});

describe('checkGraphHeader', () => {
  it('accepts the header hnswlib writes for this database and refuses fields hnswlib would allocate by', async () => {
    const index = HnswIndex.create('cosine', 4, { M: 8, efConstruction: 50 });
    for (let i = 0; i < 40; i++) index.add(i, new Float32Array([1, i, 2, 3]));
    const file = path.join(tmpDir('quiver-graph-'), 'g.hnsw');
    await index.save(file);
    const bytes = fs.readFileSync(file);
    assert.equal(checkGraphHeader(bytes, bytes.byteLength, 4, 8), null);
    assert.match(checkGraphHeader(bytes, bytes.byteLength, 5, 8)!, /vectors/);
    assert.match(checkGraphHeader(bytes, bytes.byteLength, 4, 16)!, /vectors|parameters/);
    const tampered = (at: number, value: bigint) => {
      const copy = Buffer.from(bytes);
      copy.writeBigUInt64LE(value, at);
      return checkGraphHeader(copy, copy.byteLength, 4, 8);
    };
    assert.match(tampered(8, 1n << 40n)!, /bounds/, 'max elements');
    assert.match(tampered(16, 1000n)!, /bounds/, 'element count past the file');
    assert.match(tampered(0, 1n)!, /vectors/, 'level-0 offset');
    assert.match(checkGraphHeader(bytes.subarray(0, 50), 50, 4, 8)!, /shorter/);
  });
});
