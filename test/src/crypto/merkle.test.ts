import t from 'tap'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import {
  assertMerkleProof, EMPTY_ROOT, MAX_AUNTS, merkleProof, merkleProofs, merkleRoot, rootFromProof, verifyMerkleProof,
  type MerkleProof,
} from '../../../src/crypto/merkle.ts'
import { isAidError } from '../../../src/errors.ts'
import { toHex, utf8 } from '../../../src/bytes.ts'

// An independent, straightforward RFC 6962 implementation on @noble/hashes: the recursive
// definition with the split at the largest power of two < n, and CometBFT's recursive
// computeHashFromAunts (aunts[last] is the root's other child).
const H = (...parts: Uint8Array[]): Uint8Array => {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let off = 0
  for (const p of parts) { all.set(p, off); off += p.length }
  return nobleSha256(all)
}
const refLeaf = (d: Uint8Array): Uint8Array => H(new Uint8Array([0]), d)
const refInner = (l: Uint8Array, r: Uint8Array): Uint8Array => H(new Uint8Array([1]), l, r)
const splitPoint = (n: number): number => { let k = 1; while (k * 2 < n) k *= 2; return k }
const refRoot = (xs: Uint8Array[]): Uint8Array => {
  if (xs.length === 0) return nobleSha256(new Uint8Array(0))
  if (xs.length === 1) return refLeaf(xs[0] as Uint8Array)
  const k = splitPoint(xs.length)
  return refInner(refRoot(xs.slice(0, k)), refRoot(xs.slice(k)))
}
const refFromAunts = (index: number, total: number, leaf: Uint8Array, aunts: Uint8Array[]): Uint8Array | undefined => {
  if (total === 1) return aunts.length === 0 ? leaf : undefined
  if (aunts.length === 0) return undefined
  const k = splitPoint(total)
  const last = aunts[aunts.length - 1] as Uint8Array
  const rest = aunts.slice(0, -1)
  if (index < k) {
    const l = refFromAunts(index, k, leaf, rest)
    return l === undefined ? undefined : refInner(l, last)
  }
  const r = refFromAunts(index - k, total - k, leaf, rest)
  return r === undefined ? undefined : refInner(last, r)
}

const items = (n: number): Uint8Array[] => Array.from({ length: n }, (_, i) => utf8(`item-${i}`))

t.test('golden roots: CometBFT crypto/merkle tree_test.go TestHashFromByteSlices', async (t) => {
  const u = (...x: number[]): Uint8Array => new Uint8Array(x)
  const cases: Array<[Uint8Array[], string]> = [
    [[], 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    [[u(1, 2, 3)], '054edec1d0211f624fed0cbca9d4f9400b0e491c43742af2c5b0abebf0c990d8'],
    [[u()], '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d'],
    [[u(1, 2, 3), u(4, 5, 6)], '82e6cfce00453804379b53962939eaa7906b39904be0813fcadd31b100773c4b'],
    [[u(1, 2), u(3, 4), u(5, 6), u(7, 8), u(9, 10)], 'f326493eceab4f2d9ffbc78c59432a0a005d6ea98392045c74df5d14a113be18'],
  ]
  for (const [xs, hex] of cases) {
    t.equal(toHex(merkleRoot(xs)), hex, `${xs.length} items`)
    t.equal(toHex(refRoot(xs)), hex, `${xs.length} items (independent impl)`)
  }
  t.equal(toHex(EMPTY_ROOT), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
})

t.test('golden roots of "item-<i>" lists (computed once with the independent impl, frozen)', async (t) => {
  const frozen: Array<[number, string]> = [
    [1, '149d9354e123f46c683947f46f8d8fdd7ee416fb17ea521acaf61d8e3c8c3a2d'],
    [2, '7e276c34756b44b65ba40ff98b4a72a6a56af9e75d649cdad7dc98be9459cb75'],
    [3, '29c5ddb153c57eaa07dc7795614ea660f6967ff71ab5d60f6e4cf2ed9ba6f70a'],
    [5, 'baa6733f765d115e14da4b45188ff409af71852ce8b76ffdb1ee6647b82813c6'],
    [7, '027a33d1a345a1383cb07b02d46652ed0c39600828b84ed72479fc164416423a'],
    [8, '3c0ba3f65bc32b02aff3f07bff8d7bd5cc5bb915004991e11880a06f65d9fcd4'],
    [100, 'ff03998bd1d44cdeb3977871f60a9ce03c599a7ee2a8e0f8c23ca02db61e1100'],
  ]
  for (const [n, hex] of frozen) t.equal(toHex(merkleRoot(items(n))), hex, `n=${n}`)
})

t.test('roots for n = 0..300 and proofs (all for n <= 64, edges and a stride above) agree with the independent impl', async (t) => {
  let checked = 0
  for (let n = 0; n <= 300; n++) {
    const xs = items(n)
    const want = refRoot(xs)
    if (toHex(merkleRoot(xs)) !== toHex(want)) t.fail(`root n=${n}`)
    const { root, proofs } = merkleProofs(xs)
    if (toHex(root) !== toHex(want)) t.fail(`merkleProofs root n=${n}`)
    const picks = n <= 64
      ? Array.from({ length: n }, (_, i) => i)
      : [...new Set([0, 1, n >> 1, n - 2, n - 1, ...Array.from({ length: 8 }, (_, k) => Math.floor(k * n / 8) + 3)])]
    for (const i of picks) {
      const p = proofs[i] as MerkleProof
      const viaRef = refFromAunts(i, n, refLeaf(xs[i] as Uint8Array), p.aunts)
      if (viaRef === undefined || toHex(viaRef) !== toHex(want)) t.fail(`aunts order n=${n} i=${i}`)
      if (!verifyMerkleProof(want, p, xs[i] as Uint8Array)) t.fail(`verify n=${n} i=${i}`)
      checked++
    }
  }
  t.pass(`${checked} proofs checked`)
})

t.test('merkleProof of one leaf; bad index throws ERR_CRYPTO_BAD_PROOF', async (t) => {
  const xs = items(11)
  const p = merkleProof(xs, 6)
  t.equal(p.total, 11)
  t.equal(p.index, 6)
  t.equal(toHex(p.leafHash), toHex(refLeaf(xs[6] as Uint8Array)))
  t.ok(verifyMerkleProof(merkleRoot(xs), p, xs[6] as Uint8Array))
  for (const i of [-1, 11, 1.5]) {
    let err: unknown
    try { merkleProof(xs, i) } catch (e) { err = e }
    t.ok(isAidError(err, 'ERR_CRYPTO_BAD_PROOF'), `index ${i}`)
  }
})

t.test('tampered and malformed proofs are false, never an exception', async (t) => {
  const xs = items(13)
  const root = merkleRoot(xs)
  const p = merkleProof(xs, 9)
  const leaf = xs[9] as Uint8Array
  const flip = (b: Uint8Array): Uint8Array => { const c = Uint8Array.from(b); c[0] = (c[0] as number) ^ 1; return c }
  const bad: Array<[string, MerkleProof, Uint8Array, Uint8Array]> = [
    ['wrong leaf', p, xs[8] as Uint8Array, root],
    ['wrong root', p, leaf, flip(root)],
    ['wrong index', { ...p, index: 8 }, leaf, root],
    ['index = total', { ...p, index: 13 }, leaf, root],
    ['negative index', { ...p, index: -1 }, leaf, root],
    ['wrong total', { ...p, total: 12 }, leaf, root],
    ['zero total', { ...p, total: 0 }, leaf, root],
    ['tampered aunt', { ...p, aunts: [flip(p.aunts[0] as Uint8Array), ...p.aunts.slice(1)] }, leaf, root],
    ['missing aunt', { ...p, aunts: p.aunts.slice(1) }, leaf, root],
    ['extra aunt', { ...p, aunts: [...p.aunts, root] }, leaf, root],
    ['short aunt', { ...p, aunts: [(p.aunts[0] as Uint8Array).subarray(0, 31), ...p.aunts.slice(1)] }, leaf, root],
    ['leafHash mismatch', { ...p, leafHash: flip(p.leafHash) }, leaf, root],
    ['too many aunts', { ...p, aunts: Array.from({ length: MAX_AUNTS + 1 }, () => root) }, leaf, root],
    ['aunts not an array', { ...p, aunts: 'x' as unknown as Uint8Array[] }, leaf, root],
    ['not an object', null as unknown as MerkleProof, leaf, root],
  ]
  t.ok(verifyMerkleProof(root, p, leaf), 'the untampered proof verifies')
  for (const [label, proof, l, r] of bad) t.equal(verifyMerkleProof(r, proof, l), false, label)
  t.equal(rootFromProof({ ...p, aunts: p.aunts.slice(1) }), undefined)
  let err: unknown
  try { assertMerkleProof({ ...p, index: 13 }) } catch (e) { err = e }
  t.ok(isAidError(err, 'ERR_CRYPTO_BAD_PROOF'), String(err))
  t.doesNotThrow(() => { assertMerkleProof(p) })
  // A single-leaf tree: the proof has no aunts and the root is the leaf hash.
  const one = merkleProof([leaf], 0)
  t.same(one.aunts, [])
  t.ok(verifyMerkleProof(merkleRoot([leaf]), one, leaf))
})
