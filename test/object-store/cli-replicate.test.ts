import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { open } from '../../src/index.js';
import { S3Store } from '../../src/object-store/s3-store.js';
import { LEASE_KEY, LEASE_MAGIC, ROOT_KEY, ROOT_MAGIC, decodeJson, type Lease, type Root } from '../../src/replica/layout.js';
import { dbPath, seeded, tmpDir } from '../helpers/tmp.js';
import { endpoint, freshUrl, s3Options, skip } from './env.js';
import { DIM, exportBytes, until, vec } from './util.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

describe('quiver replicate beside a live writer', { skip }, () => {
  it('ships what the writer writes, across its checkpoints, and releases the lease on SIGTERM', async () => {
    const url = await freshUrl('cli-replicate');
    const dir = dbPath();
    const r = seeded(2);
    const writer = await open(dir, { dimension: DIM });
    const docs = await writer.createVault('docs');
    for (let i = 0; i < 30; i++) await docs.insert(`a${i}`, vec(r));
    const env = { ...process.env, AWS_ACCESS_KEY_ID: process.env.S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: process.env.S3_SECRET_KEY, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };
    const proc = spawn(process.execPath, ['--import', 'tsx', MAIN, 'replicate', dir, url, '--endpoint', endpoint!, '--interval-ms', '100', '--status-ms', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
    const store = await S3Store.open(url, s3Options());
    const root = async (): Promise<Root | null> => {
      const obj = await store.get(ROOT_KEY);
      return obj ? decodeJson<Root>(ROOT_MAGIC, obj.body, ROOT_KEY) : null;
    };
    const caughtUp = () =>
      until('quiver replicate to ship everything', async () => (await root())?.shippedLsn === writer.stats().lastLsn).catch(async (err: Error) => {
        throw new Error(`${err.message}: root ${JSON.stringify(await root())}, writer at ${writer.stats().lastLsn}, stderr ${stderr}`);
      });
    await caughtUp();
    for (let i = 0; i < 20; i++) await docs.insert(`b${i}`, vec(r));
    await writer.checkpoint();
    await docs.erase('a1');
    for (let i = 0; i < 20; i++) await docs.insert(`c${i}`, vec(r));
    await caughtUp();
    const replica = await open(url, { readOnly: true, cacheDir: tmpDir(), s3: s3Options() });
    assert.deepEqual(await exportBytes(replica), await exportBytes(writer));
    await replica.close();
    proc.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
    const lease = decodeJson<Lease>(LEASE_MAGIC, (await store.get(LEASE_KEY))!.body, LEASE_KEY);
    assert.equal(lease.expiresAt, 0, 'released');
    store.close();
    await writer.close();
  });
});
