import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { PreconditionFailed } from '../../src/object-store/store.js';
import { S3Store } from '../../src/object-store/s3-store.js';
import { parseS3Url } from '../../src/object-store/url.js';
import { freshUrl, s3Options, skip } from './env.js';

describe('s3:// urls', () => {
  it('parse into bucket and prefix', () => {
    assert.deepEqual(parseS3Url('s3://my-bucket/a/b/'), { bucket: 'my-bucket', prefix: 'a/b/' });
    assert.deepEqual(parseS3Url('s3://my-bucket'), { bucket: 'my-bucket', prefix: '' });
    for (const bad of ['s3://', 's3://B/x', 'http://x/y', 's3://bkt/a//b', 's3://bkt/../x']) {
      assert.throws(() => parseS3Url(bad), ConfigError, bad);
    }
  });
});

describe('the S3 store against a real server', { skip }, () => {
  let store: S3Store;
  before(async () => {
    store = await S3Store.open(await freshUrl('store'), s3Options());
  });
  after(() => store?.close());

  it('puts, gets, range-reads, heads, lists and deletes', async () => {
    const body = Buffer.from('0123456789abcdef');
    const { etag } = await store.put('dir/a', body);
    assert.match(etag, /^[0-9a-f-]+$/, 'etag comes back without quotes');
    await store.put('dir/b', Buffer.from('x'));
    assert.deepEqual((await store.get('dir/a'))?.body, body);
    assert.equal((await store.getRange('dir/a', 4, 8))?.toString(), '4567');
    assert.equal((await store.head('dir/a'))?.size, 16);
    assert.equal(await store.get('dir/none'), null);
    assert.equal(await store.head('dir/none'), null);
    assert.deepEqual((await store.list('dir/')).map((o) => o.key), ['dir/a', 'dir/b']);
    await store.delete(['dir/a', 'dir/none']);
    assert.deepEqual((await store.list('dir/')).map((o) => o.key), ['dir/b']);
  });

  it('honours create-if-absent and if-match, refusing the loser with PreconditionFailed', async () => {
    const first = await store.put('cas', Buffer.from('1'), { ifAbsent: true });
    await assert.rejects(store.put('cas', Buffer.from('2'), { ifAbsent: true }), PreconditionFailed);
    const second = await store.put('cas', Buffer.from('3'), { ifMatch: first.etag });
    await assert.rejects(store.put('cas', Buffer.from('4'), { ifMatch: first.etag }), PreconditionFailed);
    assert.equal((await store.get('cas'))?.body.toString(), '3');
    assert.equal((await store.head('cas'))?.etag, second.etag);
    // Concurrent racers on one etag: exactly one wins. Each writes bytes unlike the current '3':
    // an etag is the content's hash, so a racer rewriting '3' would leave the etag as it was
    // and let a second racer match it too (ABA), which is no failure of the store.
    const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((n) => store.put('cas', Buffer.from(`racer ${n}`), { ifMatch: second.etag })));
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
  });
});
