import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

describe('@aws-sdk/client-s3 is an optional peer', () => {
  it('without it, local databases work and an s3:// URL is a ConfigError saying what to install', () => {
    const child = fileURLToPath(new URL('./peer-child.ts', import.meta.url));
    const hide = fileURLToPath(new URL('../helpers/hide-package-esm.mjs', import.meta.url));
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--import', hide, child], { encoding: 'utf8', env: { ...process.env, QUIVER_HIDE_PACKAGE: '@aws-sdk/client-s3' } });
    const result = JSON.parse(out) as { name: string; code: string; message: string };
    assert.equal(result.name, 'ConfigError');
    assert.equal(result.code, 'CONFIG_INVALID');
    assert.match(result.message, /npm install @aws-sdk\/client-s3/);
  });
});
