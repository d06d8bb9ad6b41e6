import type { CorruptionError } from '../errors.js';
import type { Embedder } from '../embedder/embedder.js';
import type { Op } from '../format/records.js';
import type { DbState } from '../vault/db-state.js';

/** What a vault handle needs from its database. */
export interface VaultHost {
  /** The state, after checking the database is open (throws otherwise). */
  readable(): DbState;
  /** The state, after checking the database is open for writing (throws otherwise). */
  writable(): DbState;
  maxPayloadBytes(): number;
  /** The database's embedder; throws ConfigError when it has none. */
  embedder(): Embedder;
  /**
   * Takes the next slot of the database's write order now, runs `build` in it (it may prepare
   * asynchronously: the slot holds its place) and logs and applies what it returns.
   */
  mutate(build: () => Op[] | Promise<Op[]>, asBatch: boolean): Promise<number | null>;
  /** Resolves when a search may run (open option `verify`); rejects once the database failed. */
  beforeSearch(): Promise<void>;
  /** Damage a search found in stored data (a mapped graph's page that fails its sum): the handle fails, as for the vectors' check. */
  damaged(err: CorruptionError): void;
}
