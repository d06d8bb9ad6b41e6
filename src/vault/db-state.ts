import type { Identity } from '../format/identity.js';
import type { VaultState } from './vault-state.js';
import type { StoredVectors } from './stored-vectors.js';
import type { RootRecord } from '../format/root-record.js';

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
  /** What the root records must exist beside it (format/root-record.ts); what the next checkpoint records. */
  record: RootRecord | null;
  /**
   * Vector blocks of the segments this state was loaded from whose background read has not
   * started: prefetchVectors() starts them once the state is in use (after open, so that they do
   * not slow it), releaseVectors() closes their files when the state is thrown away instead.
   */
  unread: StoredVectors[];
}

export function emptyState(identity: Identity): DbState {
  return { identity, vaults: new Map(), names: new Map(), nextVaultNumber: 1, lastLsn: 0, epoch: 0, checkpointLsn: 0, record: null, unread: [] };
}

/** Starts the background read of the state's unread vector blocks; returns the reads. */
export function prefetchVectors(state: DbState): Promise<unknown>[] {
  return state.unread.splice(0).map((block) => block.load());
}

/** Resolves once every stored vector of every vault is in memory (before rewriting or exporting them all). */
export async function vectorsLoaded(state: DbState): Promise<void> {
  await Promise.all([...state.vaults.values()].map((vault) => vault.vectorsLoaded()));
}

/** Whether every stored vector of the state is checked as it is read (StoredVectors.checksEachRead), or there are none. */
export function readsChecked(state: DbState): boolean {
  for (const vault of state.vaults.values()) if (vault.stored && vault.stored.checksEachRead !== true) return false;
  return true;
}

/** Closes the files of the unread vector blocks of a state that will not be used. */
export function releaseVectors(state: DbState): void {
  for (const block of state.unread.splice(0)) block.release();
}

/** Runs `work` with every vault of the state held (VaultState.held). */
export function holdAll<T>(state: DbState, work: () => Promise<T>): Promise<T> {
  return [...state.vaults.values()].reduce<() => Promise<T>>((inner, vault) => () => vault.held(inner), work)();
}

/**
 * A reader moved to `next` from a state whose vaults were `old` (taken before the move: a refresh
 * that keeps up applies the log to the same state, so a dropped vault is gone from it by now):
 * those `next` does not hold are retired (unmapped once unused).
 */
export function retireReplaced(old: readonly VaultState[], next: DbState): void {
  const kept = new Set(next.vaults.values());
  for (const vault of old) if (!kept.has(vault)) vault.retire();
}
