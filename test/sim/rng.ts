/**
 * Seeded randomness for the simulator: independent sfc32 streams (test/helpers/prng.ts)
 * derived from one run seed and a label, so that the scenario, the network and the
 * workload draw from separate streams and adding draws to one does not shift the others.
 */
import { createPrng, type Prng } from '../helpers/prng.ts'

export type { Prng }

/** FNV-1a over the label, mixed with the seed: a 32-bit stream seed. */
export function streamSeed (seed: number, label: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0)
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  h ^= Math.floor(seed / 2 ** 32)
  return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0
}

export function rngFor (seed: number, label: string): Prng {
  return createPrng(streamSeed(seed, label))
}
