/**
 * The signed transaction envelope (DESIGN §6). The kernel knows the envelope only; the body
 * is the canonical encoding of one typed operation, decoded by the app's own schema
 * (state/), so the kernel stays free of domain types.
 *
 * Replay protection without one-at-a-time sequencing: a tx is valid until
 * `expiresAtHeight`, and the app remembers the hashes of committed txs until they expire,
 * so an office may have any number of txs in flight; `nonce` lets it send the same body
 * twice on purpose.
 */
import { bytes, encode, oneOf, struct, uint, type Infer } from '../codec/index.ts'
import { sha256 } from '../crypto/hash.ts'
import { chainIdField, height, MAX_TX_BYTES, pubKey32, signature64 } from './primitives.ts'

export const TxEnvelopeSchema = struct('TxEnvelope', {
  chainId: chainIdField,
  /** The office key that signs; the app maps it to the office and checks its authority. */
  signer: pubKey32,
  expiresAtHeight: height,
  nonce: uint(),
  body: bytes({ max: MAX_TX_BYTES - 256 }),
  signature: signature64,
})
export type TxEnvelope = Infer<typeof TxEnvelopeSchema>

const TxSignBytesSchema = struct('TxSignBytes', {
  tag: oneOf(['aidledger/tx/v1']),
  chainId: chainIdField,
  signer: pubKey32,
  expiresAtHeight: height,
  nonce: uint(),
  body: bytes({ max: MAX_TX_BYTES - 256 }),
})

export function txSignBytes (tx: Omit<TxEnvelope, 'signature'>): Uint8Array {
  return encode(TxSignBytesSchema, {
    tag: 'aidledger/tx/v1', chainId: tx.chainId, signer: tx.signer, expiresAtHeight: tx.expiresAtHeight, nonce: tx.nonce, body: tx.body,
  })
}

/** A tx's hash is SHA-256 of its bytes, as in CometBFT. */
export function txHash (txBytes: Uint8Array): Uint8Array {
  return sha256(txBytes)
}
