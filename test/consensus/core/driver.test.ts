// Driver core: one height with 4 validators. Single-driver scenarios (we play the other
// three validators by hand) for the rule combinations L28, L36, L49, L55 and the
// rejections; whole-network runs (harness.ts) for full heights.
import t from 'tap'
import { createDriver, type DriverFaults } from '../../../consensus/core/driver.ts'
import type { Address, ValueId, VoteType } from '../../../consensus/core/types.ts'
import { Net, fourEqual, roundRobin, type In, type Out } from './harness.ts'

const H = 1

/** A compact, readable form of driver outputs. */
function show (outputs: readonly Out[]): string[] {
  return outputs.map((o) => {
    switch (o.kind) {
      case 'new-round': return `new-round:${o.round}:${o.proposer}`
      case 'get-value': return `get-value:${o.round}`
      case 'propose': return `propose:${o.proposal.round}:${o.proposal.valueId}:${o.proposal.validRound}`
      case 'vote': return `${o.vote.type}:${o.vote.round}:${o.vote.valueId ?? 'nil'}`
      case 'schedule-timeout': return `timeout-${o.step}:${o.round}`
      case 'decision': return `decision:${o.round}:${o.valueId}`
      case 'evidence': return `evidence:${o.evidence.voteA.validator}`
    }
    return 'unknown'
  })
}

const vote = (validator: Address, type: VoteType, round: number, valueId: ValueId | null, height = H): In =>
  ({ kind: 'vote', vote: { type, height, round, valueId, validator, signature: `sig:${validator}` } })
const proposal = (round: number, valueId: ValueId, validRound: number, proposer: Address, valid = true, height = H): In =>
  ({ kind: 'proposal', proposal: { height, round, valueId, validRound, proposer, signature: `sig:${proposer}` }, valid })

/**
 * One driver for validator v1; `feed` steps it and loops its own votes and proposals back
 * (as the shell would after signing), returning everything it output.
 */
function single (proposers: Address[], faults?: DriverFaults, self: Address | null = 'v1') {
  const d = createDriver<string, string>({
    height: H, validators: fourEqual, self, proposer: (r) => proposers[r % proposers.length] as Address, faults, maxRoundsAhead: 10,
  })
  function feed (input: In): string[] {
    const res = d.step(input)
    const out = show(res.outputs)
    for (const o of res.outputs) {
      if (o.kind === 'vote') out.push(...feed({ kind: 'vote', vote: { ...o.vote, signature: 'own' } }))
      if (o.kind === 'propose') out.push(...feed({ kind: 'proposal', proposal: { ...o.proposal, signature: 'own' }, valid: true }))
    }
    return out
  }
  return { d, feed }
}

t.test('happy path: 4 validators decide in round 0 on the proposer\'s value', async (t) => {
  const net = new Net({ validators: fourEqual, proposer: roundRobin(fourEqual) })
  net.start()
  net.run()
  for (let i = 0; i < 4; i++) {
    const dec = net.decisions[i]
    t.ok(dec, `node ${i} decided`)
    t.equal(dec?.round, 0)
    t.equal(dec?.valueId, 'val-h1-n0-r0')
    t.ok((dec?.commit.length ?? 0) >= 3, 'commit has +2/3 precommits')
    t.ok(dec?.commit.every((v) => v.type === 'precommit' && v.valueId === dec.valueId && v.round === 0))
    t.equal(net.drivers[i]?.roundState().step, 'commit')
  }
  t.strictSame(net.rejected(), [], 'nothing rejected')
  t.strictSame(show(net.outputs[0] ?? []).slice(0, 3), ['new-round:0:v0', 'get-value:0', 'timeout-propose:0'])
  t.strictSame(show(net.outputs[1] ?? []).slice(0, 2), ['new-round:0:v0', 'timeout-propose:0'])
  // The stale propose timeouts change nothing now.
  t.equal(net.fire('propose'), 0)
  // Late precommits are still counted after the decision (for the LastCommit).
  t.equal(net.drivers[1]?.votes.votes('precommit', 0).length, 4)
})

t.test('proposer down: timeoutPropose → nil prevotes → nil precommits → round 1 decides', async (t) => {
  const net = new Net({ validators: fourEqual, proposer: roundRobin(fourEqual) })
  net.down.add(0)
  net.start()
  net.run()
  t.ok(net.decisions.every((d) => d === undefined), 'no decision without a proposal')
  t.equal(net.fire('propose'), 3, 'L57 at the three live nodes')
  for (const i of [1, 2, 3]) {
    const s = show(net.outputs[i] ?? [])
    t.ok(s.includes('prevote:0:nil'), `node ${i} prevoted nil`)
    t.ok(s.includes('precommit:0:nil'), `node ${i} precommitted nil (L44)`)
    t.ok(s.includes('timeout-precommit:0'), `node ${i} scheduled timeoutPrecommit (L47)`)
  }
  net.fire('precommit')
  for (const i of [1, 2, 3]) {
    t.equal(net.decisions[i]?.round, 1, `node ${i} decided in round 1`)
    t.equal(net.decisions[i]?.valueId, 'val-h1-n1-r1')
    t.ok(show(net.outputs[i] ?? []).includes('new-round:1:v1'))
  }
})

t.test('locked on A in round 0, a new proposal B in round 1 is prevoted nil (L22)', async (t) => {
  for (const faulty of [false, true]) {
    const { d, feed } = single(['v0', 'v2', 'v1'], faulty ? { prevoteIgnoringLock: true } : undefined)
    t.strictSame(feed({ kind: 'start' }), ['new-round:0:v0', 'timeout-propose:0'])
    t.strictSame(feed(proposal(0, 'A', -1, 'v0')), ['prevote:0:A'])
    t.strictSame(feed(vote('v0', 'prevote', 0, 'A')), [])
    t.strictSame(feed(vote('v2', 'prevote', 0, 'A')), ['precommit:0:A'], 'L36: polka for A → lock and precommit')
    t.match(d.roundState(), { lockedValue: 'A', lockedRound: 0, validValue: 'A', validRound: 0 })
    feed(vote('v0', 'precommit', 0, null))
    t.strictSame(feed(vote('v2', 'precommit', 0, null)), ['timeout-precommit:0'], 'L47')
    t.strictSame(feed({ kind: 'timeout', height: H, round: 0, step: 'precommit' }), ['new-round:1:v2', 'timeout-propose:1'], 'L65')
    t.strictSame(feed(proposal(1, 'B', -1, 'v2')), [faulty ? 'prevote:1:B' : 'prevote:1:nil'],
      faulty ? 'fault prevoteIgnoringLock: prevotes B despite the lock' : 'locked on A: prevote nil')
    t.equal(d.roundState().lockedValue, 'A')
  }
})

t.test('validValue re-proposal: proposer of round 1 re-proposes A with validRound 0; others accept by L28', async (t) => {
  const { d, feed } = single(['v0', 'v1'])
  feed({ kind: 'start' })
  feed(proposal(0, 'A', -1, 'v0'))
  feed(vote('v0', 'prevote', 0, 'A'))
  feed(vote('v3', 'prevote', 0, 'A'))
  feed(vote('v0', 'precommit', 0, null))
  feed(vote('v3', 'precommit', 0, null))
  t.strictSame(feed({ kind: 'timeout', height: H, round: 0, step: 'precommit' }),
    ['new-round:1:v1', 'propose:1:A:0', 'timeout-propose:1', 'prevote:1:A'],
    'no get-value: validValue A is proposed with vr 0, and prevoted by L28 on loopback')
  t.equal(d.proposal(1)?.proposal.validRound, 0)

  // A validator that missed round 0's proposal but saw its polka also accepts (L28), even if locked in round 0 on nothing.
  const other = single(['v0', 'v2'], undefined, 'v1')
  other.feed({ kind: 'start' })
  other.feed(vote('v0', 'prevote', 0, 'A'))
  other.feed(vote('v2', 'prevote', 0, 'A'))
  other.feed(vote('v3', 'prevote', 0, 'A'))
  other.feed({ kind: 'timeout', height: H, round: 0, step: 'propose' })
  other.feed(vote('v0', 'precommit', 0, null))
  other.feed(vote('v2', 'precommit', 0, null))
  other.feed({ kind: 'timeout', height: H, round: 0, step: 'precommit' })
  t.strictSame(other.feed(proposal(1, 'A', 0, 'v2')), ['prevote:1:A'], 'L28 with the polka of round 0 held')
  t.strictSame(other.feed(proposal(1, 'A', 0, 'v2')), [], 'duplicate proposal ignored')
})

t.test('L28 waits for the polka of vr: the proposal first, the prevotes later', async (t) => {
  const { feed } = single(['v0', 'v2'])
  feed({ kind: 'start' })
  feed({ kind: 'timeout', height: H, round: 0, step: 'propose' })
  feed(vote('v0', 'precommit', 0, null))
  feed(vote('v2', 'precommit', 0, null))
  feed({ kind: 'timeout', height: H, round: 0, step: 'prevote' })
  feed({ kind: 'timeout', height: H, round: 0, step: 'precommit' })
  t.strictSame(feed(proposal(1, 'A', 0, 'v2')), [], 'no polka for A in round 0 yet: wait')
  feed(vote('v0', 'prevote', 0, 'A'))
  feed(vote('v2', 'prevote', 0, 'A'))
  t.strictSame(feed(vote('v3', 'prevote', 0, 'A')), ['prevote:1:A'], 'polka for vr completes L28')
})

t.test('L36 when the proposal arrives after its polka', async (t) => {
  const { d, feed } = single(['v0'])
  feed({ kind: 'start' })
  for (const v of ['v0', 'v2', 'v3']) t.strictSame(feed(vote(v, 'prevote', 0, 'A')), [])
  t.strictSame(feed(proposal(0, 'A', -1, 'v0')), ['prevote:0:A', 'precommit:0:A'])
  t.match(d.roundState(), { step: 'precommit', lockedValue: 'A' })
})

t.test('L36 without the proposal: a polka alone never locks', async (t) => {
  const { d, feed } = single(['v0'])
  feed({ kind: 'start' })
  feed({ kind: 'timeout', height: H, round: 0, step: 'propose' })
  for (const v of ['v0', 'v2', 'v3']) feed(vote(v, 'prevote', 0, 'A'))
  t.match(d.roundState(), { step: 'prevote', lockedRound: -1, timeoutPrevoteScheduled: true }, 'only L34 fired')
  t.strictSame(feed(proposal(0, 'A', -1, 'v0', false)), [], 'an invalid proposal does not complete L36')
  t.equal(d.roundState().lockedRound, -1)
})

t.test('L49: precommits of round 0 and a late proposal decide while in round 2', async (t) => {
  const { d, feed } = single(['v0', 'v2', 'v3'])
  feed({ kind: 'start' })
  t.strictSame(feed(vote('v2', 'prevote', 2, null)), [])
  t.strictSame(feed(vote('v3', 'prevote', 2, null)), ['new-round:2:v3', 'timeout-propose:2'], 'L55: f+1 in round 2')
  for (const v of ['v0', 'v2', 'v3']) t.strictSame(feed(vote(v, 'precommit', 0, 'A')), [], 'no proposal, no decision')
  t.strictSame(feed(proposal(0, 'A', -1, 'v0')), ['decision:0:A'])
  const dec = d.decision()
  t.equal(dec?.round, 0)
  t.strictSame(dec?.commit.map((v) => v.validator), ['v0', 'v2', 'v3'], 'commit in set order')
  t.equal(dec?.proposal.valueId, 'A')
  // Nothing moves any more, votes are still counted.
  t.strictSame(feed({ kind: 'timeout', height: H, round: 2, step: 'propose' }), [])
  t.equal(d.step(vote('v1', 'precommit', 0, 'A')).status, 'applied')
  t.equal(d.votes.votes('precommit', 0).length, 4)
})

t.test('L49 needs a valid proposal', async (t) => {
  const { d, feed } = single(['v0'])
  feed({ kind: 'start' })
  feed(proposal(0, 'A', -1, 'v0', false))
  for (const v of ['v0', 'v2', 'v3']) feed(vote(v, 'precommit', 0, 'A'))
  t.equal(d.decision(), null)
  t.not(d.roundState().step, 'commit')
})

t.test('L55: votes of a future round are kept and used when the round starts', async (t) => {
  const { d, feed } = single(['v0'])
  feed({ kind: 'start' })
  t.strictSame(feed(vote('v0', 'prevote', 3, null)), [])
  t.strictSame(feed(vote('v2', 'prevote', 3, null)), ['new-round:3:v0', 'timeout-propose:3'])
  t.strictSame(feed(vote('v3', 'prevote', 3, null)), [], 'polka nil of round 3 waits for step prevote')
  t.strictSame(feed({ kind: 'timeout', height: H, round: 3, step: 'propose' }), ['prevote:3:nil', 'precommit:3:nil'],
    'L57 then L44 at once with the stored votes')
  t.equal(d.roundState().round, 3)
  // L55 jumps to the highest round with f+1
  feed(vote('v0', 'precommit', 5, null))
  feed(vote('v0', 'precommit', 7, null))
  feed(vote('v2', 'prevote', 5, null))
  t.equal(d.roundState().round, 5)
  feed(vote('v3', 'prevote', 7, null))
  t.equal(d.roundState().round, 7)
})

t.test('L47 for precommits that arrived before we entered the round', async (t) => {
  const { feed } = single(['v0'])
  for (const v of ['v0', 'v2', 'v3']) t.strictSame(feed(vote(v, 'precommit', 1, null)), [], 'stored before start')
  t.strictSame(feed({ kind: 'start' }), [
    'new-round:0:v0', 'timeout-propose:0', // L11
    'new-round:1:v0', 'timeout-propose:1', // L55 with the stored round-1 votes, then L11
    'timeout-precommit:1', // L47 with the same votes
  ])
})

t.test('rejections and ignores come back as data, never as exceptions', async (t) => {
  const { d, feed } = single(['v0', 'v2'])
  const cases: Array<[string, In, string, string | null]> = [
    ['timeout before start', { kind: 'timeout', height: H, round: 0, step: 'propose' }, 'ignored', 'not-started'],
    ['value before start', { kind: 'propose-value', round: 0, valueId: 'X' }, 'ignored', 'not-started'],
  ]
  for (const [name, input, status, reason] of cases) t.match(d.step(input), { status, reason }, name)
  feed({ kind: 'start' })
  const after: Array<[string, In, string, string | null]> = [
    ['start twice', { kind: 'start' }, 'ignored', 'already-started'],
    ['vote of another height', vote('v0', 'prevote', 0, 'A', 2), 'rejected', 'wrong-height'],
    ['vote from an unknown validator', vote('v9', 'prevote', 0, 'A'), 'rejected', 'unknown-validator'],
    ['vote with a bad round', vote('v0', 'prevote', -1, 'A'), 'rejected', 'malformed'],
    ['vote too far ahead', vote('v0', 'prevote', 11, 'A'), 'ignored', 'round-too-far'],
    ['proposal from a non-proposer', proposal(0, 'A', -1, 'v3'), 'rejected', 'not-proposer'],
    ['proposal of another height', proposal(0, 'A', -1, 'v0', true, 7), 'rejected', 'wrong-height'],
    ['proposal with vr ≥ round', proposal(1, 'A', 1, 'v2'), 'rejected', 'malformed'],
    ['proposal with vr < −1', proposal(1, 'A', -2, 'v2'), 'rejected', 'malformed'],
    ['proposal too far ahead', proposal(12, 'A', -1, 'v0'), 'ignored', 'round-too-far'],
    ['proposal ok', proposal(0, 'A', -1, 'v0'), 'applied', null],
    ['same proposal again', proposal(0, 'A', -1, 'v0'), 'ignored', 'duplicate'],
    ['conflicting proposal', proposal(0, 'B', -1, 'v0'), 'rejected', 'conflicting-proposal'],
    ['vote ok', vote('v0', 'prevote', 0, 'A'), 'applied', null],
    ['same vote again', vote('v0', 'prevote', 0, 'A'), 'ignored', 'duplicate'],
    ['stale timeout', { kind: 'timeout', height: H, round: 0, step: 'propose' }, 'ignored', 'no-transition'],
    ['timeout of another height', { kind: 'timeout', height: 9, round: 0, step: 'propose' }, 'ignored', 'wrong-height'],
    ['timeout with a bad step', { kind: 'timeout', height: H, round: 0, step: 'commit' } as unknown as In, 'rejected', 'malformed'],
    ['value when not proposer', { kind: 'propose-value', round: 0, valueId: 'X' }, 'ignored', 'no-transition'],
    ['unknown input kind', { kind: 'bogus' } as unknown as In, 'rejected', 'malformed'],
    ['null input', null as unknown as In, 'rejected', 'malformed'],
    ['null vote', { kind: 'vote', vote: null } as unknown as In, 'rejected', 'malformed'],
    ['null proposal', { kind: 'proposal', proposal: null, valid: true } as unknown as In, 'rejected', 'malformed'],
  ]
  for (const [name, input, status, reason] of after) t.match(d.step(input), { status, reason }, name)
})

t.test('equivocation: evidence output once, the conflicting vote not counted', async (t) => {
  const { d } = single(['v0'])
  d.step({ kind: 'start' })
  t.equal(d.step(vote('v3', 'prevote', 0, 'A')).status, 'applied')
  const r = d.step(vote('v3', 'prevote', 0, 'B'))
  t.match(r, { status: 'rejected', reason: 'equivocation' })
  t.strictSame(show(r.outputs), ['evidence:v3'])
  t.match(r.outputs[0], { evidence: { kind: 'duplicate-vote', voteA: { valueId: 'A' }, voteB: { valueId: 'B' } } })
  t.match(d.step(vote('v3', 'prevote', 0, null)), { status: 'ignored', reason: 'equivocation-reported', outputs: [] })
  t.equal(d.votes.power('prevote', 0, 'B'), 0)
})

t.test('equivocating proposer: we hold A, the network commits B; B is accepted and decided', async (t) => {
  const { d, feed } = single(['v0'])
  feed({ kind: 'start' })
  t.strictSame(feed(proposal(0, 'A', -1, 'v0')), ['prevote:0:A'])
  t.match(d.step(proposal(0, 'B', -1, 'v0')), { status: 'rejected', reason: 'conflicting-proposal' },
    'B without a quorum behind it is refused')
  for (const v of ['v0', 'v2', 'v3']) feed(vote(v, 'precommit', 0, 'B'))
  t.equal(d.decision(), null, 'no decision while only A is held')
  t.strictSame(feed(proposal(0, 'B', -1, 'v0')), ['decision:0:B'], 'fed again after the quorum: accepted, L49')
  t.strictSame(d.proposals(0).map((p) => p.proposal.valueId), ['A', 'B'])
  t.equal(d.proposal(0)?.proposal.valueId, 'A', 'the first stays the one L22 acted on')
  t.equal(d.decision()?.proposal.valueId, 'B')
  t.match(d.step(proposal(0, 'C', -1, 'v0')), { status: 'rejected', reason: 'conflicting-proposal' })
})

t.test('equivocating proposer: a polka for the other value completes L36 with that proposal', async (t) => {
  const { d, feed } = single(['v0'])
  feed({ kind: 'start' })
  feed(proposal(0, 'A', -1, 'v0'))
  for (const v of ['v0', 'v2', 'v3']) feed(vote(v, 'prevote', 0, 'B'))
  t.match(d.roundState(), { step: 'prevote', lockedRound: -1 })
  t.strictSame(feed(proposal(0, 'B', -1, 'v0')), ['precommit:0:B'], 'L36 with proposal B')
  t.match(d.roundState(), { lockedValue: 'B', lockedRound: 0, validValue: 'B' })
})

t.test('inputs before start are kept and acted on at start', async (t) => {
  const { d, feed } = single(['v0'])
  t.equal(d.step(proposal(0, 'A', -1, 'v0')).status, 'applied')
  t.strictSame(d.step(vote('v0', 'prevote', 0, 'A')).outputs, [])
  t.strictSame(feed({ kind: 'start' }), ['new-round:0:v0', 'timeout-propose:0', 'prevote:0:A'])
})

t.test('a non-validator follows and decides without voting', async (t) => {
  const net = new Net({ validators: fourEqual, proposer: roundRobin(fourEqual), followers: 1 })
  net.start()
  net.run()
  t.equal(net.decisions[4]?.valueId, 'val-h1-n0-r0')
  t.notOk((net.outputs[4] ?? []).some((o) => o.kind === 'vote' || o.kind === 'propose' || o.kind === 'get-value'))
  // An address outside the set is a follower too.
  const d = createDriver<string, string>({ height: H, validators: fourEqual, self: 'zz', proposer: () => 'v0' })
  t.strictSame(show(d.step({ kind: 'start' }).outputs), ['new-round:0:v0', 'timeout-propose:0'])
})

t.test('a proposal judged invalid by everyone: nil round, next proposer decides', async (t) => {
  const net = new Net({
    validators: fourEqual, proposer: roundRobin(fourEqual), validity: (_node, v) => !v.includes('-n0-'),
  })
  net.start()
  net.runToDecision()
  for (let i = 0; i < 4; i++) t.equal(net.decisions[i]?.valueId, 'val-h1-n1-r1', `node ${i}`)
})

t.test('network: a polka in round 0 seen by two, validValue re-proposed and decided in round 1', async (t) => {
  // v0 proposes A. The proposal is slow to v3, and v1's prevote is slow to v2 and v3: v0
  // and v1 see the polka and lock on A; v2 and v3 time out and precommit nil. Round 1's
  // proposer v1 re-proposes A with vr 0 (L16); v2 and v3 accept it by L28 once the
  // round-0 prevotes reach them.
  const net = new Net({ validators: fourEqual, proposer: roundRobin(fourEqual) })
  const A = 'val-h1-n0-r0'
  net.hold = (m) =>
    (m.input.kind === 'proposal' && m.input.proposal.round === 0 && m.to === 3) ||
    (m.input.kind === 'vote' && m.input.vote.type === 'prevote' && m.input.vote.round === 0 && m.from === 1 && m.to >= 2)
  net.start()
  net.run()
  net.fire('propose')
  t.strictSame(net.drivers.map((d) => d.roundState().lockedValue), [A, A, null, null], 'v0, v1 locked on A')
  net.fire('prevote')
  t.strictSame(net.drivers.map((d) => d.roundState().step), ['precommit', 'precommit', 'precommit', 'precommit'])
  net.fire('precommit')
  t.strictSame(net.drivers.map((d) => d.roundState().round), [1, 1, 1, 1], 'L47 + L65: everyone in round 1')
  t.ok(show(net.outputs[1] ?? []).includes(`propose:1:${A}:0`), 'v1 re-proposed validValue with vr 0')
  t.notOk(show(net.outputs[1] ?? []).includes('get-value:1'), 'without asking for a new value')
  t.strictSame(net.drivers.map((d) => d.roundState().step), ['prevote', 'prevote', 'propose', 'propose'],
    'v2, v3 wait for the polka of vr (L28)')
  net.release()
  for (let i = 0; i < 4; i++) t.match(net.decisions[i], { round: 1, valueId: A }, `node ${i} decided A in round 1`)
})

t.test('determinism: the same inputs give the same outputs', async (t) => {
  const runOnce = (): string => {
    const net = new Net({ validators: fourEqual, proposer: roundRobin(fourEqual, 2) })
    net.down.add(2)
    net.start()
    net.runToDecision()
    return JSON.stringify(net.outputs)
  }
  t.equal(runOnce(), runOnce())
})

t.test('bad options throw', async (t) => {
  t.throws(() => createDriver({ height: 0, validators: fourEqual, self: null, proposer: () => 'v0' }), { code: 'ERR_TYPES_INVALID' })
  t.throws(() => createDriver({ height: 1, validators: fourEqual, self: null, proposer: () => 'v0', maxRoundsAhead: 0 }), { code: 'ERR_TYPES_INVALID' })
  t.throws(() => createDriver({ height: 1, validators: [], self: null, proposer: () => 'v0' }), { code: 'ERR_TYPES_INVALID' })
})
