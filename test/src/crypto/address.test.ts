import t from 'tap'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { ADDRESS_LENGTH, addressFromPubKey } from '../../../src/crypto/address.ts'
import { isAidError } from '../../../src/errors.ts'
import { fromHex, toHex } from '../../../src/bytes.ts'
import { generateKeyPair } from '../../../src/crypto/ed25519.ts'

t.test('golden: RFC 8032 test 1 public key (computed once with @noble/hashes, frozen)', async (t) => {
  const pub = fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
  t.equal(toHex(addressFromPubKey(pub)), '21fe31dfa154a261626bf854046fd2271b7bed4b')
  t.equal(ADDRESS_LENGTH, 20)
})

t.test('cross-check: first 20 bytes of SHA-256(pub) via @noble/hashes', async (t) => {
  for (let i = 0; i < 50; i++) {
    const pub = generateKeyPair().publicKey
    t.equal(toHex(addressFromPubKey(pub)), toHex(nobleSha256(pub).slice(0, 20)))
  }
})

t.test('a key of the wrong length throws ERR_CRYPTO_BAD_KEY', async (t) => {
  for (const bad of [new Uint8Array(31), new Uint8Array(33), 'abc' as unknown as Uint8Array]) {
    let err: unknown
    try { addressFromPubKey(bad) } catch (e) { err = e }
    t.ok(isAidError(err, 'ERR_CRYPTO_BAD_KEY'), String(err))
  }
})
