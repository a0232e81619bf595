/**
 * Ed25519 keys and signing (RFC 8032 §5.1, PureEdDSA, deterministic), plus the verifier
 * API re-exported from ./zip215.ts, where the one validity rule (ZIP-215) lives.
 *
 * Key layout follows libsodium and CometBFT: the 32-byte seed is the secret; the 64-byte
 * "secret key" is seed || public key (CometBFT's `priv_key` value in
 * priv_validator_key.json). A 64-byte secret key whose public half does not match its seed
 * is refused: signing with a mismatched public key leaks the private scalar.
 *
 * Signing backends: `sodium` (default; crypto_sign_detached) and `node` (node:crypto,
 * OpenSSL). Both implement RFC 8032 exactly, so they produce the same bytes (tested against
 * the RFC's vectors and each other).
 */
import { createPrivateKey, randomBytes, sign as nodeSign, type KeyObject } from 'node:crypto'
import sodium from 'sodium-native'
import { AidError } from '../errors.ts'
import { equalBytes, fromBase64, fromHex } from '../bytes.ts'
import { PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH } from './zip215.ts'

export {
  createVerifier, verify, isCanonicalS, DEFAULT_BACKEND, ED25519_BACKENDS,
  PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH,
} from './zip215.ts'
export type { Ed25519Backend, Ed25519Verifier, VerifierOptions } from './zip215.ts'

export const SEED_LENGTH = 32
export const SECRET_KEY_LENGTH = 64

export interface Ed25519KeyPair {
  /** The 32-byte secret seed. */
  readonly seed: Uint8Array
  readonly publicKey: Uint8Array
  /** seed || publicKey (64 bytes), the libsodium / CometBFT layout. */
  readonly secretKey: Uint8Array
}

export type SignBackend = 'sodium' | 'node'

export interface SignerOptions {
  backend?: SignBackend
}

export interface Ed25519Signer {
  readonly publicKey: Uint8Array
  sign: (msg: Uint8Array) => Uint8Array
}

function assertLength (b: unknown, len: number, what: string, at?: string): asserts b is Uint8Array {
  if (!(b instanceof Uint8Array) || b.length !== len) {
    const got = b instanceof Uint8Array ? `${b.length} bytes` : typeof b
    throw new AidError('ERR_CRYPTO_BAD_KEY', `${what} must be ${len} bytes, got ${got}`, at)
  }
}

/** Derive the key pair of a 32-byte seed. Throws ERR_CRYPTO_BAD_KEY on a wrong length. */
export function keyPairFromSeed (seed: Uint8Array, at?: string): Ed25519KeyPair {
  assertLength(seed, SEED_LENGTH, 'Ed25519 seed', at)
  const pk = new Uint8Array(PUBLIC_KEY_LENGTH)
  const sk = new Uint8Array(SECRET_KEY_LENGTH)
  sodium.crypto_sign_seed_keypair(pk as Buffer, sk as Buffer, seed as Buffer)
  return { seed: sk.slice(0, SEED_LENGTH), publicKey: pk, secretKey: sk }
}

/** A fresh key pair from the OS CSPRNG, or from `seed` when given (deterministic). */
export function generateKeyPair (seed?: Uint8Array): Ed25519KeyPair {
  return keyPairFromSeed(seed ?? new Uint8Array(randomBytes(SEED_LENGTH)))
}

export function publicKeyFromSeed (seed: Uint8Array): Uint8Array {
  return keyPairFromSeed(seed).publicKey
}

/** Accept a 32-byte seed or a 64-byte seed || public key (checked for consistency). */
export function keyPairFromSecretKey (secret: Uint8Array, at?: string): Ed25519KeyPair {
  if (secret instanceof Uint8Array && secret.length === SEED_LENGTH) return keyPairFromSeed(secret, at)
  assertLength(secret, SECRET_KEY_LENGTH, 'Ed25519 secret key', at)
  const kp = keyPairFromSeed(secret.subarray(0, SEED_LENGTH), at)
  if (!equalBytes(kp.publicKey, secret.subarray(SEED_LENGTH))) {
    throw new AidError('ERR_CRYPTO_BAD_KEY', 'public half of the secret key does not match its seed', at)
  }
  return kp
}

/** Decode text as standard base64 (CometBFT JSON) or, failing that, hex. */
function decodeText (text: unknown, what: string, at?: string): Uint8Array {
  if (typeof text !== 'string') throw new AidError('ERR_CRYPTO_BAD_KEY', `${what} must be a string`, at)
  const t = text.trim()
  try {
    return /^[0-9a-fA-F]+$/.test(t) && (t.length === 64 || t.length === 128) ? fromHex(t, at) : fromBase64(t, at)
  } catch {
    throw new AidError('ERR_CRYPTO_BAD_KEY', `${what} is neither base64 nor hex`, at)
  }
}

/** A public key from base64 or hex text (32 bytes). Throws ERR_CRYPTO_BAD_KEY. */
export function decodePublicKey (text: string, at?: string): Uint8Array {
  const b = decodeText(text, 'Ed25519 public key', at)
  assertLength(b, PUBLIC_KEY_LENGTH, 'Ed25519 public key', at)
  return b
}

/** A key pair from base64 or hex text of a seed or seed || public key. Throws ERR_CRYPTO_BAD_KEY. */
export function decodeSecretKey (text: string, at?: string): Ed25519KeyPair {
  return keyPairFromSecretKey(decodeText(text, 'Ed25519 secret key', at), at)
}

/** PKCS#8 DER prefix of an Ed25519 private key (RFC 8410 §7); the 32 seed bytes follow. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')

export function createSigner (key: Ed25519KeyPair, opts: SignerOptions = {}): Ed25519Signer {
  const kp = keyPairFromSecretKey(key.secretKey)
  const backend = opts.backend ?? 'sodium'
  if (backend === 'sodium') {
    return {
      publicKey: kp.publicKey,
      sign (msg) {
        const sig = new Uint8Array(SIGNATURE_LENGTH)
        sodium.crypto_sign_detached(sig as Buffer, msg as Buffer, kp.secretKey as Buffer)
        return sig
      },
    }
  }
  if (backend === 'node') {
    const pkey: KeyObject = createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, kp.seed]), format: 'der', type: 'pkcs8',
    })
    return {
      publicKey: kp.publicKey,
      sign (msg) {
        const s = nodeSign(null, msg, pkey)
        return new Uint8Array(s.buffer, s.byteOffset, s.byteLength)
      },
    }
  }
  throw new RangeError(`unknown Ed25519 signing backend: ${String(backend)}`)
}

/** One-shot signing (re-derives the key; use createSigner for repeated signing). */
export function sign (key: Ed25519KeyPair, msg: Uint8Array): Uint8Array {
  return createSigner(key).sign(msg)
}
