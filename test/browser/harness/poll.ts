/** Polls `fn` until `ok(value)` or the timeout; for hooks, where expect.poll is unavailable. */
export async function waitFor<T>(fn: () => Promise<T>, ok: (value: T) => boolean, timeout = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeout;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (e) {
      lastError = e;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}; last value ${JSON.stringify(last)} ${lastError ? String(lastError) : ''}`);
}
