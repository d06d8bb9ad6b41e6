import { StorageError, ValidationError, type LockedError, type QuiverError } from '../errors.js';
import { MAX_FRAME_BODY } from '../format/constants.js';
import { encodeRecord, type Op } from '../format/records.js';
import { nextTurn, overdue } from '../util/loop-turns.js';
import { applyOp } from '../vault/apply.js';
import { vectorsLoaded, type DbState } from '../vault/db-state.js';
import { MAX_QUEUED } from '../vault/index/hnsw-index.js';
import { checkQuotas } from './ops/validate.js';
import type { DatabaseParts } from './open/parts.js';

/**
 * The database's write order (README "Durability"). Every write, and every exclusive operation
 * (checkpoint, compact, re-embed, close), takes its slot synchronously when it is called, so
 * operations run in call order even when their preparation is asynchronous (validating a large
 * batch in slices, embedding texts, waiting for the index to drain): that preparation runs inside
 * the slot, and the next slot starts only when this one has finished.
 *
 * A write's slot ends once its record is framed into the log and applied in memory; waiting for
 * the log's durability point happens after the slot, so later writes join the same group commit.
 */
export class WriteQueue {
  /** Slots taken and not yet finished (the running one included). */
  private active = 0;
  /** Settles when the last slot taken has finished. */
  private tail: Promise<void> = Promise.resolve();

  /**
   * Takes the next slot now and runs `fn` in it once every earlier slot has finished. When the
   * queue is idle `fn` starts synchronously, so a write called on an idle database is applied
   * before the call returns its promise (as far as `fn` runs without awaiting).
   */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const start = this.active === 0;
    this.active++;
    const result = start ? call(fn) : this.tail.then(fn);
    const finished = (): void => void this.active--;
    this.tail = result.then(finished, finished);
    return result;
  }
}

/** fn(), with a synchronous throw turned into a rejection (as `then` would do). */
function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return fn();
  } catch (err) {
    return Promise.reject(err);
  }
}

/** What the write order needs of its database (database.ts). */
export interface WriteHost {
  readonly parts: DatabaseParts;
  /** The state, after checking the database is open for writing (throws otherwise). */
  writable(): DbState;
  /** Whether close() has begun: a closing database takes no new write (slots taken earlier still run). */
  closing(): boolean;
  fail(cause: unknown): StorageError | LockedError;
  /** Starts a checkpoint if the database is still open (the automatic one). */
  autoCheckpoint(): Promise<unknown> | undefined;
  /** Records a background (auto-checkpoint) failure, for stats. */
  backgroundFailed(err: QuiverError): void;
}

/**
 * The database's writes in their order: each takes its slot when called and, in it, waits for
 * what a write waits for (stored vectors checked, the event loop, a long graph queue), is
 * validated, framed into the log and applied in memory; it is acknowledged once the log reaches
 * the durability mode's point, after its slot, so later writes share the group commit. A log past
 * its threshold starts a checkpoint in the next slot.
 */
export class WriteOrder {
  private readonly queue = new WriteQueue();
  /** Slots running now (inSlot). */
  private running = 0;
  /** Whether every stored vector has matched its checksum since open (writes wait for it). */
  private storedChecked = false;
  private autoCheckpoint: Promise<unknown> | null = null;

  constructor(private readonly host: WriteHost) {}

  /** Slots running now: while one runs a closing database stays readable and writable. */
  get slotsRunning(): number {
    return this.running;
  }

  /** The automatic checkpoint under way, if any (close waits for it). */
  get checkpointing(): Promise<unknown> | null {
    return this.autoCheckpoint;
  }

  /**
   * Takes the write's slot in the write order now and, in it, waits for what a write waits for,
   * runs `build` (which may prepare asynchronously), then logs and applies the ops. Resolves with
   * their LSN once the log reaches the durability mode's point.
   */
  mutate(build: () => Op[] | Promise<Op[]>, asBatch: boolean): Promise<number | null> {
    const host = this.host;
    try {
      // At call time a closing database takes no new write (slots taken earlier still run).
      if (host.closing()) throw new StorageError('DATABASE_CLOSED', 'the database is closing');
      host.writable();
    } catch (err) {
      return Promise.reject(err);
    }
    const committed = this.queue.run(() => this.inSlot(async () => {
      // Nothing is written on top of a segment until its vectors, read after open, have matched
      // their checksum: damage there refuses writes (CorruptionError) before any reaches the log.
      if (!this.storedChecked) {
        await vectorsLoaded(host.parts.state);
        this.storedChecked = true;
        host.writable();
      }
      // Back-to-back writes on microtasks would never let the event loop turn (util/loop-turns.ts).
      if (overdue()) {
        await nextTurn();
        host.writable();
      }
      // Backpressure: while a vault's graph has a long insertion queue, writes wait for it to
      // drain (in slices, the event loop turning between them) instead of growing it further.
      for (const vault of host.parts.state.vaults.values()) {
        if ((vault.index.queued ?? 0) > MAX_QUEUED) {
          await vault.index.drain();
          host.writable();
        }
      }
      const ops = await build();
      host.writable();
      return ops.length === 0 ? null : this.commitOps(ops, asBatch);
    }));
    return committed.then(async (done) => {
      if (!done) return null;
      if (done.durable) {
        try {
          await done.durable;
        } catch (err) {
          throw host.fail(err);
        }
      }
      return done.lsn;
    });
  }

  /** Runs `fn` alone, in the next slot of the write order: after every write called before it, before every write called after. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.host.closing()) return Promise.reject(new StorageError('DATABASE_CLOSED', 'the database is closing'));
    return this.queue.run(() =>
      this.inSlot(async () => {
        this.host.writable();
        return fn();
      }),
    );
  }

  /** Runs `fn` after every slot taken so far, without the checks of a write (close). */
  last<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }

  /** Logs and applies validated ops; returns their LSN and the log's durability promise (null without a log). */
  commitOps(ops: Op[], asBatch: boolean): { lsn: number; durable: Promise<void> | null } {
    const { state, wal } = this.host.parts;
    checkQuotas(state, ops);
    const lsn = state.lastLsn + 1;
    if (wal) {
      const { type, body } = encodeRecord(ops, asBatch);
      if (body.byteLength > MAX_FRAME_BODY) throw new ValidationError('ops', `encode to ${body.byteLength} bytes, over the ${MAX_FRAME_BODY}-byte record limit; split them`);
      try {
        wal.append(type, lsn, body);
      } catch (err) {
        throw this.host.fail(err);
      }
    }
    state.lastLsn = lsn;
    try {
      for (const op of ops) {
        if (!applyOp(state, op, lsn)) throw new StorageError('DATABASE_FAILED', `a logged ${op.type} operation (LSN ${lsn}) could not be applied in memory`);
      }
    } catch (err) {
      // The record is logged but memory holds only part of it (or none): stop, and let reopen
      // replay it whole. Memory never goes on diverging from the log.
      throw this.host.fail(err);
    }
    this.maybeAutoCheckpoint();
    return { lsn, durable: wal ? wal.durable() : null };
  }

  /**
   * Runs a slot's work. A slot taken before close() still runs (close's own slot comes after
   * it), so while one runs the state stays readable and writable through 'closing'.
   */
  private async inSlot<T>(fn: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
    }
  }

  /**
   * Starts a checkpoint once the log passes its threshold, in a microtask: a caller awaiting
   * writes in a tight loop never lets the event loop reach a timer or setImmediate, but
   * microtasks run between its writes, and the checkpoint takes the next slot of the write order.
   */
  private maybeAutoCheckpoint(): void {
    const { wal, options } = this.host.parts;
    if (!wal || options.autoCheckpointBytes === 0 || this.autoCheckpoint || wal.byteLength < options.autoCheckpointBytes) return;
    this.autoCheckpoint = Promise.resolve()
      .then(() => this.host.autoCheckpoint())
      .catch((err: QuiverError) => {
        this.host.backgroundFailed(err);
      })
      .finally(() => {
        this.autoCheckpoint = null;
      });
  }
}
