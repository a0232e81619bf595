/**
 * Field schemas shared by every core type: fixed-size hashes, keys and signatures, and the
 * bounds on heights, rounds and times. One place so that limits are consistent.
 *
 * Time is unix milliseconds as a safe integer: no floats, and precise enough for block
 * times (CometBFT uses nanoseconds; the RPC layer renders ours as RFC 3339 with ms).
 */
import { bytes, int, str, uint } from '../codec/index.ts'

export const HASH_SIZE = 32
export const ADDRESS_SIZE = 20
export const PUBKEY_SIZE = 32
export const SIGNATURE_SIZE = 64

/** Largest single tx the node accepts (the app's txs are small signed records). */
export const MAX_TX_BYTES = 32 * 1024
/** Default ceiling on a block's encoded size; consensus params may lower it. */
export const MAX_BLOCK_BYTES = 8 * 1024 * 1024
/** Block parts travel in 64 KiB pieces (DESIGN §4). */
export const BLOCK_PART_SIZE = 64 * 1024
export const MAX_VALIDATORS = 1000
export const MAX_CHAIN_ID_LENGTH = 50
/** Total voting power stays ≤ 2^50 so sums of powers remain safe integers. */
export const MAX_TOTAL_VOTING_POWER = 2 ** 50

export const hash32 = bytes({ len: HASH_SIZE })
/** A hash that may be empty (a nil BlockId, an absent last-commit in the first block). */
export const hashOrEmpty = bytes({ max: HASH_SIZE })
export const address20 = bytes({ len: ADDRESS_SIZE })
export const pubKey32 = bytes({ len: PUBKEY_SIZE })
export const signature64 = bytes({ len: SIGNATURE_SIZE })
/** A signature that may be empty (absent commit slots). */
export const signatureOrEmpty = bytes({ max: SIGNATURE_SIZE })
export const chainIdField = str({ max: MAX_CHAIN_ID_LENGTH, pattern: /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/ })
export const height = uint()
export const round = uint({ max: 2 ** 31 - 1 })
/** Proof-of-lock round: -1 means none. */
export const polRound = int({ min: -1, max: 2 ** 31 - 1 })
export const timeMs = uint()
