/**
 * A bounded least-recently-used map, used by the crypto kernel for per-verifier key caches
 * and the verify pool's verdict cache (keyed by tx hash, DESIGN §3).
 *
 * It relies on `Map` keeping insertion order (ECMA-262 §24.1): a hit is re-inserted at the
 * end, and eviction drops the first key. Nothing here feeds a hash, so iteration order is
 * never consensus-relevant.
 */

export interface Lru<K, V> {
  readonly capacity: number
  readonly size: number
  /** The value, marking it most recently used; `undefined` when absent. */
  get: (key: K) => V | undefined
  /** The value without touching recency. */
  peek: (key: K) => V | undefined
  has: (key: K) => boolean
  set: (key: K, value: V) => void
  delete: (key: K) => boolean
  clear: () => void
}

export function createLru<K, V> (capacity: number): Lru<K, V> {
  if (!Number.isSafeInteger(capacity) || capacity < 1) {
    throw new RangeError(`LRU capacity must be a positive integer, got ${capacity}`)
  }
  const map = new Map<K, V>()
  return {
    capacity,
    get size () { return map.size },
    get (key) {
      const v = map.get(key)
      if (v === undefined) return undefined
      map.delete(key)
      map.set(key, v)
      return v
    },
    peek: (key) => map.get(key),
    has: (key) => map.has(key),
    set (key, value) {
      if (map.has(key)) map.delete(key)
      else if (map.size >= capacity) {
        const oldest = map.keys().next()
        if (oldest.done !== true) map.delete(oldest.value)
      }
      map.set(key, value)
    },
    delete: (key) => map.delete(key),
    clear: () => { map.clear() },
  }
}
