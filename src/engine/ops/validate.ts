import { QuotaExceededError, ValidationError } from '../../errors.js';
import { recordBytes } from '../../vault/stored-record.js';
import type { Quota } from '../../vault/vault-state.js';
import type { Op } from '../../format/records.js';
import type { DbState } from '../../vault/db-state.js';
import { sizeEffects } from './record-ops.js';

export function checkQuota(quota: unknown, field = 'quota'): Quota {
  if (quota === undefined || quota === null) return {};
  if (typeof quota !== 'object' || Array.isArray(quota)) throw new ValidationError(field, 'must be an object');
  const out: Quota = {};
  for (const [key, value] of Object.entries(quota)) {
    if (key !== 'maxRecords' && key !== 'maxBytes') throw new ValidationError(`${field}.${key}`, 'unknown quota');
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || (value as number) < 0) throw new ValidationError(`${field}.${key}`, 'must be a non-negative integer');
    out[key] = value as number;
  }
  return out;
}

/**
 * Checks a group of record operations against quotas as one unit: the group is refused
 * (nothing changes) if, after all of it, a vault whose usage grew is over a quota.
 */
export function checkQuotas(state: DbState, ops: readonly Op[]): void {
  // Only inserts and patches can grow a vault: a group of erases passes without the walk.
  if (!ops.some((op) => op.type === 'insert' || op.type === 'patch')) return;
  const usage = new Map<number, { count: number; bytes: number; grew: boolean; sizes: Map<string, number | null> }>();
  const dim = state.identity.dimension;
  for (const op of ops) {
    const effects = sizeEffects(op, dim);
    if (effects === null) continue;
    const vault = state.vaults.get(op.vault)!;
    let u = usage.get(op.vault);
    if (!u) {
      u = { count: vault.records.count, bytes: vault.records.bytes, grew: false, sizes: new Map() };
      usage.set(op.vault, u);
    }
    for (const { id, after } of effects) {
      const existing = vault.records.get(id);
      const before = u.sizes.has(id) ? u.sizes.get(id)! : existing ? recordBytes(existing, dim) : null;
      u.sizes.set(id, after);
      u.count += (after === null ? 0 : 1) - (before === null ? 0 : 1);
      u.bytes += (after ?? 0) - (before ?? 0);
      if ((after ?? 0) > (before ?? 0) || (before === null && after !== null)) u.grew = true;
    }
  }
  for (const [number, u] of usage) {
    if (!u.grew) continue;
    const vault = state.vaults.get(number)!;
    const { maxRecords, maxBytes } = vault.quota;
    if (maxRecords !== undefined && u.count > maxRecords && u.count > vault.records.count) {
      throw new QuotaExceededError(vault.name, 'maxRecords', maxRecords, u.count);
    }
    if (maxBytes !== undefined && u.bytes > maxBytes && u.bytes > vault.records.bytes) {
      throw new QuotaExceededError(vault.name, 'maxBytes', maxBytes, u.bytes);
    }
  }
}
