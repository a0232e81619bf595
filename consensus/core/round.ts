/**
 * The round state machine of one height: Algorithm 1 of "The latest gossip on BFT
 * consensus" (Buchman, Kwon, Milosevic 2018, arXiv:1807.04938), in the style of Malachite's
 * `core-state-machine`: a pure `step(state, input) -> { state, outputs }`.
 *
 * The machine sees the world only after aggregation: the vote keeper has counted votes
 * and the driver has paired thresholds with the proposal they need ("proposal + polka for
 * its value"). Each rule carries its line number from the paper (`// L22`). Values are
 * opaque `ValueId`s; `nil` is `null`. lockedValue/lockedRound and validValue/validRound
 * follow the paper; a lock is never released (as CometBFT v1).
 *
 * Contract with the driver (which owns the vote keeper and the proposals):
 *  - `new-round` is fed right after an `new-round` output, with `isProposer` for that round.
 *  - `polka-value` / `precommit-value` are fed only when the matching proposal
 *    ⟨PROPOSAL, h, r, v, ∗⟩ from proposer(h, r) is held and valid(v) holds (L36, L49).
 *  - `proposal` carries valid(v) and whether 2f+1 ⟨PREVOTE, h, vr, id(v)⟩ are held (L28).
 * Inputs that match no rule leave the state unchanged and report `rule: null`.
 *
 * Deviations from the paper, both from CometBFT and Malachite, both safe:
 *  - A proposer also schedules timeoutPropose (the paper does only for others, L21), so a
 *    proposer whose value never arrives, or whose own proposal is lost, still moves on.
 *  - An invalid proposal is prevoted nil at once even when vr ≥ 0 and the polka for vr is
 *    not yet held; the paper would wait for timeoutPropose (L57), which prevotes nil too.
 */
import type { Step, TimeoutStep, ValueId, VoteType } from './types.ts'

export interface RoundState {
  /** round_p */
  readonly round: number
  /** step_p */
  readonly step: Step
  readonly lockedValue: ValueId | null
  /** −1 when not locked */
  readonly lockedRound: number
  readonly validValue: ValueId | null
  /** −1 when no valid value */
  readonly validRound: number
  /** Set by L49; then step is 'commit' and nothing else happens in this height. */
  readonly decision: { readonly round: number, readonly valueId: ValueId } | null
  /** We asked for a value (L18) and have not proposed it yet. */
  readonly awaitingValue: boolean
  /** L34 "for the first time" in this round. */
  readonly timeoutPrevoteScheduled: boolean
  /** L47 "for the first time" in this round. */
  readonly timeoutPrecommitScheduled: boolean
}

/** A proposal as the round machine sees it: ⟨PROPOSAL, h, round, id(v), vr⟩. */
export interface RoundProposal {
  readonly round: number
  readonly valueId: ValueId
  readonly validRound: number
}

export type RoundInput =
  /** L11: start the round; the driver says whether we are proposer(h_p, round). */
  | { readonly kind: 'new-round', readonly round: number, readonly isProposer: boolean }
  /** L18 answered: getValue() returned `valueId`. */
  | { readonly kind: 'propose-value', readonly round: number, readonly valueId: ValueId }
  /** L22 (vr = −1) or L28 (vr ≥ 0, with `polkaForValidRound`). */
  | {
    readonly kind: 'proposal'
    readonly proposal: RoundProposal
    readonly valid: boolean
    readonly polkaForValidRound: boolean
  }
  /** L34: 2f+1 ⟨PREVOTE, h, round, ∗⟩. */
  | { readonly kind: 'polka-any', readonly round: number }
  /** L44: 2f+1 ⟨PREVOTE, h, round, nil⟩. */
  | { readonly kind: 'polka-nil', readonly round: number }
  /** L36: valid proposal v of `round` and 2f+1 ⟨PREVOTE, h, round, id(v)⟩. */
  | { readonly kind: 'polka-value', readonly round: number, readonly valueId: ValueId }
  /** L47: 2f+1 ⟨PRECOMMIT, h, round, ∗⟩. */
  | { readonly kind: 'precommit-any', readonly round: number }
  /** L49: valid proposal v of `round` (any round) and 2f+1 ⟨PRECOMMIT, h, round, id(v)⟩. */
  | { readonly kind: 'precommit-value', readonly round: number, readonly valueId: ValueId }
  /** L55: f+1 messages of a round > round_p. */
  | { readonly kind: 'skip-round', readonly round: number }
  /** L57, L61, L65 */
  | { readonly kind: 'timeout-propose' | 'timeout-prevote' | 'timeout-precommit', readonly round: number }

export type RoundOutput =
  /** The machine moved to `round` (step 'unstarted'); feed `new-round` next. */
  | { readonly kind: 'new-round', readonly round: number }
  /** Broadcast ⟨PROPOSAL, h_p, round, valueId, validRound⟩. */
  | { readonly kind: 'proposal', readonly round: number, readonly valueId: ValueId, readonly validRound: number }
  /** Broadcast ⟨type, h_p, round, valueId⟩. */
  | { readonly kind: 'vote', readonly type: VoteType, readonly round: number, readonly valueId: ValueId | null }
  | { readonly kind: 'schedule-timeout', readonly step: TimeoutStep, readonly round: number }
  /** getValue() of L18: ask the application for a value to propose in `round`. */
  | { readonly kind: 'get-value', readonly round: number }
  | { readonly kind: 'decision', readonly round: number, readonly valueId: ValueId }

/** Which line of Algorithm 1 fired; `null` when the input matched no rule. */
export type RuleLabel =
  | 'L11' | 'L19' | 'L22' | 'L28' | 'L34' | 'L36' | 'L44' | 'L47' | 'L49' | 'L55' | 'L57' | 'L61' | 'L65'

export interface RoundTransition {
  readonly state: RoundState
  readonly outputs: readonly RoundOutput[]
  readonly rule: RuleLabel | null
}

/** Fault switches for tests and the simulator. Never set in production. */
export interface RoundFaults {
  /** L22/L28 prevote the proposal without checking lockedValue/lockedRound (a safety bug). */
  readonly prevoteIgnoringLock?: boolean
}

export interface RoundMachineOptions {
  readonly faults?: RoundFaults
}

/** Lines 6–9 of Algorithm 1, before StartRound(0). */
export function initialRoundState (): RoundState {
  return {
    round: 0,
    step: 'unstarted',
    lockedValue: null,
    lockedRound: -1,
    validValue: null,
    validRound: -1,
    decision: null,
    awaitingValue: false,
    timeoutPrevoteScheduled: false,
    timeoutPrecommitScheduled: false,
  }
}

const NO_OUTPUTS: readonly RoundOutput[] = Object.freeze([])

function none (state: RoundState): RoundTransition {
  return { state, outputs: NO_OUTPUTS, rule: null }
}

function to (state: RoundState, rule: RuleLabel, ...outputs: RoundOutput[]): RoundTransition {
  return { state, outputs, rule }
}

/** L11–L13 (first half of StartRound): enter `round`, waiting for the proposer decision. */
function enterRound (state: RoundState, round: number, rule: RuleLabel): RoundTransition {
  return to({
    ...state,
    round,
    step: 'unstarted',
    awaitingValue: false,
    timeoutPrevoteScheduled: false,
    timeoutPrecommitScheduled: false,
  }, rule, { kind: 'new-round', round })
}

function prevote (state: RoundState, valueId: ValueId | null, rule: RuleLabel): RoundTransition {
  return to({ ...state, step: 'prevote' }, rule, { kind: 'vote', type: 'prevote', round: state.round, valueId })
}

function precommitNil (state: RoundState, rule: RuleLabel): RoundTransition {
  return to({ ...state, step: 'precommit' }, rule, { kind: 'vote', type: 'precommit', round: state.round, valueId: null })
}

/**
 * One step of the round state machine. Pure: same state and input, same result.
 * Never throws; an input that fits no rule returns the state unchanged with `rule: null`.
 */
export function step (state: RoundState, input: RoundInput, options: RoundMachineOptions = {}): RoundTransition {
  // After L49 decided, nothing changes in this height.
  if (state.step === 'commit') return none(state)
  const ignoreLock = options.faults?.prevoteIgnoringLock === true

  switch (input.kind) {
    case 'new-round': {
      if (state.step !== 'unstarted' || input.round !== state.round) return none(state)
      const round = state.round
      // L13
      const next: RoundState = { ...state, step: 'propose' }
      if (input.isProposer) {
        // L14
        if (state.validValue !== null) {
          // L15–L16, L19: re-propose validValue with its validRound.
          return to(next, 'L11',
            { kind: 'proposal', round, valueId: state.validValue, validRound: state.validRound },
            { kind: 'schedule-timeout', step: 'propose', round })
        }
        // L17–L18: getValue(); the answer comes back as 'propose-value'.
        return to({ ...next, awaitingValue: true }, 'L11',
          { kind: 'get-value', round },
          { kind: 'schedule-timeout', step: 'propose', round })
      }
      // L20–L21
      return to(next, 'L11', { kind: 'schedule-timeout', step: 'propose', round })
    }

    case 'propose-value': {
      if (input.round !== state.round || state.step !== 'propose' || !state.awaitingValue) return none(state)
      // L19: validValue is nil here (else L16 would have proposed it), so validRound_p = −1.
      return to({ ...state, awaitingValue: false }, 'L19',
        { kind: 'proposal', round: state.round, valueId: input.valueId, validRound: -1 })
    }

    case 'proposal': {
      const p = input.proposal
      if (p.round !== state.round || state.step !== 'propose') return none(state)
      if (p.validRound < -1 || p.validRound >= state.round) return none(state)
      if (p.validRound === -1) {
        // L22: ⟨PROPOSAL, h_p, round_p, v, −1⟩ while step_p = propose
        // L23
        const accept = input.valid && (ignoreLock || state.lockedRound === -1 || state.lockedValue === p.valueId)
        // L24 / L26, L27
        return prevote(state, accept ? p.valueId : null, 'L22')
      }
      if (input.polkaForValidRound) {
        // L28: ... AND 2f+1 ⟨PREVOTE, h_p, vr, id(v)⟩ while step_p = propose ∧ (vr ≥ 0 ∧ vr < round_p)
        // L29
        const accept = input.valid && (ignoreLock || state.lockedRound <= p.validRound || state.lockedValue === p.valueId)
        // L30 / L32, L33
        return prevote(state, accept ? p.valueId : null, 'L28')
      }
      // L28 else-branch early (see header): an invalid v can never be prevoted.
      if (!input.valid) return prevote(state, null, 'L28')
      // Valid, vr ≥ 0, polka for vr not held yet: wait for it (L28) or for timeoutPropose (L57).
      return none(state)
    }

    case 'polka-any': {
      // L34: 2f+1 ⟨PREVOTE, h_p, round_p, ∗⟩ while step_p = prevote for the first time
      if (input.round !== state.round || state.step !== 'prevote' || state.timeoutPrevoteScheduled) return none(state)
      // L35
      return to({ ...state, timeoutPrevoteScheduled: true }, 'L34',
        { kind: 'schedule-timeout', step: 'prevote', round: state.round })
    }

    case 'polka-nil': {
      // L44: 2f+1 ⟨PREVOTE, h_p, round_p, nil⟩ while step_p = prevote
      if (input.round !== state.round || state.step !== 'prevote') return none(state)
      // L45–L46
      return precommitNil(state, 'L44')
    }

    case 'polka-value': {
      // L36: ⟨PROPOSAL, h_p, round_p, v, ∗⟩ AND 2f+1 ⟨PREVOTE, h_p, round_p, id(v)⟩
      //      while valid(v) ∧ step_p ≥ prevote for the first time
      // validRound_p = round_p only after L43 of this round, so it marks "not the first time".
      if (input.round !== state.round || state.validRound === state.round) return none(state)
      if (state.step !== 'prevote' && state.step !== 'precommit') return none(state)
      const round = state.round
      // L42–L43
      const valid = { validValue: input.valueId, validRound: round }
      if (state.step === 'prevote') {
        // L37–L41
        return to({ ...state, ...valid, lockedValue: input.valueId, lockedRound: round, step: 'precommit' }, 'L36',
          { kind: 'vote', type: 'precommit', round, valueId: input.valueId })
      }
      return to({ ...state, ...valid }, 'L36')
    }

    case 'precommit-any': {
      // L47: 2f+1 ⟨PRECOMMIT, h_p, round_p, ∗⟩ for the first time
      if (input.round !== state.round || state.timeoutPrecommitScheduled || state.step === 'unstarted') return none(state)
      // L48
      return to({ ...state, timeoutPrecommitScheduled: true }, 'L47',
        { kind: 'schedule-timeout', step: 'precommit', round: state.round })
    }

    case 'precommit-value': {
      // L49: ⟨PROPOSAL, h_p, r, v, ∗⟩ AND 2f+1 ⟨PRECOMMIT, h_p, r, id(v)⟩ while decision_p[h_p] = nil
      // (any round r; valid(v) of L50 is the driver's precondition)
      // L51; L52–L54 (next height) belong to the driver's caller.
      const decision = { round: input.round, valueId: input.valueId }
      return to({ ...state, step: 'commit', decision, awaitingValue: false }, 'L49',
        { kind: 'decision', round: input.round, valueId: input.valueId })
    }

    case 'skip-round': {
      // L55: f+1 ⟨∗, h_p, round, ∗, ∗⟩ with round > round_p
      if (input.round <= state.round) return none(state)
      // L56
      return enterRound(state, input.round, 'L55')
    }

    case 'timeout-propose': {
      // L57: OnTimeoutPropose — L58
      if (input.round !== state.round || state.step !== 'propose') return none(state)
      // L59–L60
      return prevote({ ...state, awaitingValue: false }, null, 'L57')
    }

    case 'timeout-prevote': {
      // L61: OnTimeoutPrevote — L62
      if (input.round !== state.round || state.step !== 'prevote') return none(state)
      // L63–L64
      return precommitNil(state, 'L61')
    }

    case 'timeout-precommit': {
      // L65: OnTimeoutPrecommit — L66
      if (input.round !== state.round || state.step === 'unstarted') return none(state)
      // L67
      return enterRound(state, state.round + 1, 'L65')
    }

    default: {
      const never: never = input
      void never
      return none(state)
    }
  }
}
