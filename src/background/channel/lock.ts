/**
 * Per-key async mutex. A service worker is one JS context, so an in-memory chain serializes
 * its MLS operations; where the Web Locks API exists it is used as well, so a second context
 * of the extension (an offscreen document, a second engine) cannot interleave either.
 */
type LockManagerLike = { request<T>(name: string, cb: () => Promise<T>): Promise<T> };

export class KeyedMutex {
  private tails = new Map<string, Promise<unknown>>();

  constructor(
    private readonly namespace: string,
    private readonly locks: LockManagerLike | undefined = webLocks(),
  ) {}

  /** Whether an operation on `key` runs or waits in this context. */
  busy(key: string): boolean {
    return this.tails.has(key);
  }

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const task = () => (this.locks ? this.locks.request(`${this.namespace}:${key}`, fn) : fn());
    const result = prev.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

function webLocks(): LockManagerLike | undefined {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks && typeof nav.locks.request === 'function' ? nav.locks : undefined;
}
