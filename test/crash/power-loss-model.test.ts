import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FaultFileSystem } from '../helpers/fault-fs.js';
import { tmpDir } from '../helpers/tmp.js';

/** The crash model itself: what a power cut keeps and what it takes (FORMAT.md "Crash analysis"). */
describe('the fault filesystem under power loss', () => {
  const bytes = (s: string) => Buffer.from(s);

  it('drops bytes written since the last fsync, and puts back a size truncated since', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'f');
    fs.writeFileSync(file, 'durable');
    const ffs = new FaultFileSystem();
    const fd = ffs.openSync(file, 'readwrite');
    ffs.writeSync(fd, bytes('!!'), 7);
    await ffs.fsync(fd);
    ffs.writeSync(fd, bytes('lost'), 9);
    await ffs.truncate(fd, 3);
    ffs.closeSync(fd);
    ffs.powerLoss();
    assert.equal(fs.readFileSync(file, 'utf8'), 'durable!!');
  });

  it('does not bring back a temporary directory made and removed before the power cut', async () => {
    const ffs = new FaultFileSystem();
    const made = await ffs.makeTempDir('quiver-graph-');
    await ffs.writeNative(path.join(made, 'g.hnsw'), async (p) => fs.writeFileSync(p, 'graph'), false);
    await ffs.removeTree(made);
    ffs.powerLoss();
    assert.equal(fs.existsSync(made), false, `${made} stays gone`);
    // One still there at the cut was never made durable either: it goes.
    const ffs2 = new FaultFileSystem();
    const kept = await ffs2.makeTempDir('quiver-graph-');
    ffs2.powerLoss();
    assert.equal(fs.existsSync(kept), false, `${kept} is not durable`);
  });

  it('loses a file fsynced under a name whose directory was not fsynced; keeps it once it is', async () => {
    const dir = tmpDir();
    const ffs = new FaultFileSystem();
    await ffs.writeFileSynced(path.join(dir, 'a'), [bytes('a')]);
    await ffs.writeFileSynced(path.join(dir, 'b'), [bytes('b')]);
    await ffs.syncDir(dir);
    await ffs.writeFileSynced(path.join(dir, 'c'), [bytes('c')]);
    const fd = ffs.openSync(path.join(dir, 'd'), 'create');
    ffs.writeSync(fd, bytes('d'), 0);
    await ffs.fsync(fd);
    ffs.closeSync(fd);
    ffs.powerLoss();
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a', 'b']);
  });

  it('a created file whose directory was fsynced but whose data was not comes back empty', async () => {
    const dir = tmpDir();
    const ffs = new FaultFileSystem();
    const fd = ffs.openSync(path.join(dir, 'e'), 'create');
    ffs.writeSync(fd, bytes('unsynced'), 0);
    ffs.closeSync(fd);
    await ffs.syncDir(dir);
    ffs.powerLoss();
    assert.equal(fs.readFileSync(path.join(dir, 'e'), 'utf8'), '');
  });

  it('undoes an unsynced rename over an old file, and brings back an unsynced unlink', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'target'), 'old');
    fs.writeFileSync(path.join(dir, 'gone'), 'still here');
    const ffs = new FaultFileSystem();
    await ffs.writeFileSynced(path.join(dir, 'target.tmp'), [bytes('new')]);
    await ffs.rename(path.join(dir, 'target.tmp'), path.join(dir, 'target'));
    await ffs.unlink(path.join(dir, 'gone'));
    ffs.powerLoss();
    assert.deepEqual(fs.readdirSync(dir).sort(), ['gone', 'target']);
    assert.equal(fs.readFileSync(path.join(dir, 'target'), 'utf8'), 'old');
    assert.equal(fs.readFileSync(path.join(dir, 'gone'), 'utf8'), 'still here');
  });

  it('moves an unsynced directory rename back, and what was unsynced inside it is lost there', async () => {
    const parent = tmpDir();
    const ffs = new FaultFileSystem();
    const staging = path.join(parent, 'staging');
    await ffs.mkdir(path.join(staging, 'sub'));
    await ffs.writeFileSynced(path.join(staging, 'sub', 'kept'), [bytes('k')]);
    await ffs.syncDir(path.join(staging, 'sub'));
    await ffs.syncDir(staging);
    await ffs.syncDir(parent);
    await ffs.writeFileSynced(path.join(staging, 'sub', 'lost'), [bytes('l')]);
    await ffs.rename(staging, path.join(parent, 'final'));
    ffs.powerLoss();
    assert.deepEqual(fs.readdirSync(parent), ['staging']);
    assert.deepEqual(fs.readdirSync(path.join(staging, 'sub')), ['kept']);
  });

  it('keeps everything made durable: the file fsynced, renamed, and the directory fsynced', async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, 'target'), 'old');
    const ffs = new FaultFileSystem();
    await ffs.writeFileSynced(path.join(dir, 'target.tmp'), [bytes('new')]);
    await ffs.rename(path.join(dir, 'target.tmp'), path.join(dir, 'target'));
    await ffs.syncDir(dir);
    ffs.powerLoss();
    assert.deepEqual(fs.readdirSync(dir), ['target']);
    assert.equal(fs.readFileSync(path.join(dir, 'target'), 'utf8'), 'new');
  });
});
