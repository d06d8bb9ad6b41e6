import type { Identity } from '../format/identity.js';
import type { VaultState } from '../vault/vault-state.js';

/** Everything a database holds in memory; what a checkpoint writes and recovery rebuilds. */
export interface DbState {
  identity: Identity;
  vaults: Map<number, VaultState>;
  /** Vault numbers by name. */
  names: Map<string, number>;
  nextVaultNumber: number;
  /** The LSN of the last operation applied. */
  lastLsn: number;
  /** Epoch and LSN of the last checkpoint (0 and 0 before the first). */
  epoch: number;
  checkpointLsn: number;
}

export function emptyState(identity: Identity): DbState {
  return { identity, vaults: new Map(), names: new Map(), nextVaultNumber: 1, lastLsn: 0, epoch: 0, checkpointLsn: 0 };
}
