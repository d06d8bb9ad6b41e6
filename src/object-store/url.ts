import { ConfigError } from '../errors.js';

export interface S3Location {
  bucket: string;
  /** Key prefix with a trailing slash, or '' for the bucket's root. */
  prefix: string;
}

/** True for the URLs open() and the CLI treat as object storage. */
export function isObjectStoreUrl(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('s3://');
}

/** Parses `s3://bucket/some/prefix` (the prefix may be empty). */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new ConfigError('CONFIG_INVALID', 'url', `url: ${JSON.stringify(url)} is not s3://bucket/prefix (bucket: 3-63 lower-case letters, digits, dots, dashes)`);
  const rest = (m[2] ?? '').replace(/\/+$/, '');
  if (rest.split('/').some((part) => part === '' || part === '.' || part === '..') && rest !== '') {
    throw new ConfigError('CONFIG_INVALID', 'url', `url: the prefix ${JSON.stringify(rest)} has an empty, '.' or '..' part`);
  }
  return { bucket: m[1]!, prefix: rest === '' ? '' : `${rest}/` };
}
