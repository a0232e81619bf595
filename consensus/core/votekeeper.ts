/**
 * Vote keeper of one height: weighted prevote/precommit tallies per round, thresholds and
 * equivocation detection. Follows Malachite's `core-votekeeper` for the threshold model
 * (each threshold reported once per round and vote type) and CometBFT's
 * `types/vote_set.go` for conflicts (the first vote of a validator counts; a conflicting
 * one is not counted and becomes `DuplicateVoteEvidence`).
 *
 * Thresholds, with T the total voting power of the height's validator set:
 *  - "2f+1" of Algorithm 1 is power > 2/3·T: for one value, for nil, or for anything;
 *  - "f+1" of L55 is power > 1/3·T from distinct validators with any vote in a round.
 * Powers are `number`: T ≤ 2^50 keeps 3·sum a safe integer, so the comparisons are exact.
 *
 * Deterministic state object (mutable, no I/O). Byzantine input never throws: it comes
 * back as a typed result.
 */
import { AidError } from '../../src/errors.ts'
import {
  MAX_TOTAL_VOTING_POWER, isHeight, isRound,
  type Address, type DuplicateVoteEvidence, type ValueId, type Vote, type VoterInfo, type VoteType,
} from './types.ts'

export interface VoteKeeperOptions {
  readonly height: number
  /** The validator set of this height, in set order (the order `votes()` returns). */
  readonly validators: readonly VoterInfo[]
}

/** A threshold newly crossed by a vote. */
export type Threshold =
  /** > 2/3 of power voted `type` for `valueId` in `round` (polka / commit quorum). */
  | { readonly kind: 'value', readonly type: VoteType, readonly round: number, readonly valueId: ValueId }
  /** > 2/3 of power voted `type` nil in `round`. */
  | { readonly kind: 'nil', readonly type: VoteType, readonly round: number }
  /** > 2/3 of power voted `type` for anything in `round`. */
  | { readonly kind: 'any', readonly type: VoteType, readonly round: number }
  /** > 1/3 of power (distinct validators) sent some vote in `round` (L55). */
  | { readonly kind: 'skip', readonly round: number }

export type AddVoteRejection = 'wrong-height' | 'unknown-validator' | 'malformed'

export type AddVoteResult<S = unknown> =
  | { readonly kind: 'counted', readonly thresholds: readonly Threshold[] }
  /** Conflicts with this validator's counted vote; not counted; evidence reported now. */
  | { readonly kind: 'equivocation', readonly evidence: DuplicateVoteEvidence<S> }
  /** Same vote again, or a further conflict after evidence was already reported. */
  | { readonly kind: 'ignored', readonly reason: 'duplicate' | 'equivocation-reported' }
  | { readonly kind: 'rejected', readonly reason: AddVoteRejection }

/** Read-only queries (what the driver and the shell need). */
export interface VoteKeeperView<S = unknown> {
  readonly height: number
  readonly totalVotingPower: number
  /** Voting power of `address`, or undefined when it is not in the set. */
  powerOf (address: Address): number | undefined
  /** The value (or `null` for nil) with > 2/3 of `type` votes in `round`; undefined if none. */
  quorum (type: VoteType, round: number): ValueId | null | undefined
  /** > 2/3 of power voted `type` (anything) in `round`. */
  hasQuorumAny (type: VoteType, round: number): boolean
  /** > 1/3 of power sent some vote in `round`. */
  hasSkip (round: number): boolean
  /** Highest round with the skip threshold, −1 if none. */
  highestSkipRound (): number
  /** Rounds where precommits reached > 2/3 for a (non-nil) value, ascending. */
  precommitQuorums (): ReadonlyArray<{ readonly round: number, readonly valueId: ValueId }>
  /** Counted votes of `type` in `round`, in validator-set order. */
  votes (type: VoteType, round: number): Array<Vote<S>>
  /** Summed power of counted `type` votes in `round`: for one value/nil, or all when omitted. */
  power (type: VoteType, round: number, valueId?: ValueId | null): number
  /** Rounds with at least one counted vote, ascending. */
  rounds (): number[]
  /** Every duplicate-vote evidence reported so far, in order of detection. */
  evidence (): ReadonlyArray<DuplicateVoteEvidence<S>>
}

export interface VoteKeeper<S = unknown> extends VoteKeeperView<S> {
  addVote (vote: Vote<S>): AddVoteResult<S>
}

interface Tally<S> {
  readonly byValidator: Map<Address, Vote<S>>
  readonly byValue: Map<ValueId | null, number>
  total: number
  anyReached: boolean
  /** First value (or null) whose power crossed 2/3; undefined before. */
  quorum: ValueId | null | undefined
  /** Validators whose conflict was already reported for this round and type. */
  readonly reported: Set<Address>
}

interface RoundVotes<S> {
  readonly prevote: Tally<S>
  readonly precommit: Tally<S>
  readonly voters: Set<Address>
  voterPower: number
  skipReached: boolean
}

function newTally<S> (): Tally<S> {
  return { byValidator: new Map(), byValue: new Map(), total: 0, anyReached: false, quorum: undefined, reported: new Set() }
}

/** power > 2/3 · total, exact for total ≤ 2^50. */
export function isQuorum (power: number, total: number): boolean {
  return 3 * power > 2 * total
}

/** power > 1/3 · total (f+1 of L55), exact for total ≤ 2^50. */
export function isOneThird (power: number, total: number): boolean {
  return 3 * power > total
}

/** Checks a validator list for the core: distinct addresses, positive powers, bounded total. */
export function validateVoters (validators: readonly VoterInfo[], at: string): number {
  if (validators.length === 0) throw new AidError('ERR_TYPES_INVALID', 'validator set is empty', at)
  const seen = new Set<Address>()
  let total = 0
  for (const [i, v] of validators.entries()) {
    if (typeof v.address !== 'string' || v.address === '') {
      throw new AidError('ERR_TYPES_INVALID', 'address must be a non-empty string', `${at}[${i}].address`)
    }
    if (seen.has(v.address)) throw new AidError('ERR_TYPES_INVALID', `duplicate address ${v.address}`, `${at}[${i}].address`)
    seen.add(v.address)
    if (!Number.isSafeInteger(v.votingPower) || v.votingPower <= 0) {
      throw new AidError('ERR_TYPES_INVALID', 'voting power must be a positive safe integer', `${at}[${i}].votingPower`)
    }
    total += v.votingPower
    if (total > MAX_TOTAL_VOTING_POWER) {
      throw new AidError('ERR_TYPES_INVALID', `total voting power exceeds ${MAX_TOTAL_VOTING_POWER}`, at)
    }
  }
  return total
}

function isWellFormed (vote: Vote<unknown>): boolean {
  return (vote.type === 'prevote' || vote.type === 'precommit') &&
    isRound(vote.round) &&
    (vote.valueId === null || typeof vote.valueId === 'string') &&
    typeof vote.validator === 'string'
}

/** Factory: a vote keeper for one height. Throws only on bad options (programming error). */
export function createVoteKeeper<S = unknown> (options: VoteKeeperOptions): VoteKeeper<S> {
  if (!isHeight(options.height)) throw new AidError('ERR_TYPES_INVALID', 'height must be a positive safe integer', 'votekeeper.height')
  const total = validateVoters(options.validators, 'votekeeper.validators')
  const height = options.height
  const power = new Map<Address, number>()
  const index = new Map<Address, number>()
  for (const [i, v] of options.validators.entries()) {
    power.set(v.address, v.votingPower)
    index.set(v.address, i)
  }
  const rounds = new Map<number, RoundVotes<S>>()
  const precommitQuorums: Array<{ round: number, valueId: ValueId }> = []
  const evidence: Array<DuplicateVoteEvidence<S>> = []
  let highestSkip = -1

  function roundVotes (round: number): RoundVotes<S> {
    let rv = rounds.get(round)
    if (rv === undefined) {
      rv = { prevote: newTally(), precommit: newTally(), voters: new Set(), voterPower: 0, skipReached: false }
      rounds.set(round, rv)
    }
    return rv
  }

  function addVote (vote: Vote<S>): AddVoteResult<S> {
    if (vote === null || typeof vote !== 'object' || !isWellFormed(vote)) return { kind: 'rejected', reason: 'malformed' }
    if (vote.height !== height) return { kind: 'rejected', reason: 'wrong-height' }
    const p = power.get(vote.validator)
    if (p === undefined) return { kind: 'rejected', reason: 'unknown-validator' }

    const rv = roundVotes(vote.round)
    const tally = rv[vote.type]
    const existing = tally.byValidator.get(vote.validator)
    if (existing !== undefined) {
      if (existing.valueId === vote.valueId) return { kind: 'ignored', reason: 'duplicate' }
      if (tally.reported.has(vote.validator)) return { kind: 'ignored', reason: 'equivocation-reported' }
      tally.reported.add(vote.validator)
      const ev: DuplicateVoteEvidence<S> = {
        kind: 'duplicate-vote', voteA: existing, voteB: vote, validatorPower: p, totalVotingPower: total,
      }
      evidence.push(ev)
      return { kind: 'equivocation', evidence: ev }
    }

    tally.byValidator.set(vote.validator, vote)
    const valuePower = (tally.byValue.get(vote.valueId) ?? 0) + p
    tally.byValue.set(vote.valueId, valuePower)
    tally.total += p

    const thresholds: Threshold[] = []
    if (tally.quorum === undefined && isQuorum(valuePower, total)) {
      // At most one value per (round, type) can cross: each validator counts once.
      tally.quorum = vote.valueId
      if (vote.valueId === null) {
        thresholds.push({ kind: 'nil', type: vote.type, round: vote.round })
      } else {
        thresholds.push({ kind: 'value', type: vote.type, round: vote.round, valueId: vote.valueId })
        if (vote.type === 'precommit') insertQuorum(vote.round, vote.valueId)
      }
    }
    if (!tally.anyReached && isQuorum(tally.total, total)) {
      tally.anyReached = true
      thresholds.push({ kind: 'any', type: vote.type, round: vote.round })
    }
    if (!rv.voters.has(vote.validator)) {
      rv.voters.add(vote.validator)
      rv.voterPower += p
      if (!rv.skipReached && isOneThird(rv.voterPower, total)) {
        rv.skipReached = true
        if (vote.round > highestSkip) highestSkip = vote.round
        thresholds.push({ kind: 'skip', round: vote.round })
      }
    }
    return { kind: 'counted', thresholds }
  }

  function insertQuorum (round: number, valueId: ValueId): void {
    let i = precommitQuorums.length
    while (i > 0 && (precommitQuorums[i - 1]?.round ?? -1) > round) i--
    precommitQuorums.splice(i, 0, { round, valueId })
  }

  function tallyOf (type: VoteType, round: number): Tally<S> | undefined {
    return rounds.get(round)?.[type]
  }

  return {
    height,
    totalVotingPower: total,
    addVote,
    powerOf: (address) => power.get(address),
    quorum: (type, round) => tallyOf(type, round)?.quorum,
    hasQuorumAny: (type, round) => tallyOf(type, round)?.anyReached === true,
    hasSkip: (round) => rounds.get(round)?.skipReached === true,
    highestSkipRound: () => highestSkip,
    precommitQuorums: () => precommitQuorums,
    votes (type, round) {
      const t = tallyOf(type, round)
      if (t === undefined) return []
      return [...t.byValidator.values()].sort((a, b) => (index.get(a.validator) ?? 0) - (index.get(b.validator) ?? 0))
    },
    power (type, round, valueId) {
      const t = tallyOf(type, round)
      if (t === undefined) return 0
      return valueId === undefined ? t.total : (t.byValue.get(valueId) ?? 0)
    },
    rounds: () => [...rounds.keys()].sort((a, b) => a - b),
    evidence: () => evidence,
  }
}
