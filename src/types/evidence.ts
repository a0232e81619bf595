/**
 * Duplicate-vote evidence (CometBFT types/evidence.go): two votes by one validator for the
 * same height, round and type with different block ids. Stored in canonical order (voteA's
 * block id key sorts first) so the same pair always hashes the same, however it was found.
 */
import { encode, struct, uint, type Infer } from '../codec/index.ts'
import { equalBytes } from '../bytes.ts'
import { sha256 } from '../crypto/hash.ts'
import { AidError, type Result, fail, ok } from '../errors.ts'
import { blockIdEquals, blockIdKey } from './block-id.ts'
import { MAX_TOTAL_VOTING_POWER, timeMs } from './primitives.ts'
import { VoteSchema, type Vote } from './vote.ts'

export const DuplicateVoteEvidenceSchema = struct('DuplicateVoteEvidence', {
  voteA: VoteSchema,
  voteB: VoteSchema,
  totalVotingPower: uint({ max: MAX_TOTAL_VOTING_POWER }),
  validatorPower: uint({ max: MAX_TOTAL_VOTING_POWER }),
  /** Time of the block at the evidence height (so every node computes the same value). */
  timestamp: timeMs,
})
export type DuplicateVoteEvidence = Infer<typeof DuplicateVoteEvidenceSchema>

export function newDuplicateVoteEvidence (
  a: Vote, b: Vote, totalVotingPower: number, validatorPower: number, timestamp: number,
): DuplicateVoteEvidence {
  const [voteA, voteB] = blockIdKey(a.blockId) <= blockIdKey(b.blockId) ? [a, b] : [b, a]
  return { voteA, voteB, totalVotingPower, validatorPower, timestamp }
}

export function evidenceHash (ev: DuplicateVoteEvidence): Uint8Array {
  return sha256(encode(DuplicateVoteEvidenceSchema, ev))
}

/** Structural checks only; signature checks need the validator set (consensus/evidence). */
export function validateDuplicateVoteEvidence (ev: DuplicateVoteEvidence): Result<DuplicateVoteEvidence> {
  const { voteA: a, voteB: b } = ev
  const bad = (detail: string): Result<DuplicateVoteEvidence> => fail(new AidError('ERR_TYPES_INVALID', detail, 'evidence'))
  if (a.height !== b.height || a.round !== b.round || a.type !== b.type) return bad('votes differ in height, round or type')
  if (!equalBytes(a.validatorAddress, b.validatorAddress)) return bad('votes are from different validators')
  if (blockIdEquals(a.blockId, b.blockId)) return bad('votes are for the same block id')
  if (blockIdKey(a.blockId) > blockIdKey(b.blockId)) return bad('votes are not in canonical order')
  if (ev.validatorPower <= 0 || ev.validatorPower > ev.totalVotingPower) return bad('validator power out of range')
  return ok(ev)
}
