/**
 * An in-memory implementation of AppStore (state/store-api.ts) for tests and tools: a
 * versioned sorted map whose root is an RFC 6962 Merkle tree (leaf 0x00, inner 0x01,
 * DESIGN §7) over the sorted (key, SHA-256(value)) leaves, with membership proofs (the
 * leaf's audit path) and non-membership proofs (the two adjacent leaves around the key,
 * or the edge leaf). It keeps the last `keepRecent` versions whole, so it is for small
 * states only; the disk-backed store (state/store/) is the one that scales.
 *
 * prepare/commit/discard follow the disk store (state/store/store.ts): prepare builds the
 * next snapshot and root without making it a version; while it is prepared, writes and a
 * second prepare throw ERR_SMT_PREPARED, committed reads see the old version and pending
 * reads the prepared one.
 */
import { createHash } from 'node:crypto'
import { compareBytes, equalBytes } from '../src/bytes.ts'
import { bytes, encode, list, optional, struct, uint, tryDecode } from '../src/codec/index.ts'
import { AidError } from '../src/errors.ts'
import type { AppStore, IterateOptions, StoreEntry } from './store-api.ts'

const h = (...parts: Uint8Array[]): Uint8Array => {
  const x = createHash('sha256')
  for (const p of parts) x.update(p)
  return new Uint8Array(x.digest())
}
const LEAF = Uint8Array.of(0)
const INNER = Uint8Array.of(1)
const EMPTY_ROOT = h()

function lenPrefix (n: number): Uint8Array {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return new Uint8Array(b)
}

export function leafHash (key: Uint8Array, valueHash: Uint8Array): Uint8Array {
  return h(LEAF, lenPrefix(key.length), key, valueHash)
}

function largestPow2Below (n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

function mth (leaves: Uint8Array[], lo: number, hi: number): Uint8Array {
  const n = hi - lo
  if (n === 0) return EMPTY_ROOT
  if (n === 1) return leaves[lo] as Uint8Array
  const k = largestPow2Below(n)
  return h(INNER, mth(leaves, lo, lo + k), mth(leaves, lo + k, hi))
}

function auditPath (m: number, leaves: Uint8Array[], lo: number, hi: number): Uint8Array[] {
  const n = hi - lo
  if (n <= 1) return []
  const k = largestPow2Below(n)
  if (m < k) return [...auditPath(m, leaves, lo, lo + k), mth(leaves, lo + k, hi)]
  return [...auditPath(m - k, leaves, lo + k, hi), mth(leaves, lo, lo + k)]
}

/** RFC 9162 §2.1.3.2: the root implied by a leaf, its index, the tree size and the path. */
function rootFromPath (index: number, size: number, leaf: Uint8Array, path: Uint8Array[]): Uint8Array | null {
  if (index >= size) return null
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of path) {
    if (sn === 0) return null
    if ((fn & 1) === 1 || fn === sn) {
      r = h(INNER, p, r)
      if ((fn & 1) === 0) {
        while ((fn & 1) === 0 && fn !== 0) { fn >>= 1; sn >>= 1 }
      }
    } else {
      r = h(INNER, r, p)
    }
    fn >>= 1
    sn >>= 1
  }
  return sn === 0 ? r : null
}

const LeafProofSchema = struct('LeafProof', {
  index: uint(), key: bytes({ max: 1024 }), valueHash: bytes({ len: 32 }), path: list(bytes({ len: 32 }), { max: 64 }),
})
export const MemProofSchema = struct('MemProof', { size: uint(), left: optional(LeafProofSchema), right: optional(LeafProofSchema) })

const str = (k: Uint8Array): string => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('latin1')
const unstr = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'))
const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

interface Snapshot { map: Map<string, Uint8Array>, sorted: string[], leaves: Uint8Array[] | null, root: Uint8Array }

export interface MemoryStoreOptions { keepRecent?: number }

export interface MemoryStore extends AppStore {
  readonly kind: 'memory'
}

export function createMemoryStore (opts: MemoryStoreOptions = {}): MemoryStore {
  const keepRecent = opts.keepRecent ?? 100
  const versions = new Map<number, Snapshot>()
  let current = 0
  versions.set(0, { map: new Map(), sorted: [], leaves: [], root: EMPTY_ROOT })
  let pending = new Map<string, Uint8Array | null>()
  /** Leaf hashes of the latest version, updated per changed key (not recomputed per commit). */
  const leafCache = new Map<string, Uint8Array>()
  /** The next version, built by prepare(): its snapshot and the leaf hashes it changes (null: deleted). */
  let prepared: { snap: Snapshot, leaves: Map<string, Uint8Array | null> } | null = null
  let closed = false

  const snap = (v: number): Snapshot => {
    const s = versions.get(v)
    if (s === undefined) throw new Error(`version ${v} not available`)
    return s
  }
  const latest = (): Snapshot => snap(current)
  const leavesOf = (s: Snapshot): Uint8Array[] => {
    if (s.leaves === null) s.leaves = s.sorted.map((k) => leafHash(unstr(k), h(s.map.get(k) as Uint8Array)))
    return s.leaves
  }
  const check = (): void => { if (closed) throw new Error('store closed') }
  const refuseIfPrepared = (at: string): void => {
    if (prepared !== null) throw new AidError('ERR_SMT_PREPARED', 'the next version is prepared: commit or discard it first', at)
  }
  /** The state pending reads see: the prepared snapshot, else the latest version (pending writes go over it). */
  const pendingBase = (): Snapshot => prepared?.snap ?? latest()

  const prepare = (): { snap: Snapshot, leaves: Map<string, Uint8Array | null> } => {
    const map = new Map(latest().map)
    const leaves = new Map<string, Uint8Array | null>()
    for (const [k, v] of pending) {
      if (v === null) {
        map.delete(k)
        leaves.set(k, null)
      } else {
        map.set(k, v)
        leaves.set(k, leafHash(unstr(k), h(v)))
      }
    }
    pending = new Map()
    const sorted = [...map.keys()].sort(cmp)
    const leafList = sorted.map((k) => (leaves.get(k) ?? leafCache.get(k)) as Uint8Array)
    return { snap: { map, sorted, leaves: leafList, root: mth(leafList, 0, sorted.length) }, leaves }
  }

  return {
    kind: 'memory',
    version: () => current,
    rootHash: (v?: number) => snap(v ?? current).root,
    get: (key) => {
      check()
      const k = str(key)
      if (pending.has(k)) return pending.get(k) ?? null
      return pendingBase().map.get(k) ?? null
    },
    getAt: (key, v) => snap(v).map.get(str(key)) ?? null,
    set: (key, value) => { check(); refuseIfPrepared('set'); pending.set(str(key), new Uint8Array(value)) },
    delete: (key) => { check(); refuseIfPrepared('delete'); pending.set(str(key), null) },
    discard: () => {
      pending = new Map()
      prepared = null
    },
    prepare: () => {
      check()
      refuseIfPrepared('prepare')
      prepared = prepare()
      return { version: current + 1, rootHash: prepared.snap.root }
    },
    commit: () => {
      check()
      const p = prepared ?? prepare()
      prepared = null
      for (const [k, leaf] of p.leaves) {
        if (leaf === null) leafCache.delete(k)
        else leafCache.set(k, leaf)
      }
      current += 1
      versions.set(current, p.snap)
      versions.delete(current - keepRecent)
      return { version: current, rootHash: p.snap.root }
    },
    prove: (key, v) => {
      const s = snap(v)
      const leaves = leavesOf(s)
      const k = str(key)
      // First index with sorted[i] >= k.
      let lo = 0
      let hi = s.sorted.length
      while (lo < hi) {
        const mid = (lo + hi) >> 1
        if ((s.sorted[mid] as string) < k) lo = mid + 1
        else hi = mid
      }
      const leafProof = (i: number): { index: number, key: Uint8Array, valueHash: Uint8Array, path: Uint8Array[] } => {
        const kk = s.sorted[i] as string
        return { index: i, key: unstr(kk), valueHash: h(s.map.get(kk) as Uint8Array), path: auditPath(i, leaves, 0, leaves.length) }
      }
      const size = s.sorted.length
      if (lo < size && s.sorted[lo] === k) return encode(MemProofSchema, { size, left: leafProof(lo), right: null })
      return encode(MemProofSchema, { size, left: lo > 0 ? leafProof(lo - 1) : null, right: lo < size ? leafProof(lo) : null })
    },
    iterate: (prefix, o: IterateOptions) => {
      const withPending = o.pending ?? true
      const merged = new Map((withPending ? pendingBase() : latest()).map)
      if (withPending) {
        for (const [k, v] of pending) {
          if (v === null) merged.delete(k)
          else merged.set(k, v)
        }
      }
      const p = str(prefix)
      const from = o.from === undefined ? p : str(o.from)
      let keys = [...merged.keys()].filter((k) => k.startsWith(p)).sort(cmp)
      if (o.reverse === true) keys = keys.filter((k) => k <= from || o.from === undefined).reverse()
      else keys = keys.filter((k) => k >= from)
      const out: StoreEntry[] = keys.slice(0, o.limit).map((k) => ({ key: unstr(k), value: merged.get(k) as Uint8Array }))
      return out
    },
    close: () => {
      closed = true
      prepared = null
    },
  }
}

/** Verifies a MemProof for (key, value) or for key's absence (value null) against root. */
export function verifyMemProof (root: Uint8Array, key: Uint8Array, value: Uint8Array | null, proofBytes: Uint8Array): boolean {
  const r = tryDecode(MemProofSchema, proofBytes)
  if (!r.ok) return false
  const { size, left, right } = r.value
  const leafOk = (lp: NonNullable<typeof left>): boolean => {
    const got = rootFromPath(lp.index, size, leafHash(lp.key, lp.valueHash), lp.path)
    return got !== null && equalBytes(got, root)
  }
  if (value !== null) {
    return left !== null && right === null && equalBytes(left.key, key) && equalBytes(left.valueHash, h(value)) && leafOk(left)
  }
  if (size === 0) return left === null && right === null && equalBytes(root, EMPTY_ROOT)
  if (left === null && right === null) return false
  if (left !== null && (compareBytes(left.key, key) >= 0 || !leafOk(left))) return false
  if (right !== null && (compareBytes(key, right.key) >= 0 || !leafOk(right))) return false
  if (left !== null && right !== null) return right.index === left.index + 1
  if (left !== null) return left.index === size - 1
  return (right as NonNullable<typeof right>).index === 0
}

