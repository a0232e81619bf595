/**
 * Shared helpers for the state store tests: temp dirs, a seeded RNG, and a second,
 * independent implementation of the root (recursive over the whole key set, hashing with
 * @noble/hashes) that the store's incremental, disk-backed root must match.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { ClassicLevel } from 'classic-level'
import { type StateStore, type StateStoreOptions, openStateStore } from '../../../state/store/index.ts'

export async function tempDir (): Promise<{ dir: string, cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'aid-smt-'))
  return { dir, cleanup: async () => rm(dir, { recursive: true, force: true }) }
}

export type Level = ClassicLevel<Uint8Array, Uint8Array>

/** A store over a LevelDB the test also holds, to look at the raw keys. */
export async function openWithDb (dir: string, opts: Omit<StateStoreOptions, 'db' | 'path'> = {}): Promise<{ store: StateStore, db: Level, close: () => Promise<void> }> {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  // No fsync in unit tests (kill -9 safety does not need it; crash.test.ts uses the default).
  const store = await openStateStore({ sync: false, ...opts, db })
  return { store, db, close: async () => { await store.close(); await db.close() } }
}

/** Number of keys under a one-byte tag ('n' nodes, 's' stale entries, 'r' roots, 'v' values). */
export async function countTag (db: Level, tag: string): Promise<number> {
  const t = tag.charCodeAt(0)
  let n = 0
  for await (const _k of db.keys({ gte: Uint8Array.of(t), lt: Uint8Array.of(t + 1) })) n++
  return n
}

/** xorshift128+, seeded: tests replay from a printed seed. */
export function rng (seed: number): { next: () => number, int: (n: number) => number, bytes: (n: number) => Uint8Array } {
  let s0 = (seed >>> 0) ^ 0x9e3779b9
  let s1 = ((seed * 0x85ebca6b) >>> 0) ^ 0xc2b2ae35
  const next = (): number => {
    let x = s0
    const y = s1
    s0 = y
    x ^= x << 23
    x ^= x >>> 17
    x ^= y ^ (y >>> 26)
    s1 = x
    return ((s0 + s1) >>> 0) / 0x100000000
  }
  for (let i = 0; i < 8; i++) next()
  return {
    next,
    int: (n) => Math.floor(next() * n),
    bytes: (n) => {
      const b = new Uint8Array(n)
      for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256)
      return b
    },
  }
}

const te = new TextEncoder()
export const b = (s: string): Uint8Array => te.encode(s)
export const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex')

/**
 * The root by definition (verify.ts header), computed from scratch: leaves at the
 * shortest unique nibble prefix, flat 16-ary internal hash, SHA-256(0x02) when empty.
 */
export function referenceRoot (entries: Iterable<[Uint8Array, Uint8Array]>): Uint8Array {
  const leaves = [...entries].map(([k, v]) => ({ kh: nobleSha256(k), vh: nobleSha256(v) }))
  const nibble = (h: Uint8Array, d: number): number => ((h[d >> 1] as number) >> ((d & 1) === 0 ? 4 : 0)) & 15
  const rec = (set: typeof leaves, depth: number): Uint8Array => {
    if (set.length === 1) {
      const l = set[0] as (typeof leaves)[number]
      return nobleSha256(new Uint8Array([0, ...l.kh, ...l.vh]))
    }
    let bitmap = 0
    const parts: number[] = []
    for (let slot = 0; slot < 16; slot++) {
      const sub = set.filter((l) => nibble(l.kh, depth) === slot)
      if (sub.length === 0) continue
      bitmap |= 0x8000 >> slot
      parts.push(...rec(sub, depth + 1))
    }
    return nobleSha256(new Uint8Array([1, bitmap >> 8, bitmap & 0xff, ...parts]))
  }
  return leaves.length === 0 ? nobleSha256(Uint8Array.of(2)) : rec(leaves, 0)
}

/** The writes of version `version` in the crash test: deterministic, so the parent can replay them. */
export function crashWorkload (version: number): Array<[string, Uint8Array | null]> {
  const r = rng(version * 7919 + 1)
  const out: Array<[string, Uint8Array | null]> = []
  for (let i = 0; i < 1500; i++) {
    const k = `acct/${r.int(3000)}`
    out.push([k, r.next() < 0.2 ? null : r.bytes(50 + r.int(100))])
  }
  return out
}
