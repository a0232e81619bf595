/**
 * The versioned Merkle radix tree: batch update, lookup and proof, over a node source.
 *
 * Follows the Jellyfish Merkle Tree (Gao et al., Diem 2021): 16-ary, keyed by
 * SHA-256(key), nodes immutable and stored under (version, nibble path), a leaf at the
 * shortest unique prefix, no extension nodes, and every node replaced by a commit recorded
 * in a stale-node index so pruning is a range scan instead of a tree walk. Hashing is in
 * verify.ts (flat 16-ary internal hash; see there for why).
 *
 * A commit applies all dirty keys at once (the JMT batch update): the keys are sorted by
 * keyHash, split by nibble at each level, and each affected subtree is rebuilt once, so a
 * node on a shared path is read once and hashed once per commit, not once per key.
 *
 * The work has two phases so that I/O is batched:
 *   1. load: walk down level by level; each level's missing nodes come in one `getMany`.
 *      Measured on a 1M-entry LevelDB (417 MB): 6,000 random reads take ~80–125 ms with
 *      `getMany`, ~110–150 ms with `getSync`, ~125–190 ms as parallel `get`s and
 *      ~470–590 ms as sequential awaited `get`s.
 *   2. build: a synchronous recursion over the loaded nodes that returns the new subtree
 *      of each touched slot. A leaf is carried up as a candidate until its final place is
 *      known, so a leaf that moves (split below a new neighbour, or collapse upward when
 *      its siblings are deleted) is written once, at its final path.
 * Collapse needs the lone surviving sibling leaf even when no dirty key touches it; phase
 * 1 loads it whenever a collapse is possible (one untouched child, a leaf, and every
 * touched slot holds a delete), which is exact enough that it is rarely loaded for nothing.
 */
import { AidError } from '../../src/errors.ts'
import {
  type ChildRef, type InternalNode, type LeafNode, type NodeId, type RootRef, type TreeNode,
  childAt, makeInternal, presentHashes,
} from './node.ts'
import {
  EMPTY_ROOT, type SmtProof, type SmtProofLevel, internalHash, leafHash, popcount16, slotBit,
} from './verify.ts'

/** Loads nodes by id; the result is in the order of `ids`, and every id must exist. */
export interface NodeSource {
  load: (ids: NodeId[]) => Promise<TreeNode[]>
}

/** One dirty key. `khHex` is the keyHash in hex; the items of a batch are sorted by it. */
export interface UpdateItem {
  keyHash: Uint8Array
  khHex: string
  key: Uint8Array
  /** null deletes the key. */
  value: Uint8Array | null
  valueHash: Uint8Array | null
}

export interface UpdateResult {
  root: RootRef
  /** New nodes, each under (version, path). */
  writes: Array<{ id: NodeId, node: TreeNode }>
  /** Nodes of earlier versions that this version no longer references. */
  stale: NodeId[]
}

/** A leaf waiting for its place; `from` is where it is stored now, if anywhere. */
interface Cand {
  keyHash: Uint8Array
  khHex: string
  key: Uint8Array
  value: Uint8Array
  valueHash: Uint8Array
  hash: Uint8Array
  from: NodeId | null
}

type Sub = null | { t: 'leaf', c: Cand } | { t: 'node', ref: ChildRef, same: boolean }

const HEX = '0123456789abcdef'

function nib (khHex: string, depth: number): number {
  const c = khHex.charCodeAt(depth)
  return c <= 57 ? c - 48 : c - 87
}

/** Splits items (sorted by khHex) into runs that share the nibble at `depth`. */
function partition<T extends { khHex: string }> (items: readonly T[], depth: number): Array<{ slot: number, items: T[] }> {
  const out: Array<{ slot: number, items: T[] }> = []
  let start = 0
  while (start < items.length) {
    const slot = nib((items[start] as T).khHex, depth)
    let end = start + 1
    while (end < items.length && nib((items[end] as T).khHex, depth) === slot) end++
    out.push({ slot, items: items.slice(start, end) })
    start = end
  }
  return out
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

function hexOf (b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

function missing (id: NodeId): AidError {
  return new AidError('ERR_STORE_NOT_FOUND', `tree node ${id.version}/${id.path || '(root)'} is missing`, 'state store')
}

function rootChild (root: RootRef): ChildRef | null {
  return root.kind === 'empty' ? null : { version: root.version, hash: root.hash, leaf: root.kind === 'leaf' }
}

/** Phase 1: every node the build will look at, by path. */
async function loadTouched (src: NodeSource, root: RootRef, items: UpdateItem[]): Promise<Map<string, TreeNode>> {
  const loaded = new Map<string, TreeNode>()
  if (root.kind === 'empty' || items.length === 0) return loaded
  let frontier: Array<{ id: NodeId, items: UpdateItem[] }> = [{ id: { version: root.version, path: '' }, items }]
  while (frontier.length > 0) {
    const nodes = await src.load(frontier.map((f) => f.id))
    const next: typeof frontier = []
    frontier.forEach((f, i) => {
      const node = nodes[i] as TreeNode
      loaded.set(f.id.path, node)
      if (node.kind === 'leaf' || f.items.length === 0) return
      const groups = partition(f.items, f.id.path.length)
      let touched = 0
      let allDelete = true
      for (const g of groups) {
        touched |= slotBit(g.slot)
        if (!g.items.some((it) => it.value === null)) allDelete = false
        const c = childAt(node, g.slot)
        if (c !== undefined) next.push({ id: { version: c.version, path: f.id.path + HEX[g.slot] as string }, items: g.items })
      }
      const untouched = node.bitmap & ~touched
      if (allDelete && popcount16(untouched) === 1 && (node.leafBitmap & untouched) !== 0) {
        const slot = Math.clz32(untouched) - 16
        next.push({ id: { version: node.versions[slot] as number, path: f.id.path + HEX[slot] as string }, items: [] })
      }
    })
    frontier = next
  }
  return loaded
}

/**
 * Applies sorted, de-duplicated `items` to the tree at `root`, producing the tree of
 * `version`. Nothing is written here: the caller stores `writes` and `stale` in one batch.
 */
export async function applyUpdates (src: NodeSource, root: RootRef, version: number, items: UpdateItem[]): Promise<UpdateResult> {
  if (items.length === 0) return { root, writes: [], stale: [] }
  const loaded = await loadTouched(src, root, items)
  const writes: UpdateResult['writes'] = []
  const stale: NodeId[] = []

  const place = (c: Cand, path: string): ChildRef => {
    if (c.from !== null && c.from.path === path) return { version: c.from.version, hash: c.hash, leaf: true }
    if (c.from !== null) stale.push(c.from)
    const node: LeafNode = { kind: 'leaf', keyHash: c.keyHash, valueHash: c.valueHash, key: c.key, value: c.value }
    writes.push({ id: { version, path }, node })
    return { version, hash: c.hash, leaf: true }
  }

  const writeInternal = (path: string, children: Array<ChildRef | undefined>): ChildRef => {
    const node = makeInternal(children)
    writes.push({ id: { version, path }, node })
    return { version, hash: internalHash(node.bitmap, presentHashes(node)), leaf: false }
  }

  const fresh = (it: UpdateItem): Cand => {
    const value = it.value as Uint8Array
    const valueHash = it.valueHash as Uint8Array
    return { keyHash: it.keyHash, khHex: it.khHex, key: it.key, value, valueHash, hash: leafHash(it.keyHash, valueHash), from: null }
  }

  const toRef = (s: NonNullable<Sub>, path: string): ChildRef => (s.t === 'leaf' ? place(s.c, path) : s.ref)

  /** A subtree holding exactly `cands` (sorted by khHex) at `path`. */
  const make = (path: string, cands: Cand[]): Sub => {
    if (cands.length === 0) return null
    if (cands.length === 1) return { t: 'leaf', c: cands[0] as Cand }
    const children: Array<ChildRef | undefined> = new Array(16)
    for (const g of partition(cands, path.length)) {
      const childPath = path + HEX[g.slot] as string
      children[g.slot] = toRef(make(childPath, g.items) as NonNullable<Sub>, childPath)
    }
    return { t: 'node', ref: writeInternal(path, children), same: false }
  }

  const build = (path: string, ref: ChildRef | null, group: UpdateItem[]): Sub => {
    if (ref === null) return make(path, group.filter((it) => it.value !== null).map(fresh))
    const node = loaded.get(path)
    const id: NodeId = { version: ref.version, path }
    if (node === undefined) throw missing(id)
    if (node.kind === 'leaf') {
      const old: Cand = { ...node, khHex: hexOf(node.keyHash), hash: ref.hash, from: id }
      const cands: Cand[] = []
      let keep = true
      for (const it of group) {
        if (it.khHex !== old.khHex) {
          if (it.value !== null) cands.push(fresh(it))
        } else if (it.value === null || !sameBytes(it.valueHash as Uint8Array, old.valueHash)) {
          keep = false
          stale.push(id)
          if (it.value !== null) cands.push(fresh(it))
        }
      }
      if (keep) {
        cands.push(old)
        cands.sort((a, b) => (a.khHex < b.khHex ? -1 : 1))
      }
      return make(path, cands)
    }
    const children: Array<ChildRef | undefined> = []
    for (let slot = 0; slot < 16; slot++) children.push(childAt(node, slot))
    const subs: Array<{ slot: number, sub: Sub }> = []
    let same = true
    for (const g of partition(group, path.length)) {
      const childPath = path + HEX[g.slot] as string
      const before = children[g.slot]
      const sub = build(childPath, before ?? null, g.items)
      subs.push({ slot: g.slot, sub })
      const unchanged = sub === null
        ? before === undefined
        : sub.t === 'node'
          ? sub.same
          : sub.c.from !== null && sub.c.from.path === childPath
      if (!unchanged) same = false
      children[g.slot] = undefined
    }
    if (same) return { t: 'node', ref, same: true }
    stale.push(id)
    const remaining = subs.filter((s) => s.sub !== null)
    let untouched = 0
    for (let slot = 0; slot < 16; slot++) if (children[slot] !== undefined) untouched++
    if (untouched + remaining.length === 0) return null
    if (untouched + remaining.length === 1) {
      const only = remaining[0]
      if (only !== undefined && only.sub !== null && only.sub.t === 'leaf') return only.sub
      if (only === undefined) {
        const slot = children.findIndex((c) => c !== undefined)
        const c = children[slot] as ChildRef
        if (c.leaf) {
          const leafPath = path + HEX[slot] as string
          const leaf = loaded.get(leafPath)
          if (leaf === undefined || leaf.kind !== 'leaf') throw missing({ version: c.version, path: leafPath })
          return { t: 'leaf', c: { ...leaf, khHex: hexOf(leaf.keyHash), hash: c.hash, from: { version: c.version, path: leafPath } } }
        }
      }
    }
    for (const s of remaining) {
      const childPath = path + HEX[s.slot] as string
      children[s.slot] = toRef(s.sub as NonNullable<Sub>, childPath)
    }
    return { t: 'node', ref: writeInternal(path, children), same: false }
  }

  const sub = build('', rootChild(root), items)
  let newRoot: RootRef
  if (sub === null) newRoot = { kind: 'empty', version: 0, hash: EMPTY_ROOT }
  else if (sub.t === 'leaf') {
    const r = place(sub.c, '')
    newRoot = { kind: 'leaf', version: r.version, hash: r.hash }
  } else newRoot = { kind: 'internal', version: sub.ref.version, hash: sub.ref.hash }
  return { root: newRoot, writes, stale }
}

/** The leaf on the path of `keyHash` (the key's own, or whichever occupies its spot), with the levels above it. */
async function walk (src: NodeSource, root: RootRef, keyHash: Uint8Array, withLevels: boolean): Promise<{ levels: SmtProofLevel[], leaf: LeafNode | null }> {
  const levels: SmtProofLevel[] = []
  if (root.kind === 'empty') return { levels, leaf: null }
  const khHex = hexOf(keyHash)
  let id: NodeId = { version: root.version, path: '' }
  for (;;) {
    const node = (await src.load([id]))[0]
    if (node === undefined) throw missing(id)
    if (node.kind === 'leaf') return { levels, leaf: node }
    const slot = nib(khHex, id.path.length)
    if (withLevels) levels.push(proofLevel(node, slot))
    const c = childAt(node, slot)
    if (c === undefined) return { levels, leaf: null }
    id = { version: c.version, path: id.path + HEX[slot] as string }
  }
}

function proofLevel (node: InternalNode, slot: number): SmtProofLevel {
  const siblings: Uint8Array[] = []
  for (let s = 0; s < 16; s++) {
    if (s === slot || (node.bitmap & slotBit(s)) === 0) continue
    siblings.push(node.hashes.slice(32 * s, 32 * s + 32))
  }
  return { bitmap: node.bitmap, siblings }
}

/** The value of `keyHash` in the tree at `root`, or null. */
export async function lookup (src: NodeSource, root: RootRef, keyHash: Uint8Array): Promise<Uint8Array | null> {
  const { leaf } = await walk(src, root, keyHash, false)
  return leaf !== null && sameBytes(leaf.keyHash, keyHash) ? leaf.value : null
}

/** A membership or non-membership proof for `keyHash` against `root`, and the value. */
export async function proveKey (src: NodeSource, root: RootRef, keyHash: Uint8Array): Promise<{ proof: SmtProof, value: Uint8Array | null }> {
  const { levels, leaf } = await walk(src, root, keyHash, true)
  const proof: SmtProof = {
    levels,
    leaf: leaf === null ? null : { keyHash: leaf.keyHash, valueHash: leaf.valueHash },
  }
  return { proof, value: leaf !== null && sameBytes(leaf.keyHash, keyHash) ? leaf.value : null }
}
