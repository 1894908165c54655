/**
 * Per-key async mutex. A service worker is one JS context, so an in-memory chain serializes
 * its MLS operations per key. Where the Web Locks API exists, the context also takes the
 * namespace's Web Lock before its first operation and keeps it while it lives, so a second
 * context of the extension (an offscreen document, a second engine) cannot interleave: it
 * waits until this one is gone. Once, not per operation: a lock request is a round trip to
 * the browser process, and every message sent and received paid it.
 */
type LockManagerLike = { request<T>(name: string, cb: () => Promise<T>): Promise<T> };

export class KeyedMutex {
  private tails = new Map<string, Promise<unknown>>();
  private held: Promise<void> | undefined;

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
    const task = () => (this.locks ? this.exclusive().then(fn) : fn());
    const result = prev.then(task, task);
    const tail = result.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }

  /** Resolves once this context holds the namespace's Web Lock; it is released when the context ends. */
  private exclusive(): Promise<void> {
    this.held ??= new Promise<void>((granted) => {
      void this.locks!.request(this.namespace, () => {
        granted();
        return new Promise<never>(() => undefined);
      });
    });
    return this.held;
  }
}

function webLocks(): LockManagerLike | undefined {
  const nav = (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator;
  return nav?.locks && typeof nav.locks.request === 'function' ? nav.locks : undefined;
}
