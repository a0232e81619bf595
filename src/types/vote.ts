/**
 * Votes, proposals and commits (CometBFT types/vote.go, proposal.go, block.go Commit) and
 * their sign bytes.
 *
 * Sign bytes are domain-separated: the canonical encoding of a struct whose first two
 * fields are a constant type tag and the chain id, so a signature over one kind of message
 * can never be replayed as another kind or on another chain. The signature itself is never
 * inside the signed bytes.
 */
import { encode, list, oneOf, struct, uint, type Infer } from '../codec/index.ts'
import { BlockIdSchema, type BlockId, blockIdEquals, isNilBlockId, nilBlockId } from './block-id.ts'
import {
  address20, chainIdField, height, MAX_VALIDATORS, polRound, round, signature64, signatureOrEmpty, timeMs,
} from './primitives.ts'

export const VOTE_TYPES = ['prevote', 'precommit'] as const
export type VoteType = typeof VOTE_TYPES[number]

export const VoteSchema = struct('Vote', {
  type: oneOf(VOTE_TYPES),
  height,
  round,
  blockId: BlockIdSchema,
  timestamp: timeMs,
  validatorAddress: address20,
  validatorIndex: uint({ max: MAX_VALIDATORS - 1 }),
  signature: signature64,
})
export type Vote = Infer<typeof VoteSchema>

export const ProposalSchema = struct('Proposal', {
  height,
  round,
  polRound,
  blockId: BlockIdSchema,
  timestamp: timeMs,
  signature: signature64,
})
export type Proposal = Infer<typeof ProposalSchema>

export const COMMIT_FLAGS = ['absent', 'commit', 'nil'] as const
export type CommitFlag = typeof COMMIT_FLAGS[number]

/** One validator's slot in a commit, in validator-set order. Absent slots carry empty fields. */
export const CommitSigSchema = struct('CommitSig', {
  flag: oneOf(COMMIT_FLAGS),
  validatorAddress: address20,
  timestamp: timeMs,
  signature: signatureOrEmpty,
})
export type CommitSig = Infer<typeof CommitSigSchema>

export const CommitSchema = struct('Commit', {
  height,
  round,
  blockId: BlockIdSchema,
  signatures: list(CommitSigSchema, { max: MAX_VALIDATORS }),
})
export type Commit = Infer<typeof CommitSchema>

const VoteSignBytesSchema = struct('VoteSignBytes', {
  tag: oneOf(['aidledger/vote/v1']),
  chainId: chainIdField,
  type: oneOf(VOTE_TYPES),
  height,
  round,
  blockId: BlockIdSchema,
  timestamp: timeMs,
})

const ProposalSignBytesSchema = struct('ProposalSignBytes', {
  tag: oneOf(['aidledger/proposal/v1']),
  chainId: chainIdField,
  height,
  round,
  polRound,
  blockId: BlockIdSchema,
  timestamp: timeMs,
})

export interface VoteSignFields {
  type: VoteType
  height: number
  round: number
  blockId: BlockId
  timestamp: number
}

export function voteSignBytes (chainId: string, v: VoteSignFields): Uint8Array {
  return encode(VoteSignBytesSchema, {
    tag: 'aidledger/vote/v1', chainId, type: v.type, height: v.height, round: v.round, blockId: v.blockId, timestamp: v.timestamp,
  })
}

export function proposalSignBytes (chainId: string, p: Omit<Proposal, 'signature'>): Uint8Array {
  return encode(ProposalSignBytesSchema, {
    tag: 'aidledger/proposal/v1', chainId, height: p.height, round: p.round, polRound: p.polRound, blockId: p.blockId, timestamp: p.timestamp,
  })
}

/** The precommit a commit slot stands for; its sign bytes are what the slot's signature covers. */
export function commitSigToVote (commit: Commit, index: number): Vote | undefined {
  const cs = commit.signatures[index]
  if (cs === undefined || cs.flag === 'absent') return undefined
  return {
    type: 'precommit',
    height: commit.height,
    round: commit.round,
    blockId: cs.flag === 'commit' ? commit.blockId : nilBlockId(),
    timestamp: cs.timestamp,
    validatorAddress: cs.validatorAddress,
    validatorIndex: index,
    signature: cs.signature,
  }
}

/**
 * The slot a precommit takes in a commit for `commitBlockId`. As CometBFT's
 * VoteSet.MakeExtendedCommit, a precommit for some other block cannot be shown in this
 * commit (its signature covers another block id), so its slot is absent.
 */
export function voteToCommitSig (vote: Vote, commitBlockId: BlockId): CommitSig {
  const isNil = isNilBlockId(vote.blockId)
  if (!isNil && !blockIdEquals(vote.blockId, commitBlockId)) return absentCommitSig()
  return {
    flag: isNil ? 'nil' : 'commit',
    validatorAddress: vote.validatorAddress,
    timestamp: vote.timestamp,
    signature: vote.signature,
  }
}

export function absentCommitSig (): CommitSig {
  return { flag: 'absent', validatorAddress: new Uint8Array(20), timestamp: 0, signature: new Uint8Array(0) }
}
