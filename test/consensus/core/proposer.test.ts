// Proposer selection against CometBFT's own expectations (types/validator_set_test.go,
// state/state_test.go), hand-computed sequences, the int64 clipping and the Euclidean
// centering.
import t from 'tap'
import {
  INT64_MAX, INT64_MIN, averagePriority, centerPriorities, createProposerSchedule, euclidDiv, incrementProposerPriority,
  maxMinPriorityDiff, newValidatorSet, nextValidatorSet, proposerForRound, rescalePriorities, safeAddClip,
  safeSubClip, updateWithChangeSet,
  type PrioritizedValidator, type ProposerSet,
} from '../../../consensus/core/proposer.ts'
import { createPrng } from '../../helpers/prng.ts'

interface Val extends PrioritizedValidator { readonly name: string }

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
const named = (name: string, votingPower: number, proposerPriority = 0n): Val =>
  ({ name, address: utf8(name), votingPower, proposerPriority })
const addr20 = (last: number): Uint8Array => { const a = new Uint8Array(20); a[19] = last; return a }
const byte = (name: string, b: number, votingPower: number, proposerPriority = 0n): Val =>
  ({ name, address: Uint8Array.of(b), votingPower, proposerPriority })

function mustNew (vals: Val[]): ProposerSet<Val> {
  const r = newValidatorSet<Val>(vals)
  if (!r.ok) throw r.error
  return r.value
}

/** CometBFT test loop: GetProposer, then IncrementProposerPriority(1), `n` times. */
function proposerSequence (set: ProposerSet<Val>, n: number): string[] {
  const out: string[] = []
  let s = set
  for (let i = 0; i < n; i++) {
    out.push(s.proposer.name)
    s = incrementProposerPriority(s.validators, 1)
  }
  return out
}

const prios = (s: { validators: readonly Val[] }): Record<string, bigint> =>
  Object.fromEntries(s.validators.map((v) => [v.name, v.proposerPriority]))

t.test('TestProposerSelection1: foo 1000, bar 300, baz 330 (CometBFT golden, 99 proposers)', async (t) => {
  const set = mustNew([named('foo', 1000), named('bar', 300), named('baz', 330)])
  const expected = 'foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo foo baz bar foo foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo baz foo foo bar foo baz foo foo'
  t.equal(proposerSequence(set, 99).join(' '), expected)
})

t.test('powers [1, 2, 3]: the period-6 sequence c b a c b c (hand-computed)', async (t) => {
  // new set: all −6 → centered 0; increment: a1 b2 c3 → c proposes → c −3.
  // then (a2 b4 c0) b, (a3 b0 c3) tie → smaller address a, (a−2 b2 c6) c, (a−1 b4 c3) b, (a0 b0 c6) c, back to 0 0 0.
  const set = mustNew([byte('a', 1, 1), byte('b', 2, 2), byte('c', 3, 3)])
  t.strictSame(prios(set), { a: 1n, b: 2n, c: -3n })
  t.equal(proposerSequence(set, 12).join(' '), 'c b a c b c c b a c b c')
})

t.test('TestProposerSelection2: equal power goes by address; 400 vs 401; proportional 4:5:3', async (t) => {
  const a0 = { name: '0', address: addr20(0) }
  const a1 = { name: '1', address: addr20(1) }
  const a2 = { name: '2', address: addr20(2) }
  const mk = (p0: number, p1: number, p2: number): ProposerSet<Val> => mustNew([
    { ...a0, votingPower: p0, proposerPriority: 0n }, { ...a1, votingPower: p1, proposerPriority: 0n },
    { ...a2, votingPower: p2, proposerPriority: 0n }])
  t.equal(proposerSequence(mk(100, 100, 100), 15).join(''), '012012012012012')
  t.strictSame(proposerSequence(mk(100, 100, 400), 2), ['2', '0'], 'not enough to propose twice in a row')
  t.strictSame(proposerSequence(mk(100, 100, 401), 3), ['2', '2', '0'], 'enough to propose twice in a row')
  const counts = { 0: 0, 1: 0, 2: 0 } as Record<string, number>
  for (const p of proposerSequence(mk(4, 5, 3), 120)) counts[p] = (counts[p] ?? 0) + 1
  t.strictSame(counts, { 0: 40, 1: 50, 2: 30 })
})

t.test('TestProposerSelection3: equal powers keep their order under increments of 1..4', async (t) => {
  let set = mustNew(['a', 'b', 'c', 'd'].map((n) => named(n, 1)))
  const order = proposerSequence(set, 4)
  const prng = createPrng(3)
  let j = 0
  for (let i = 0; i < 10_000; i++) {
    if (set.proposer.name !== order[j % 4]) { t.fail(`i=${i} j=${j}: ${set.proposer.name} ≠ ${order[j % 4]}`); return }
    const times = prng.bool(0.6) ? 1 : prng.range(1, 4)
    set = incrementProposerPriority(set.validators, times)
    j += times
  }
  t.pass('10 000 steps in order')
})

t.test('TestAvgProposerPriority (incl. int64 extremes)', async (t) => {
  const cases: Array<[bigint[], bigint]> = [
    [[0n, 0n, 0n], 0n],
    [[INT64_MAX, 0n, 0n], INT64_MAX / 3n],
    [[INT64_MAX, 0n], INT64_MAX / 2n],
    [[INT64_MAX, INT64_MAX], INT64_MAX],
    [[INT64_MIN, INT64_MIN], INT64_MIN],
  ]
  for (const [ps, want] of cases) t.equal(averagePriority(ps), want, ps.join(','))
})

t.test('TestAveragingInIncrementProposerPriority (zero powers)', async (t) => {
  const cases: Array<[bigint[], number, bigint]> = [
    [[1n, 2n, 3n], 1, 2n],
    [[10n, -10n, 1n], 11, 0n], // 1/3 in Go is 0; averaged only once
    [[100n, -10n, 1n], 1, 30n], // 91/3
  ]
  for (const [ps, times, avg] of cases) {
    const vals = ps.map((p, i) => named('abc'[i] as string, 0, p))
    const out = incrementProposerPriority(vals, times)
    t.strictSame(out.validators.map((v) => v.proposerPriority), ps.map((p) => p - avg), `${ps.join(',')} ×${times}`)
  }
})

t.test('TestAveragingInIncrementProposerPriorityWithVotingPower: vp 10, 1, 1', async (t) => {
  const vp0 = 10n
  const vp1 = 1n
  const vp2 = 1n
  const total = vp0 + vp1 + vp2
  const avg = 0n
  const vals = [byte('0', 0, 10), byte('1', 1, 1), byte('2', 2, 1)]
  const cases: Array<[bigint[], number, string]> = [
    [[0n + vp0 - total - avg, 0n + vp1, 0n + vp2], 1, '0'],
    [[(0n + vp0 - total) + vp0 - total - avg, (0n + vp1) + vp1, (0n + vp2) + vp2], 2, '0'],
    [[0n + 3n * (vp0 - total) - avg, 0n + 3n * vp1, 0n + 3n * vp2], 3, '0'],
    [[0n + 4n * (vp0 - total), 0n + 4n * vp1, 0n + 4n * vp2], 4, '0'],
    [[0n + 4n * (vp0 - total) + vp0, 0n + 5n * vp1 - total, 0n + 5n * vp2], 5, '1'],
    [[0n + 6n * vp0 - 5n * total, 0n + 6n * vp1 - total, 0n + 6n * vp2], 6, '0'],
    [[0n + 7n * vp0 - 6n * total, 0n + 7n * vp1 - total, 0n + 7n * vp2], 7, '0'],
    [[0n + 8n * vp0 - 7n * total, 0n + 8n * vp1 - total, 0n + 8n * vp2], 8, '0'],
    [[0n + 9n * vp0 - 7n * total, 0n + 9n * vp1 - total, 0n + 9n * vp2 - total], 9, '2'],
    [[0n + 10n * vp0 - 8n * total, 0n + 10n * vp1 - total, 0n + 10n * vp2 - total], 10, '0'],
    [[0n + 11n * vp0 - 9n * total, 0n + 11n * vp1 - total, 0n + 11n * vp2 - total], 11, '0'],
  ]
  for (const [want, times, proposer] of cases) {
    const out = incrementProposerPriority(vals, times)
    t.equal(out.proposer.name, proposer, `times ${times}: proposer`)
    t.strictSame(out.validators.map((v) => v.proposerPriority), want, `times ${times}: priorities`)
  }
})

t.test('safeAddClip / safeSubClip (CometBFT cases)', async (t) => {
  t.equal(safeAddClip(INT64_MAX, 10n), INT64_MAX)
  t.equal(safeAddClip(INT64_MAX, INT64_MAX), INT64_MAX)
  t.equal(safeAddClip(INT64_MIN, -10n), INT64_MIN)
  t.equal(safeSubClip(INT64_MIN, 10n), INT64_MIN)
  t.equal(safeSubClip(INT64_MIN, INT64_MIN), 0n)
  t.equal(safeSubClip(INT64_MIN, INT64_MAX), INT64_MIN)
  t.equal(safeSubClip(INT64_MAX, -10n), INT64_MAX)
  t.equal(safeAddClip(5n, -7n), -2n)
})

t.test('Euclidean division for centering (Go big.Int Div), not truncation', async (t) => {
  const cases: Array<[bigint, bigint, bigint]> = [
    [7n, 2n, 3n], [-7n, 2n, -4n], [7n, -2n, -3n], [-7n, -2n, 4n], [-6n, 3n, -2n], [-1n, 4n, -1n], [0n, 5n, 0n],
    [-123n, 2n, -62n], [INT64_MIN, 3n, -3074457345618258603n],
  ]
  for (const [a, b, q] of cases) {
    t.equal(euclidDiv(a, b), q, `${a} div ${b}`)
    const r = a - q * b
    t.ok(r >= 0n && r < (b < 0n ? -b : b), 'remainder in [0, |b|)')
  }
  t.throws(() => euclidDiv(1n, 0n), { code: 'ERR_TYPES_INVALID' })
  t.equal(averagePriority([-1n, -1n, -1n, 0n]), -1n, 'floor(−3/4) = −1; JS `/` would give 0')
  t.strictSame(centerPriorities([-7n, 0n]), [-3n, 4n], 'avg floor(−3.5) = −4')
  t.strictSame(centerPriorities([INT64_MAX, INT64_MIN]), [INT64_MAX, INT64_MIN + 1n], 'avg −1; INT64_MAX + 1 clips')
})

t.test('rescale truncates like Go int64 division; max−min wraps like Go', async (t) => {
  t.strictSame(rescalePriorities([-38n, 39n], 22n), [-9n, 9n], 'ratio ceil(77/22) = 4, −38/4 = −9 (toward zero)')
  t.strictSame(rescalePriorities([-5n, 5n], 10n), [-5n, 5n], 'diff = diffMax: unchanged')
  t.strictSame(rescalePriorities([-5n, 6n], 10n), [-2n, 3n], 'ratio 2')
  t.strictSame(rescalePriorities([3n, 1000n], 0n), [3n, 1000n], 'diffMax 0: unchanged')
  t.equal(maxMinPriorityDiff([INT64_MAX, INT64_MIN]), 1n, 'Go: MaxInt64 − MinInt64 wraps to −1, negated to 1')
  t.equal(maxMinPriorityDiff([-3n, 9n, 2n]), 12n)
})

t.test('state.UpdateState: ProposerPriorityDoesNotGetResetToZero (CometBFT golden)', async (t) => {
  // val1 (10) alone; then val2 (100) is added; then val2's power drops to 1.
  let set = mustNew([byte('val1', 0xa1, 10)])
  let r = nextValidatorSet(set)
  if (!r.ok) throw r.error
  set = r.value
  t.strictSame(prios(set), { val1: 0n })
  r = nextValidatorSet(set, [{ name: 'val2', address: Uint8Array.of(0x0b), votingPower: 100 }])
  if (!r.ok) throw r.error
  set = r.value
  // added at −(110 + 13) = −123; center: avg = floor(−123/2) = −62 → val1 62, val2 −61;
  // increment: val1 72, val2 39; val1 proposes → −38. (Truncating division would give −39 / 38.)
  t.strictSame(prios(set), { val1: -38n, val2: 39n })
  t.equal(set.proposer.name, 'val1')
  r = nextValidatorSet(set, [{ name: 'val2', address: Uint8Array.of(0x0b), votingPower: 1 }])
  if (!r.ok) throw r.error
  set = r.value
  // rescale: diff 77 > 22 → ratio 4 → −9, 9; increment: 1, 10 → val2 proposes → −1.
  t.strictSame(prios(set), { val1: 1n, val2: -1n })
  t.equal(set.proposer.name, 'val2')
})

t.test('state.UpdateState: ProposerPriorityProposerAlternates (CometBFT golden)', async (t) => {
  let set = mustNew([byte('val1', 0x33, 10)])
  const step = (changes: Val[] = []): void => {
    const r = nextValidatorSet(set, changes)
    if (!r.ok) throw r.error
    set = r.value
  }
  step()
  t.strictSame(prios(set), { val1: 0n })
  step([byte('val2', 0x22, 10)])
  t.strictSame(prios(set), { val1: 1n, val2: -1n })
  t.equal(set.proposer.name, 'val1', 'val1 still proposes right after val2 was added')
  step()
  t.strictSame(prios(set), { val1: -9n, val2: 9n })
  t.equal(set.proposer.name, 'val1')
  for (let i = 0; i < 1000; i++) {
    const before = set.proposer.name
    step()
    if (set.proposer.name === before) { t.fail(`no alternation at ${i}`); return }
    const want = set.proposer.name === 'val2' ? { val1: 1n, val2: -1n } : { val1: -9n, val2: 9n }
    const got = prios(set)
    if (got.val1 !== want.val1 || got.val2 !== want.val2) { t.fail(`priorities at ${i}`); return }
  }
  t.pass('alternates for 1000 heights with cyclic priorities')
})

t.test('updateWithChangeSet: basic updates, order by power then address', async (t) => {
  const names = (vs: readonly Val[]): string => vs.map((v) => `${v.name}:${v.votingPower}`).join(' ')
  const set = (...vs: Array<[string, number]>): Val[] => mustNew(vs.map(([n, p]) => named(n, p))).validators as Val[]
  const cases: Array<[string, Val[], Array<[string, number]>, string]> = [
    ['no changes', set(['v1', 10], ['v2', 10]), [], 'v1:10 v2:10'],
    ['power changes', set(['v1', 10], ['v2', 10]), [['v1', 11], ['v2', 22]], 'v2:22 v1:11'],
    ['add', set(['v1', 10], ['v2', 20]), [['v3', 30], ['v4', 40]], 'v4:40 v3:30 v2:20 v1:10'],
    ['add to middle', set(['v1', 10], ['v3', 20]), [['v2', 30]], 'v2:30 v3:20 v1:10'],
    ['delete', set(['v1', 10], ['v2', 20], ['v3', 30]), [['v2', 0]], 'v3:30 v1:10'],
    ['mixed', set(['v1', 10], ['v2', 20], ['v3', 30], ['v4', 40]), [['v1', 0], ['v3', 0], ['v2', 22], ['v5', 50], ['v4', 44]], 'v5:50 v4:44 v2:22'],
    ['ties by address', set(['v3', 5]), [['v1', 5], ['v2', 5]], 'v1:5 v2:5 v3:5'],
  ]
  for (const [name, start, changes, want] of cases) {
    const before = structuredClone(start)
    const r = updateWithChangeSet<Val>(start, changes.map(([n, p]) => ({ name: n, address: utf8(n), votingPower: p })))
    t.ok(r.ok, name)
    if (r.ok) t.equal(names(r.value), want, name)
    t.strictSame(start, before, `${name}: input untouched`)
  }
})

t.test('updateWithChangeSet: permutations of the changes give the same set', async (t) => {
  const start = mustNew([named('v1', 10), named('v2', 20), named('v3', 30), named('v4', 40)]).validators
  const changes = [named('v1', 0), named('v3', 0), named('v2', 22), named('v5', 50), named('v4', 44), named('v0', 7)]
  const first = updateWithChangeSet<Val>(start, changes)
  const prng = createPrng(11)
  for (let i = 0; i < 20; i++) t.strictSame(updateWithChangeSet<Val>(start, prng.shuffle(changes)), first)
})

t.test('updateWithChangeSet: errors are data and leave the set alone', async (t) => {
  const start = mustNew([named('v1', 10), named('v2', 10)]).validators
  const cases: Array<[string, Array<[string, number]>]> = [
    ['duplicate change', [['v1', 11], ['v1', 22]]],
    ['duplicate separated', [['v1', 11], ['v2', 22], ['v1', 12]]],
    ['duplicate remove', [['v1', 0], ['v1', 0]]],
    ['remove and update same', [['v1', 0], ['v2', 20], ['v1', 30]]],
    ['negative power', [['v1', -123]]],
    ['fractional power', [['v1', 1.5]]],
    ['single update too large', [['v1', 2 ** 50 + 1]]],
    ['total too large', [['v3', 2 ** 50 - 15]]],
    ['remove unknown', [['v3', 0]]],
    ['delete all', [['v1', 0], ['v2', 0]]],
  ]
  for (const [name, changes] of cases) {
    const r = updateWithChangeSet<Val>(start, changes.map(([n, p]) => ({ name: n, address: utf8(n), votingPower: p })))
    t.match(r, { ok: false, error: { code: 'ERR_TYPES_INVALID' } }, name)
  }
  t.match(newValidatorSet<Val>([named('v1', 0), named('v2', 22)]), { ok: false }, 'no power 0 in a new set')
  t.match(newValidatorSet<Val>([]), { ok: false }, 'no empty set')
  t.match(updateWithChangeSet<Val>(start, [{ name: 'x', address: new Uint8Array(0), votingPower: 1 }]), { ok: false }, 'empty address')
})

t.test('a new validator starts at −1.125 × total (after updates, before removals)', async (t) => {
  // 3 × 100; remove one, add one of 100: T before removals = 400 → −(400 + 50) = −450.
  const start = mustNew([named('a', 100), named('b', 100), named('c', 100)]).validators
  const r = updateWithChangeSet<Val>(start, [named('c', 0), named('d', 100)])
  if (!r.ok) throw r.error
  const p = prios({ validators: r.value })
  const a = start.find((v) => v.name === 'a')?.proposerPriority ?? 0n
  const b = start.find((v) => v.name === 'b')?.proposerPriority ?? 0n
  const avg = euclidDiv(a + b - 450n, 3n)
  t.strictSame(p, { a: a - avg, b: b - avg, d: -450n - avg })
})

t.test('proposerForRound: round 0 is the set\'s proposer, round r increments a copy r times', async (t) => {
  const set = mustNew([named('foo', 1000), named('bar', 300), named('baz', 330)])
  const before = structuredClone(set)
  t.equal(proposerForRound(set, 0), set.proposer)
  // The sequence of round proposers within one height equals the per-height sequence from set.
  const seq = proposerSequence(set, 12)
  for (let r = 0; r < 12; r++) t.equal(proposerForRound(set, r).name, seq[r], `round ${r}`)
  t.strictSame(set, before, 'set untouched')
  t.throws(() => proposerForRound(set, -1), { code: 'ERR_TYPES_INVALID' })
  t.throws(() => incrementProposerPriority(set.validators, 0), { code: 'ERR_TYPES_INVALID' })
  t.throws(() => incrementProposerPriority([], 1), { code: 'ERR_TYPES_INVALID' })
})

t.test('createProposerSchedule matches proposerForRound round by round, in any query order', async (t) => {
  const prng = createPrng(5)
  for (let c = 0; c < 40; c++) {
    const n = prng.range(1, 9)
    const created = newValidatorSet<Val>(Array.from({ length: n }, (_, i) =>
      ({ name: `v${i}`, address: prng.bytes(20), votingPower: prng.range(1, c < 20 ? 10 : 1e9) })))
    if (!created.ok) throw created.error
    // Evolve a little so the priorities are not the fresh ones.
    let set = created.value
    for (let h = prng.int(5); h > 0; h--) set = incrementProposerPriority(set.validators, prng.range(1, 3))
    const schedule = createProposerSchedule(set)
    const rounds = prng.shuffle(Array.from({ length: 40 }, (_, r) => r))
    for (const r of rounds) {
      if (schedule.proposer(r).name !== proposerForRound(set, r).name) { t.fail(`case ${c} round ${r}`); return }
    }
  }
  t.pass('40 sets × 40 rounds')
  t.throws(() => createProposerSchedule({ validators: [], proposer: named('x', 1) }), { code: 'ERR_TYPES_INVALID' })
  const s = createProposerSchedule(mustNew([named('a', 1)]))
  t.throws(() => s.proposer(-1), { code: 'ERR_TYPES_INVALID' })
})

t.test('immutability: increments return new objects and keep extra fields', async (t) => {
  const vals = [named('x', 3), named('y', 5)]
  const frozen = vals.map((v) => Object.freeze(v))
  const out = incrementProposerPriority(Object.freeze(frozen), 3)
  t.not(out.validators[0], frozen[0])
  t.equal(out.validators[0]?.name, 'x', 'extra fields carried')
  t.equal(frozen[0]?.proposerPriority, 0n)
})
