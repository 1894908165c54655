/**
 * A Map that holds at most `max` keys and forgets the least recently used one when full:
 * every map a stranger can add keys to (rate buckets, manifest caches) uses it, so a flood
 * of new keys costs a fixed amount of memory.
 */
export class BoundedMap<K, V> {
  private readonly m = new Map<K, V>();
  constructor(readonly max: number) {}

  get size(): number {
    return this.m.size;
  }

  /** the value, now counted as recently used */
  get(k: K): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }

  set(k: K, v: V): this {
    this.m.delete(k);
    this.m.set(k, v);
    // a Map iterates in insertion order: the first key is the least recently used
    while (this.m.size > this.max) this.m.delete(this.m.keys().next().value as K);
    return this;
  }

  delete(k: K): boolean {
    return this.m.delete(k);
  }
  entries(): IterableIterator<[K, V]> {
    return this.m.entries();
  }
}
