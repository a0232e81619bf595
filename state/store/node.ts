/**
 * Storage layout of the authenticated state store: LevelDB keys and node records.
 *
 * Keys (one-byte tag, then big-endian fields, so LevelDB's byte order is the useful order):
 *   'm'                                   meta: format, latest version, oldest retained
 *   'n' ver(8) depth(1) path(⌈depth/2⌉)   a tree node, as the JMT NodeKey (version, nibble
 *                                         path); nodes of one commit are contiguous
 *   'r' ver(8)                            the root of a committed version (kind, node
 *                                         version, hash); several versions may share a node
 *   's' since(8) ver(8) depth(1) path     stale-node index (JMT): the node stopped being
 *                                         part of the tree at version `since`, so it is
 *                                         garbage once every version < since is pruned
 *   'v' key                               flat table: latest committed value of each key,
 *                                         for ordered scans (derived data, same batch)
 *
 * Node records are a fixed binary layout, not msgpack: they are internal, never hashed
 * as such (verify.ts defines what is hashed), and decoding them is on the hot path of
 * every commit. Every decode checks lengths and bitmaps and throws ERR_STORE_CORRUPT.
 *   leaf:     0x00 keyHash(32) valueHash(32) keyLen(u16) key value
 *   internal: 0x01 bitmap(u16) leafBitmap(u16) { version(8) hash(32) } per present slot
 * A path is kept in memory as the lower-case hex prefix of the keyHash (one char a nibble).
 */
import { AidError } from '../../src/errors.ts'
import { popcount16, slotBit } from './verify.ts'

export const TAG_META = 0x6d // 'm'
export const TAG_NODE = 0x6e // 'n'
export const TAG_ROOT = 0x72 // 'r'
export const TAG_STALE = 0x73 // 's'
export const TAG_VALUE = 0x76 // 'v'

export const META_KEY = Uint8Array.of(TAG_META)
export const FORMAT = 1

/** Where a node is stored: the version that wrote it and its nibble path (hex). */
export interface NodeId { version: number, path: string }

/** A parent's view of a child: enough to hash the parent and to find the child. */
export interface ChildRef { version: number, hash: Uint8Array, leaf: boolean }

export interface LeafNode {
  kind: 'leaf'
  keyHash: Uint8Array
  valueHash: Uint8Array
  key: Uint8Array
  value: Uint8Array
}

/** Children kept compact (~0.8 KB for a full node) because these fill the node cache. */
export interface InternalNode {
  kind: 'internal'
  bitmap: number
  leafBitmap: number
  /** Writing version of the child in each slot (0 where absent). */
  versions: Float64Array
  /** 16 × 32 bytes, slot i at offset 32·i (zeros where absent). */
  hashes: Uint8Array
}

export type TreeNode = LeafNode | InternalNode

export type RootKind = 'empty' | 'leaf' | 'internal'
export interface RootRef { kind: RootKind, version: number, hash: Uint8Array }

export function childAt (node: InternalNode, slot: number): ChildRef | undefined {
  const bit = slotBit(slot)
  if ((node.bitmap & bit) === 0) return undefined
  return {
    version: node.versions[slot] as number,
    hash: node.hashes.subarray(32 * slot, 32 * slot + 32),
    leaf: (node.leafBitmap & bit) !== 0,
  }
}

/** Builds an internal node from per-slot children. */
export function makeInternal (children: ReadonlyArray<ChildRef | undefined>): InternalNode {
  let bitmap = 0
  let leafBitmap = 0
  const versions = new Float64Array(16)
  const hashes = new Uint8Array(16 * 32)
  for (let slot = 0; slot < 16; slot++) {
    const c = children[slot]
    if (c === undefined) continue
    bitmap |= slotBit(slot)
    if (c.leaf) leafBitmap |= slotBit(slot)
    versions[slot] = c.version
    hashes.set(c.hash, 32 * slot)
  }
  return { kind: 'internal', bitmap, leafBitmap, versions, hashes }
}

/** The present children's hashes in slot order, as the internal hash wants them. */
export function presentHashes (node: InternalNode): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let slot = 0; slot < 16; slot++) {
    if ((node.bitmap & slotBit(slot)) !== 0) out.push(node.hashes.subarray(32 * slot, 32 * slot + 32))
  }
  return out
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
  if (hi > 0x1fffff) throw new AidError('ERR_STORE_CORRUPT', 'version beyond 2^53', 'state store')
  return hi * 0x100000000 + lo
}

// ---- keys ----------------------------------------------------------------------------

/** 'n' ver depth path, or the same without the tag (for stale entries) when tag < 0. */
function nodeKeyInto (tag: number, since: number, id: NodeId): Uint8Array {
  const depth = id.path.length
  const pathBytes = (depth + 1) >>> 1
  const head = since >= 0 ? 9 : 1
  const out = new Uint8Array(head + 9 + pathBytes)
  out[0] = tag
  if (since >= 0) writeU64(out, 1, since)
  writeU64(out, head, id.version)
  out[head + 8] = depth
  for (let i = 0; i < depth; i++) {
    const nib = parseInt(id.path[i] as string, 16)
    const at = head + 9 + (i >>> 1)
    out[at] = (out[at] as number) | ((i & 1) === 0 ? nib << 4 : nib)
  }
  return out
}

export function nodeKey (id: NodeId): Uint8Array {
  return nodeKeyInto(TAG_NODE, -1, id)
}

export function staleKey (since: number, id: NodeId): Uint8Array {
  return nodeKeyInto(TAG_STALE, since, id)
}

/** The node key a stale entry points at. */
export function nodeKeyOfStale (stale: Uint8Array): Uint8Array {
  const out = new Uint8Array(stale.subarray(8)) // a copy: Buffer#slice would alias the stale key
  out[0] = TAG_NODE
  return out
}

/** Cache key for a node id. */
export function idString (id: NodeId): string {
  return `${id.version}/${id.path}`
}

/** The same string, from a stored node key. */
export function idStringOfKey (key: Uint8Array): string {
  const version = readU64(key, 1)
  const depth = key[9] as number
  let path = ''
  for (let i = 0; i < depth; i++) {
    const b = key[10 + (i >>> 1)] as number
    path += ((i & 1) === 0 ? b >>> 4 : b & 15).toString(16)
  }
  return `${version}/${path}`
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

// ---- records -------------------------------------------------------------------------

function corrupt (what: string): AidError {
  return new AidError('ERR_STORE_CORRUPT', what, 'state store')
}

export function encodeNode (node: TreeNode): Uint8Array {
  if (node.kind === 'leaf') {
    const out = new Uint8Array(67 + node.key.length + node.value.length)
    out[0] = 0x00
    out.set(node.keyHash, 1)
    out.set(node.valueHash, 33)
    out[65] = node.key.length >>> 8
    out[66] = node.key.length & 0xff
    out.set(node.key, 67)
    out.set(node.value, 67 + node.key.length)
    return out
  }
  const n = popcount16(node.bitmap)
  const out = new Uint8Array(5 + 40 * n)
  out[0] = 0x01
  out[1] = node.bitmap >>> 8; out[2] = node.bitmap & 0xff
  out[3] = node.leafBitmap >>> 8; out[4] = node.leafBitmap & 0xff
  let off = 5
  for (let slot = 0; slot < 16; slot++) {
    if ((node.bitmap & slotBit(slot)) === 0) continue
    writeU64(out, off, node.versions[slot] as number)
    out.set(node.hashes.subarray(32 * slot, 32 * slot + 32), off + 8)
    off += 40
  }
  return out
}

/** A plain Uint8Array view of the same bytes (LevelDB hands out Buffers). */
export function plain (b: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(b) === Uint8Array.prototype ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
}

export function decodeNode (raw: Uint8Array): TreeNode {
  const buf = plain(raw)
  if (buf.length < 5) throw corrupt('node record too short')
  if (buf[0] === 0x00) {
    if (buf.length < 67) throw corrupt('leaf record too short')
    const keyLen = ((buf[65] as number) << 8) | (buf[66] as number)
    if (buf.length < 67 + keyLen) throw corrupt('leaf key overruns the record')
    return {
      kind: 'leaf',
      keyHash: buf.slice(1, 33),
      valueHash: buf.slice(33, 65),
      key: buf.slice(67, 67 + keyLen),
      value: buf.slice(67 + keyLen),
    }
  }
  if (buf[0] !== 0x01) throw corrupt(`unknown node tag ${buf[0] as number}`)
  const bitmap = ((buf[1] as number) << 8) | (buf[2] as number)
  const leafBitmap = ((buf[3] as number) << 8) | (buf[4] as number)
  if (bitmap === 0 || (leafBitmap & ~bitmap) !== 0) throw corrupt('internal node bitmaps are inconsistent')
  if (buf.length !== 5 + 40 * popcount16(bitmap)) throw corrupt('internal node has the wrong length')
  const versions = new Float64Array(16)
  const hashes = new Uint8Array(16 * 32)
  let off = 5
  for (let slot = 0; slot < 16; slot++) {
    if ((bitmap & slotBit(slot)) === 0) continue
    versions[slot] = readU64(buf, off)
    hashes.set(buf.subarray(off + 8, off + 40), 32 * slot)
    off += 40
  }
  return { kind: 'internal', bitmap, leafBitmap, versions, hashes }
}

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

export function decodeMeta (buf: Uint8Array): Meta {
  if (buf.length !== 17) throw corrupt('meta record is malformed')
  if (buf[0] !== FORMAT) throw corrupt(`unknown store format ${buf[0] as number}`)
  const m = { latest: readU64(buf, 1), oldest: readU64(buf, 9) }
  if (m.oldest > m.latest) throw corrupt('meta has oldest > latest')
  return m
}
