import { CorruptionError, type QuiverError } from '../../errors.js';
import { prefetchVectors, readsChecked, vectorsLoaded, type DbState } from '../../vault/db-state.js';

/**
 * When stored vectors are checked (open option `verify`, README "Verification"). Open leaves each
 * segment's VECTORS section on disk and reads it in the background, checking its CRC32C
 * (FORMAT.md "Segment files").
 * - 'full' (default): no answer is ever computed over unchecked data. A search waits until every
 *   stored vector of the state it reads has matched its checksum, unless each of them is checked
 *   as it is read (a graph block viewing a mapped graph checks every page against the sidecar's
 *   sum before its first use, as the mapped graph search does): then it answers at once, and the
 *   background check still reads every page and fails the handle on damage.
 * - 'lazy': searches may answer from the graph (itself checked at open) before the vectors are
 *   checked; what the check finds later still fails the handle.
 * Either way, damage found by the check (or by a read of the vectors before it) fails the
 * handle: it becomes `failed` and every call raises CorruptionError naming the file.
 */
export type VerifyMode = 'full' | 'lazy';

export const VERIFY_MODES: readonly VerifyMode[] = ['full', 'lazy'];

export class VectorCheck {
  /** States whose every stored vector has matched its checksum. */
  private readonly checked = new WeakSet<DbState>();
  private readonly reads = new WeakMap<DbState, Promise<void>>();
  /** Background reads still in flight (close waits for them). */
  readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    readonly mode: VerifyMode,
    private readonly onCorrupt: (err: QuiverError) => void,
  ) {}

  /**
   * Starts the background read of the state's unread vector blocks, on the next turn of the
   * event loop (the caller's first requests, issued as open resolves, go first).
   */
  start(state: DbState): void {
    const reads = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => Promise.all(prefetchVectors(state)))
      .then(() => vectorsLoaded(state))
      .then(
        () => void this.checked.add(state),
        (err: QuiverError) => {
          this.onCorrupt(err);
          throw err;
        },
      );
    reads.catch(() => undefined);
    this.reads.set(state, reads);
    this.inFlight.add(reads);
    void reads.finally(() => this.inFlight.delete(reads)).catch(() => undefined);
  }

  /** Before a search of `state`: in 'full' mode, resolves once its vectors are checked (rejects with what the check found). */
  async beforeSearch(state: DbState): Promise<void> {
    if (this.mode === 'lazy' || this.checked.has(state) || readsChecked(state)) return;
    const reads = this.reads.get(state);
    if (reads) await reads;
    else await vectorsLoaded(state).catch((err: QuiverError) => {
      this.onCorrupt(err);
      throw err;
    });
    this.checked.add(state);
  }
}

/** The error every call of a handle failed by damage raises: the damage itself, naming its file. */
export function failedByCorruption(failure: CorruptionError): CorruptionError {
  return new CorruptionError(failure.file, `the database failed on damaged data and must be reopened once repaired: ${failure.message}`, { cause: failure, ...(failure.offset === undefined ? {} : { offset: failure.offset }) });
}
