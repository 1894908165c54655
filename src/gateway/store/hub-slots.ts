/**
 * When the hub's submissions are written, and which together (pg-submit.ts). Ordering needs only
 * one conversation's batches to be written one after another (its positions and its members'
 * inbox ids follow its log), so a submission waits only for its own conversation's batch in
 * flight, or for a free slot: at most `slots` batches are in flight, each on one pool connection.
 * It never waits for another conversation's batch, as it did when conversations were hashed
 * onto a fixed number of lanes that each wrote one batch at a time.
 *
 * A batch takes every waiting submission whose conversation has no batch in flight, in arrival
 * order, so under load batches stay as large as the lanes made them, and one conversation's
 * submissions go in the order they arrived.
 */
export class HubSlots<T> {
  private waiting: T[] = [];
  /** conversations with a batch in flight: their next submissions wait for it */
  private readonly busy = new Set<string>();
  private running = 0;
  private kicked = false;

  constructor(
    private readonly slots: number,
    private readonly keyOf: (t: T) => string,
    /** writes one batch; settles its submissions itself and never rejects */
    private readonly run: (batch: T[]) => Promise<void>,
  ) {}

  add(t: T): void {
    this.waiting.push(t);
    this.kick();
  }

  /** batches in flight, for tests */
  get inFlight(): number {
    return this.running;
  }

  /** Starts a batch in a microtask: submissions arriving in the same turn go together. */
  private kick(): void {
    if (this.kicked || this.running >= this.slots) return;
    this.kicked = true;
    queueMicrotask(() => {
      this.kicked = false;
      this.start();
    });
  }

  private start(): void {
    if (this.running >= this.slots) return;
    const batch: T[] = [];
    const rest: T[] = [];
    const keys = new Set<string>();
    for (const t of this.waiting) {
      const k = this.keyOf(t);
      if (this.busy.has(k)) rest.push(t);
      else {
        batch.push(t);
        keys.add(k);
      }
    }
    if (!batch.length) return;
    this.waiting = rest;
    for (const k of keys) this.busy.add(k);
    this.running++;
    void this.run(batch).finally(() => {
      this.running--;
      for (const k of keys) this.busy.delete(k);
      if (this.waiting.length) this.kick();
    });
  }
}
