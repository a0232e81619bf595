/**
 * Binary Merkle trees as RFC 6962 §2.1 (Certificate Transparency) and CometBFT's
 * `crypto/merkle` (`HashFromByteSlices`, `ProofsFromByteSlices`, `Proof.Verify`):
 *   leaf  = SHA-256(0x00 || data)
 *   inner = SHA-256(0x01 || left || right)
 *   MTH(D[n]) = inner(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n
 *   empty tree = SHA-256() (of zero bytes), as CometBFT (RFC 6962 says the same).
 * Proof aunts run from the leaf's sibling up to the root's other child (CometBFT order).
 *
 * The tree is built bottom-up: pair neighbours, carry a lone last node up unchanged. That
 * gives exactly the split-at-largest-power-of-two shape (the tree is left-complete) without
 * recursion; test/src/crypto/merkle.test.ts cross-checks it against the recursive
 * definition for every n up to 300. Hashing reuses one scratch buffer per call and
 * node:crypto's one-shot `hash` (see ./hash.ts for the measurements).
 */
import { hash } from 'node:crypto'
import { AidError } from '../errors.ts'
import { equalBytes } from '../bytes.ts'
import { HASH_LENGTH } from './hash.ts'

/** CometBFT's `MaxAunts`: a proof deeper than this is malformed (2^100 leaves). */
export const MAX_AUNTS = 100

export interface MerkleProof {
  total: number
  index: number
  leafHash: Uint8Array
  aunts: Uint8Array[]
}

function view (d: Buffer): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
}

export const EMPTY_ROOT: Uint8Array = view(hash('sha256', new Uint8Array(0), 'buffer'))

const inner65 = Buffer.allocUnsafe(1 + 2 * HASH_LENGTH)

export function leafHash (data: Uint8Array): Uint8Array {
  const buf = Buffer.allocUnsafe(1 + data.length)
  buf[0] = 0x00
  buf.set(data, 1)
  return view(hash('sha256', buf, 'buffer'))
}

export function innerHash (left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length === HASH_LENGTH && right.length === HASH_LENGTH) {
    // Synchronous, so one module-level scratch buffer is safe to reuse.
    inner65[0] = 0x01
    inner65.set(left, 1)
    inner65.set(right, 1 + HASH_LENGTH)
    return view(hash('sha256', inner65, 'buffer'))
  }
  const buf = Buffer.allocUnsafe(1 + left.length + right.length)
  buf[0] = 0x01
  buf.set(left, 1)
  buf.set(right, 1 + left.length)
  return view(hash('sha256', buf, 'buffer'))
}

/** The next level up: pair neighbours, carry a lone last node. */
function parentLevel (level: Uint8Array[]): Uint8Array[] {
  const up: Uint8Array[] = new Array<Uint8Array>((level.length + 1) >> 1)
  for (let i = 0; i + 1 < level.length; i += 2) {
    up[i >> 1] = innerHash(level[i] as Uint8Array, level[i + 1] as Uint8Array)
  }
  if (level.length % 2 === 1) up[up.length - 1] = level[level.length - 1] as Uint8Array
  return up
}

function leafLevel (items: readonly Uint8Array[]): Uint8Array[] {
  const level: Uint8Array[] = new Array<Uint8Array>(items.length)
  for (let i = 0; i < items.length; i++) level[i] = leafHash(items[i] as Uint8Array)
  return level
}

/** CometBFT `HashFromByteSlices`. */
export function merkleRoot (items: readonly Uint8Array[]): Uint8Array {
  if (items.length === 0) return EMPTY_ROOT
  let level = leafLevel(items)
  while (level.length > 1) level = parentLevel(level)
  return level[0] as Uint8Array
}

/** The root and every leaf's proof (CometBFT `ProofsFromByteSlices`), in O(n) hashes. */
export function merkleProofs (items: readonly Uint8Array[]): { root: Uint8Array, proofs: MerkleProof[] } {
  if (items.length === 0) return { root: EMPTY_ROOT, proofs: [] }
  const levels: Uint8Array[][] = [leafLevel(items)]
  for (let l = levels[0] as Uint8Array[]; l.length > 1;) {
    l = parentLevel(l)
    levels.push(l)
  }
  const total = items.length
  const proofs: MerkleProof[] = []
  for (let index = 0; index < total; index++) {
    const aunts: Uint8Array[] = []
    let i = index
    for (let d = 0; d < levels.length - 1; d++) {
      const level = levels[d] as Uint8Array[]
      const sib = i ^ 1
      if (sib < level.length) aunts.push(level[sib] as Uint8Array)
      i >>= 1
    }
    proofs.push({ total, index, leafHash: (levels[0] as Uint8Array[])[index] as Uint8Array, aunts })
  }
  return { root: (levels[levels.length - 1] as Uint8Array[])[0] as Uint8Array, proofs }
}

/** The proof of one leaf. Throws ERR_CRYPTO_BAD_PROOF when index is outside [0, n). */
export function merkleProof (items: readonly Uint8Array[], index: number): MerkleProof {
  if (!Number.isSafeInteger(index) || index < 0 || index >= items.length) {
    throw new AidError('ERR_CRYPTO_BAD_PROOF', `index ${index} outside a tree of ${items.length} leaves`, 'index')
  }
  return merkleProofs(items).proofs[index] as MerkleProof
}

/** Shape problems of a proof (CometBFT `Proof.ValidateBasic` plus index < total), or undefined. */
export function merkleProofProblem (proof: MerkleProof): string | undefined {
  if (typeof proof !== 'object' || proof === null) return 'proof is not an object'
  const { total, index, leafHash: lh, aunts } = proof
  if (!Number.isSafeInteger(total) || total < 1) return 'total must be a positive integer'
  if (!Number.isSafeInteger(index) || index < 0 || index >= total) return 'index must be in [0, total)'
  if (!(lh instanceof Uint8Array) || lh.length !== HASH_LENGTH) return 'leafHash must be 32 bytes'
  if (!Array.isArray(aunts)) return 'aunts must be an array'
  if (aunts.length > MAX_AUNTS) return `more than ${MAX_AUNTS} aunts`
  for (const a of aunts) if (!(a instanceof Uint8Array) || a.length !== HASH_LENGTH) return 'aunt must be 32 bytes'
  return undefined
}

/** Decode-boundary assertion: throws ERR_CRYPTO_BAD_PROOF with the problem. */
export function assertMerkleProof (proof: MerkleProof, at = 'proof'): void {
  const problem = merkleProofProblem(proof)
  if (problem !== undefined) throw new AidError('ERR_CRYPTO_BAD_PROOF', problem, at)
}

/** The root a proof commits to, or undefined when the aunts do not fit (total, index). */
export function rootFromProof (proof: MerkleProof): Uint8Array | undefined {
  if (merkleProofProblem(proof) !== undefined) return undefined
  let h = proof.leafHash
  let i = proof.index
  let size = proof.total
  let a = 0
  while (size > 1) {
    if ((i & 1) === 1) {
      const aunt = proof.aunts[a++]
      if (aunt === undefined) return undefined
      h = innerHash(aunt, h)
    } else if (i + 1 < size) {
      const aunt = proof.aunts[a++]
      if (aunt === undefined) return undefined
      h = innerHash(h, aunt)
    } // else: lone last node, carried up unchanged
    i >>= 1
    size = (size + 1) >> 1
  }
  return a === proof.aunts.length ? h : undefined
}

/** Does `proof` show that `leaf` is item `proof.index` of the tree with this root? Malformed -> false. */
export function verifyMerkleProof (root: Uint8Array, proof: MerkleProof, leaf: Uint8Array): boolean {
  if (!(root instanceof Uint8Array) || !(leaf instanceof Uint8Array)) return false
  const computed = rootFromProof(proof)
  return computed !== undefined && equalBytes(proof.leafHash, leafHash(leaf)) && equalBytes(computed, root)
}
