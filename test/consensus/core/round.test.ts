// Table-driven tests of the round state machine: every upon-rule of Algorithm 1
// ("The latest gossip on BFT consensus", arXiv:1807.04938), each in the cases where it
// fires and where its guard keeps it from firing.
import t from 'tap'
import {
  initialRoundState, step,
  type RoundInput, type RoundMachineOptions, type RoundOutput, type RoundState, type RuleLabel,
} from '../../../consensus/core/round.ts'

const S0 = initialRoundState()
const st = (over: Partial<RoundState>): RoundState => ({ ...S0, ...over })
const locked = (value: string, round: number): Partial<RoundState> =>
  ({ lockedValue: value, lockedRound: round, validValue: value, validRound: round })
const prop = (round: number, valueId: string, validRound: number, valid = true, polkaForValidRound = false): RoundInput =>
  ({ kind: 'proposal', proposal: { round, valueId, validRound }, valid, polkaForValidRound })
const prevote = (round: number, valueId: string | null): RoundOutput => ({ kind: 'vote', type: 'prevote', round, valueId })
const precommit = (round: number, valueId: string | null): RoundOutput => ({ kind: 'vote', type: 'precommit', round, valueId })
const timeout = (s: 'propose' | 'prevote' | 'precommit', round: number): RoundOutput => ({ kind: 'schedule-timeout', step: s, round })
const IGNORE_LOCK: RoundMachineOptions = { faults: { prevoteIgnoringLock: true } }

interface Case {
  name: string
  state: RoundState
  input: RoundInput
  rule: RuleLabel | null
  outputs?: RoundOutput[]
  /** Fields the next state must have (subset match). */
  next?: Partial<RoundState>
  options?: RoundMachineOptions
}

const cases: Case[] = [
  // ---- L11 StartRound ----
  { name: 'L11 proposer without validValue asks for a value (L18) and schedules timeoutPropose', state: S0,
    input: { kind: 'new-round', round: 0, isProposer: true }, rule: 'L11',
    outputs: [{ kind: 'get-value', round: 0 }, timeout('propose', 0)], next: { step: 'propose', awaitingValue: true } },
  { name: 'L11 proposer with validValue re-proposes it with its validRound (L16, L19)',
    state: st({ round: 2, ...locked('A', 1) }),
    input: { kind: 'new-round', round: 2, isProposer: true }, rule: 'L11',
    outputs: [{ kind: 'proposal', round: 2, valueId: 'A', validRound: 1 }, timeout('propose', 2)],
    next: { step: 'propose', awaitingValue: false } },
  { name: 'L11 proposer with validValue but no lock still proposes validValue',
    state: st({ round: 3, validValue: 'B', validRound: 2 }),
    input: { kind: 'new-round', round: 3, isProposer: true }, rule: 'L11',
    outputs: [{ kind: 'proposal', round: 3, valueId: 'B', validRound: 2 }, timeout('propose', 3)] },
  { name: 'L11 non-proposer schedules timeoutPropose (L21)', state: S0,
    input: { kind: 'new-round', round: 0, isProposer: false }, rule: 'L11',
    outputs: [timeout('propose', 0)], next: { step: 'propose', round: 0 } },
  { name: 'L11 new-round for another round is ignored', state: S0,
    input: { kind: 'new-round', round: 1, isProposer: false }, rule: null },
  { name: 'L11 new-round once started is ignored', state: st({ step: 'propose' }),
    input: { kind: 'new-round', round: 0, isProposer: true }, rule: null },

  // ---- L19: getValue() answered ----
  { name: 'L19 our value is proposed with validRound −1', state: st({ step: 'propose', awaitingValue: true }),
    input: { kind: 'propose-value', round: 0, valueId: 'V' }, rule: 'L19',
    outputs: [{ kind: 'proposal', round: 0, valueId: 'V', validRound: -1 }], next: { awaitingValue: false, step: 'propose' } },
  { name: 'L19 a second value is not proposed (no equivocation)', state: st({ step: 'propose', awaitingValue: false }),
    input: { kind: 'propose-value', round: 0, valueId: 'W' }, rule: null },
  { name: 'L19 a value for another round is ignored', state: st({ step: 'propose', awaitingValue: true }),
    input: { kind: 'propose-value', round: 1, valueId: 'V' }, rule: null },
  { name: 'L19 a value arriving after timeoutPropose is ignored', state: st({ step: 'prevote', awaitingValue: false }),
    input: { kind: 'propose-value', round: 0, valueId: 'V' }, rule: null },

  // ---- L22 ----
  { name: 'L22 unlocked, valid → prevote id(v) (L24)', state: st({ step: 'propose' }),
    input: prop(0, 'A', -1), rule: 'L22', outputs: [prevote(0, 'A')], next: { step: 'prevote' } },
  { name: 'L22 invalid → prevote nil (L26)', state: st({ step: 'propose' }),
    input: prop(0, 'A', -1, false), rule: 'L22', outputs: [prevote(0, null)], next: { step: 'prevote' } },
  { name: 'L22 locked on the same value → prevote id(v)', state: st({ round: 1, step: 'propose', ...locked('A', 0) }),
    input: prop(1, 'A', -1), rule: 'L22', outputs: [prevote(1, 'A')] },
  { name: 'L22 locked on another value → prevote nil', state: st({ round: 1, step: 'propose', ...locked('A', 0) }),
    input: prop(1, 'B', -1), rule: 'L22', outputs: [prevote(1, null)] },
  { name: 'L22 fault prevoteIgnoringLock: locked on another value → prevote id(v)',
    state: st({ round: 1, step: 'propose', ...locked('A', 0) }), options: IGNORE_LOCK,
    input: prop(1, 'B', -1), rule: 'L22', outputs: [prevote(1, 'B')] },
  { name: 'L22 fault does not make an invalid value prevoted', state: st({ round: 1, step: 'propose' }), options: IGNORE_LOCK,
    input: prop(1, 'B', -1, false), rule: 'L22', outputs: [prevote(1, null)] },
  { name: 'L22 only while step = propose', state: st({ step: 'prevote' }), input: prop(0, 'A', -1), rule: null },
  { name: 'L22 only for round_p', state: st({ round: 1, step: 'propose' }), input: prop(0, 'A', -1), rule: null },

  // ---- L28 ----
  { name: 'L28 unlocked, polka for vr, valid → prevote id(v) (L30)', state: st({ round: 1, step: 'propose' }),
    input: prop(1, 'A', 0, true, true), rule: 'L28', outputs: [prevote(1, 'A')], next: { step: 'prevote' } },
  { name: 'L28 lockedRound ≤ vr, other value → prevote id(v) (unlock by newer polka)',
    state: st({ round: 2, step: 'propose', ...locked('A', 0) }),
    input: prop(2, 'B', 1, true, true), rule: 'L28', outputs: [prevote(2, 'B')] },
  { name: 'L28 lockedRound = vr, other value → prevote id(v)',
    state: st({ round: 2, step: 'propose', ...locked('A', 1) }),
    input: prop(2, 'B', 1, true, true), rule: 'L28', outputs: [prevote(2, 'B')] },
  { name: 'L28 lockedRound > vr, other value → prevote nil (L32)',
    state: st({ round: 2, step: 'propose', ...locked('A', 1) }),
    input: prop(2, 'B', 0, true, true), rule: 'L28', outputs: [prevote(2, null)] },
  { name: 'L28 lockedRound > vr, same value → prevote id(v)',
    state: st({ round: 2, step: 'propose', ...locked('A', 1) }),
    input: prop(2, 'A', 0, true, true), rule: 'L28', outputs: [prevote(2, 'A')] },
  { name: 'L28 fault prevoteIgnoringLock: lockedRound > vr, other value → prevote id(v)',
    state: st({ round: 2, step: 'propose', ...locked('A', 1) }), options: IGNORE_LOCK,
    input: prop(2, 'B', 0, true, true), rule: 'L28', outputs: [prevote(2, 'B')] },
  { name: 'L28 invalid with polka → prevote nil', state: st({ round: 1, step: 'propose' }),
    input: prop(1, 'A', 0, false, true), rule: 'L28', outputs: [prevote(1, null)] },
  { name: 'L28 valid without the polka for vr waits', state: st({ round: 1, step: 'propose' }),
    input: prop(1, 'A', 0, true, false), rule: null },
  { name: 'L28 invalid without the polka → prevote nil at once', state: st({ round: 1, step: 'propose' }),
    input: prop(1, 'A', 0, false, false), rule: 'L28', outputs: [prevote(1, null)] },
  { name: 'L28 vr ≥ round_p is not a valid proposal', state: st({ round: 1, step: 'propose' }),
    input: prop(1, 'A', 1, true, true), rule: null },
  { name: 'L28 only while step = propose', state: st({ round: 1, step: 'prevote' }),
    input: prop(1, 'A', 0, true, true), rule: null },

  // ---- L34 ----
  { name: 'L34 polka any while prevote → schedule timeoutPrevote', state: st({ step: 'prevote' }),
    input: { kind: 'polka-any', round: 0 }, rule: 'L34', outputs: [timeout('prevote', 0)], next: { timeoutPrevoteScheduled: true } },
  { name: 'L34 only for the first time', state: st({ step: 'prevote', timeoutPrevoteScheduled: true }),
    input: { kind: 'polka-any', round: 0 }, rule: null },
  { name: 'L34 not in propose', state: st({ step: 'propose' }), input: { kind: 'polka-any', round: 0 }, rule: null },
  { name: 'L34 not in precommit', state: st({ step: 'precommit' }), input: { kind: 'polka-any', round: 0 }, rule: null },
  { name: 'L34 not for another round', state: st({ step: 'prevote' }), input: { kind: 'polka-any', round: 1 }, rule: null },

  // ---- L36 ----
  { name: 'L36 in prevote: lock, precommit id(v), set validValue (L37–L43)', state: st({ round: 1, step: 'prevote' }),
    input: { kind: 'polka-value', round: 1, valueId: 'A' }, rule: 'L36', outputs: [precommit(1, 'A')],
    next: { step: 'precommit', lockedValue: 'A', lockedRound: 1, validValue: 'A', validRound: 1 } },
  { name: 'L36 relocks on a newer polka', state: st({ round: 2, step: 'prevote', ...locked('A', 0) }),
    input: { kind: 'polka-value', round: 2, valueId: 'B' }, rule: 'L36', outputs: [precommit(2, 'B')],
    next: { lockedValue: 'B', lockedRound: 2, validValue: 'B', validRound: 2 } },
  { name: 'L36 in precommit: only validValue/validRound (L42–L43)', state: st({ round: 1, step: 'precommit', ...locked('A', 0) }),
    input: { kind: 'polka-value', round: 1, valueId: 'B' }, rule: 'L36', outputs: [],
    next: { step: 'precommit', lockedValue: 'A', lockedRound: 0, validValue: 'B', validRound: 1 } },
  { name: 'L36 only for the first time', state: st({ round: 1, step: 'precommit', validValue: 'B', validRound: 1 }),
    input: { kind: 'polka-value', round: 1, valueId: 'B' }, rule: null },
  { name: 'L36 not in propose (step ≥ prevote)', state: st({ step: 'propose' }),
    input: { kind: 'polka-value', round: 0, valueId: 'A' }, rule: null },
  { name: 'L36 not for another round', state: st({ round: 1, step: 'prevote' }),
    input: { kind: 'polka-value', round: 0, valueId: 'A' }, rule: null },

  // ---- L44 ----
  { name: 'L44 polka nil while prevote → precommit nil', state: st({ step: 'prevote' }),
    input: { kind: 'polka-nil', round: 0 }, rule: 'L44', outputs: [precommit(0, null)], next: { step: 'precommit' } },
  { name: 'L44 not in precommit', state: st({ step: 'precommit' }), input: { kind: 'polka-nil', round: 0 }, rule: null },
  { name: 'L44 not in propose', state: st({ step: 'propose' }), input: { kind: 'polka-nil', round: 0 }, rule: null },
  { name: 'L44 not for another round', state: st({ step: 'prevote' }), input: { kind: 'polka-nil', round: 2 }, rule: null },

  // ---- L47 ----
  { name: 'L47 precommit any → schedule timeoutPrecommit', state: st({ step: 'precommit' }),
    input: { kind: 'precommit-any', round: 0 }, rule: 'L47', outputs: [timeout('precommit', 0)],
    next: { timeoutPrecommitScheduled: true, step: 'precommit' } },
  { name: 'L47 in any step (propose)', state: st({ step: 'propose' }),
    input: { kind: 'precommit-any', round: 0 }, rule: 'L47', outputs: [timeout('precommit', 0)], next: { step: 'propose' } },
  { name: 'L47 only for the first time', state: st({ step: 'precommit', timeoutPrecommitScheduled: true }),
    input: { kind: 'precommit-any', round: 0 }, rule: null },
  { name: 'L47 not for another round', state: st({ step: 'precommit' }), input: { kind: 'precommit-any', round: 1 }, rule: null },

  // ---- L49 ----
  { name: 'L49 decision in the current round', state: st({ step: 'precommit' }),
    input: { kind: 'precommit-value', round: 0, valueId: 'A' }, rule: 'L49',
    outputs: [{ kind: 'decision', round: 0, valueId: 'A' }], next: { step: 'commit', decision: { round: 0, valueId: 'A' } } },
  { name: 'L49 decision for an earlier round r', state: st({ round: 3, step: 'propose' }),
    input: { kind: 'precommit-value', round: 1, valueId: 'B' }, rule: 'L49',
    outputs: [{ kind: 'decision', round: 1, valueId: 'B' }], next: { step: 'commit', round: 3 } },
  { name: 'L49 decision for a later round r', state: st({ round: 0, step: 'prevote' }),
    input: { kind: 'precommit-value', round: 4, valueId: 'C' }, rule: 'L49',
    outputs: [{ kind: 'decision', round: 4, valueId: 'C' }] },
  { name: 'L49 while decision = nil only', state: st({ step: 'commit', decision: { round: 0, valueId: 'A' } }),
    input: { kind: 'precommit-value', round: 1, valueId: 'B' }, rule: null },

  // ---- L55 ----
  { name: 'L55 f+1 of a higher round → StartRound(round), locks kept', state: st({ round: 1, step: 'prevote', ...locked('A', 0) }),
    input: { kind: 'skip-round', round: 4 }, rule: 'L55', outputs: [{ kind: 'new-round', round: 4 }],
    next: { round: 4, step: 'unstarted', lockedValue: 'A', lockedRound: 0, validValue: 'A', validRound: 0 } },
  { name: 'L55 resets the first-time flags', state: st({ step: 'precommit', timeoutPrevoteScheduled: true, timeoutPrecommitScheduled: true }),
    input: { kind: 'skip-round', round: 1 }, rule: 'L55', next: { timeoutPrevoteScheduled: false, timeoutPrecommitScheduled: false } },
  { name: 'L55 only for round > round_p', state: st({ round: 2, step: 'prevote' }),
    input: { kind: 'skip-round', round: 2 }, rule: null },
  { name: 'L55 not for a lower round', state: st({ round: 2, step: 'prevote' }),
    input: { kind: 'skip-round', round: 1 }, rule: null },

  // ---- L57 ----
  { name: 'L57 timeoutPropose in propose → prevote nil', state: st({ step: 'propose', awaitingValue: true }),
    input: { kind: 'timeout-propose', round: 0 }, rule: 'L57', outputs: [prevote(0, null)],
    next: { step: 'prevote', awaitingValue: false } },
  { name: 'L57 stale: step already prevote', state: st({ step: 'prevote' }), input: { kind: 'timeout-propose', round: 0 }, rule: null },
  { name: 'L57 stale: other round', state: st({ round: 1, step: 'propose' }), input: { kind: 'timeout-propose', round: 0 }, rule: null },

  // ---- L61 ----
  { name: 'L61 timeoutPrevote in prevote → precommit nil', state: st({ step: 'prevote' }),
    input: { kind: 'timeout-prevote', round: 0 }, rule: 'L61', outputs: [precommit(0, null)], next: { step: 'precommit' } },
  { name: 'L61 stale: step precommit', state: st({ step: 'precommit' }), input: { kind: 'timeout-prevote', round: 0 }, rule: null },
  { name: 'L61 stale: other round', state: st({ round: 2, step: 'prevote' }), input: { kind: 'timeout-prevote', round: 1 }, rule: null },

  // ---- L65 ----
  { name: 'L65 timeoutPrecommit → StartRound(round_p + 1)', state: st({ step: 'precommit', ...locked('A', 0) }),
    input: { kind: 'timeout-precommit', round: 0 }, rule: 'L65', outputs: [{ kind: 'new-round', round: 1 }],
    next: { round: 1, step: 'unstarted', lockedValue: 'A', lockedRound: 0 } },
  { name: 'L65 in any step (prevote)', state: st({ round: 2, step: 'prevote' }),
    input: { kind: 'timeout-precommit', round: 2 }, rule: 'L65', outputs: [{ kind: 'new-round', round: 3 }] },
  { name: 'L65 stale: other round', state: st({ round: 2, step: 'precommit' }),
    input: { kind: 'timeout-precommit', round: 1 }, rule: null },

  // ---- after the decision nothing moves ----
  { name: 'commit: timeouts ignored', state: st({ step: 'commit', decision: { round: 0, valueId: 'A' } }),
    input: { kind: 'timeout-precommit', round: 0 }, rule: null },
  { name: 'commit: skip-round ignored', state: st({ step: 'commit', decision: { round: 0, valueId: 'A' } }),
    input: { kind: 'skip-round', round: 5 }, rule: null },
]

t.test('round state machine: Algorithm 1 rules', async (t) => {
  for (const c of cases) {
    t.test(c.name, async (t) => {
      const before = structuredClone(c.state)
      const r = step(c.state, c.input, c.options)
      t.equal(r.rule, c.rule, 'rule')
      if (c.rule === null) {
        t.equal(r.state, c.state, 'no rule: same state object')
        t.strictSame(r.outputs, [], 'no rule: no outputs')
      } else {
        t.strictSame(r.outputs, c.outputs ?? r.outputs, 'outputs')
        if (c.next !== undefined) t.match(r.state, c.next, 'next state')
      }
      t.strictSame(c.state, before, 'input state not mutated')
    })
  }
})

t.test('rule coverage: every labelled rule has a firing case', async (t) => {
  const fired = new Set(cases.filter((c) => c.rule !== null).map((c) => c.rule))
  for (const r of ['L11', 'L19', 'L22', 'L28', 'L34', 'L36', 'L44', 'L47', 'L49', 'L55', 'L57', 'L61', 'L65']) {
    t.ok(fired.has(r as RuleLabel), r)
  }
})

t.test('a whole round 0 at one correct process, step by step', async (t) => {
  const seq: Array<[RoundInput, RuleLabel | null]> = [
    [{ kind: 'new-round', round: 0, isProposer: false }, 'L11'],
    [prop(0, 'A', -1), 'L22'],
    [{ kind: 'polka-any', round: 0 }, 'L34'],
    [{ kind: 'polka-value', round: 0, valueId: 'A' }, 'L36'],
    [{ kind: 'precommit-any', round: 0 }, 'L47'],
    [{ kind: 'precommit-value', round: 0, valueId: 'A' }, 'L49'],
  ]
  let s = initialRoundState()
  for (const [input, rule] of seq) {
    const r = step(s, input)
    t.equal(r.rule, rule, `${input.kind} → ${rule}`)
    s = r.state
  }
  t.match(s, { step: 'commit', decision: { round: 0, valueId: 'A' }, lockedValue: 'A', lockedRound: 0 })
})

t.test('never unlock: nil rounds after a lock keep lockedValue', async (t) => {
  let s = st({ round: 0, step: 'prevote' })
  s = step(s, { kind: 'polka-value', round: 0, valueId: 'A' }).state
  s = step(s, { kind: 'timeout-precommit', round: 0 }).state
  s = step(s, { kind: 'new-round', round: 1, isProposer: false }).state
  s = step(s, { kind: 'timeout-propose', round: 1 }).state
  s = step(s, { kind: 'polka-nil', round: 1 }).state
  s = step(s, { kind: 'timeout-precommit', round: 1 }).state
  t.match(s, { round: 2, lockedValue: 'A', lockedRound: 0, validValue: 'A', validRound: 0 })
})
