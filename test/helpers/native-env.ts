/**
 * Runs `run` with the native addon on (QUIVER_NATIVE unset) or off (QUIVER_NATIVE=0), then puts
 * the variable back as it was: for tests that compare a mapped reader with the private one.
 */
export async function withNative<T>(on: boolean, run: () => Promise<T>): Promise<T> {
  const before = process.env.QUIVER_NATIVE;
  if (on) delete process.env.QUIVER_NATIVE;
  else process.env.QUIVER_NATIVE = '0';
  try {
    return await run();
  } finally {
    if (before === undefined) delete process.env.QUIVER_NATIVE;
    else process.env.QUIVER_NATIVE = before;
  }
}
