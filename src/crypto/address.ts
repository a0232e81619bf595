/**
 * Validator and signer addresses as CometBFT's `crypto/ed25519` `PubKey.Address()`: the first
 * 20 bytes of SHA-256(public key) (`tmhash.SumTruncated`), DESIGN §7.
 */
import { AidError } from '../errors.ts'
import { sha256 } from './hash.ts'

export const ADDRESS_LENGTH = 20
/** Ed25519 (./zip215.ts); repeated here so addresses do not load the signature libraries. */
const PUBLIC_KEY_LENGTH = 32

/** Throws ERR_CRYPTO_BAD_KEY when `pub` is not a 32-byte Ed25519 public key. */
export function addressFromPubKey (pub: Uint8Array): Uint8Array {
  if (!(pub instanceof Uint8Array) || pub.length !== PUBLIC_KEY_LENGTH) {
    throw new AidError('ERR_CRYPTO_BAD_KEY', `public key must be ${PUBLIC_KEY_LENGTH} bytes`, 'pubKey')
  }
  return sha256(pub).slice(0, ADDRESS_LENGTH)
}
