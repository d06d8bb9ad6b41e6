import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { open } from '../../src/index.js';
import { checkDatabase } from '../../src/engine/maintenance/check.js';
import { FRAME_HEADER_SIZE, WalVersion } from '../../src/format/constants.js';
import { frameCrc, parseWalHeader, walHeaderV1 } from '../../src/wal/frame.js';
import { scanWal } from '../../src/wal/wal-reader.js';
import { decodeManifest, encodeManifest } from '../../src/segments/manifest.js';
import { crc32c } from '../../src/format/crc.js';
import { dbPath } from '../helpers/tmp.js';

/** Rewrites a database as an earlier build left it: a version 1 log (unseeded CRCs) and a manifest without the record. */
function makeLegacy(dir: string): void {
  const wal = fs.readFileSync(path.join(dir, 'wal.log'));
  const chunks: Buffer[] = [walHeaderV1()];
  for (const frame of scanWal(wal).frames) {
    const bytes = Buffer.from(wal.subarray(frame.offset, frame.offset + FRAME_HEADER_SIZE + frame.body.byteLength));
    bytes.writeUInt32LE(frameCrc(bytes, frame.body.byteLength, null), 4);
    chunks.push(bytes);
  }
  fs.writeFileSync(path.join(dir, 'wal.log'), Buffer.concat(chunks));
  const manifest = decodeManifest(fs.readFileSync(path.join(dir, 'quiver.manifest')));
  fs.writeFileSync(path.join(dir, 'quiver.manifest'), Buffer.concat(encodeManifest({ ...manifest, record: null })));
}

describe('log versions', () => {
  it('a database from before log version 2 opens read-only as it is, and its first read-write open moves it to a recorded version 2 log', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2 });
    const v = await db.createVault('v');
    await v.insert('a', [1, 0]);
    await db.checkpoint();
    await v.insert('b', [0, 1]);
    await db.close();
    makeLegacy(dir);
    assert.equal(parseWalHeader(fs.readFileSync(path.join(dir, 'wal.log')))!.version, WalVersion.unsalted);
    assert.equal((await checkDatabase(dir)).ok, true);

    const reader = await open(dir, { readOnly: true });
    assert.deepEqual(reader.vault('v').ids().sort(), ['a', 'b']);
    await reader.close();
    assert.equal(parseWalHeader(fs.readFileSync(path.join(dir, 'wal.log')))!.version, WalVersion.unsalted, 'a reader changes nothing');

    const writer = await open(dir);
    assert.deepEqual(writer.vault('v').ids().sort(), ['a', 'b']);
    await writer.vault('v').insert('c', [1, 1]);
    await writer.close();
    const header = parseWalHeader(fs.readFileSync(path.join(dir, 'wal.log')))!;
    assert.equal(header.version, WalVersion.salted);
    assert.equal(decodeManifest(fs.readFileSync(path.join(dir, 'quiver.manifest'))).record?.logId, header.logId, 'the manifest now records the log');
    const again = await open(dir, { readOnly: true });
    assert.deepEqual(again.vault('v').ids().sort(), ['a', 'b', 'c']);
    await again.close();
  });

  it('a frame sealed with another generation\'s salt does not validate', async () => {
    const dir = dbPath();
    const db = await open(dir, { dimension: 2 });
    await db.createVault('v');
    await db.close();
    const wal = fs.readFileSync(path.join(dir, 'wal.log'));
    assert.equal(scanWal(wal).frames.length, 1);
    wal.writeUInt32LE((wal.readUInt32LE(12) + 1) >>> 0, 12); // another salt...
    wal.writeUInt32LE(crc32c(wal.subarray(0, 16)), 16); // ...under a valid header
    const scan = scanWal(wal);
    assert.equal(scan.frames.length, 0);
    assert.equal(scan.dropped?.reason, 'checksum_mismatch');
  });
});
