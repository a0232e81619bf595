/**
 * The one error catalogue (fastify style): every error the node raises carries a stable
 * `code` that apps, logs and tests can match on. Messages may improve; codes never change
 * meaning. Add new codes here, grouped by module prefix, and never reuse a retired one.
 *
 * Byzantine input (a bad vote, a malformed frame, a tx that fails checks) is returned as
 * data at module boundaries; these errors are for the decode boundary and for operator
 * mistakes (bad config, bad genesis), where throwing with a labelled message is right.
 */

export const ErrorCodes = {
  // codec: canonical msgpack profile (src/codec)
  ERR_CODEC_MALFORMED: 'input is not well-formed msgpack',
  ERR_CODEC_TRAILING_BYTES: 'bytes remain after the encoded value',
  ERR_CODEC_NON_CANONICAL: 'value is not in canonical encoding',
  ERR_CODEC_WRONG_TYPE: 'value has the wrong type',
  ERR_CODEC_OUT_OF_RANGE: 'integer out of range',
  ERR_CODEC_TOO_LONG: 'value exceeds its maximum length',
  ERR_CODEC_WRONG_LENGTH: 'byte string has the wrong length',
  ERR_CODEC_UNKNOWN_FIELD: 'value has fields outside the schema',
  ERR_CODEC_MISSING_FIELD: 'value lacks a field the schema requires',
  ERR_CODEC_BAD_VALUE: 'value is not one of the allowed values',
  ERR_CODEC_TOO_LARGE: 'encoded input exceeds the size limit',
  // crypto (src/crypto)
  ERR_CRYPTO_BAD_KEY: 'key has the wrong length or form',
  ERR_CRYPTO_BAD_SIGNATURE: 'signature has the wrong length',
  ERR_CRYPTO_BAD_PROOF: 'Merkle proof is malformed',
  ERR_CRYPTO_POOL_CLOSED: 'verify pool is closed',
  // core types validation (src/types)
  ERR_TYPES_INVALID: 'value fails basic validation',
  // storage (src/store)
  ERR_STORE_CORRUPT: 'stored data is corrupt',
  ERR_STORE_NOT_FOUND: 'record not found',
  ERR_STORE_CLOSED: 'store is closed',
  ERR_STORE_INVALID_WRITE: 'write refused: it would break the store\'s invariants',
  ERR_STORE_IO: 'database operation failed',
  // state store: the authenticated Merkle store (state/store); also uses ERR_STORE_*
  ERR_SMT_BAD_KEY: 'key is not a byte string of allowed length',
  ERR_SMT_BAD_VALUE: 'value is not a byte string of allowed length',
  ERR_SMT_VERSION_PRUNED: 'version has been pruned',
  ERR_SMT_VERSION_UNKNOWN: 'version has not been committed',
  ERR_SMT_BAD_OPTIONS: 'state store options are invalid',
  ERR_SMT_PREPARED: 'a prepared version awaits commit or discard',
  // consensus shell: WAL, private validator, mempool, evidence pool (consensus/)
  ERR_WAL_CORRUPT: 'write-ahead log is corrupt',
  ERR_WAL_RECORD_TOO_LARGE: 'WAL record exceeds the size limit',
  ERR_WAL_IO: 'write-ahead log I/O failed',
  ERR_WAL_CLOSED: 'write-ahead log is closed',
  ERR_PRIVVAL_CONFLICT: 'refusing to sign: conflicts with the last signed height/round/step',
  ERR_PRIVVAL_STATE_INVALID: 'private validator state file is invalid',
  ERR_PRIVVAL_CLOSED: 'private validator is closed',
  ERR_MEMPOOL_FULL: 'mempool is full',
  ERR_MEMPOOL_TX_TOO_LARGE: 'tx exceeds the maximum tx size',
  ERR_MEMPOOL_DUPLICATE: 'tx already in the mempool or its cache',
  ERR_MEMPOOL_MALFORMED_TX: 'tx is not a well-formed envelope',
  ERR_MEMPOOL_WRONG_CHAIN: 'tx is for another chain',
  ERR_MEMPOOL_BAD_SIGNATURE: 'tx signature is invalid',
  ERR_EVIDENCE_INVALID: 'evidence is invalid',
  ERR_EVIDENCE_EXPIRED: 'evidence is older than the maximum evidence age',
  ERR_EVIDENCE_COMMITTED: 'evidence was already committed',
  ERR_EVIDENCE_DUPLICATE: 'evidence appears twice in the block',
  ERR_EVIDENCE_UNKNOWN_HEIGHT: 'no block or validator set for the evidence height',
  // config, genesis, home dir, keys (src/config)
  ERR_CONFIG_INVALID: 'config file is invalid',
  ERR_GENESIS_INVALID: 'genesis file is invalid',
  ERR_KEYFILE_INVALID: 'key file is invalid',
  ERR_HOME_INVALID: 'home directory is invalid',
  ERR_HOME_EXISTS: 'home directory is already initialized',
  ERR_KEYFILE_INSECURE: 'key file is accessible to other users',
  // p2p: libp2p host, peer admission, framed channels (p2p/)
  ERR_P2P_BAD_NODE_KEY: 'node key seed is not 32 bytes',
  ERR_P2P_BAD_PEER_ID: 'not an Ed25519 libp2p peer id',
  ERR_P2P_BAD_PEER_ADDRESS: 'peer address is not peerId@host:port or a multiaddr ending in /p2p/<peerId>',
  ERR_P2P_INVALID_OPTIONS: 'p2p transport options are invalid',
  ERR_P2P_NOT_STARTED: 'p2p transport is not started',
  // rpc: JSON-RPC server, event query language, tx/block indexer (rpc/)
  ERR_RPC_BAD_QUERY: 'event query is malformed',
  ERR_RPC_INVALID_OPTIONS: 'RPC server options are invalid',
  ERR_RPC_TOO_MANY_RESULTS: 'search matches more results than allowed',
  ERR_RPC_CLOSED: 'RPC component is closed',
  // metrics: Prometheus endpoint (src/metrics-server.ts)
  ERR_METRICS_LISTEN: 'metrics server cannot listen on its address',
  // CLI usage
  ERR_CLI_USAGE: 'bad command-line usage',
} as const

export type ErrorCode = keyof typeof ErrorCodes

export class AidError extends Error {
  readonly code: ErrorCode
  /** Where the problem is: a field path like `header.height`, a file and field, a peer. */
  readonly at: string | undefined

  constructor (code: ErrorCode, detail?: string, at?: string) {
    const base = ErrorCodes[code]
    const where = at === undefined || at === '' ? '' : `${at}: `
    super(`${code}: ${where}${detail ?? base}`)
    this.name = 'AidError'
    this.code = code
    this.at = at
  }
}

export function isAidError (err: unknown, code?: ErrorCode): err is AidError {
  return err instanceof AidError && (code === undefined || err.code === code)
}

/** A result for code paths where failure is expected data (byzantine input), not an exception. */
export type Result<T, E = AidError> = { ok: true, value: T } | { ok: false, error: E }

export function ok<T> (value: T): { ok: true, value: T } {
  return { ok: true, value }
}

export function fail<E> (error: E): { ok: false, error: E } {
  return { ok: false, error }
}
