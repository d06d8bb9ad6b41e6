// Opens an s3:// URL with @aws-sdk/client-s3 hidden; prints the error's class, code and message.
import { open } from '../../src/index.js';
import { tmpdir } from 'node:os';

const local = await open(undefined, { dimension: 2 });
await local.close();
try {
  await open('s3://some-bucket/db', { readOnly: true, cacheDir: tmpdir() });
  process.stdout.write(JSON.stringify({ opened: true }));
} catch (err) {
  process.stdout.write(JSON.stringify({ name: (err as Error).name, code: (err as { code?: string }).code, message: (err as Error).message }));
}
