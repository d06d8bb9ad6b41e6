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
