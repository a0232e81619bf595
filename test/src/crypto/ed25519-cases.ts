/**
 * Test helpers for the Ed25519 rule: a seeded PRNG and a generator of random valid and
 * invalid signature cases aimed at the places where libraries disagree (non-canonical S,
 * small-order and torsioned A/R, non-canonical encodings), built with @noble/curves'
 * point arithmetic. The reference verdict is always noble's ZIP-215 verify.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import { bytesToNumberLE, numberToBytesLE } from '@noble/curves/utils.js'
import sodium from 'sodium-native'

export const L = ed25519.Point.Fn.ORDER
const P = ed25519.Point.Fp.ORDER
const Point = ed25519.Point
type EdPoint = InstanceType<typeof ed25519.Point>

/** Deterministic byte stream: SHA-256(seed || counter) blocks. Reproducible from `seed`. */
export function createPrng (seed: number): { bytes: (n: number) => Uint8Array, int: (n: number) => number } {
  let counter = 0
  let pool = new Uint8Array(0)
  let off = 0
  const bytes = (n: number): Uint8Array => {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      if (off >= pool.length) {
        const block = new Uint8Array(12)
        const dv = new DataView(block.buffer)
        dv.setUint32(0, seed >>> 0)
        dv.setFloat64(4, counter++)
        pool = sha256(block)
        off = 0
      }
      out[i] = pool[off++] as number
    }
    return out
  }
  const int = (n: number): number => {
    const b = bytes(4)
    return (((b[0] as number) << 24 | (b[1] as number) << 16 | (b[2] as number) << 8 | (b[3] as number)) >>> 0) % n
  }
  return { bytes, int }
}

/** The reference verdict: noble ZIP-215, with anything malformed as false. */
export function referenceVerdict (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  try {
    return ed25519.verify(sig, msg, pub, { zip215: true })
  } catch {
    return false
  }
}

// The eight torsion points: multiples of an order-8 point (speccheck case 0's R).
const T8 = Point.fromBytes(Uint8Array.from(Buffer.from(
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', 'hex')), true)
export const TORSION: EdPoint[] = Array.from({ length: 8 }, (_, i) => i === 0 ? Point.ZERO : T8.multiplyUnsafe(BigInt(i)))

function encodeY (y: bigint, signBit: boolean): Uint8Array {
  const b = numberToBytesLE(y, 32)
  if (signBit) b[31] = (b[31] as number) | 0x80
  return b
}

/** Every encoding ZIP-215 decodes to a small-order point: canonical, y + p, x = 0 with sign. */
export const SMALL_ORDER_ENCODINGS: Uint8Array[] = (() => {
  const out = new Map<string, Uint8Array>()
  for (const t of TORSION) {
    const { x, y } = t.toAffine()
    const signs = x === 0n ? [false, true] : [(x & 1n) === 1n]
    const ys = y + P < 2n ** 255n ? [y, y + P] : [y]
    for (const s of signs) for (const yy of ys) out.set(Buffer.from(encodeY(yy, s)).toString('hex'), encodeY(yy, s))
  }
  return [...out.values()]
})()

const scalarLE = (n: bigint): Uint8Array => numberToBytesLE(((n % L) + L) % L, 32)
const challenge = (r: Uint8Array, a: Uint8Array, m: Uint8Array): bigint =>
  bytesToNumberLE(sha512(new Uint8Array([...r, ...a, ...m]))) % L
const cat = (a: Uint8Array, b: Uint8Array): Uint8Array => { const o = new Uint8Array(a.length + b.length); o.set(a); o.set(b, a.length); return o }

export const CASE_KINDS = [
  'valid', 'tamperedMsg', 'tamperedSig', 'wrongKey', 'sPlusL', 'sTooBig',
  'torsionA', 'torsionA-bad', 'torsionR', 'torsionR-bad',
  'smallOrderA', 'smallOrderA-bad', 'smallOrderR', 'smallOrderR-bad', 'smallOrderBoth',
  'garbage', 'badLength',
] as const
export type CaseKind = typeof CASE_KINDS[number]

/**
 * The order kinds come in (case i is CASE_MIX[i % 26]): ordinary cases dominate as in real
 * traffic, and each edge kind (which takes the noble path in the wrappers, ~1.2 ms) gets
 * 1/26 of the cases, which keeps the random test's CPU time near 35 s.
 */
export const CASE_MIX: readonly CaseKind[] = [
  'valid', 'tamperedMsg', 'torsionA', 'tamperedSig', 'valid', 'sPlusL', 'torsionA-bad', 'wrongKey',
  'torsionR', 'tamperedMsg', 'valid', 'torsionR-bad', 'tamperedSig', 'smallOrderA', 'sTooBig',
  'smallOrderA-bad', 'valid', 'garbage', 'smallOrderR', 'tamperedMsg', 'smallOrderR-bad', 'wrongKey',
  'smallOrderBoth', 'tamperedSig', 'sPlusL', 'badLength',
]

export interface SigCase { kind: CaseKind, pub: Uint8Array, msg: Uint8Array, sig: Uint8Array }

function flipBit (b: Uint8Array, bit: number): Uint8Array {
  const o = Uint8Array.from(b)
  o[bit >> 3] = (o[bit >> 3] as number) ^ (1 << (bit & 7))
  return o
}

/** Case number i of the stream for `seed`: deterministic, so a failure names (seed, i). */
export function makeCase (seed: number, i: number): SigCase {
  const rnd = createPrng(seed * 1_000_003 + i)
  const kind = CASE_MIX[i % CASE_MIX.length] as CaseKind
  const msg = rnd.bytes(rnd.int(160))
  const seedA = rnd.bytes(32)
  const pk = Buffer.alloc(32)
  const sk = Buffer.alloc(64)
  sodium.crypto_sign_seed_keypair(pk, sk, Buffer.from(seedA))
  // RFC 8032 §5.1.5 secret scalar: clamp(SHA-512(seed)[0..32]).
  const h = sha512(seedA).slice(0, 32)
  h[0] = (h[0] as number) & 248
  h[31] = ((h[31] as number) & 127) | 64
  const a = bytesToNumberLE(h)
  const signHonest = (m: Uint8Array): Uint8Array => {
    const s = Buffer.alloc(64)
    sodium.crypto_sign_detached(s, Buffer.from(m), sk)
    return new Uint8Array(s)
  }
  const r = bytesToNumberLE(rnd.bytes(64)) % L
  // [r]B through libsodium: ~10x cheaper than noble here, and only the inputs depend on it.
  const rBBytes = (): Uint8Array => {
    const q = Buffer.alloc(32)
    sodium.crypto_scalarmult_ed25519_base_noclamp(q, Buffer.from(scalarLE(r === 0n ? 1n : r)))
    return new Uint8Array(q)
  }
  const tor = (): EdPoint => TORSION[1 + rnd.int(7)] as EdPoint
  const smallEnc = (): Uint8Array => SMALL_ORDER_ENCODINGS[rnd.int(SMALL_ORDER_ENCODINGS.length)] as Uint8Array
  const sigWith = (rBytes: Uint8Array, pubBytes: Uint8Array, rr: bigint, m: Uint8Array): Uint8Array =>
    cat(rBytes, scalarLE(rr + challenge(rBytes, pubBytes, m) * a))
  const pub = new Uint8Array(pk)
  switch (kind) {
    case 'valid': return { kind, pub, msg, sig: signHonest(msg) }
    case 'tamperedMsg': return { kind, pub, msg: msg.length === 0 ? new Uint8Array([1]) : flipBit(msg, rnd.int(msg.length * 8)), sig: signHonest(msg) }
    case 'tamperedSig': return { kind, pub, msg, sig: flipBit(signHonest(msg), rnd.int(512)) }
    case 'wrongKey': {
      const other = Buffer.alloc(32)
      sodium.crypto_sign_seed_keypair(other, Buffer.alloc(64), Buffer.from(rnd.bytes(32)))
      return { kind, pub: new Uint8Array(other), msg, sig: signHonest(msg) }
    }
    case 'sPlusL': {
      const sig = signHonest(msg)
      return { kind, pub, msg, sig: cat(sig.subarray(0, 32), numberToBytesLE(bytesToNumberLE(sig.subarray(32)) + L, 32)) }
    }
    case 'sTooBig': {
      const s = rnd.bytes(32)
      s[31] = (s[31] as number) | 0x10
      return { kind, pub, msg, sig: cat(signHonest(msg).subarray(0, 32), s) }
    }
    case 'torsionA': case 'torsionA-bad': {
      const pubT = Point.fromBytes(pub).add(tor()).toBytes()
      const sig = sigWith(rBBytes(), pubT, r, msg)
      return { kind, pub: pubT, msg: kind === 'torsionA' ? msg : cat(msg, new Uint8Array([7])), sig }
    }
    case 'torsionR': case 'torsionR-bad': {
      const sig = sigWith(Point.fromBytes(rBBytes()).add(tor()).toBytes(), pub, r, msg)
      return { kind, pub, msg, sig: kind === 'torsionR' ? sig : flipBit(sig, 256 + rnd.int(200)) }
    }
    case 'smallOrderA': case 'smallOrderA-bad': {
      // [8]kA = 0, so R = rB, S = r verifies for any message.
      return { kind, pub: smallEnc(), msg, sig: cat(rBBytes(), scalarLE(kind === 'smallOrderA' ? r : r + 1n)) }
    }
    case 'smallOrderR': case 'smallOrderR-bad': {
      // [8]R = 0, so S = k·a verifies.
      const rBytes = smallEnc()
      const sig = sigWith(rBytes, pub, kind === 'smallOrderR' ? 0n : 1n, msg)
      return { kind, pub, msg, sig }
    }
    case 'smallOrderBoth': {
      const s = rnd.int(2) === 0 ? 0n : bytesToNumberLE(rnd.bytes(32)) % L
      return { kind, pub: smallEnc(), msg, sig: cat(smallEnc(), scalarLE(s)) }
    }
    case 'garbage': {
      const s = rnd.bytes(32)
      s[31] = (s[31] as number) & 0x0f
      return { kind, pub: rnd.bytes(32), msg, sig: cat(rnd.bytes(32), s) }
    }
    case 'badLength': {
      const sig = signHonest(msg)
      const v = rnd.int(4)
      if (v === 0) return { kind, pub: pub.subarray(0, 31), msg, sig }
      if (v === 1) return { kind, pub: cat(pub, new Uint8Array([0])), msg, sig }
      if (v === 2) return { kind, pub, msg, sig: sig.subarray(0, 63) }
      return { kind, pub, msg, sig: cat(sig, new Uint8Array([0])) }
    }
  }
}
