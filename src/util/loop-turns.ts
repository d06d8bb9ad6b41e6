/**
 * When the event loop last turned. A caller awaiting writes back to back runs on microtasks and
 * never lets the loop reach its timers or I/O; work that notices the loop has not turned for
 * TURN_BUDGET_MS waits for one turn before going on. The event loop is per thread, and so is
 * this module's state.
 */

/** Longest stretch of synchronous work (writes, validation) before the loop gets a turn. */
export const TURN_BUDGET_MS = 10;

let lastTurn = performance.now();
let probing = false;

/** Queues a probe that records the next turn of the loop (at most one at a time). */
function probe(): void {
  if (probing) return;
  probing = true;
  setImmediate(() => {
    lastTurn = performance.now();
    probing = false;
  });
}

/** True when the loop has not turned for TURN_BUDGET_MS while work was running. */
export function overdue(): boolean {
  probe();
  return performance.now() - lastTurn > TURN_BUDGET_MS;
}

/** Resolves after the loop's next turn (its check phase). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** items.map(fn), giving the loop a turn whenever one is overdue (validating thousands of vectors takes a while). */
export async function mapInSlices<T, R>(items: readonly T[], fn: (item: T, i: number) => R): Promise<R[]> {
  const out = new Array<R>(items.length);
  for (let i = 0; i < items.length; i++) {
    out[i] = fn(items[i]!, i);
    if ((i & 31) === 31 && overdue()) await nextTurn();
  }
  return out;
}

/**
 * Work written as a generator whose each yield ends a slice: run to its end at once, returning
 * its value (the same work, for a caller that has no event loop to give turns to).
 */
export function finish<T>(steps: Generator<unknown, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** finish(), giving the event loop a turn at a yield whenever one is overdue. */
export async function inSlices<T>(steps: Generator<unknown, T>): Promise<T> {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (overdue()) await nextTurn();
  }
}
