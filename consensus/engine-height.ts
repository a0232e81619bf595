/**
 * The engine's state for one height and for the height before it, and the translations
 * between wire messages (src/types Vote, Proposal) and the pure core's opaque ones
 * (consensus/core: value id = blockIdKey, addresses as hex, the wire message riding along
 * as the signature payload).
 *
 * Block entries: every block id the height has heard of through signed data (a proposal,
 * a +2/3 precommit quorum, our own proposal) gets a part-set assembler; when complete, the
 * block is decoded and validated once, and the verdict is what `valid(v)` means for every
 * proposal of that block (validity depends on the block, not on the round it is proposed
 * in). Entries are bounded per height so a byzantine proposer cannot make us hold many.
 */
import { toHex } from '../src/bytes.ts'
import { AidError, type Result, fail, ok } from '../src/errors.ts'
import {
  type Block, type BlockId, type Part, type PartSet, type PartSetAssembler, type Proposal, type ValidatorSet, type Vote,
  type VoteType, BlockSchema, MAX_BLOCK_BYTES, blockIdKey, commitSigToVote, headerHash, isNilBlockId,
  newPartSetAssembler, type Commit,
} from '../src/types/index.ts'
import { tryDecode } from '../src/codec/index.ts'
import type { Driver, DriverInput } from './core/driver.ts'
import type { ProposerSchedule } from './core/proposer.ts'
import type { Proposal as CoreProposal, Vote as CoreVote, VoterInfo } from './core/types.ts'
import type { CancelTimer } from '../src/clock.ts'
import { partSetKey, type HeldBlock, type LastCommitView, type Maj23View, type OurView } from './gossip.ts'
import type { StatusStep } from './messages.ts'

export type EngineDriver = Driver<Vote, Proposal>

/** Most block entries a height keeps (proposals of many rounds + quorum blocks). */
export const MAX_BLOCKS_PER_HEIGHT = 32
/** Most distinct proposals kept per round (the first + ones an equivocating proposer's quorum points at). */
export const MAX_PROPOSALS_PER_ROUND = 4

export type Verdict = 'unknown' | 'valid' | 'invalid'

export interface BlockEntry {
  readonly blockId: BlockId
  readonly key: string
  readonly pshKey: string
  readonly assembler: PartSetAssembler
  /** Round of the first proposal for it (for part messages); −1 when learned from votes. */
  round: number
  block: Block | null
  verdict: Verdict
  why: string
  /**
   * Whether a +2/3 precommit quorum for it may be committed: valid, or invalid only for
   * this node's own reasons (its clock, its app's processProposal), which CometBFT does
   * not re-check when it finalizes a commit.
   */
  commitable: boolean
}

export interface HeldProposal {
  readonly proposal: Proposal
  readonly blockKey: string
  /** Fed to the driver (with the block's verdict). */
  fed: boolean
  /** The driver refused it as a second proposal for the round: fed again once a quorum backs its value. */
  conflicting: boolean
  /** Its part-set header is impossible (too many parts for a block): the block is invalid. */
  impossible: boolean
}

/**
 * Every verified vote of the height, counted per value: a validator counts once for each
 * value it signed (an equivocator for several). The driver's vote keeper counts only a
 * validator's first vote per round and type, so two honest nodes that got an equivocator's
 * two votes in different orders may disagree on whether a value has +2/3; this book is
 * what CometBFT's VoteSetMaj23 makes visible: a quorum that exists counting every signed
 * vote for the value. With at most 1/3 of the power faulty, at most one value per round
 * and type can have such a quorum.
 */
export interface VoteBook {
  /** Adds a verified vote; false when this validator's vote for this value is already in. */
  add: (v: Vote, power: number) => boolean
  /** Non-nil values with more than 2/3 of the power, in the order they got there. */
  quorums: () => ReadonlyArray<{ round: number, type: VoteType, valueKey: string, blockId: BlockId, since: number }>
  /** The votes for a value, by validator index order. */
  votesFor: (round: number, type: VoteType, valueKey: string) => Vote[]
}

export function createVoteBook (totalPower: number, now: () => number): VoteBook {
  const tallies = new Map<string, { power: number, byIndex: Map<number, Vote> }>()
  const quorums: Array<{ round: number, type: VoteType, valueKey: string, blockId: BlockId, since: number }> = []
  return {
    add: (v, power) => {
      const valueKey = valueIdOf(v.blockId) ?? 'nil'
      const k = `${v.round}/${v.type}/${valueKey}`
      let t = tallies.get(k)
      if (t === undefined) tallies.set(k, t = { power: 0, byIndex: new Map() })
      if (t.byIndex.has(v.validatorIndex)) return false
      t.byIndex.set(v.validatorIndex, v)
      const before = t.power
      t.power += power
      if (valueKey !== 'nil' && 3 * before <= 2 * totalPower && 3 * t.power > 2 * totalPower) {
        quorums.push({ round: v.round, type: v.type, valueKey, blockId: v.blockId, since: now() })
      }
      return true
    },
    quorums: () => quorums,
    votesFor: (round, type, valueKey) => {
      const t = tallies.get(`${round}/${type}/${valueKey}`)
      return t === undefined ? [] : [...t.byIndex.values()].sort((a, b) => a.validatorIndex - b.validatorIndex)
    },
  }
}

export interface HeightState {
  readonly height: number
  readonly validators: ValidatorSet
  readonly voters: readonly VoterInfo[]
  readonly indexOf: ReadonlyMap<string, number>
  readonly schedule: ProposerSchedule<ValidatorSet['validators'][number]>
  /** Replaced when rebuilt (see the engine's rebuild). */
  driver: EngineDriver
  /** Every input fed to the driver, in order: what a rebuild feeds again. */
  inputs: Array<DriverInput<Vote, Proposal>>
  readonly book: VoteBook
  /** Quorum keys a rebuild was done for (once each). */
  readonly rebuiltFor: Set<string>
  /** Set while the driver is being rebuilt. */
  rebuilding: boolean
  /** Our index in the set, or null. */
  readonly selfIndex: number | null
  readonly proposals: HeldProposal[]
  readonly blocks: Map<string, BlockEntry>
  readonly blocksByPsh: Map<string, BlockEntry>
  /** value id → block id (from proposals and votes). */
  readonly blockIds: Map<string, BlockId>
  /** Verified votes `${type}/${round}/${index}/${blockKey}`: duplicates skip verification. */
  readonly seenVotes: Set<string>
  /** Counted votes by (round, type), indexed by validator index: what gossip sends. */
  readonly votes: Map<string, Array<Vote | undefined>>
  /** Own messages found in the WAL at replay: `${type}/${round}` → vote, round → proposal. */
  readonly ownVotes: Map<string, Vote>
  readonly ownProposals: Map<number, Proposal>
  /** get-value asked during WAL replay, answered after it. */
  deferredGetValue: number | null
  replaying: boolean
  decided: boolean
  readonly timers: Set<CancelTimer>
}

/** What the engine keeps of the last decided height. */
export interface LastHeight {
  readonly height: number
  readonly round: number
  readonly blockId: BlockId
  readonly validators: ValidatorSet
  /** Precommits of `round` by validator index (late ones are added). */
  readonly precommits: Array<Vote | undefined>
  readonly proposal: Proposal | null
  readonly parts: PartSet
  /** When it was committed here. */
  readonly since: number
}

export function votesKey (round: number, type: VoteType): string {
  return `${round}/${type}`
}

export function valueIdOf (blockId: BlockId): string | null {
  return isNilBlockId(blockId) ? null : blockIdKey(blockId)
}

export function toCoreVote (v: Vote): CoreVote<Vote> {
  return { type: v.type, height: v.height, round: v.round, valueId: valueIdOf(v.blockId), validator: toHex(v.validatorAddress), signature: v }
}

export function toCoreProposal (p: Proposal, proposer: Uint8Array): CoreProposal<Proposal> {
  return { height: p.height, round: p.round, valueId: blockIdKey(p.blockId), validRound: p.polRound, proposer: toHex(proposer), signature: p }
}

export function newHeightState (o: {
  height: number
  validators: ValidatorSet
  schedule: ProposerSchedule<ValidatorSet['validators'][number]>
  driver: EngineDriver
  self: Uint8Array | null
  now: () => number
}): HeightState {
  const indexOf = new Map<string, number>()
  o.validators.validators.forEach((v, i) => indexOf.set(toHex(v.address), i))
  const selfIndex = o.self === null ? null : indexOf.get(toHex(o.self)) ?? null
  return {
    height: o.height,
    validators: o.validators,
    voters: o.validators.validators.map((v) => ({ address: toHex(v.address), votingPower: v.votingPower })),
    indexOf,
    schedule: o.schedule,
    driver: o.driver,
    inputs: [],
    book: createVoteBook(o.validators.validators.reduce((n, v) => n + v.votingPower, 0), o.now),
    rebuiltFor: new Set(),
    rebuilding: false,
    selfIndex,
    proposals: [],
    blocks: new Map(),
    blocksByPsh: new Map(),
    blockIds: new Map(),
    seenVotes: new Set(),
    votes: new Map(),
    ownVotes: new Map(),
    ownProposals: new Map(),
    deferredGetValue: null,
    replaying: false,
    decided: false,
    timers: new Set(),
  }
}

/** The entry for `blockId`, created if the height has room; undefined when full or impossible. */
export function ensureBlock (hs: HeightState, blockId: BlockId, round: number, maxBytes: number): BlockEntry | undefined {
  const key = blockIdKey(blockId)
  const existing = hs.blocks.get(key)
  if (existing !== undefined) {
    if (existing.round < 0 && round >= 0) existing.round = round
    return existing
  }
  if (hs.blocks.size >= MAX_BLOCKS_PER_HEIGHT) return undefined
  const pshKey = partSetKey(blockId.partSetHeader)
  if (hs.blocksByPsh.has(pshKey)) return undefined // same parts, different header hash: one of them is junk
  const a = newPartSetAssembler(blockId.partSetHeader, { maxBytes: Math.min(maxBytes, MAX_BLOCK_BYTES) })
  if (!a.ok) return undefined
  const entry: BlockEntry = { blockId, key, pshKey, assembler: a.value, round, block: null, verdict: 'unknown', why: '', commitable: false }
  hs.blocks.set(key, entry)
  hs.blocksByPsh.set(pshKey, entry)
  hs.blockIds.set(key, blockId)
  return entry
}

/** Decodes a complete entry's block and checks it hashes to the block id. */
export function decodeEntryBlock (entry: BlockEntry): Result<Block> {
  const data = entry.assembler.bytes()
  if (data === undefined) return fail(new AidError('ERR_TYPES_INVALID', 'block is not complete', 'block'))
  const r = tryDecode(BlockSchema, data, { maxBytes: MAX_BLOCK_BYTES })
  if (!r.ok) return r
  const hash = headerHash(r.value.header)
  if (toHex(hash) !== toHex(entry.blockId.hash)) return fail(new AidError('ERR_TYPES_INVALID', 'parts assemble to a block with another header hash', 'block'))
  return ok(r.value)
}

export function heldBlockOfAssembler (pshKey: string, a: PartSetAssembler): HeldBlock {
  return { psh: a.header, pshKey, hasPart: (i) => a.hasPart(i), getPart: (i) => a.getPart(i) }
}

export function heldBlockOfParts (parts: PartSet): HeldBlock {
  return {
    psh: parts.header,
    pshKey: partSetKey(parts.header),
    hasPart: (i) => parts.parts[i] !== undefined,
    getPart: (i): Part | undefined => parts.parts[i],
  }
}

/** Precommits of a commit, by validator index (CometBFT uses the seen commit the same way after a restart). */
export function precommitsOfCommit (commit: Commit, size: number): Array<Vote | undefined> {
  const out: Array<Vote | undefined> = new Array<Vote | undefined>(size).fill(undefined)
  for (let i = 0; i < Math.min(size, commit.signatures.length); i++) out[i] = commitSigToVote(commit, i)
  return out
}

export function recordVote (hs: HeightState, v: Vote): void {
  const k = votesKey(v.round, v.type)
  let arr = hs.votes.get(k)
  if (arr === undefined) {
    arr = new Array<Vote | undefined>(hs.validators.validators.length).fill(undefined)
    hs.votes.set(k, arr)
  }
  if (arr[v.validatorIndex] === undefined) arr[v.validatorIndex] = v
}

const EMPTY: ReadonlyArray<Vote | undefined> = Object.freeze([])

/** The gossip snapshot of our state. */
export function buildView (hs: HeightState | null, last: LastHeight | null, fallbackHeight: number, step: StatusStep): OurView {
  const lastCommit: LastCommitView | null = last === null
    ? null
    : {
        height: last.height,
        round: last.round,
        valueKey: blockIdKey(last.blockId),
        precommits: last.precommits,
        block: heldBlockOfParts(last.parts),
        proposal: last.proposal,
        since: last.since,
      }
  if (hs === null) {
    return {
      height: fallbackHeight, round: 0, step, validatorCount: 0, proposals: [], blocks: new Map(), votes: () => EMPTY,
      voteRounds: [], commitRound: null, lastCommit, maj23: [],
    }
  }
  const rs = hs.driver.roundState()
  const blocks = new Map<string, HeldBlock>()
  for (const e of hs.blocks.values()) blocks.set(e.pshKey, heldBlockOfAssembler(e.pshKey, e.assembler))
  const rounds = [...new Set([...hs.votes.keys()].map((k) => Number(k.split('/')[0])))].sort((a, b) => a - b)
  const quorums = hs.driver.votes.precommitQuorums()
  return {
    height: hs.height,
    round: rs.round,
    step,
    validatorCount: hs.validators.validators.length,
    proposals: hs.proposals.map((p) => ({ proposal: p.proposal, blockKey: p.blockKey })),
    blocks,
    votes: (round, type) => hs.votes.get(votesKey(round, type)) ?? EMPTY,
    voteRounds: rounds,
    commitRound: rs.decision?.round ?? quorums[quorums.length - 1]?.round ?? null,
    lastCommit,
    maj23: hs.book.quorums().map((q): Maj23View => ({ ...q, votes: hs.book.votesFor(q.round, q.type, q.valueKey) })),
  }
}
