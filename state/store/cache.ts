/**
 * A count-bounded LRU for tree nodes. Relies on `Map` keeping insertion order (ECMA-262
 * §24.1): a hit is re-inserted at the end, eviction drops the first key. Nothing here
 * feeds a hash, so the iteration order never matters to consensus.
 *
 * Only internal nodes are cached (see store.ts): they are at most ~0.8 KB each in memory,
 * so the count bound is also a byte bound (~0.8 KB × capacity, plus Map overhead).
 */
export class NodeLru<V> {
  readonly capacity: number
  private readonly map = new Map<string, V>()
  hits = 0
  misses = 0

  constructor (capacity: number) {
    this.capacity = capacity
  }

  get size (): number {
    return this.map.size
  }

  get (key: string): V | undefined {
    const v = this.map.get(key)
    if (v === undefined) {
      this.misses++
      return undefined
    }
    this.hits++
    this.map.delete(key)
    this.map.set(key, v)
    return v
  }

  set (key: string, value: V): void {
    if (this.capacity <= 0) return
    if (this.map.has(key)) this.map.delete(key)
    else if (this.map.size >= this.capacity) {
      const oldest = this.map.keys().next()
      if (oldest.done !== true) this.map.delete(oldest.value)
    }
    this.map.set(key, value)
  }

  delete (key: string): void {
    this.map.delete(key)
  }

  clear (): void {
    this.map.clear()
  }
}
