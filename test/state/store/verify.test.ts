import t from 'tap'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import {
  EMPTY_ROOT, type SmtProof, decodeProof, encodeProof, internalHash, keyHashOf, leafHash, valueHashOf, verifyProof,
} from '../../../state/store/index.ts'
import { b, hex, openWithDb, referenceRoot, tempDir } from './helpers.ts'

t.test('hashing rules match the definition (cross-checked with @noble/hashes)', async (t) => {
  t.equal(hex(EMPTY_ROOT), 'dbc1b4c900ffe48d575b5da5c638040125f65db0fe3e24494b76ea986457d986')
  t.equal(hex(EMPTY_ROOT), hex(nobleSha256(Uint8Array.of(2))))
  const kh = keyHashOf(b('k'))
  const vh = valueHashOf(b('v'))
  t.equal(hex(kh), hex(nobleSha256(b('k'))))
  t.equal(hex(leafHash(kh, vh)), hex(nobleSha256(new Uint8Array([0, ...kh, ...vh]))))
  t.equal(hex(internalHash(0x8001, [kh, vh])), hex(nobleSha256(new Uint8Array([1, 0x80, 0x01, ...kh, ...vh]))))
})

t.test('golden vector: root and proof bytes of a three-key map', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store, close } = await openWithDb(dir)
  store.set(b('alpha'), b('1'))
  store.set(b('beta'), b('2'))
  store.set(b('gamma'), b('3'))
  const { rootHash } = await store.commit()
  t.equal(hex(rootHash), hex(referenceRoot([[b('alpha'), b('1')], [b('beta'), b('2')], [b('gamma'), b('3')]])))
  t.equal(hex(rootHash), '2045d7355cc2c8b645430d617550911859b3d55155a7be41fdeb1fc02fec68c9')
  const p = await store.prove(b('alpha'))
  // [[[0x91 (slots 8, 11, 15), [2 siblings]]], [keyHash, valueHash]]
  t.equal(hex(p.proofBytes), '929192cc9192c4201ef77851b70b16f62e58ab9e428ee859db15daa245264cfa5e7a49af3053e304c4207af2c25e19e7db0e33ec4fb7f95b2accb6f344946fefedb3847a7fda5c707ae592c4208ed3f6ad685b959ead7022518e1af76cd816f8e8ec7ccdda1ed4018e8f2223f8c4206b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b')
  const absent = await store.prove(b('delta'))
  // delta's slot at the root is empty: all three children are siblings, no leaf (nil).
  t.equal(hex(absent.proofBytes), '929192cc9193c420234c86d583c0a7b74b406aaab72ad3f6aed5a5daface2c11e0406864dd7d6751c4201ef77851b70b16f62e58ab9e428ee859db15daa245264cfa5e7a49af3053e304c4207af2c25e19e7db0e33ec4fb7f95b2accb6f344946fefedb3847a7fda5c707ae5c0')
  t.ok(verifyProof(rootHash, b('delta'), null, absent.proofBytes))
  t.ok(verifyProof(rootHash, b('alpha'), b('1'), p.proofBytes))
  t.same(decodeProof(p.proofBytes), p.proof)
  t.same(encodeProof(decodeProof(p.proofBytes)), p.proofBytes)
  await close()
  await cleanup()
})

t.test('empty map and one-key map', async (t) => {
  t.ok(verifyProof(EMPTY_ROOT, b('x'), null, { levels: [], leaf: null }))
  t.notOk(verifyProof(EMPTY_ROOT, b('x'), b(''), { levels: [], leaf: null }))
  const kh = keyHashOf(b('x'))
  const vh = valueHashOf(b('y'))
  const root = leafHash(kh, vh)
  t.ok(verifyProof(root, b('x'), b('y'), { levels: [], leaf: { keyHash: kh, valueHash: vh } }))
  t.ok(verifyProof(root, b('z'), null, { levels: [], leaf: { keyHash: kh, valueHash: vh } }), 'the lone leaf proves every other key absent')
  t.notOk(verifyProof(root, b('x'), null, { levels: [], leaf: { keyHash: kh, valueHash: vh } }))
  t.notOk(verifyProof(root, b('x'), b('y2'), { levels: [], leaf: { keyHash: kh, valueHash: vh } }))
})

t.test('proofs verify at several versions and fail when anything is tampered', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store, close } = await openWithDb(dir)
  const model: Array<Map<string, string>> = [new Map()]
  const cur = new Map<string, string>()
  for (let v = 1; v <= 3; v++) {
    for (let i = 0; i < 300; i++) {
      const k = `key-${(i * 7 + v * 13) % 400}`
      if ((i + v) % 5 === 0) {
        store.delete(b(k))
        cur.delete(k)
      } else {
        store.set(b(k), b(`value ${v}.${i}`))
        cur.set(k, `value ${v}.${i}`)
      }
    }
    await store.commit()
    model.push(new Map(cur))
  }
  let checked = 0
  for (let v = 1; v <= 3; v++) {
    const m = model[v] as Map<string, string>
    const root = await store.rootHash(v)
    t.equal(hex(root), hex(referenceRoot([...m].map(([k, x]) => [b(k), b(x)]))), `root of v${v} matches the reference`)
    for (const k of ['key-1', 'key-5', 'key-77', 'key-399', 'absent-a', 'absent-b', 'key-400']) {
      const expected = m.get(k)
      const p = await store.prove(b(k), v)
      const value = expected === undefined ? null : b(expected)
      t.same(p.value, value, `${k}@v${v} value`)
      t.ok(verifyProof(root, b(k), value, p.proofBytes), `${k}@v${v} verifies`)
      t.ok(verifyProof(root, b(k), value, p.proof), `${k}@v${v} verifies as object`)
      // Wrong claim about the value.
      t.notOk(verifyProof(root, b(k), value === null ? b('x') : null, p.proofBytes))
      if (value !== null) {
        for (let i = 0; i < value.length; i++) {
          const v2 = value.slice(); v2[i] = (v2[i] as number) ^ 0x01
          if (verifyProof(root, b(k), v2, p.proofBytes)) t.fail(`tampered value byte ${i} verified`)
        }
        t.notOk(verifyProof(root, b(k), new Uint8Array([...value, 0]), p.proofBytes))
      }
      // Every byte of the proof.
      for (let i = 0; i < p.proofBytes.length; i++) {
        for (const mask of i % 4 === 0 ? [0x01, 0x80] : [0x01]) {
          const pb = p.proofBytes.slice(); pb[i] = (pb[i] as number) ^ mask
          if (verifyProof(root, b(k), value, pb)) t.fail(`tampered proof byte ${i} ^ ${mask} verified`)
        }
      }
      t.notOk(verifyProof(root, b(k), value, p.proofBytes.subarray(0, p.proofBytes.length - 1)))
      t.notOk(verifyProof(root, b(k), value, new Uint8Array([...p.proofBytes, 0])))
      // Every byte of the root.
      for (let i = 0; i < 32; i++) {
        const r2 = root.slice(); r2[i] = (r2[i] as number) ^ 0x01
        if (verifyProof(r2, b(k), value, p.proofBytes)) t.fail(`tampered root byte ${i} verified`)
      }
      // Every byte of the key: a membership proof must fail; a non-membership proof may
      // only pass for a key that is absent too (soundness, not uniqueness).
      const kb = b(k)
      for (let i = 0; i < kb.length; i++) {
        const k2 = kb.slice(); k2[i] = (k2[i] as number) ^ 0x01
        const okd = verifyProof(root, k2, value, p.proofBytes)
        if (okd && (value !== null || m.has(Buffer.from(k2).toString()))) t.fail(`tampered key byte ${i} verified`)
      }
      checked++
    }
    // A proof from another version does not verify against this root where the value changed.
    const other = await store.prove(b('key-1'), v === 1 ? 2 : 1)
    if (other.value === null ? m.has('key-1') : m.get('key-1') !== Buffer.from(other.value).toString()) {
      t.notOk(verifyProof(root, b('key-1'), other.value, other.proofBytes), 'stale proof rejected')
    }
  }
  t.equal(checked, 21)
  await close()
  await cleanup()
})

t.test('malformed input gives false, never an exception', async (t) => {
  const root = EMPTY_ROOT
  const bad: unknown[] = [
    new Uint8Array(0), Uint8Array.of(0xc1), Uint8Array.of(0x92, 0x90), null, undefined, 42, 'proof',
    { levels: [], leaf: null, extra: 1 }, { levels: [{ bitmap: 0, siblings: [] }], leaf: null },
    { levels: [{ bitmap: 0x10000, siblings: [] }], leaf: null }, { levels: 'x', leaf: null },
    { levels: [], leaf: { keyHash: new Uint8Array(31), valueHash: new Uint8Array(32) } },
    { levels: Array.from({ length: 65 }, () => ({ bitmap: 1, siblings: [] })), leaf: null },
  ]
  for (const p of bad) t.equal(verifyProof(root, b('k'), null, p as SmtProof), false)
  t.equal(verifyProof(new Uint8Array(31), b('k'), null, { levels: [], leaf: null }), false)
  t.equal(verifyProof(root, 'k' as unknown as Uint8Array, null, { levels: [], leaf: null }), false)
  // A level with the path's slot set but no hash for it, or an empty slot with a leaf below.
  const kh = keyHashOf(b('k'))
  const slot = kh[0] as number >> 4
  t.equal(verifyProof(root, b('k'), null, { levels: [{ bitmap: 0x8000 >>> slot, siblings: [] }], leaf: null }), false)
})
