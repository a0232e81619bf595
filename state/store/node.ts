/**
 * Storage layout of the authenticated state store: LevelDB keys and node records.
 *
 * Keys (one-byte tag, then big-endian fields, so LevelDB's byte order is the useful order):
 *   'm'                                   meta: format, latest version, oldest retained
 *   'n' ver(8) depth(1) path(⌈depth/2⌉)   a tree node, as the JMT NodeKey (version, nibble
 *                                         path); the nodes of one commit are contiguous
 *   'r' ver(8)                            the root of a committed version (kind, node
 *                                         version, hash); several versions may share a node
 *   's' since(8)                          stale-node index (JMT), one record per version:
 *                                         the ids (ver depth path, concatenated) of the nodes
 *                                         that version replaced. They are garbage once every
 *                                         version < since is pruned. One record instead of
 *                                         JMT's one entry per node saves ~2,300 of ~10,600
 *                                         batch ops per 3,000-key commit.
 *   'v' key                               flat table: latest committed value of each key,
 *                                         for ordered scans (derived data, same batch)
 *
 * Node records are laid out so that their first bytes ARE the hash preimage (verify.ts):
 *   leaf:     0x00 keyHash(32) valueHash(32) | keyLen(u16) key value
 *   internal: 0x01 bitmap(u16) childHash(32)×n | leafBitmap(u16) childVersion(8)×n
 * (n = present children, in slot order). A node's hash is SHA-256 of the record prefix
 * before '|', with no copying, the record is what LevelDB stores, and a cached internal
 * node is just its record (~5 + 40·n bytes). In a profile of the earlier layout (16-slot
 * tables, encoded on write), building hash inputs and encoding took ~10 % of commit CPU.
 * Every decode checks lengths and bitmaps and throws ERR_STORE_CORRUPT.
 *
 */
import { AidError } from '../../src/errors.ts'
import { sha256 } from '../../src/crypto/hash.ts'
import { INTERNAL_TAG, LEAF_TAG, popcount16, slotBit } from './verify.ts'

export const TAG_META = 0x6d // 'm'
export const TAG_NODE = 0x6e // 'n'
export const TAG_ROOT = 0x72 // 'r'
export const TAG_STALE = 0x73 // 's'
export const TAG_VALUE = 0x76 // 'v'

export const META_KEY = Uint8Array.of(TAG_META)
export const FORMAT = 1

/**
 * Where a node is stored: the version that wrote it and its nibble path, given as the
 * first `depth` nibbles of `path` (any key hash routed through the node).
 */
export interface NodeId { version: number, depth: number, path: Uint8Array }

/** A parent's view of a child: enough to hash the parent and to find the child. */
export interface ChildRef { version: number, hash: Uint8Array, leaf: boolean }

export interface LeafNode {
  kind: 'leaf'
  rec: Uint8Array
  /** Views into `rec`. */
  keyHash: Uint8Array
  valueHash: Uint8Array
  key: Uint8Array
  value: Uint8Array
}

export interface InternalNode {
  kind: 'internal'
  rec: Uint8Array
  bitmap: number
  leafBitmap: number
  /** Present children. */
  n: number
}

export type TreeNode = LeafNode | InternalNode

export type RootKind = 'empty' | 'leaf' | 'internal'
export interface RootRef { kind: RootKind, version: number, hash: Uint8Array }

function corrupt (what: string): AidError {
  return new AidError('ERR_STORE_CORRUPT', what, 'state store')
}

/** A plain Uint8Array view of the same bytes (LevelDB hands out Buffers). */
export function plain (b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

// ---- integers ------------------------------------------------------------------------

export function writeU64 (buf: Uint8Array, off: number, n: number): void {
  const hi = Math.floor(n / 0x100000000)
  const lo = n >>> 0
  buf[off] = hi >>> 24; buf[off + 1] = hi >>> 16; buf[off + 2] = hi >>> 8; buf[off + 3] = hi
  buf[off + 4] = lo >>> 24; buf[off + 5] = lo >>> 16; buf[off + 6] = lo >>> 8; buf[off + 7] = lo
}

export function readU64 (buf: Uint8Array, off: number): number {
  const hi = ((buf[off] as number) << 24 | (buf[off + 1] as number) << 16 | (buf[off + 2] as number) << 8 | (buf[off + 3] as number)) >>> 0
  const lo = ((buf[off + 4] as number) << 24 | (buf[off + 5] as number) << 16 | (buf[off + 6] as number) << 8 | (buf[off + 7] as number)) >>> 0
  if (hi > 0x1fffff) throw corrupt('version beyond 2^53')
  return hi * 0x100000000 + lo
}

// ---- leaves --------------------------------------------------------------------------

export function makeLeaf (keyHash: Uint8Array, valueHash: Uint8Array, key: Uint8Array, value: Uint8Array): LeafNode {
  const rec = new Uint8Array(67 + key.length + value.length)
  rec[0] = LEAF_TAG
  rec.set(keyHash, 1)
  rec.set(valueHash, 33)
  rec[65] = key.length >>> 8
  rec[66] = key.length & 0xff
  rec.set(key, 67)
  rec.set(value, 67 + key.length)
  return leafViews(rec, key.length)
}

function leafViews (rec: Uint8Array, keyLen: number): LeafNode {
  return {
    kind: 'leaf',
    rec,
    keyHash: rec.subarray(1, 33),
    valueHash: rec.subarray(33, 65),
    key: rec.subarray(67, 67 + keyLen),
    value: rec.subarray(67 + keyLen),
  }
}

/** SHA-256(0x00 ‖ keyHash ‖ valueHash): the record's first 65 bytes. */
export function leafNodeHash (leaf: LeafNode): Uint8Array {
  return sha256(leaf.rec.subarray(0, 65))
}

// ---- internal nodes ------------------------------------------------------------------

/** Index among the present children of the child in `slot` (which need not be present). */
function rank (bitmap: number, slot: number): number {
  return popcount16(bitmap & ~(0xffff >>> slot) & 0xffff)
}

export function childAt (node: InternalNode, slot: number): ChildRef | undefined {
  const bit = slotBit(slot)
  if ((node.bitmap & bit) === 0) return undefined
  const i = rank(node.bitmap, slot)
  return {
    version: readU64(node.rec, 5 + 32 * node.n + 8 * i),
    hash: node.rec.subarray(3 + 32 * i, 35 + 32 * i),
    leaf: (node.leafBitmap & bit) !== 0,
  }
}

/** Version of the child in `slot`, which must be present. */
export function childVersion (node: InternalNode, slot: number): number {
  return readU64(node.rec, 5 + 32 * node.n + 8 * rank(node.bitmap, slot))
}

/** SHA-256(0x01 ‖ bitmap ‖ child hashes): the record's first 3 + 32·n bytes. */
export function internalNodeHash (node: InternalNode): Uint8Array {
  return sha256(node.rec.subarray(0, 3 + 32 * node.n))
}

/**
 * A new internal node: `base`'s children (if any) with `changes` applied, where a change
 * is a ChildRef to set the slot or null to clear it (undefined leaves the slot as is).
 */
export function withChildren (base: InternalNode | null, changes: ReadonlyArray<ChildRef | null | undefined>): InternalNode {
  let bitmap = base?.bitmap ?? 0
  let leafBitmap = base?.leafBitmap ?? 0
  for (let slot = 0; slot < 16; slot++) {
    const c = changes[slot]
    if (c === undefined) continue
    const bit = slotBit(slot)
    if (c === null) {
      bitmap &= ~bit
      leafBitmap &= ~bit
    } else {
      bitmap |= bit
      leafBitmap = c.leaf ? leafBitmap | bit : leafBitmap & ~bit
    }
  }
  const n = popcount16(bitmap)
  const rec = new Uint8Array(5 + 40 * n)
  rec[0] = INTERNAL_TAG
  rec[1] = bitmap >>> 8; rec[2] = bitmap & 0xff
  rec[3 + 32 * n] = leafBitmap >>> 8; rec[4 + 32 * n] = leafBitmap & 0xff
  const vOff = 5 + 32 * n
  // Unchanged children are copied in runs (hashes and versions are each contiguous in
  // both records), so a node with one changed child costs ~4 copies, not 2 per child.
  const b = base
  const bvOff = b === null ? 0 : 5 + 32 * b.n
  let j = 0
  let i = 0
  let runNew = 0
  let runOld = 0
  let runLen = 0
  const flush = (): void => {
    if (runLen === 0 || b === null) return
    rec.set(b.rec.subarray(3 + 32 * runOld, 3 + 32 * (runOld + runLen)), 3 + 32 * runNew)
    rec.set(b.rec.subarray(bvOff + 8 * runOld, bvOff + 8 * (runOld + runLen)), vOff + 8 * runNew)
    runLen = 0
  }
  for (let slot = 0; slot < 16; slot++) {
    const inOld = b !== null && (b.bitmap & slotBit(slot)) !== 0
    const c = changes[slot]
    if (c !== undefined) {
      flush()
      if (c !== null) {
        rec.set(c.hash, 3 + 32 * j)
        writeU64(rec, vOff + 8 * j, c.version)
        j++
      }
    } else if (inOld) {
      if (runLen === 0) {
        runNew = j
        runOld = i
      }
      runLen++
      j++
    }
    if (inOld) i++
  }
  flush()
  return { kind: 'internal', rec, bitmap, leafBitmap, n }
}

/** The present children's hashes in slot order (for proofs). */
export function childHashes (node: InternalNode, exceptSlot: number): Uint8Array[] {
  const out: Uint8Array[] = []
  let i = 0
  for (let slot = 0; slot < 16; slot++) {
    if ((node.bitmap & slotBit(slot)) === 0) continue
    if (slot !== exceptSlot) out.push(node.rec.slice(3 + 32 * i, 35 + 32 * i))
    i++
  }
  return out
}

// ---- records -------------------------------------------------------------------------

export function decodeNode (raw: Uint8Array): TreeNode {
  const rec = plain(raw)
  if (rec.length < 5) throw corrupt('node record too short')
  if (rec[0] === LEAF_TAG) {
    if (rec.length < 67) throw corrupt('leaf record too short')
    const keyLen = ((rec[65] as number) << 8) | (rec[66] as number)
    if (rec.length < 67 + keyLen) throw corrupt('leaf key overruns the record')
    return leafViews(rec, keyLen)
  }
  if (rec[0] !== INTERNAL_TAG) throw corrupt(`unknown node tag ${rec[0] as number}`)
  const bitmap = ((rec[1] as number) << 8) | (rec[2] as number)
  const n = popcount16(bitmap)
  if (bitmap === 0 || rec.length !== 5 + 40 * n) throw corrupt('internal node has the wrong length')
  const leafBitmap = ((rec[3 + 32 * n] as number) << 8) | (rec[4 + 32 * n] as number)
  if ((leafBitmap & ~bitmap) !== 0) throw corrupt('internal node bitmaps are inconsistent')
  return { kind: 'internal', rec, bitmap, leafBitmap, n }
}

// ---- keys ----------------------------------------------------------------------------

/** ver(8) depth(1) path: a node id without the tag, as in node keys and stale records. */
function idBytesLength (id: NodeId): number {
  return 9 + ((id.depth + 1) >>> 1)
}

function writeId (out: Uint8Array, off: number, id: NodeId): number {
  const depth = id.depth
  writeU64(out, off, id.version)
  out[off + 8] = depth
  const n = (depth + 1) >>> 1
  out.set(id.path.subarray(0, n), off + 9)
  if ((depth & 1) === 1) out[off + 8 + n] = (out[off + 8 + n] as number) & 0xf0
  return off + 9 + n
}

export function nodeKey (id: NodeId): Uint8Array {
  const out = new Uint8Array(1 + idBytesLength(id))
  out[0] = TAG_NODE
  writeId(out, 1, id)
  return out
}

/** The stale record of a version: every replaced node id, concatenated. */
export function encodeStale (ids: readonly NodeId[]): Uint8Array {
  let len = 0
  for (const id of ids) len += idBytesLength(id)
  const out = new Uint8Array(len)
  let off = 0
  for (const id of ids) off = writeId(out, off, id)
  return out
}

/** The node keys listed in a stale record. */
export function decodeStale (raw: Uint8Array): Uint8Array[] {
  const rec = plain(raw)
  const out: Uint8Array[] = []
  let off = 0
  while (off < rec.length) {
    if (off + 9 > rec.length) throw corrupt('stale record is truncated')
    const end = off + 9 + (((rec[off + 8] as number) + 1) >>> 1)
    if (end > rec.length) throw corrupt('stale record is truncated')
    const key = new Uint8Array(1 + end - off)
    key[0] = TAG_NODE
    key.set(rec.subarray(off, end), 1)
    out.push(key)
    off = end
  }
  return out
}

/** Node-cache key: the node key's bytes as a latin1 string (one native call, no hex). */
export function cacheKey (nodeKeyBytes: Uint8Array): string {
  return Buffer.from(nodeKeyBytes.buffer, nodeKeyBytes.byteOffset, nodeKeyBytes.byteLength).toString('latin1')
}

export function versionKey (tag: number, version: number): Uint8Array {
  const out = new Uint8Array(9)
  out[0] = tag
  writeU64(out, 1, version)
  return out
}

export function valueKey (key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1)
  out[0] = TAG_VALUE
  out.set(key, 1)
  return out
}

// ---- roots and meta ------------------------------------------------------------------

const ROOT_KINDS: readonly RootKind[] = ['empty', 'leaf', 'internal']

export function encodeRoot (r: RootRef): Uint8Array {
  const out = new Uint8Array(41)
  out[0] = ROOT_KINDS.indexOf(r.kind)
  writeU64(out, 1, r.version)
  out.set(r.hash, 9)
  return out
}

export function decodeRoot (raw: Uint8Array): RootRef {
  const buf = plain(raw)
  const kind = ROOT_KINDS[buf[0] as number]
  if (buf.length !== 41 || kind === undefined) throw corrupt('root record is malformed')
  return { kind, version: readU64(buf, 1), hash: buf.slice(9, 41) }
}

export interface Meta { latest: number, oldest: number }

export function encodeMeta (m: Meta): Uint8Array {
  const out = new Uint8Array(17)
  out[0] = FORMAT
  writeU64(out, 1, m.latest)
  writeU64(out, 9, m.oldest)
  return out
}

export function decodeMeta (raw: Uint8Array): Meta {
  const buf = plain(raw)
  if (buf.length !== 17) throw corrupt('meta record is malformed')
  if (buf[0] !== FORMAT) throw corrupt(`unknown store format ${buf[0] as number}`)
  const m = { latest: readU64(buf, 1), oldest: readU64(buf, 9) }
  if (m.oldest > m.latest) throw corrupt('meta has oldest > latest')
  return m
}
