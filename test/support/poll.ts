/**
 * The one polling helper of tests, the demo and benchmarks: for hooks and scripts, where
 * vitest's expect.poll is unavailable, and for waits that must hand back the value they saw.
 *
 * @example
 * const conv = await waitFor(() => engine.conversation(id)); // until truthy
 * await waitFor(() => ask('channel.identity', {}), (i) => i.connected, { timeout: 30_000, what: 'connected' });
 */
export interface WaitOptions {
  /** ms until it gives up (default 30 s: the test machine is shared and loaded) */
  timeout?: number;
  /** ms between tries (default 200) */
  interval?: number;
  /** names the condition in the timeout error */
  what?: string;
}

type Truthy<T> = Exclude<T, null | undefined | false | 0 | ''>;

/**
 * Calls `fn` until `ok(value)` holds (without `ok`: until the value is truthy) and returns that
 * value; a throwing `fn` counts as not yet. Times out with the last value and error in the
 * message. The positional form `waitFor(fn, ok, timeout, what)` is kept for existing callers.
 */
export function waitFor<T>(fn: () => Promise<T> | T, ok?: undefined, options?: WaitOptions): Promise<Truthy<T>>;
export function waitFor<T>(fn: () => Promise<T> | T, ok: (value: T) => boolean, options?: WaitOptions | number, what?: string): Promise<T>;
export async function waitFor<T>(
  fn: () => Promise<T> | T,
  ok: (value: T) => boolean = Boolean,
  options: WaitOptions | number = {},
  what?: string,
): Promise<T> {
  const o = typeof options === 'number' ? { timeout: options, what } : options;
  const deadline = Date.now() + (o.timeout ?? 30_000);
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, o.interval ?? 200));
  }
  throw new Error(
    `timed out waiting for ${o.what ?? 'condition'}; last value ${JSON.stringify(last)} ${lastError ? String(lastError) : ''}`,
  );
}
