/**
 * The client's half of the light-client check (CometBFT light/verifier.go, types/
 * validation.go) and its JSON decoders: CometBFT v0.38 JSON (as rpc/encode.ts renders it)
 * back into the kernel's Header, Commit, ValidatorSet and QueryResponse, then
 *
 *   header      the signed header is for the chain and height asked for, and its hash
 *               (src/types/block.ts headerHash) is the block id the commit signs;
 *   validators  the validator set's hash is the header's validators_hash;
 *   commit      more than 2/3 of that set's power signed the block (src/types/
 *               commit-verify.ts verifyCommit, ZIP-215 Ed25519);
 *   trust       the set is one the caller trusts: equal to the trusted set (genesis, or the
 *               last set verified), or — CometBFT's skipping verification with trust level
 *               1/3 — validators of the trusted set holding more than 1/3 of its power
 *               signed this commit too;
 *   proof       the app's proof check (an injected QueryCodec: rpc/ knows no app) of every
 *               proof op against the header's app_hash.
 *
 * Every failure is a ProofVerificationError naming its step, so a caller (and an auditor)
 * can tell a node that served a tampered value from one that served a forged header.
 */
import type { ProofOp, QueryResponse, TxResult, AppEvent } from '../src/abci.ts'
import { equalBytes, toHex } from '../src/bytes.ts'
import { addressFromPubKey } from '../src/crypto/address.ts'
import { verify as ed25519Verify } from '../src/crypto/ed25519.ts'
import { parseRfc3339Ms, PUBKEY_TYPE_ED25519 } from '../src/config/genesis.ts'
import {
  absentCommitSig, headerHash, totalVotingPower, validatorSetHash, verifyCommit,
  type BlockId, type Commit, type CommitSig, type CommitTally, type Header, type Validator, type ValidatorSet, type VerifyFn,
} from '../src/types/index.ts'

// ---- errors --------------------------------------------------------------------------------

/**
 * The client's error codes (a group for the src/errors.ts catalogue; kept here so rpc/client
 * stays self-contained). Codes are stable; messages may improve.
 */
export const ClientErrorCodes = {
  ERR_CLIENT_HTTP: 'the node could not be reached or answered with an HTTP error',
  ERR_CLIENT_RPC: 'the node answered with a JSON-RPC error',
  ERR_CLIENT_BAD_RESPONSE: 'the node answered with something that is not the expected shape',
  ERR_CLIENT_TIMEOUT: 'gave up waiting',
  ERR_CLIENT_CLOSED: 'the client or its WebSocket is closed',
  ERR_CLIENT_BAD_ARGUMENT: 'a client call was given a bad argument',
  ERR_CLIENT_VERIFY: 'verification of a query answer failed',
} as const
export type ClientErrorCode = keyof typeof ClientErrorCodes

export interface RpcErrorInfo { code: number, message: string, data?: unknown }

export class ClientError extends Error {
  readonly code: ClientErrorCode
  readonly at: string | undefined
  /** The JSON-RPC error object, for ERR_CLIENT_RPC. */
  readonly rpc: RpcErrorInfo | undefined

  constructor (code: ClientErrorCode, detail?: string, at?: string, rpc?: RpcErrorInfo) {
    super(`${code}: ${at === undefined || at === '' ? '' : `${at}: `}${detail ?? ClientErrorCodes[code]}`)
    this.name = 'ClientError'
    this.code = code
    this.at = at
    this.rpc = rpc
  }
}

/** Which check of a verified query failed. */
export const VERIFY_STEPS = ['query', 'header', 'validators', 'commit', 'trust', 'proof', 'decode'] as const
export type VerifyStep = typeof VERIFY_STEPS[number]

export class ProofVerificationError extends ClientError {
  readonly step: VerifyStep
  /** The height whose header was checked (query height + 1), or the query height for 'query'. */
  readonly height: number

  constructor (step: VerifyStep, height: number, detail: string) {
    super('ERR_CLIENT_VERIFY', `${step} check failed at height ${height}: ${detail}`)
    this.name = 'ProofVerificationError'
    this.step = step
    this.height = height
  }
}

export function isClientError (err: unknown, code?: ClientErrorCode): err is ClientError {
  return err instanceof ClientError && (code === undefined || err.code === code)
}

// ---- JSON decoding ---------------------------------------------------------------------------

type J = Record<string, unknown>

function bad (at: string, detail: string): ClientError {
  return new ClientError('ERR_CLIENT_BAD_RESPONSE', detail, at)
}

export function jObj (v: unknown, at: string): J {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(at, 'expected an object')
  return v as J
}

export function jArr (v: unknown, at: string): unknown[] {
  if (!Array.isArray(v)) throw bad(at, 'expected an array')
  return v
}

export function jStr (v: unknown, at: string): string {
  if (typeof v !== 'string') throw bad(at, 'expected a string')
  return v
}

/** An int64 as CometBFT renders it (decimal string), or a JSON number (int32 fields). */
export function jInt (v: unknown, at: string): number {
  const n = typeof v === 'string' && /^-?\d{1,16}$/.test(v) ? Number(v) : v
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw bad(at, `expected an integer, got ${JSON.stringify(v)?.slice(0, 40) ?? 'nothing'}`)
  return n
}

export function jHex (v: unknown, at: string, lens?: readonly number[]): Uint8Array {
  if (typeof v !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(v)) throw bad(at, 'expected hex')
  const b = new Uint8Array(Buffer.from(v, 'hex'))
  if (lens !== undefined && !lens.includes(b.length)) throw bad(at, `expected ${lens.join(' or ')} bytes, got ${b.length}`)
  return b
}

/** []byte: standard base64, null/"" for empty. */
export function jB64 (v: unknown, at: string): Uint8Array {
  if (v === null || v === undefined || v === '') return new Uint8Array(0)
  if (typeof v !== 'string' || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v)) throw bad(at, 'expected base64')
  return new Uint8Array(Buffer.from(v, 'base64'))
}

export function jTime (v: unknown, at: string): number {
  const ms = parseRfc3339Ms(jStr(v, at))
  if (typeof ms === 'string') throw bad(at, ms)
  return ms
}

export function blockIdFromJson (v: unknown, at = 'block_id'): BlockId {
  const o = jObj(v, at)
  const p = jObj(o.parts, `${at}.parts`)
  return {
    hash: jHex(o.hash, `${at}.hash`, [0, 32]),
    partSetHeader: { total: jInt(p.total, `${at}.parts.total`), hash: jHex(p.hash, `${at}.parts.hash`, [0, 32]) },
  }
}

export function headerFromJson (v: unknown, at = 'header'): Header {
  const o = jObj(v, at)
  return {
    chainId: jStr(o.chain_id, `${at}.chain_id`),
    height: jInt(o.height, `${at}.height`),
    time: jTime(o.time, `${at}.time`),
    lastBlockId: blockIdFromJson(o.last_block_id, `${at}.last_block_id`),
    lastCommitHash: jHex(o.last_commit_hash, `${at}.last_commit_hash`, [32]),
    dataHash: jHex(o.data_hash, `${at}.data_hash`, [32]),
    validatorsHash: jHex(o.validators_hash, `${at}.validators_hash`, [32]),
    nextValidatorsHash: jHex(o.next_validators_hash, `${at}.next_validators_hash`, [32]),
    consensusHash: jHex(o.consensus_hash, `${at}.consensus_hash`, [32]),
    appHash: jHex(o.app_hash, `${at}.app_hash`, [0, 32]),
    lastResultsHash: jHex(o.last_results_hash, `${at}.last_results_hash`, [32]),
    evidenceHash: jHex(o.evidence_hash, `${at}.evidence_hash`, [32]),
    proposerAddress: jHex(o.proposer_address, `${at}.proposer_address`, [20]),
  }
}

const FLAGS: Record<number, CommitSig['flag']> = { 1: 'absent', 2: 'commit', 3: 'nil' }

export function commitFromJson (v: unknown, at = 'commit'): Commit {
  const o = jObj(v, at)
  const signatures = jArr(o.signatures, `${at}.signatures`).map((s, i): CommitSig => {
    const sAt = `${at}.signatures[${i}]`
    const so = jObj(s, sAt)
    const flag = FLAGS[jInt(so.block_id_flag, `${sAt}.block_id_flag`)]
    if (flag === undefined) throw bad(`${sAt}.block_id_flag`, 'expected 1, 2 or 3')
    if (flag === 'absent') return absentCommitSig()
    return {
      flag,
      validatorAddress: jHex(so.validator_address, `${sAt}.validator_address`, [20]),
      timestamp: jTime(so.timestamp, `${sAt}.timestamp`),
      signature: jB64(so.signature, `${sAt}.signature`),
    }
  })
  return { height: jInt(o.height, `${at}.height`), round: jInt(o.round, `${at}.round`), blockId: blockIdFromJson(o.block_id, `${at}.block_id`), signatures }
}

export function pubKeyFromJson (v: unknown, at: string): Uint8Array {
  const o = jObj(v, at)
  if (o.type !== PUBKEY_TYPE_ED25519) throw bad(`${at}.type`, `expected ${PUBKEY_TYPE_ED25519}`)
  const k = jB64(o.value, `${at}.value`)
  if (k.length !== 32) throw bad(`${at}.value`, `expected 32 bytes, got ${k.length}`)
  return k
}

export function validatorFromJson (v: unknown, at = 'validator'): Validator {
  const o = jObj(v, at)
  const pubKey = pubKeyFromJson(o.pub_key, `${at}.pub_key`)
  const address = jHex(o.address, `${at}.address`, [20])
  if (!equalBytes(address, addressFromPubKey(pubKey))) throw bad(`${at}.address`, 'is not the address of pub_key')
  const pp = o.proposer_priority === undefined ? '0' : jStr(o.proposer_priority, `${at}.proposer_priority`)
  return { address, pubKey, votingPower: jInt(o.voting_power, `${at}.voting_power`), proposerPriority: BigInt(/^-?\d+$/.test(pp) ? pp : '0') }
}

/** abci.ResponseQuery (jsonpb) back into the kernel's QueryResponse. */
export function queryResponseFromJson (v: unknown, at = 'response'): QueryResponse {
  const o = jObj(v, at)
  const ops: ProofOp[] = o.proofOps === null || o.proofOps === undefined
    ? []
    : jArr(jObj(o.proofOps, `${at}.proofOps`).ops, `${at}.proofOps.ops`).map((op, i) => {
      const x = jObj(op, `${at}.proofOps.ops[${i}]`)
      return { type: jStr(x.type, `${at}.proofOps.ops[${i}].type`), key: jB64(x.key, `${at}.proofOps.ops[${i}].key`), data: jB64(x.data, `${at}.proofOps.ops[${i}].data`) }
    })
  return {
    code: jInt(o.code, `${at}.code`),
    codespace: typeof o.codespace === 'string' ? o.codespace : '',
    log: typeof o.log === 'string' ? o.log : '',
    key: jB64(o.key, `${at}.key`),
    value: jB64(o.value, `${at}.value`),
    proofOps: ops,
    height: jInt(o.height, `${at}.height`),
  }
}

function eventsFromJson (v: unknown, at: string): AppEvent[] {
  if (v === null || v === undefined) return []
  return jArr(v, at).map((e, i) => {
    const o = jObj(e, `${at}[${i}]`)
    const attrs = o.attributes === null || o.attributes === undefined ? [] : jArr(o.attributes, `${at}[${i}].attributes`)
    return {
      type: typeof o.type === 'string' ? o.type : '',
      attributes: attrs.map((a, k) => {
        const ao = jObj(a, `${at}[${i}].attributes[${k}]`)
        return { key: String(ao.key ?? ''), value: String(ao.value ?? ''), index: ao.index === true }
      }),
    }
  })
}

/** abci.ExecTxResult / ResponseCheckTx (jsonpb) as the kernel's TxResult. */
export function txResultFromJson (v: unknown, at = 'tx_result'): TxResult {
  const o = jObj(v, at)
  return {
    code: jInt(o.code, `${at}.code`),
    codespace: typeof o.codespace === 'string' ? o.codespace : '',
    log: typeof o.log === 'string' ? o.log : '',
    data: jB64(o.data, `${at}.data`),
    events: eventsFromJson(o.events, `${at}.events`),
  }
}

// ---- verification --------------------------------------------------------------------------

/** What the app supplies for verified queries: its proof check and its value decoder. */
export interface QueryCodec<E = unknown> {
  /** null when every proof op verifies against `appHash`; otherwise what failed. */
  verify: (resp: QueryResponse, appHash: Uint8Array) => string | null
  decode: (value: Uint8Array) => E
}

export interface SignedHeaderInput {
  chainId: string
  height: number
  header: Header
  commit: Commit
  validators: ValidatorSet
  /** The set the caller trusts; null skips the trust step (trust the node's set). */
  trusted: ValidatorSet | null
  verify?: VerifyFn
}

export interface VerifiedHeader {
  header: Header
  blockId: BlockId
  commit: Commit
  validators: ValidatorSet
  tally: CommitTally
  /** How the set was trusted: same set as the trusted one, by > 1/3 of the trusted power, or not checked. */
  trust: 'same-set' | 'overlap' | 'unchecked'
}

const hexU = (b: Uint8Array): string => toHex(b).toUpperCase()

/** Light-client check of one signed header; throws ProofVerificationError naming the step. */
export function verifySignedHeader (o: SignedHeaderInput): VerifiedHeader {
  const { header, commit, validators, height, chainId } = o
  const verify = o.verify ?? ed25519Verify
  const fail = (step: VerifyStep, detail: string): never => { throw new ProofVerificationError(step, height, detail) }
  if (header.chainId !== chainId) fail('header', `header is for chain ${JSON.stringify(header.chainId)}, expected ${JSON.stringify(chainId)}`)
  if (header.height !== height) fail('header', `header is for height ${header.height}`)
  const hash = headerHash(header)
  if (!equalBytes(hash, commit.blockId.hash)) {
    fail('header', `header hash ${hexU(hash)} is not the block id ${hexU(commit.blockId.hash)} the commit signs`)
  }
  const setHash = validatorSetHash(validators)
  if (!equalBytes(setHash, header.validatorsHash)) {
    fail('validators', `validator set hash ${hexU(setHash)} is not the header's validators_hash ${hexU(header.validatorsHash)}`)
  }
  const r = verifyCommit(chainId, validators, commit.blockId, height, commit, verify)
  if (!r.ok) fail('commit', r.error.message.replace(/^ERR_TYPES_INVALID: /, ''))
  const tally = (r as { ok: true, value: CommitTally }).value
  let trust: VerifiedHeader['trust'] = 'unchecked'
  if (o.trusted !== null) {
    if (equalBytes(validatorSetHash(o.trusted), setHash)) {
      trust = 'same-set'
    } else {
      const trustedTotal = totalVotingPower(o.trusted)
      let power = 0
      // The commit's signatures were all verified above under `validators`; a trusted
      // validator counts when it holds the same key there and its slot is a commit.
      commit.signatures.forEach((cs, i) => {
        const v = validators.validators[i]
        if (cs.flag !== 'commit' || v === undefined) return
        const t = o.trusted?.validators.find((x) => equalBytes(x.address, v.address) && equalBytes(x.pubKey, v.pubKey))
        if (t !== undefined) power += t.votingPower
      })
      if (power * 3 <= trustedTotal) {
        fail('trust', `validators trusted by the client signed ${power} of their ${trustedTotal} power, need more than 1/3`)
      }
      trust = 'overlap'
    }
  }
  return { header, blockId: commit.blockId, commit, validators, tally, trust }
}

/**
 * The app's proof check of a query answer against a verified header's app_hash. Whether an
 * answer with no proof ops is acceptable (an empty listing) is the codec's call.
 */
export function verifyQueryProofs<E> (resp: QueryResponse, vh: VerifiedHeader, codec: QueryCodec<E>): E {
  const why = codec.verify(resp, vh.header.appHash)
  if (why !== null) throw new ProofVerificationError('proof', vh.header.height, `${why} (app_hash ${hexU(vh.header.appHash)})`)
  try {
    return codec.decode(resp.value)
  } catch (err) {
    throw new ProofVerificationError('decode', vh.header.height, err instanceof Error ? err.message : String(err))
  }
}
