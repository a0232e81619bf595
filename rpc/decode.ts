/**
 * CometBFT JSON back into aidledger types, for the one route that takes a structured
 * argument: broadcast_evidence's `evidence` (types/evidence.go DuplicateVoteEvidence in
 * libs/json form: {type: "tendermint/DuplicateVoteEvidence", value: {vote_a, vote_b,
 * TotalVotingPower, ValidatorPower, Timestamp}}). The inverse of rpc/encode.ts.
 *
 * Strict, with labelled messages: unknown fields, wrong types, bad lengths, times with
 * sub-millisecond digits (aidledger signs millisecond times; truncating would change the
 * signed bytes) are refused as ParamError (-32602).
 */
import { parseRfc3339Ms } from '../src/config/genesis.ts'
import {
  ADDRESS_SIZE, HASH_SIZE, MAX_TOTAL_VOTING_POWER, MAX_VALIDATORS, SIGNATURE_SIZE,
  type BlockId, type DuplicateVoteEvidence, type Vote,
} from '../src/types/index.ts'
import { EVIDENCE_TYPE_DUPLICATE_VOTE } from './encode.ts'
import { ParamError } from './params.ts'

type O = Record<string, unknown>

function obj (v: unknown, at: string, keys: readonly string[]): O {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ParamError(`${at}: expected an object`)
  for (const k of Object.keys(v)) if (!keys.includes(k)) throw new ParamError(`${at}: unknown field ${JSON.stringify(k)}`)
  return v as O
}

function int (v: unknown, at: string, min: number, max: number, asString: boolean): number {
  let n: number
  if (asString) {
    if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw new ParamError(`${at}: expected an integer as a decimal string`)
    n = Number(v)
  } else {
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new ParamError(`${at}: expected an integer`)
    n = v
  }
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new ParamError(`${at}: ${String(v)} out of range [${min}, ${max}]`)
  return n
}

function hexBytes (v: unknown, at: string, lens: readonly number[]): Uint8Array {
  if (typeof v !== 'string' || !/^(?:[0-9a-fA-F]{2})*$/.test(v)) throw new ParamError(`${at}: expected hex`)
  const b = new Uint8Array(Buffer.from(v, 'hex'))
  if (!lens.includes(b.length)) throw new ParamError(`${at}: expected ${lens.join(' or ')} bytes, got ${b.length}`)
  return b
}

function b64Bytes (v: unknown, at: string, len: number): Uint8Array {
  if (typeof v !== 'string' || !/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(v)) {
    throw new ParamError(`${at}: expected standard base64`)
  }
  const b = new Uint8Array(Buffer.from(v, 'base64'))
  if (b.length !== len) throw new ParamError(`${at}: expected ${len} bytes, got ${b.length}`)
  return b
}

function timeMs (v: unknown, at: string): number {
  if (typeof v !== 'string') throw new ParamError(`${at}: expected an RFC 3339 time`)
  const frac = /\.(\d+)/.exec(v)?.[1] ?? ''
  if (/[1-9]/.test(frac.slice(3))) throw new ParamError(`${at}: more precise than a millisecond`)
  const ms = parseRfc3339Ms(v)
  if (typeof ms === 'string') throw new ParamError(`${at}: ${ms}`)
  return ms
}

export function blockIdFromJson (v: unknown, at: string): BlockId {
  const o = obj(v, at, ['hash', 'parts'])
  const p = obj(o.parts, `${at}.parts`, ['total', 'hash'])
  return {
    hash: hexBytes(o.hash, `${at}.hash`, [0, HASH_SIZE]),
    partSetHeader: { total: int(p.total, `${at}.parts.total`, 0, 2 ** 16, false), hash: hexBytes(p.hash, `${at}.parts.hash`, [0, HASH_SIZE]) },
  }
}

export function voteFromJson (v: unknown, at: string): Vote {
  const o = obj(v, at, ['type', 'height', 'round', 'block_id', 'timestamp', 'validator_address', 'validator_index', 'signature', 'extension', 'extension_signature'])
  if (o.type !== 1 && o.type !== 2) throw new ParamError(`${at}.type: expected 1 (prevote) or 2 (precommit)`)
  for (const k of ['extension', 'extension_signature']) {
    if (o[k] !== undefined && o[k] !== null && o[k] !== '') throw new ParamError(`${at}.${k}: vote extensions are not supported`)
  }
  return {
    type: o.type === 1 ? 'prevote' : 'precommit',
    height: int(o.height, `${at}.height`, 1, Number.MAX_SAFE_INTEGER, true),
    round: int(o.round, `${at}.round`, 0, 2 ** 31 - 1, false),
    blockId: blockIdFromJson(o.block_id, `${at}.block_id`),
    timestamp: timeMs(o.timestamp, `${at}.timestamp`),
    validatorAddress: hexBytes(o.validator_address, `${at}.validator_address`, [ADDRESS_SIZE]),
    validatorIndex: int(o.validator_index, `${at}.validator_index`, 0, MAX_VALIDATORS - 1, false),
    signature: b64Bytes(o.signature, `${at}.signature`, SIGNATURE_SIZE),
  }
}

/** The `evidence` argument of broadcast_evidence. */
export function evidenceFromJson (v: unknown): DuplicateVoteEvidence {
  const o = obj(v, 'evidence', ['type', 'value'])
  if (o.type !== EVIDENCE_TYPE_DUPLICATE_VOTE) {
    throw new ParamError(`evidence.type: only ${JSON.stringify(EVIDENCE_TYPE_DUPLICATE_VOTE)} is supported`)
  }
  const e = obj(o.value, 'evidence.value', ['vote_a', 'vote_b', 'TotalVotingPower', 'ValidatorPower', 'Timestamp'])
  return {
    voteA: voteFromJson(e.vote_a, 'evidence.value.vote_a'),
    voteB: voteFromJson(e.vote_b, 'evidence.value.vote_b'),
    totalVotingPower: int(e.TotalVotingPower, 'evidence.value.TotalVotingPower', 0, MAX_TOTAL_VOTING_POWER, true),
    validatorPower: int(e.ValidatorPower, 'evidence.value.ValidatorPower', 0, MAX_TOTAL_VOTING_POWER, true),
    timestamp: timeMs(e.Timestamp, 'evidence.value.Timestamp'),
  }
}
