import t from 'tap'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { HASH_LENGTH, sha256, sha256Concat } from '../../../src/crypto/hash.ts'
import { toHex, utf8 } from '../../../src/bytes.ts'

t.test('FIPS 180-4 examples', async (t) => {
  t.equal(toHex(sha256(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  t.equal(toHex(sha256(utf8('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
  t.equal(sha256(utf8('abc')).length, HASH_LENGTH)
})

t.test('cross-check with @noble/hashes, one-shot and concatenated, across the concat limit', async (t) => {
  for (const n of [0, 1, 31, 32, 33, 64, 65, 1000, 4095, 4096, 4097, 70_000]) {
    const data = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff)
    const want = toHex(nobleSha256(data))
    t.equal(toHex(sha256(data)), want, `sha256 ${n} bytes`)
    const cut = n >> 1
    t.equal(toHex(sha256Concat(data.subarray(0, cut), data.subarray(cut))), want, `sha256Concat ${n} bytes`)
    t.equal(toHex(sha256Concat(new Uint8Array(0), data, new Uint8Array(0))), want, `sha256Concat with empty parts ${n}`)
  }
  t.equal(toHex(sha256Concat()), toHex(nobleSha256(new Uint8Array(0))), 'no parts')
})

t.test('a view into a larger buffer hashes only the view', async (t) => {
  const big = Uint8Array.from({ length: 100 }, (_, i) => i)
  const v = big.subarray(10, 42)
  t.equal(toHex(sha256(v)), toHex(nobleSha256(Uint8Array.from(v))))
})
