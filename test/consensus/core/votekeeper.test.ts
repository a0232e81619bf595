// Vote keeper: weighted thresholds (> 2/3 value, nil, any; > 1/3 skip), each reported once,
// rejection of bad votes as data, equivocation evidence reported once.
import t from 'tap'
import { createVoteKeeper, type Threshold } from '../../../consensus/core/votekeeper.ts'
import type { Vote, VoteType, VoterInfo } from '../../../consensus/core/types.ts'

const H = 5
const four: VoterInfo[] = ['a0', 'a1', 'a2', 'a3'].map((address) => ({ address, votingPower: 1 }))
const vote = (validator: string, type: VoteType, round: number, valueId: string | null, signature = `sig-${validator}`): Vote<string> =>
  ({ type, height: H, round, valueId, validator, signature })

function thresholdsOf (keeper: ReturnType<typeof createVoteKeeper<string>>, votes: Array<Vote<string>>): Threshold[][] {
  return votes.map((v) => {
    const r = keeper.addVote(v)
    return r.kind === 'counted' ? [...r.thresholds] : []
  })
}

t.test('equal powers: polka for a value needs 3 of 4, skip needs 2 of 4, each once', async (t) => {
  const k = createVoteKeeper<string>({ height: H, validators: four })
  const got = thresholdsOf(k, [
    vote('a0', 'prevote', 0, 'A'),
    vote('a1', 'prevote', 0, 'A'),
    vote('a2', 'prevote', 0, 'A'),
    vote('a3', 'prevote', 0, 'A'),
  ])
  t.strictSame(got, [
    [],
    [{ kind: 'skip', round: 0 }],
    [{ kind: 'value', type: 'prevote', round: 0, valueId: 'A' }, { kind: 'any', type: 'prevote', round: 0 }],
    [],
  ])
  t.equal(k.quorum('prevote', 0), 'A')
  t.equal(k.quorum('precommit', 0), undefined)
  t.ok(k.hasQuorumAny('prevote', 0))
  t.notOk(k.hasQuorumAny('precommit', 0))
  t.equal(k.power('prevote', 0), 4)
  t.equal(k.power('prevote', 0, 'A'), 4)
  t.equal(k.power('prevote', 0, null), 0)
})

t.test('threshold boundaries are strict (> 2/3, > 1/3), weighted', async (t) => {
  const cases: Array<{ name: string, powers: number[], voters: number[], quorum: boolean, skip: boolean }> = [
    { name: 'T=3, 2 of 3: exactly 2/3 is not a quorum', powers: [1, 1, 1], voters: [0, 1], quorum: false, skip: true },
    { name: 'T=3, 3 of 3', powers: [1, 1, 1], voters: [0, 1, 2], quorum: true, skip: true },
    { name: 'T=3, 1 of 3: exactly 1/3 is not f+1', powers: [1, 1, 1], voters: [0], quorum: false, skip: false },
    { name: 'T=6, one validator with 3: half, skip but no quorum', powers: [3, 1, 1, 1], voters: [0], quorum: false, skip: true },
    { name: 'T=6, 3+1 = 4: exactly 2/3, no quorum', powers: [3, 1, 1, 1], voters: [0, 1], quorum: false, skip: true },
    { name: 'T=6, 3+1+1 = 5 > 4', powers: [3, 1, 1, 1], voters: [0, 1, 2], quorum: true, skip: true },
    { name: 'T=100, 67 > 66.6', powers: [67, 33], voters: [0], quorum: true, skip: true },
    { name: 'T=100, 33 < 33.3', powers: [67, 33], voters: [1], quorum: false, skip: false },
    { name: 'huge: T=3·2^48, 2^49 = exactly 2/3', powers: [2 ** 49, 2 ** 48], voters: [0], quorum: false, skip: true },
    { name: 'huge: T=3·2^48−1, 2^49 > 2/3', powers: [2 ** 49, 2 ** 48 - 1], voters: [0], quorum: true, skip: true },
    { name: 'huge: T=2^50, 2^50/3 rounded down is not > 1/3', powers: [Math.floor(2 ** 50 / 3), 2 ** 50 - Math.floor(2 ** 50 / 3)], voters: [0], quorum: false, skip: false },
  ]
  for (const c of cases) {
    const validators = c.powers.map((votingPower, i) => ({ address: `v${i}`, votingPower }))
    const k = createVoteKeeper<string>({ height: H, validators })
    for (const i of c.voters) k.addVote(vote(`v${i}`, 'precommit', 2, 'X'))
    t.equal(k.quorum('precommit', 2) === 'X', c.quorum, `${c.name}: quorum`)
    t.equal(k.hasSkip(2), c.skip, `${c.name}: skip`)
  }
})

t.test('nil and any: mixed votes reach any without a value', async (t) => {
  const k = createVoteKeeper<string>({ height: H, validators: four })
  const got = thresholdsOf(k, [
    vote('a0', 'prevote', 1, 'A'),
    vote('a1', 'prevote', 1, 'B'),
    vote('a2', 'prevote', 1, null),
    vote('a3', 'prevote', 1, null),
  ])
  t.strictSame(got[2], [{ kind: 'any', type: 'prevote', round: 1 }])
  t.strictSame(got[3], [])
  t.equal(k.quorum('prevote', 1), undefined)

  const k2 = createVoteKeeper<string>({ height: H, validators: four })
  const got2 = thresholdsOf(k2, ['a0', 'a1', 'a2'].map((a) => vote(a, 'precommit', 0, null)))
  t.strictSame(got2[2], [{ kind: 'nil', type: 'precommit', round: 0 }, { kind: 'any', type: 'precommit', round: 0 }])
  t.equal(k2.quorum('precommit', 0), null, 'nil quorum is null, not undefined')
  t.strictSame(k2.precommitQuorums(), [], 'nil precommits are no decision')
})

t.test('skip threshold counts distinct validators across vote types', async (t) => {
  const k = createVoteKeeper<string>({ height: H, validators: four })
  t.strictSame(thresholdsOf(k, [vote('a0', 'prevote', 7, null), vote('a0', 'precommit', 7, null)]), [[], []],
    'one validator with both types is still 1 of 4')
  t.equal(k.highestSkipRound(), -1)
  t.strictSame(thresholdsOf(k, [vote('a1', 'precommit', 7, 'A')]), [[{ kind: 'skip', round: 7 }]])
  t.equal(k.highestSkipRound(), 7)
  k.addVote(vote('a2', 'prevote', 3, null))
  k.addVote(vote('a3', 'prevote', 3, null))
  t.ok(k.hasSkip(3))
  t.equal(k.highestSkipRound(), 7, 'highest stays 7 after a lower round reaches skip')
  t.strictSame(k.rounds(), [3, 7])
})

t.test('precommit quorums are listed by round', async (t) => {
  const k = createVoteKeeper<string>({ height: H, validators: four })
  for (const a of ['a0', 'a1', 'a2']) k.addVote(vote(a, 'precommit', 4, 'D'))
  for (const a of ['a0', 'a1', 'a2']) k.addVote(vote(a, 'precommit', 1, 'B'))
  for (const a of ['a1', 'a2', 'a3']) k.addVote(vote(a, 'precommit', 2, 'C'))
  t.strictSame(k.precommitQuorums(), [{ round: 1, valueId: 'B' }, { round: 2, valueId: 'C' }, { round: 4, valueId: 'D' }])
})

t.test('rejections and duplicates are data', async (t) => {
  const k = createVoteKeeper<string>({ height: H, validators: four })
  t.strictSame(k.addVote({ ...vote('a0', 'prevote', 0, 'A'), height: H + 1 }), { kind: 'rejected', reason: 'wrong-height' })
  t.strictSame(k.addVote(vote('zz', 'prevote', 0, 'A')), { kind: 'rejected', reason: 'unknown-validator' })
  const malformed: unknown[] = [
    { ...vote('a0', 'prevote', 0, 'A'), type: 'proposal' },
    { ...vote('a0', 'prevote', 0, 'A'), round: -1 },
    { ...vote('a0', 'prevote', 0, 'A'), round: 1.5 },
    { ...vote('a0', 'prevote', 0, 'A'), round: 2 ** 31 },
    { ...vote('a0', 'prevote', 0, 'A'), valueId: 7 },
    { ...vote('a0', 'prevote', 0, 'A'), validator: 1 },
    null,
  ]
  for (const m of malformed) t.strictSame(k.addVote(m as Vote<string>), { kind: 'rejected', reason: 'malformed' }, JSON.stringify(m))
  t.equal(k.addVote(vote('a0', 'prevote', 0, 'A')).kind, 'counted')
  t.strictSame(k.addVote(vote('a0', 'prevote', 0, 'A', 'another-sig')), { kind: 'ignored', reason: 'duplicate' })
  t.equal(k.power('prevote', 0), 1, 'duplicate not counted twice')
  t.strictSame(k.rounds(), [0], 'rejected votes leave no trace')
})

t.test('equivocation: first vote counts, evidence once, conflicts never counted', async (t) => {
  const k = createVoteKeeper<string>({ height: H, validators: four })
  const first = vote('a1', 'prevote', 2, 'A', 's1')
  const second = vote('a1', 'prevote', 2, 'B', 's2')
  const third = vote('a1', 'prevote', 2, null, 's3')
  t.equal(k.addVote(first).kind, 'counted')
  const r = k.addVote(second)
  t.strictSame(r, {
    kind: 'equivocation',
    evidence: { kind: 'duplicate-vote', voteA: first, voteB: second, validatorPower: 1, totalVotingPower: 4 },
  })
  t.strictSame(k.addVote(second), { kind: 'ignored', reason: 'equivocation-reported' })
  t.strictSame(k.addVote(third), { kind: 'ignored', reason: 'equivocation-reported' })
  t.strictSame(k.addVote(first), { kind: 'ignored', reason: 'duplicate' })
  t.equal(k.power('prevote', 2, 'A'), 1)
  t.equal(k.power('prevote', 2, 'B'), 0)
  t.equal(k.power('prevote', 2), 1)
  t.equal(k.evidence().length, 1)

  // other type, other round: independent
  t.equal(k.addVote(vote('a1', 'precommit', 2, 'B')).kind, 'counted', 'precommit B after prevote A is no equivocation')
  t.equal(k.addVote(vote('a1', 'prevote', 3, 'B')).kind, 'counted')
  t.equal(k.addVote(vote('a1', 'prevote', 3, 'C')).kind, 'equivocation')
  t.equal(k.evidence().length, 2)
})

t.test('equivocators cannot make two values reach quorum', async (t) => {
  // a3 is byzantine and votes A then B; only its first vote counts.
  const k = createVoteKeeper<string>({ height: H, validators: four })
  for (const v of [vote('a0', 'prevote', 0, 'A'), vote('a3', 'prevote', 0, 'A'), vote('a1', 'prevote', 0, 'B'),
    vote('a2', 'prevote', 0, 'B'), vote('a3', 'prevote', 0, 'B')]) k.addVote(v)
  t.equal(k.quorum('prevote', 0), undefined)
  t.ok(k.hasQuorumAny('prevote', 0))
})

t.test('votes() returns counted votes in validator-set order with their payload', async (t) => {
  const k = createVoteKeeper<string>({ height: H, validators: four })
  for (const a of ['a3', 'a1', 'a0']) k.addVote(vote(a, 'precommit', 0, 'A'))
  t.strictSame(k.votes('precommit', 0).map((v) => [v.validator, v.signature]), [['a0', 'sig-a0'], ['a1', 'sig-a1'], ['a3', 'sig-a3']])
  t.strictSame(k.votes('prevote', 0), [])
  t.strictSame(k.votes('precommit', 9), [])
})

t.test('bad options throw (programming errors, not byzantine input)', async (t) => {
  const bad: Array<[string, () => unknown]> = [
    ['empty', () => createVoteKeeper({ height: 1, validators: [] })],
    ['height 0', () => createVoteKeeper({ height: 0, validators: four })],
    ['duplicate', () => createVoteKeeper({ height: 1, validators: [four[0] as VoterInfo, four[0] as VoterInfo] })],
    ['zero power', () => createVoteKeeper({ height: 1, validators: [{ address: 'x', votingPower: 0 }] })],
    ['fractional power', () => createVoteKeeper({ height: 1, validators: [{ address: 'x', votingPower: 1.5 }] })],
    ['total too large', () => createVoteKeeper({ height: 1, validators: [{ address: 'x', votingPower: 2 ** 50 }, { address: 'y', votingPower: 1 }] })],
  ]
  for (const [name, fn] of bad) {
    t.throws(fn, { code: 'ERR_TYPES_INVALID' }, name)
  }
})
