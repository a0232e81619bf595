import t from 'tap'
import { readFileSync } from 'node:fs'
import { createPublicKey, verify as nodeVerify } from 'node:crypto'
import sodium from 'sodium-native'
import { ed25519 } from '@noble/curves/ed25519.js'
import {
  createSigner, createVerifier, decodePublicKey, decodeSecretKey, DEFAULT_BACKEND, ED25519_BACKENDS,
  generateKeyPair, isCanonicalS, keyPairFromSecretKey, keyPairFromSeed, publicKeyFromSeed, sign, verify,
} from '../../../src/crypto/ed25519.ts'
import { isAidError } from '../../../src/errors.ts'
import { fromHex, toBase64, toHex } from '../../../src/bytes.ts'
import { L, referenceVerdict } from './ed25519-cases.ts'

interface Vector { message: string, pub_key: string, signature: string }
const vectors = (JSON.parse(readFileSync(new URL('../../../../shared/vectors/ed25519-speccheck.json', import.meta.url), 'utf8')) as Vector[])
  .map((v) => ({ pub: fromHex(v.pub_key), msg: fromHex(v.message), sig: fromHex(v.signature) }))

const row = (f: (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array) => boolean): string =>
  vectors.map((v) => f(v.pub, v.msg, v.sig) ? 'V' : 'X').join('')

// The ZIP-215 verdicts on speccheck cases 0..e, as noble's zip215 verify gives them
// (checked below) and as DESIGN §7 records: only 9, a (S >= L) and b fail.
const RULE = 'VVVVVVVVVXXXVVV'

t.test('speccheck vectors: noble zip215 gives the rule row', async (t) => {
  t.equal(vectors.length, 15)
  t.equal(row(referenceVerdict), RULE)
})

t.test('speccheck vectors: every backend, as wrapped, gives exactly the rule verdict', async (t) => {
  for (const backend of ED25519_BACKENDS) {
    const v = createVerifier({ backend })
    t.equal(row(v.verify), RULE, backend)
    t.equal(row(v.verify), RULE, `${backend}, second pass (warm key caches)`)
  }
  t.equal(row(verify), RULE, 'default verify')
})

t.test('speccheck vectors: the raw libraries, as measured (DESIGN §7)', async (t) => {
  const spki = Buffer.from('302a300506032b6570032100', 'hex')
  const rawNode = (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean => {
    try {
      return nodeVerify(null, msg, createPublicKey({ key: Buffer.concat([spki, pub]), format: 'der', type: 'spki' }), sig)
    } catch { return false }
  }
  const rawSodium = (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean =>
    sodium.crypto_sign_verify_detached(Buffer.from(sig), Buffer.from(msg), Buffer.from(pub))
  const strict = (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean => ed25519.verify(sig, msg, pub, { zip215: false })
  t.equal(row(rawSodium), 'XXXXXXVXXXXXXXX', 'libsodium')
  t.equal(row(rawNode), 'XVXVXVVXXXXXXXV', 'node:crypto')
  t.equal(row(strict), 'XXXXVVVVVXXXXXX', 'noble strict')
  // The wrapper's soundness needs: whatever a fast library accepts, the rule accepts.
  for (const [name, f] of [['libsodium', rawSodium], ['node', rawNode]] as const) {
    const r = row(f)
    for (let i = 0; i < r.length; i++) if (r[i] === 'V') t.equal(RULE[i], 'V', `${name} accepts case ${i.toString(16)} => rule accepts`)
  }
})

// RFC 8032 §7.1 tests 1-3.
const RFC8032 = [
  ['9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', '',
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'],
  ['4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb', '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c', '72',
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00'],
  ['c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7', 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025', 'af82',
    '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a'],
] as const

t.test('RFC 8032 vectors: keys, both signing backends, every verifier', async (t) => {
  for (const [seedHex, pubHex, msgHex, sigHex] of RFC8032) {
    const kp = keyPairFromSeed(fromHex(seedHex))
    t.equal(toHex(kp.publicKey), pubHex)
    t.equal(toHex(publicKeyFromSeed(fromHex(seedHex))), pubHex)
    t.equal(toHex(kp.secretKey), seedHex + pubHex)
    const msg = fromHex(msgHex)
    t.equal(toHex(createSigner(kp, { backend: 'sodium' }).sign(msg)), sigHex, 'sodium signs')
    t.equal(toHex(createSigner(kp, { backend: 'node' }).sign(msg)), sigHex, 'node signs')
    t.equal(toHex(sign(kp, msg)), sigHex, 'sign()')
    t.equal(toHex(ed25519.sign(msg, fromHex(seedHex))), sigHex, 'noble agrees')
    for (const backend of ED25519_BACKENDS) t.ok(createVerifier({ backend }).verify(kp.publicKey, msg, fromHex(sigHex)), backend)
  }
})

t.test('key generation and parsing', async (t) => {
  const a = generateKeyPair()
  const b = generateKeyPair()
  t.not(toHex(a.seed), toHex(b.seed), 'random keys differ')
  t.equal(toHex(generateKeyPair(a.seed).publicKey), toHex(a.publicKey), 'seeded generation is deterministic')
  t.equal(toHex(decodePublicKey(toBase64(a.publicKey))), toHex(a.publicKey), 'base64 public key')
  t.equal(toHex(decodePublicKey(toHex(a.publicKey))), toHex(a.publicKey), 'hex public key')
  t.equal(toHex(decodeSecretKey(toBase64(a.secretKey)).publicKey), toHex(a.publicKey), 'base64 64-byte secret (CometBFT)')
  t.equal(toHex(decodeSecretKey(toHex(a.seed)).publicKey), toHex(a.publicKey), 'hex seed')
  const bad = (f: () => unknown, label: string): void => {
    let err: unknown
    try { f() } catch (e) { err = e }
    t.ok(isAidError(err, 'ERR_CRYPTO_BAD_KEY'), `${label}: ${String(err)}`)
  }
  bad(() => decodePublicKey('AAAA'), 'short key')
  bad(() => decodePublicKey('not base64 or hex!'), 'garbage text')
  bad(() => decodePublicKey(123 as unknown as string), 'not a string')
  bad(() => keyPairFromSeed(new Uint8Array(31)), 'short seed')
  bad(() => keyPairFromSecretKey(new Uint8Array(63)), '63-byte secret')
  const mismatched = new Uint8Array(64)
  mismatched.set(a.seed)
  mismatched.set(b.publicKey, 32)
  bad(() => keyPairFromSecretKey(mismatched), 'public half not matching the seed')
  t.throws(() => createVerifier({ backend: 'nope' as 'noble' }), RangeError)
  t.equal(DEFAULT_BACKEND, 'sodium')
})

t.test('malformed inputs are false, never an exception', async (t) => {
  const kp = generateKeyPair()
  const msg = new Uint8Array([1, 2, 3])
  const sig = sign(kp, msg)
  const odd: Array<[unknown, unknown, unknown, string]> = [
    [kp.publicKey.subarray(0, 31), msg, sig, 'pub 31 bytes'],
    [new Uint8Array(33), msg, sig, 'pub 33 bytes'],
    [kp.publicKey, msg, sig.subarray(0, 63), 'sig 63 bytes'],
    [kp.publicKey, msg, new Uint8Array(65), 'sig 65 bytes (libsodium alone would read the first 64)'],
    [undefined, msg, sig, 'pub undefined'],
    [kp.publicKey, 'text', sig, 'msg a string'],
    [kp.publicKey, msg, null, 'sig null'],
  ]
  for (const backend of ED25519_BACKENDS) {
    const v = createVerifier({ backend })
    t.ok(v.verify(kp.publicKey, msg, sig), `${backend}: valid`)
    for (const [p, m, s, label] of odd) {
      t.equal(v.verify(p as Uint8Array, m as Uint8Array, s as Uint8Array), false, `${backend}: ${label}`)
    }
    // A 65-byte signature whose first 64 bytes are valid.
    const long = new Uint8Array(65)
    long.set(sig)
    t.equal(v.verify(kp.publicKey, msg, long), false, `${backend}: trailing byte after a valid signature`)
  }
})

t.test('isCanonicalS at the boundary', async (t) => {
  const withS = (s: bigint): Uint8Array => {
    const sig = new Uint8Array(64)
    for (let i = 0; i < 32; i++) sig[32 + i] = Number((s >> BigInt(8 * i)) & 0xffn)
    return sig
  }
  t.ok(isCanonicalS(withS(0n)))
  t.ok(isCanonicalS(withS(L - 1n)))
  t.notOk(isCanonicalS(withS(L)))
  t.notOk(isCanonicalS(withS(L + 1n)))
  t.notOk(isCanonicalS(withS(2n ** 256n - 1n)))
  t.ok(isCanonicalS(withS(2n ** 252n)), '2^252 < L')
})
