/**
 * A vault's limits, and the quota map `{ r?, b? }` that a vaultCreate record and a segment's
 * VAULT_META both carry (FORMAT.md "wal.log" and "Vault sections"): `r` is maxRecords, `b` is
 * maxBytes, an absent key is no limit.
 */
export interface Quota {
  maxRecords?: number;
  maxBytes?: number;
}

export function encodeQuota(quota: Quota): Record<string, number> {
  const q: Record<string, number> = {};
  if (quota.maxRecords !== undefined) q.r = quota.maxRecords;
  if (quota.maxBytes !== undefined) q.b = quota.maxBytes;
  return q;
}

/** Decodes a quota map; a missing map is no limits. Values are taken as written (CRC-checked). */
export function decodeQuota(raw: unknown): Quota {
  const q = (raw ?? {}) as Record<string, number>;
  const quota: Quota = {};
  if (q.r !== undefined) quota.maxRecords = q.r;
  if (q.b !== undefined) quota.maxBytes = q.b;
  return quota;
}
