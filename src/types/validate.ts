/**
 * Basic validation of the core types: CometBFT's `ValidateBasic` methods (types/vote.go,
 * types/proposal.go, types/block.go Commit/CommitSig/Header/Block, types/block.go BlockID).
 *
 * These are the checks a value must pass on its own, before any state is consulted (the
 * validator set, the previous block, the clock). Byzantine input is data: every check
 * returns `Result` with ERR_TYPES_INVALID, `at` naming the field (`vote.height`,
 * `block.lastCommit.signatures[3].signature`) and a message saying what is wrong. Values
 * decoded by the strict codec already have the schema's shape; the checks here do not rely
 * on that and test every length and bound they need, so hand-built values are covered too.
 */
import { equalBytes, toHex } from '../bytes.ts'
import { AidError, type Result, fail, ok } from '../errors.ts'
import { type BlockId, blockIdEquals, isCompleteBlockId, isNilBlockId } from './block-id.ts'
import { commitHash, dataHash, evidenceListHash, type Block, type Header } from './block.ts'
import { evidenceHash, validateDuplicateVoteEvidence } from './evidence.ts'
import {
  ADDRESS_SIZE, HASH_SIZE, MAX_CHAIN_ID_LENGTH, MAX_TX_BYTES, MAX_VALIDATORS, PUBKEY_SIZE, SIGNATURE_SIZE,
} from './primitives.ts'
import type { TxEnvelope } from './tx.ts'
import { COMMIT_FLAGS, VOTE_TYPES, type Commit, type CommitSig, type Proposal, type Vote } from './vote.ts'

/** A problem found at a field, or undefined. Internal building block of the validators. */
type Problem = AidError | undefined

const MAX_ROUND = 2 ** 31 - 1
const CHAIN_ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._-]*$/

function invalid (at: string, detail: string): AidError {
  return new AidError('ERR_TYPES_INVALID', detail, at)
}

function asResult<T> (value: T, problem: Problem): Result<T> {
  return problem === undefined ? ok(value) : fail(problem)
}

function isUint (n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0
}

function checkBytes (b: unknown, at: string, what: string, ...lengths: number[]): Problem {
  if (!(b instanceof Uint8Array)) return invalid(at, `${what} is not a byte array`)
  if (!lengths.includes(b.length)) return invalid(at, `${what} must be ${lengths.join(' or ')} bytes, got ${b.length}`)
  return undefined
}

function checkHeight (h: unknown, at: string): Problem {
  if (!isUint(h)) return invalid(at, `height must be a non-negative safe integer, got ${String(h)}`)
  if (h === 0) return invalid(at, 'height must be at least 1')
  return undefined
}

function checkRound (r: unknown, at: string): Problem {
  if (!isUint(r) || r > MAX_ROUND) return invalid(at, `round must be in [0, ${MAX_ROUND}], got ${String(r)}`)
  return undefined
}

function checkTime (ms: unknown, at: string): Problem {
  if (!isUint(ms)) return invalid(at, `time must be non-negative unix milliseconds, got ${String(ms)}`)
  return undefined
}

function checkChainId (id: unknown, at: string): Problem {
  if (typeof id !== 'string' || id.length === 0) return invalid(at, 'chain id is empty')
  if (id.length > MAX_CHAIN_ID_LENGTH) return invalid(at, `chain id is ${id.length} chars, max ${MAX_CHAIN_ID_LENGTH}`)
  if (!CHAIN_ID_PATTERN.test(id)) return invalid(at, `chain id ${JSON.stringify(id)} has characters outside [a-zA-Z0-9._-]`)
  return undefined
}

/** CometBFT BlockID.ValidateBasic: hashes empty or 32 bytes. Completeness is the caller's rule. */
function blockIdProblem (id: BlockId, at: string): Problem {
  if (typeof id !== 'object' || id === null || typeof id.partSetHeader !== 'object' || id.partSetHeader === null) {
    return invalid(at, 'block id is not an object')
  }
  return checkBytes(id.hash, `${at}.hash`, 'block hash', 0, HASH_SIZE) ??
    (isUint(id.partSetHeader.total) ? undefined : invalid(`${at}.partSetHeader.total`, 'part count must be a non-negative integer')) ??
    checkBytes(id.partSetHeader.hash, `${at}.partSetHeader.hash`, 'part set hash', 0, HASH_SIZE)
}

/** Either the nil block id (a vote for nothing) or a complete one; nothing in between. */
function nilOrCompleteProblem (id: BlockId, at: string): Problem {
  return blockIdProblem(id, at) ??
    (isNilBlockId(id) || isCompleteBlockId(id) ? undefined : invalid(at, 'block id must be either nil or complete (both hashes, at least one part)'))
}

function completeProblem (id: BlockId, at: string, what: string): Problem {
  return blockIdProblem(id, at) ??
    (isCompleteBlockId(id) ? undefined : invalid(at, `${what} must be for a complete block id, got ${isNilBlockId(id) ? 'nil' : 'a partial one'}`))
}

export function validateBlockId (id: BlockId, at = 'blockId'): Result<BlockId> {
  return asResult(id, blockIdProblem(id, at))
}

// ---------------------------------------------------------------------------------------
// Votes and proposals

function voteProblem (v: Vote, at: string): Problem {
  if (typeof v !== 'object' || v === null) return invalid(at, 'vote is not an object')
  if (!(VOTE_TYPES as readonly string[]).includes(v.type)) return invalid(`${at}.type`, `unknown vote type ${JSON.stringify(v.type)}`)
  return checkHeight(v.height, `${at}.height`) ??
    checkRound(v.round, `${at}.round`) ??
    nilOrCompleteProblem(v.blockId, `${at}.blockId`) ??
    checkTime(v.timestamp, `${at}.timestamp`) ??
    checkBytes(v.validatorAddress, `${at}.validatorAddress`, 'validator address', ADDRESS_SIZE) ??
    (isUint(v.validatorIndex) && v.validatorIndex < MAX_VALIDATORS
      ? undefined
      : invalid(`${at}.validatorIndex`, `validator index must be in [0, ${MAX_VALIDATORS}), got ${String(v.validatorIndex)}`)) ??
    checkBytes(v.signature, `${at}.signature`, 'signature', SIGNATURE_SIZE)
}

/** CometBFT Vote.ValidateBasic. */
export function validateVote (vote: Vote, at = 'vote'): Result<Vote> {
  return asResult(vote, voteProblem(vote, at))
}

/** CometBFT Proposal.ValidateBasic, plus the consensus rule that polRound < round. */
export function validateProposal (p: Proposal, at = 'proposal'): Result<Proposal> {
  if (typeof p !== 'object' || p === null) return fail(invalid(at, 'proposal is not an object'))
  const problem = checkHeight(p.height, `${at}.height`) ??
    checkRound(p.round, `${at}.round`) ??
    (Number.isSafeInteger(p.polRound) && p.polRound >= -1 && p.polRound < p.round
      ? undefined
      : invalid(`${at}.polRound`, `proof-of-lock round must be -1 or in [0, round=${p.round}), got ${String(p.polRound)}`)) ??
    completeProblem(p.blockId, `${at}.blockId`, 'a proposal') ??
    checkTime(p.timestamp, `${at}.timestamp`) ??
    checkBytes(p.signature, `${at}.signature`, 'signature', SIGNATURE_SIZE)
  return asResult(p, problem)
}

// ---------------------------------------------------------------------------------------
// Commits

function commitSigProblem (cs: CommitSig, at: string): Problem {
  if (typeof cs !== 'object' || cs === null) return invalid(at, 'commit slot is not an object')
  if (!(COMMIT_FLAGS as readonly string[]).includes(cs.flag)) return invalid(`${at}.flag`, `unknown flag ${JSON.stringify(cs.flag)}`)
  const addr = checkBytes(cs.validatorAddress, `${at}.validatorAddress`, 'validator address', ADDRESS_SIZE)
  if (addr !== undefined) return addr
  if (cs.flag === 'absent') {
    if (cs.validatorAddress.some((b) => b !== 0)) return invalid(`${at}.validatorAddress`, 'an absent slot must have the zero address')
    if (cs.timestamp !== 0) return invalid(`${at}.timestamp`, 'an absent slot must have time 0')
    if (!(cs.signature instanceof Uint8Array) || cs.signature.length !== 0) return invalid(`${at}.signature`, 'an absent slot must have an empty signature')
    return undefined
  }
  return checkTime(cs.timestamp, `${at}.timestamp`) ??
    checkBytes(cs.signature, `${at}.signature`, `a ${cs.flag} slot's signature`, SIGNATURE_SIZE)
}

/** CometBFT CommitSig.ValidateBasic. */
export function validateCommitSig (cs: CommitSig, at = 'commitSig'): Result<CommitSig> {
  return asResult(cs, commitSigProblem(cs, at))
}

function commitProblem (c: Commit, at: string): Problem {
  if (typeof c !== 'object' || c === null) return invalid(at, 'commit is not an object')
  const head = checkHeight(c.height, `${at}.height`) ??
    checkRound(c.round, `${at}.round`) ??
    completeProblem(c.blockId, `${at}.blockId`, 'a commit')
  if (head !== undefined) return head
  if (!Array.isArray(c.signatures) || c.signatures.length === 0) return invalid(`${at}.signatures`, 'commit has no signatures')
  if (c.signatures.length > MAX_VALIDATORS) return invalid(`${at}.signatures`, `commit has ${c.signatures.length} slots, max ${MAX_VALIDATORS}`)
  for (const [i, cs] of c.signatures.entries()) {
    const p = commitSigProblem(cs, `${at}.signatures[${i}]`)
    if (p !== undefined) return p
  }
  return undefined
}

/** CometBFT Commit.ValidateBasic (for heights ≥ 1; this node never builds a height-0 commit). */
export function validateCommit (commit: Commit, at = 'commit'): Result<Commit> {
  return asResult(commit, commitProblem(commit, at))
}

// ---------------------------------------------------------------------------------------
// Headers and blocks

function headerProblem (h: Header, at: string): Problem {
  if (typeof h !== 'object' || h === null) return invalid(at, 'header is not an object')
  return checkChainId(h.chainId, `${at}.chainId`) ??
    checkHeight(h.height, `${at}.height`) ??
    checkTime(h.time, `${at}.time`) ??
    blockIdProblem(h.lastBlockId, `${at}.lastBlockId`) ??
    checkBytes(h.lastCommitHash, `${at}.lastCommitHash`, 'last commit hash', HASH_SIZE) ??
    checkBytes(h.dataHash, `${at}.dataHash`, 'data hash', HASH_SIZE) ??
    checkBytes(h.validatorsHash, `${at}.validatorsHash`, 'validators hash', HASH_SIZE) ??
    checkBytes(h.nextValidatorsHash, `${at}.nextValidatorsHash`, 'next validators hash', HASH_SIZE) ??
    checkBytes(h.consensusHash, `${at}.consensusHash`, 'consensus params hash', HASH_SIZE) ??
    checkBytes(h.appHash, `${at}.appHash`, 'app hash', 0, HASH_SIZE) ??
    checkBytes(h.lastResultsHash, `${at}.lastResultsHash`, 'last results hash', HASH_SIZE) ??
    checkBytes(h.evidenceHash, `${at}.evidenceHash`, 'evidence hash', HASH_SIZE) ??
    checkBytes(h.proposerAddress, `${at}.proposerAddress`, 'proposer address', ADDRESS_SIZE)
}

/** CometBFT Header.ValidateBasic. */
export function validateHeader (header: Header, at = 'header'): Result<Header> {
  return asResult(header, headerProblem(header, at))
}

export interface ValidateBlockOptions {
  /** The chain's initial height (genesis `initial_height`, default 1). */
  initialHeight?: number
}

function hashMismatch (at: string, what: string, expected: Uint8Array, got: Uint8Array): AidError {
  return invalid(at, `${what} is ${toHex(got)}, but the block's contents hash to ${toHex(expected)}`)
}

/**
 * CometBFT Block.ValidateBasic: a valid header; dataHash, evidenceHash and lastCommitHash
 * match the block's contents; each evidence item is well formed and appears once; the
 * block at the initial height has no last commit and a nil last block id, every later
 * block has a valid last commit for height - 1 whose block id is the header's lastBlockId.
 */
export function validateBlock (block: Block, opts: ValidateBlockOptions = {}, at = 'block'): Result<Block> {
  const initialHeight = opts.initialHeight ?? 1
  if (typeof block !== 'object' || block === null) return fail(invalid(at, 'block is not an object'))
  const hp = headerProblem(block.header, `${at}.header`)
  if (hp !== undefined) return fail(hp)
  const h = block.header
  if (h.height < initialHeight) return fail(invalid(`${at}.header.height`, `height ${h.height} is below the initial height ${initialHeight}`))

  if (!Array.isArray(block.txs)) return fail(invalid(`${at}.txs`, 'txs is not a list'))
  for (const [i, tx] of block.txs.entries()) {
    if (!(tx instanceof Uint8Array) || tx.length === 0 || tx.length > MAX_TX_BYTES) {
      return fail(invalid(`${at}.txs[${i}]`, `tx must be 1..${MAX_TX_BYTES} bytes`))
    }
  }
  const dh = dataHash(block.txs)
  if (!equalBytes(dh, h.dataHash)) return fail(hashMismatch(`${at}.header.dataHash`, 'data hash', dh, h.dataHash))

  if (!Array.isArray(block.evidence)) return fail(invalid(`${at}.evidence`, 'evidence is not a list'))
  const seen = new Map<string, number>()
  for (const [i, ev] of block.evidence.entries()) {
    const r = validateDuplicateVoteEvidence(ev)
    if (!r.ok) return fail(invalid(`${at}.evidence[${i}]`, r.error.message))
    const key = toHex(evidenceHash(ev))
    const first = seen.get(key)
    if (first !== undefined) return fail(invalid(`${at}.evidence[${i}]`, `duplicates evidence[${first}]`))
    seen.set(key, i)
  }
  const eh = evidenceListHash(block.evidence)
  if (!equalBytes(eh, h.evidenceHash)) return fail(hashMismatch(`${at}.header.evidenceHash`, 'evidence hash', eh, h.evidenceHash))

  if (h.height === initialHeight) {
    if (block.lastCommit !== null) return fail(invalid(`${at}.lastCommit`, `the block at the initial height ${initialHeight} has no last commit`))
    if (!isNilBlockId(h.lastBlockId)) return fail(invalid(`${at}.header.lastBlockId`, `the block at the initial height ${initialHeight} has a nil last block id`))
  } else {
    if (block.lastCommit === null) return fail(invalid(`${at}.lastCommit`, `a block above the initial height ${initialHeight} needs a last commit`))
    const cp = commitProblem(block.lastCommit, `${at}.lastCommit`)
    if (cp !== undefined) return fail(cp)
    if (block.lastCommit.height !== h.height - 1) {
      return fail(invalid(`${at}.lastCommit.height`, `last commit is for height ${block.lastCommit.height}, expected ${h.height - 1}`))
    }
    const lb = completeProblem(h.lastBlockId, `${at}.header.lastBlockId`, 'a block above the initial height')
    if (lb !== undefined) return fail(lb)
    if (!blockIdEquals(block.lastCommit.blockId, h.lastBlockId)) {
      return fail(invalid(`${at}.lastCommit.blockId`, 'last commit is for another block than header.lastBlockId'))
    }
  }
  const ch = commitHash(block.lastCommit)
  if (!equalBytes(ch, h.lastCommitHash)) return fail(hashMismatch(`${at}.header.lastCommitHash`, 'last commit hash', ch, h.lastCommitHash))
  return ok(block)
}

// ---------------------------------------------------------------------------------------
// Transactions

/** Structural checks on a tx envelope; the signature itself is checked by the mempool's verifier. */
export function validateTxEnvelope (tx: TxEnvelope, at = 'tx'): Result<TxEnvelope> {
  if (typeof tx !== 'object' || tx === null) return fail(invalid(at, 'tx is not an object'))
  const problem = checkChainId(tx.chainId, `${at}.chainId`) ??
    checkBytes(tx.signer, `${at}.signer`, 'signer public key', PUBKEY_SIZE) ??
    checkHeight(tx.expiresAtHeight, `${at}.expiresAtHeight`) ??
    (isUint(tx.nonce) ? undefined : invalid(`${at}.nonce`, `nonce must be a non-negative safe integer, got ${String(tx.nonce)}`)) ??
    (tx.body instanceof Uint8Array && tx.body.length > 0 && tx.body.length <= MAX_TX_BYTES - 256
      ? undefined
      : invalid(`${at}.body`, `body must be 1..${MAX_TX_BYTES - 256} bytes`)) ??
    checkBytes(tx.signature, `${at}.signature`, 'signature', SIGNATURE_SIZE)
  return asResult(tx, problem)
}
