/**
 * Shared vocabulary of the pure consensus core (round state machine, vote keeper, driver).
 *
 * Follows the message shapes of "The latest gossip on BFT consensus" (Buchman, Kwon,
 * Milosevic 2018, arXiv:1807.04938), Algorithm 1: ⟨PROPOSAL, h, r, v, vr⟩ and
 * ⟨PREVOTE|PRECOMMIT, h, r, id(v)⟩. Values are opaque: the core only sees `id(v)` as a
 * `ValueId` (the driver uses the hex of a block id hash) and `nil` as `null`.
 *
 * Signatures and any other wire payload travel in the generic `signature` field; the core
 * never looks inside it, it only carries it through (into evidence and commits).
 */

/** `id(v)` of Algorithm 1: an opaque value identifier. `nil` is `null`. */
export type ValueId = string

/** A validator address as lower-case hex (first 20 bytes of SHA-256(pubkey), DESIGN §7). */
export type Address = string

export type VoteType = 'prevote' | 'precommit'

/** `step_p` of Algorithm 1, plus `unstarted` (between rounds) and `commit` (decided). */
export type Step = 'unstarted' | 'propose' | 'prevote' | 'precommit' | 'commit'

export type TimeoutStep = 'propose' | 'prevote' | 'precommit'

/** Largest round the core accepts (CometBFT rounds are int32). */
export const MAX_ROUND = 2 ** 31 - 1

/** The signed content of ⟨PREVOTE|PRECOMMIT, h, r, id(v)⟩ from `validator`. */
export interface VoteData {
  readonly type: VoteType
  readonly height: number
  readonly round: number
  /** `id(v)`, or `null` for a nil vote. */
  readonly valueId: ValueId | null
  readonly validator: Address
}

/** A vote as received from the network: the data plus an opaque payload (signature, ...). */
export interface Vote<S = unknown> extends VoteData {
  readonly signature: S
}

/** The signed content of ⟨PROPOSAL, h, r, v, vr⟩ from `proposer`. */
export interface ProposalData {
  readonly height: number
  readonly round: number
  readonly valueId: ValueId
  /** `vr` of Algorithm 1; −1 when the proposer had no validValue. */
  readonly validRound: number
  readonly proposer: Address
}

export interface Proposal<S = unknown> extends ProposalData {
  readonly signature: S
}

/** One member of the validator set as the core needs it. */
export interface VoterInfo {
  readonly address: Address
  /** Positive safe integer; the whole set's total must stay ≤ MAX_TOTAL_VOTING_POWER. */
  readonly votingPower: number
}

/** Total power limit of the core: keeps 3 × sum a safe integer (3 × 2^50 < 2^53). */
export const MAX_TOTAL_VOTING_POWER = 2 ** 50

/**
 * Two votes from one validator for the same height, round and type but different values
 * (CometBFT `DuplicateVoteEvidence`). `voteA` is the vote that was counted first, `voteB`
 * the conflicting one; the evidence module orders them canonically for hashing.
 */
export interface DuplicateVoteEvidence<S = unknown> {
  readonly kind: 'duplicate-vote'
  readonly voteA: Vote<S>
  readonly voteB: Vote<S>
  readonly validatorPower: number
  readonly totalVotingPower: number
}

export function isRound (r: unknown): r is number {
  return typeof r === 'number' && Number.isSafeInteger(r) && r >= 0 && r <= MAX_ROUND
}

export function isHeight (h: unknown): h is number {
  return typeof h === 'number' && Number.isSafeInteger(h) && h >= 1
}
