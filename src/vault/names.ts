import { ValidationError } from '../errors.js';

/** README "Vaults, records, search": the limits on names and ids. */
export const VAULT_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
export const MAX_ID_BYTES = 256;

export function checkVaultName(name: unknown, field = 'name'): string {
  if (typeof name !== 'string' || !VAULT_NAME.test(name)) {
    throw new ValidationError(field, `vault names match ${VAULT_NAME.source}, got ${JSON.stringify(name)}`);
  }
  return name;
}

export function checkId(id: unknown, field = 'id'): string {
  if (typeof id !== 'string' || id.length === 0) throw new ValidationError(field, 'must be a non-empty string');
  const bytes = Buffer.byteLength(id, 'utf8');
  if (bytes > MAX_ID_BYTES) throw new ValidationError(field, `is ${bytes} UTF-8 bytes, over the ${MAX_ID_BYTES}-byte limit`);
  if (id.isWellFormed && !id.isWellFormed()) throw new ValidationError(field, 'is not well-formed UTF-16 (lone surrogate)');
  return id;
}
