import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { open } from '../../src/index.js';
import type { ReplicationStats } from '../../src/engine/open/attachment.js';
import { S3Store } from '../../src/object-store/s3-store.js';
import { dbPath, seeded, tmpDir } from '../helpers/tmp.js';
import { freshUrl, s3Options, skip } from './env.js';
import { DIM, exportBytes, shipped, until, vec } from './util.js';

/** RGW_CONF (from start-rgw.sh's s3.env) says which radosgw this test may stop and start again. */
const conf = process.env.RGW_CONF;
const pidFile = conf ? path.join(path.dirname(conf), 'run', 'client.rgw.a.pid') : '';
const outageSkip = skip || (conf && fs.existsSync(pidFile) ? false : 'RGW_CONF is not set: this test stops and restarts the radosgw that scripts/ci/start-rgw.sh started');

function stopRadosgw(): void {
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  // Only the daemon started with our conf, never anything found by name.
  assert.ok(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(conf!), 'pid file names our radosgw');
  process.kill(pid, 'SIGTERM');
}

describe('object-store outage', { skip: outageSkip }, () => {
  it('radosgw stopped mid-run: local writes go on, lag grows and is reported, shipping catches up when it returns', async () => {
    const url = await freshUrl('outage');
    const r = seeded(4);
    const writer = await open(dbPath(), { dimension: DIM, replicate: { url, ...s3Options(), intervalMs: 50, leaseMs: 120_000 } });
    const docs = await writer.createVault('docs');
    for (let i = 0; i < 20; i++) await docs.insert(`before${i}`, vec(r));
    await shipped(writer);
    const status = (): ReplicationStats => writer.stats().replication as ReplicationStats;

    stopRadosgw();
    const probe = await S3Store.open(url, s3Options());
    await until('radosgw to stop', async () => probe.head('x').then(() => false, () => true));
    for (let i = 0; i < 100; i++) await docs.insert(`during${i}`, vec(r));
    await writer.checkpoint();
    for (let i = 0; i < 20; i++) await docs.insert(`after-checkpoint${i}`, vec(r));
    await until('the shipper to report the outage', () => status().errors > 0 && status().state === 'retrying');
    const during = status();
    assert.ok(during.lagLsn >= 120, JSON.stringify(during));
    await new Promise((res) => setTimeout(res, 300));
    assert.ok(status().lagSeconds > 0, JSON.stringify(status()));
    assert.ok(status().lastError);
    assert.equal(writer.stats().lastLsn, during.shippedLsn + during.lagLsn);

    const started = spawnSync('radosgw', ['-c', conf!, '-n', 'client.rgw.a'], { encoding: 'utf8' });
    assert.equal(started.status, 0, started.stderr);
    await until('radosgw to answer', async () => probe.head('x').then(() => true, () => false));
    probe.close();
    await until('shipping to catch up', () => status().lagLsn === 0 && status().state === 'shipping', 120_000);

    const replica = await open(url, { readOnly: true, cacheDir: tmpDir(), s3: s3Options() });
    assert.deepEqual(await exportBytes(replica), await exportBytes(writer));
    await replica.close();
    await writer.close();
  });
});
