import { randomBytes } from 'node:crypto';
import { S3Store, type S3Options } from '../../src/object-store/s3-store.js';

/**
 * The S3 endpoint the object-storage tests run against: scripts/ci/start-rgw.sh writes
 * S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY and S3_REGION to its s3.env, and .ci/run exports them.
 * Without S3_ENDPOINT every test here is skipped, and says so loudly.
 */
export const endpoint = process.env.S3_ENDPOINT;

export const skip: string | false = endpoint ? false : 'S3_ENDPOINT is not set: start scripts/ci/start-rgw.sh and export its s3.env to run the object-storage tests';
if (skip) process.stderr.write(`\n*** SKIPPED object-storage tests: ${skip}\n\n`);

export const BUCKET = 'quiver-test';

export function s3Options(): S3Options {
  return {
    endpoint,
    region: process.env.S3_REGION ?? 'us-east-1',
    credentials: { accessKeyId: process.env.S3_ACCESS_KEY ?? '', secretAccessKey: process.env.S3_SECRET_KEY ?? '' },
  };
}

/** A fresh prefix in the test bucket (created on first use): each test gets its own database. */
export async function freshUrl(name: string): Promise<string> {
  const url = `s3://${BUCKET}/${name}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const store = await S3Store.open(url, s3Options());
  try {
    await store.createBucket();
  } finally {
    store.close();
  }
  return url;
}
