/**
 * Tiny seeded PRNG for tests: sfc32 (Chris Doty-Humphrey's Small Fast Counter), seeded
 * through splitmix32. Deterministic across platforms; not for cryptography.
 */
export interface Prng {
  /** Uniform uint32. */
  u32 (): number
  /** Uniform float in [0, 1) with 53 bits. */
  float (): number
  /** Uniform integer in [0, n), n ≤ 2^53. */
  int (n: number): number
  /** Uniform integer in [lo, hi] (inclusive). */
  range (lo: number, hi: number): number
  bool (p?: number): boolean
  pick<T> (items: readonly T[]): T
  bytes (n: number): Uint8Array
  /** Fisher–Yates shuffle of a copy. */
  shuffle<T> (items: readonly T[]): T[]
}

function splitmix32 (seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

export function createPrng (seed: number): Prng {
  const init = splitmix32(seed)
  let a = init()
  let b = init()
  let c = init()
  let d = init()
  function u32 (): number {
    const t = (((a + b) >>> 0) + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = ((c << 21) | (c >>> 11)) >>> 0
    c = (c + t) >>> 0
    return t
  }
  for (let i = 0; i < 12; i++) u32()
  function float (): number {
    const hi = u32() >>> 5 // 27 bits
    const lo = u32() >>> 6 // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992
  }
  const prng: Prng = {
    u32,
    float,
    int: (n) => Math.floor(float() * n),
    range: (lo, hi) => lo + Math.floor(float() * (hi - lo + 1)),
    bool: (p = 0.5) => float() < p,
    pick<T> (items: readonly T[]): T {
      const item = items[Math.floor(float() * items.length)]
      if (item === undefined) throw new Error('pick from an empty list')
      return item
    },
    bytes (n) {
      const out = new Uint8Array(n)
      for (let i = 0; i < n; i++) out[i] = u32() & 0xff
      return out
    },
    shuffle<T> (items: readonly T[]): T[] {
      const out = [...items]
      for (let i = out.length - 1; i > 0; i--) {
        const j = Math.floor(float() * (i + 1))
        const tmp = out[i] as T
        out[i] = out[j] as T
        out[j] = tmp
      }
      return out
    },
  }
  return prng
}
