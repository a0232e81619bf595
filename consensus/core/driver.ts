/**
 * Driver core of one height: the round state machine (round.ts) + the vote keeper
 * (votekeeper.ts) + proposal bookkeeping, after Malachite's `core-driver`. It turns raw
 * inputs (a proposal, a vote, a timeout, our value being ready) into the aggregated inputs
 * of Algorithm 1 ("The latest gossip on BFT consensus", arXiv:1807.04938), including the
 * combinations the paper's upon-rules need: proposal + polka for its vr (L28), proposal +
 * polka for its value (L36), proposal + +2/3 precommits for its value in any round (L49).
 *
 * After every input the driver re-evaluates which upon-rule is enabled and feeds the round
 * machine until none is, so the arrival order does not matter: votes for future rounds are
 * kept and used when the round is entered, a proposal that arrives after its polka still
 * fires L28/L36/L49.
 *
 * Loopback: the driver never counts its own messages by itself. Each `propose`/`vote`
 * output must be signed by the shell (private validator), broadcast, and fed back as a
 * `proposal`/`vote` input, exactly like a message from a peer (as Malachite does).
 *
 * Pure in the sense of DESIGN §4: no I/O, clock, randomness or Promise; a deterministic
 * state object stepped by `step(input)`. Invalid or irrelevant input returns a typed
 * `ignored`/`rejected` result and never throws.
 */
import { AidError } from '../../src/errors.ts'
import {
  initialRoundState, step as roundStep,
  type RoundFaults, type RoundInput, type RoundOutput, type RoundState, type RoundTransition,
} from './round.ts'
import { createVoteKeeper, type VoteKeeperView } from './votekeeper.ts'
import {
  isHeight, isRound,
  type Address, type DuplicateVoteEvidence, type Proposal, type ProposalData, type TimeoutStep,
  type ValueId, type Vote, type VoteData, type VoterInfo,
} from './types.ts'

/** Test-only fault switches; the simulator proves its checks catch them. */
export type DriverFaults = RoundFaults

export interface DriverOptions {
  readonly height: number
  /** The validator set of this height, in set order. */
  readonly validators: readonly VoterInfo[]
  /** Our validator address, or null on a node that does not vote (full node). */
  readonly self: Address | null
  /**
   * proposer(h, round) of Algorithm 1 for this height; must be pure. Typically, with
   * `const schedule = createProposerSchedule(set)` from proposer.ts,
   * `(r) => toHex(schedule.proposer(r).address)`. Called at most once per round.
   */
  readonly proposer: (round: number) => Address
  /** Votes and proposals more than this many rounds ahead of ours are ignored (memory bound). Default 1000. */
  readonly maxRoundsAhead?: number
  readonly faults?: DriverFaults
}

export const DEFAULT_MAX_ROUNDS_AHEAD = 1000

export type DriverInput<VS = unknown, PS = unknown> =
  /** StartRound(0) of this height (L10). Inputs before it are stored, not acted on. */
  | { readonly kind: 'start' }
  /** A proposal from the network (or our own, looped back) and the verdict valid(v). */
  | { readonly kind: 'proposal', readonly proposal: Proposal<PS>, readonly valid: boolean }
  /** A vote whose signature the shell has verified (or our own, looped back). */
  | { readonly kind: 'vote', readonly vote: Vote<VS> }
  /** Answer to `get-value`: the value we propose in `round`. */
  | { readonly kind: 'propose-value', readonly round: number, readonly valueId: ValueId }
  /** A timeout scheduled by a `schedule-timeout` output has fired. */
  | { readonly kind: 'timeout', readonly height: number, readonly round: number, readonly step: TimeoutStep }

export interface DriverDecision<VS = unknown, PS = unknown> {
  readonly kind: 'decision'
  readonly height: number
  readonly round: number
  readonly valueId: ValueId
  readonly proposal: Proposal<PS>
  /** The +2/3 precommits for `valueId` in `round` held at decision time, in set order. */
  readonly commit: ReadonlyArray<Vote<VS>>
}

export type DriverOutput<VS = unknown, PS = unknown> =
  | { readonly kind: 'new-round', readonly height: number, readonly round: number, readonly proposer: Address }
  /** Ask the application for a value (build a block), answer with `propose-value`. */
  | { readonly kind: 'get-value', readonly height: number, readonly round: number }
  /** Sign, broadcast and loop back as a `proposal` input. */
  | { readonly kind: 'propose', readonly proposal: ProposalData }
  /** Sign, broadcast and loop back as a `vote` input. */
  | { readonly kind: 'vote', readonly vote: VoteData }
  | { readonly kind: 'schedule-timeout', readonly height: number, readonly round: number, readonly step: TimeoutStep }
  | DriverDecision<VS, PS>
  | { readonly kind: 'evidence', readonly evidence: DuplicateVoteEvidence<VS> }

export type DriverReason =
  | 'already-started' | 'not-started'
  | 'wrong-height' | 'malformed' | 'unknown-validator' | 'round-too-far'
  | 'not-proposer' | 'duplicate' | 'conflicting-proposal'
  | 'equivocation' | 'equivocation-reported'
  /** The input was well-formed but no rule applies to it now (stale timeout, late value). */
  | 'no-transition'

export interface DriverResult<VS = unknown, PS = unknown> {
  readonly status: 'applied' | 'ignored' | 'rejected'
  readonly reason: DriverReason | null
  readonly outputs: ReadonlyArray<DriverOutput<VS, PS>>
}

export interface StoredProposal<PS = unknown> {
  readonly proposal: Proposal<PS>
  readonly valid: boolean
}

export interface Driver<VS = unknown, PS = unknown> {
  readonly height: number
  step (input: DriverInput<VS, PS>): DriverResult<VS, PS>
  /** The round machine's state (round_p, step_p, locks, valid value, decision). */
  roundState (): RoundState
  /** The vote keeper, read-only (e.g. to collect late precommits for the LastCommit). */
  readonly votes: VoteKeeperView<VS>
  /** The first proposal held for `round` (the one L22/L28 act on). */
  proposal (round: number): StoredProposal<PS> | undefined
  /** Every proposal held for `round`: the first, plus any for a value with a +2/3 quorum there. */
  proposals (round: number): ReadonlyArray<StoredProposal<PS>>
  proposerOf (round: number): Address
  decision (): DriverDecision<VS, PS> | null
}

const NOTHING: readonly never[] = Object.freeze([])

function result<VS, PS> (status: DriverResult['status'], reason: DriverReason | null,
  outputs: ReadonlyArray<DriverOutput<VS, PS>> = NOTHING): DriverResult<VS, PS> {
  return { status, reason, outputs }
}

/** Upper bound on rule firings per input; each firing advances the state, so this is never reached. */
const MAX_FIRINGS = 10_000

/** Factory: the driver of one height. Throws only on bad options (programming error). */
export function createDriver<VS = unknown, PS = unknown> (options: DriverOptions): Driver<VS, PS> {
  if (!isHeight(options.height)) throw new AidError('ERR_TYPES_INVALID', 'height must be a positive safe integer', 'driver.height')
  const height = options.height
  const keeper = createVoteKeeper<VS>({ height, validators: options.validators })
  const maxAhead = options.maxRoundsAhead ?? DEFAULT_MAX_ROUNDS_AHEAD
  if (!Number.isSafeInteger(maxAhead) || maxAhead < 1) {
    throw new AidError('ERR_TYPES_INVALID', 'maxRoundsAhead must be a positive integer', 'driver.maxRoundsAhead')
  }
  const self = options.self !== null && keeper.powerOf(options.self) !== undefined ? options.self : null
  const roundOptions = { faults: options.faults ?? {} }
  const proposers = new Map<number, Address>()
  // Per round: the first proposal from the proposer, then (equivocating proposer) at most
  // the ones whose value has +2/3 prevotes or precommits in that round — one value per
  // vote type — so that L36/L49 can still fire for what the network agreed on.
  const proposals = new Map<number, Array<StoredProposal<PS>>>()
  let rs: RoundState = initialRoundState()
  let started = false
  let decided: DriverDecision<VS, PS> | null = null

  function proposerOf (round: number): Address {
    let p = proposers.get(round)
    if (p === undefined) {
      p = options.proposer(round)
      proposers.set(round, p)
    }
    return p
  }

  function proposalFor (round: number, valueId: ValueId): StoredProposal<PS> | undefined {
    return proposals.get(round)?.find((p) => p.proposal.valueId === valueId)
  }

  function tooFar (round: number): boolean {
    return round > rs.round + maxAhead
  }

  // ---- outputs ----

  function emit (outputs: readonly RoundOutput[], into: Array<DriverOutput<VS, PS>>): void {
    for (const o of outputs) {
      switch (o.kind) {
        case 'new-round':
          into.push({ kind: 'new-round', height, round: o.round, proposer: proposerOf(o.round) })
          break
        case 'get-value':
          if (self !== null) into.push({ kind: 'get-value', height, round: o.round })
          break
        case 'proposal':
          if (self !== null) {
            into.push({
              kind: 'propose',
              proposal: { height, round: o.round, valueId: o.valueId, validRound: o.validRound, proposer: self },
            })
          }
          break
        case 'vote':
          if (self !== null) {
            into.push({ kind: 'vote', vote: { type: o.type, height, round: o.round, valueId: o.valueId, validator: self } })
          }
          break
        case 'schedule-timeout':
          into.push({ kind: 'schedule-timeout', height, round: o.round, step: o.step })
          break
        case 'decision': {
          const stored = proposalFor(o.round, o.valueId)
          // The driver feeds L49 only with the proposal in hand, so `stored` is defined.
          if (stored === undefined) break
          decided = {
            kind: 'decision',
            height,
            round: o.round,
            valueId: o.valueId,
            proposal: stored.proposal,
            commit: keeper.votes('precommit', o.round).filter((v) => v.valueId === o.valueId),
          }
          into.push(decided)
          break
        }
      }
    }
  }

  // ---- rule evaluation ----

  function fire (input: RoundInput): RoundTransition | null {
    const t = roundStep(rs, input, roundOptions)
    return t.rule === null ? null : t
  }

  /** The first enabled upon-rule, as a transition of the round machine; null if none. */
  function nextTransition (): RoundTransition | null {
    if (rs.step === 'commit') return null
    // L49, any round r: proposal v of r (valid) AND 2f+1 ⟨PRECOMMIT, h, r, id(v)⟩
    for (const q of keeper.precommitQuorums()) {
      const p = proposalFor(q.round, q.valueId)
      if (p !== undefined && p.valid) {
        return fire({ kind: 'precommit-value', round: q.round, valueId: q.valueId })
      }
    }
    const r = rs.round
    // L11: start the round we just entered
    if (rs.step === 'unstarted') return fire({ kind: 'new-round', round: r, isProposer: self !== null && proposerOf(r) === self })
    // L55: f+1 of a higher round; jump to the highest such round
    const skip = keeper.highestSkipRound()
    if (skip > r) {
      const t = fire({ kind: 'skip-round', round: skip })
      if (t !== null) return t
    }
    const first = proposals.get(r)?.[0]
    const prevoteQuorum = keeper.quorum('prevote', r)
    if (first !== undefined) {
      const p = first.proposal
      // L22 / L28 act on the first proposal received from proposer(h, r)
      const t = fire({
        kind: 'proposal',
        proposal: { round: p.round, valueId: p.valueId, validRound: p.validRound },
        valid: first.valid,
        polkaForValidRound: p.validRound >= 0 && keeper.quorum('prevote', p.validRound) === p.valueId,
      })
      if (t !== null) return t
    }
    // L36: the proposal for the value with the polka
    if (typeof prevoteQuorum === 'string' && proposalFor(r, prevoteQuorum)?.valid === true) {
      const t = fire({ kind: 'polka-value', round: r, valueId: prevoteQuorum })
      if (t !== null) return t
    }
    // L44
    if (prevoteQuorum === null) {
      const t = fire({ kind: 'polka-nil', round: r })
      if (t !== null) return t
    }
    // L34
    if (keeper.hasQuorumAny('prevote', r)) {
      const t = fire({ kind: 'polka-any', round: r })
      if (t !== null) return t
    }
    // L47
    if (keeper.hasQuorumAny('precommit', r)) {
      const t = fire({ kind: 'precommit-any', round: r })
      if (t !== null) return t
    }
    return null
  }

  /** Apply `first` (if any), then every rule that becomes enabled, until none is. */
  function drain (first: RoundTransition | null = null): Array<DriverOutput<VS, PS>> {
    const out: Array<DriverOutput<VS, PS>> = []
    if (first !== null) {
      rs = first.state
      emit(first.outputs, out)
    }
    if (!started) return out
    for (let i = 0; i < MAX_FIRINGS; i++) {
      const t = nextTransition()
      if (t === null) break
      rs = t.state
      emit(t.outputs, out)
    }
    return out
  }

  // ---- inputs ----

  function onVote (vote: Vote<VS>): DriverResult<VS, PS> {
    if (vote === null || typeof vote !== 'object') return result('rejected', 'malformed')
    if (isRound(vote.round) && vote.height === height && tooFar(vote.round)) return result('ignored', 'round-too-far')
    const res = keeper.addVote(vote)
    switch (res.kind) {
      case 'counted':
        return result('applied', null, drain())
      case 'equivocation':
        return result('rejected', 'equivocation', [{ kind: 'evidence', evidence: res.evidence }])
      case 'ignored':
        return result('ignored', res.reason)
      case 'rejected':
        return result('rejected', res.reason)
    }
  }

  function onProposal (proposal: Proposal<PS>, valid: boolean): DriverResult<VS, PS> {
    if (proposal === null || typeof proposal !== 'object' || typeof valid !== 'boolean') return result('rejected', 'malformed')
    if (proposal.height !== height) return result('rejected', 'wrong-height')
    if (!isRound(proposal.round) || typeof proposal.valueId !== 'string' || typeof proposal.proposer !== 'string' ||
      !Number.isSafeInteger(proposal.validRound) || proposal.validRound < -1 || proposal.validRound >= proposal.round) {
      return result('rejected', 'malformed')
    }
    if (tooFar(proposal.round)) return result('ignored', 'round-too-far')
    if (proposal.proposer !== proposerOf(proposal.round)) return result('rejected', 'not-proposer')
    const held = proposals.get(proposal.round)
    if (held === undefined) {
      proposals.set(proposal.round, [{ proposal, valid }])
      return result('applied', null, drain())
    }
    const same = held.find((p) => p.proposal.valueId === proposal.valueId)
    if (same !== undefined) {
      return same.proposal.validRound === proposal.validRound
        ? result('ignored', 'duplicate')
        : result('rejected', 'conflicting-proposal')
    }
    // The proposer equivocated. Keep this one only if the network agreed on its value
    // (CometBFT likewise fetches the block a +2/3 quorum points at); otherwise the shell
    // may feed it again once such a quorum shows up.
    const agreed = keeper.quorum('prevote', proposal.round) === proposal.valueId ||
      keeper.quorum('precommit', proposal.round) === proposal.valueId
    if (!agreed) return result('rejected', 'conflicting-proposal')
    held.push({ proposal, valid })
    return result('applied', null, drain())
  }

  function onDirect (input: RoundInput): DriverResult<VS, PS> {
    if (!started) return result('ignored', 'not-started')
    const t = fire(input)
    if (t === null) return result('ignored', 'no-transition')
    return result('applied', null, drain(t))
  }

  function step (input: DriverInput<VS, PS>): DriverResult<VS, PS> {
    if (input === null || typeof input !== 'object') return result('rejected', 'malformed')
    switch (input.kind) {
      case 'start':
        if (started) return result('ignored', 'already-started')
        started = true
        // L10: StartRound(0); the round machine starts in round 0, 'unstarted'.
        return result('applied', null, [
          { kind: 'new-round', height, round: rs.round, proposer: proposerOf(rs.round) },
          ...drain(),
        ])
      case 'vote':
        return onVote(input.vote)
      case 'proposal':
        return onProposal(input.proposal, input.valid)
      case 'propose-value':
        if (!isRound(input.round) || typeof input.valueId !== 'string') return result('rejected', 'malformed')
        return onDirect({ kind: 'propose-value', round: input.round, valueId: input.valueId })
      case 'timeout':
        if (input.height !== height) return result('ignored', 'wrong-height')
        if (!isRound(input.round)) return result('rejected', 'malformed')
        switch (input.step) {
          case 'propose': return onDirect({ kind: 'timeout-propose', round: input.round })
          case 'prevote': return onDirect({ kind: 'timeout-prevote', round: input.round })
          case 'precommit': return onDirect({ kind: 'timeout-precommit', round: input.round })
          default: return result('rejected', 'malformed')
        }
      default:
        return result('rejected', 'malformed')
    }
  }

  return {
    height,
    step,
    roundState: () => rs,
    votes: keeper,
    proposal: (round) => proposals.get(round)?.[0],
    proposals: (round) => proposals.get(round) ?? [],
    proposerOf,
    decision: () => decided,
  }
}
