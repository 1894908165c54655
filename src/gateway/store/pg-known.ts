/**
 * What the hub's batches (pg-submit.ts) know of a conversation from their own last write: its
 * epoch, members and next position as that write left them. A batch whose conversations are
 * all known skips the read and goes straight to the write, one round trip instead of two.
 *
 * Knowing is a guess the write checks: it holds only where the conversation still has the
 * position the batch assumed (`next_seq = read_seq`), and every change to a conversation moves
 * its position, so an unmoved one is unchanged. A guess that fails costs a round trip; a
 * conversation another instance moved is therefore not remembered for a while (MOVED_HOLD_MS),
 * and read each time, as before.
 */
export interface KnownConv {
  epoch: number;
  members: string[];
  nextSeq: number;
}

/** how long a conversation another instance moved is read, not guessed */
const MOVED_HOLD_MS = 5000;
const MAX_KNOWN = 10_000;

export class KnownConversations {
  private known = new Map<string, KnownConv>();
  private moved = new Map<string, number>();

  /** the states of all of `ids`, or null if one is not known */
  all(ids: string[]): Map<string, KnownConv> | null {
    const out = new Map<string, KnownConv>();
    for (const id of ids) {
      const k = this.known.get(id);
      if (!k) return null;
      out.set(id, k);
    }
    return out;
  }

  /** the conversation as this instance's committed write left it */
  set(id: string, k: KnownConv, now = Date.now()): void {
    const held = this.moved.get(id);
    if (held !== undefined) {
      if (held > now) return;
      this.moved.delete(id);
    }
    this.known.delete(id);
    this.known.set(id, k);
    // oldest first: the map keeps insertion order
    if (this.known.size > MAX_KNOWN) this.known.delete(this.known.keys().next().value!);
  }

  /** no longer known (written some other way, or the outcome of a write is unknown); `moved`: another instance moved one of them */
  forget(ids: string[], moved = false, now = Date.now()): void {
    for (const id of ids) {
      this.known.delete(id);
      if (moved) this.moved.set(id, now + MOVED_HOLD_MS);
    }
    if (this.moved.size > MAX_KNOWN) for (const [id, until] of this.moved) if (until <= now) this.moved.delete(id);
  }
}
