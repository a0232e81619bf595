// Property tests of proposer selection over 10^5 seeded random validator-set update
// sequences: exact agreement with an independent reference implementation
// (proposer-reference.ts), the priority window (max − min ≤ 2·total after every update and
// after the rescale that starts every increment, < 3·total after the iterations),
// centering (sum in [0, n)), no int64 overflow, and frequency proportional to power.
import t from 'tap'
import {
  centerPriorities, incrementProposerPriority, newValidatorSet, rescalePriorities, updateWithChangeSet,
  type PrioritizedValidator, type ProposerSet,
} from '../../../consensus/core/proposer.ts'
import { createPrng, type Prng } from '../../helpers/prng.ts'
import { refIncrement, refNew, refNext, type RefSet, type RefVal } from './proposer-reference.ts'

const SEQUENCES = 100_000
const SEED = 0x5eed_2018
const LIMIT = 2n ** 62n

const hexCache = new WeakMap<Uint8Array, string>()
function hex (a: Uint8Array): string {
  let h = hexCache.get(a)
  if (h === undefined) {
    h = Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex')
    hexCache.set(a, h)
  }
  return h
}
const change = (address: Uint8Array, votingPower: number): PrioritizedValidator => ({ address, votingPower, proposerPriority: 0n })

function samePair (set: ProposerSet, ref: RefSet): string | null {
  if (set.validators.length !== ref.vals.length) return `size ${set.validators.length} ≠ ${ref.vals.length}`
  for (let i = 0; i < ref.vals.length; i++) {
    const a = set.validators[i] as PrioritizedValidator
    const b = ref.vals[i] as RefVal
    if (hex(a.address) !== b.addr || BigInt(a.votingPower) !== b.power || a.proposerPriority !== b.prio) {
      return `validator ${i}: ${hex(a.address)}/${a.votingPower}/${a.proposerPriority} ≠ ${b.addr}/${b.power}/${b.prio}`
    }
  }
  if (hex(set.proposer.address) !== ref.proposer) return `proposer ${hex(set.proposer.address)} ≠ ${ref.proposer}`
  return null
}

/** Spread of priorities divided by the total power (for the report). */
let worstSpreadAfterIncrement = 0

/**
 * Invariants. `window` is the bound on max − min: 2·total where CometBFT guarantees it
 * (after a non-empty update, and after the rescale that starts every increment); 3·total after
 * the add/subtract iterations (one iteration adds at most the second-highest validator's
 * power, < total, on top of a 2·total window; observed ≈ 2.5·total at worst).
 */
function invariants (vals: readonly PrioritizedValidator[], window: 2n | 3n): string | null {
  let total = 0n
  let sum = 0n
  let min = vals[0]?.proposerPriority ?? 0n
  let max = min
  for (const v of vals) {
    total += BigInt(v.votingPower)
    sum += v.proposerPriority
    if (v.proposerPriority < min) min = v.proposerPriority
    if (v.proposerPriority > max) max = v.proposerPriority
    if (v.proposerPriority > LIMIT || v.proposerPriority < -LIMIT) return `priority ${v.proposerPriority} near int64 limits`
  }
  if (max - min > window * total) return `window ${max - min} > ${window}·${total}`
  if (window === 3n) worstSpreadAfterIncrement = Math.max(worstSpreadAfterIncrement, Number(max - min) / Number(total))
  const n = BigInt(vals.length)
  if (sum < 0n || sum >= n) return `sum ${sum} not in [0, ${n})`
  return null
}

/** The first step of every increment: rescale to the 2·total window, then center. */
function rescaled (vals: readonly PrioritizedValidator[]): PrioritizedValidator[] {
  const total = vals.reduce((s, v) => s + BigInt(v.votingPower), 0n)
  const ps = centerPriorities(rescalePriorities(vals.map((v) => v.proposerPriority), 2n * total))
  return vals.map((v, i) => ({ ...v, proposerPriority: ps[i] ?? 0n }))
}

function randomPower (prng: Prng, profile: number): number {
  switch (profile) {
    case 0: return prng.range(1, 10)
    case 1: return prng.range(1, 1000)
    case 2: return prng.range(1, 2 ** 30)
    case 3: return prng.bool() ? prng.range(1, 5) : prng.range(2 ** 40, 2 ** 45)
    default: return prng.range(2 ** 46, 2 ** 47) // near the 2^50 total limit: some updates must fail
  }
}

interface Stats { sequences: number, updates: number, failedUpdates: number, increments: number }

function runSequence (prng: Prng, stats: Stats): string | null {
  const profile = prng.int(5)
  const n = prng.range(1, 7)
  const initial = Array.from({ length: n }, () => change(prng.bytes(20), randomPower(prng, profile)))
  const created = newValidatorSet(initial)
  const refCreated = refNew(initial.map((v) => ({ addr: hex(v.address), power: v.votingPower })))
  if (created.ok !== refCreated.ok) return `newValidatorSet ok=${created.ok}, reference ok=${refCreated.ok}`
  if (!created.ok || !refCreated.ok) return null
  let set = created.value
  let ref = refCreated.set
  let diff = samePair(set, ref) ?? invariants(set.validators, 3n)
  if (diff !== null) return `new set: ${diff}`

  const steps = prng.range(1, 3)
  for (let s = 0; s < steps; s++) {
    // A change set: some power changes and removals, some additions, rarely an invalid entry.
    const changes: PrioritizedValidator[] = []
    for (const v of set.validators) {
      const r = prng.float()
      if (r < 0.1) changes.push(change(v.address, 0))
      else if (r < 0.25) changes.push(change(v.address, randomPower(prng, profile)))
    }
    for (let k = prng.int(3); k > 0; k--) changes.push(change(prng.bytes(20), randomPower(prng, profile)))
    if (prng.bool(0.02)) {
      const kind = prng.int(3)
      if (kind === 0 && changes.length > 0) changes.push(changes[0] as PrioritizedValidator)
      else if (kind === 1) changes.push(change(prng.bytes(20), 0))
      else changes.push(change(prng.bytes(20), -1))
    }
    const shuffled = prng.shuffle(changes)
    stats.updates++
    const updated = updateWithChangeSet(set.validators, shuffled)
    const refNextSet = refNext(ref, shuffled.map((v) => ({ addr: hex(v.address), power: v.votingPower })))
    if (updated.ok !== refNextSet.ok) return `update ${s}: ok=${updated.ok}, reference ok=${refNextSet.ok}`
    if (!updated.ok || !refNextSet.ok) { stats.failedUpdates++; continue }
    // An empty change set returns the list as it is (CometBFT returns early, no rescale).
    diff = invariants(updated.value, shuffled.length > 0 ? 2n : 3n)
    if (diff !== null) return `update ${s} before increment: ${diff}`
    set = incrementProposerPriority(updated.value, 1) // = nextValidatorSet (golden-tested separately)
    ref = refNextSet.set
    diff = samePair(set, ref) ?? invariants(rescaled(set.validators), 2n) ?? invariants(set.validators, 3n)
    if (diff !== null) return `update ${s}: ${diff}`

    // Later rounds of the height: increment a copy 1..5 times; sometimes keep it.
    const times = prng.range(1, 5)
    stats.increments++
    const inc = incrementProposerPriority(set.validators, times)
    const refInc = refIncrement(ref.vals, times)
    diff = samePair(inc, refInc) ?? invariants(inc.validators, 3n)
    if (diff !== null) return `increment ${times} after update ${s}: ${diff}`
    if (prng.bool()) { set = inc; ref = refInc }
  }
  stats.sequences++
  return null
}

t.test(`${SEQUENCES} random update sequences agree with the reference and keep the invariants`, async (t) => {
  const prng = createPrng(SEED)
  const stats: Stats = { sequences: 0, updates: 0, failedUpdates: 0, increments: 0 }
  for (let i = 0; i < SEQUENCES; i++) {
    const problem = runSequence(prng, stats)
    if (problem !== null) {
      t.fail(`sequence ${i} (seed ${SEED}): ${problem}`)
      return
    }
  }
  t.equal(stats.sequences, SEQUENCES, 'all sequences ran')
  t.ok(stats.updates > SEQUENCES, `${stats.updates} updates`)
  t.ok(stats.failedUpdates > 100, `${stats.failedUpdates} invalid change sets rejected by both`)
  t.ok(stats.increments > SEQUENCES, `${stats.increments} multi-round increments`)
  t.ok(worstSpreadAfterIncrement < 3, `worst spread after increments: ${worstSpreadAfterIncrement.toFixed(3)}·total`)
})

t.test('negative priority sums center with floor division, as the reference', async (t) => {
  // Sets whose sum is negative and not divisible by n, built directly.
  const prng = createPrng(7)
  let checked = 0
  for (let i = 0; i < 20_000; i++) {
    const n = prng.range(2, 6)
    const vals = Array.from({ length: n }, () => ({
      address: prng.bytes(20), votingPower: prng.range(1, 100), proposerPriority: BigInt(prng.range(-500, 100)),
    }))
    const sum = vals.reduce((s, v) => s + v.proposerPriority, 0n)
    if (sum >= 0n || sum % BigInt(n) === 0n) continue
    checked++
    const impl = incrementProposerPriority(vals, 1)
    const ref = refIncrement(vals.map((v) => ({ addr: hex(v.address), power: BigInt(v.votingPower), prio: v.proposerPriority })), 1)
    const diff = samePair(impl, ref)
    if (diff !== null) { t.fail(`case ${i}: ${diff}`); return }
  }
  t.ok(checked > 10_000, `${checked} negative, non-divisible sums`)
})

function frequencies (powers: number[]): { freq: number[], total: number } {
  const created = newValidatorSet(powers.map((p, i) => {
    const address = new Uint8Array(20)
    address[18] = i >> 8
    address[19] = i & 0xff
    return change(address, p)
  }))
  if (!created.ok) throw created.error
  let set = created.value
  const total = powers.reduce((s, p) => s + p, 0)
  const freq = powers.map(() => 0)
  for (let r = 0; r < total; r++) {
    const a = set.proposer.address
    const i = ((a[18] ?? 0) << 8) | (a[19] ?? 0)
    freq[i] = (freq[i] ?? 0) + 1
    set = incrementProposerPriority(set.validators, 1)
  }
  return { freq, total }
}

t.test('proposer frequency: over `total` heights each validator proposes power ± (N − 1) times', async (t) => {
  // CometBFT TestProposerFrequency cases, then seeded random sets.
  const cases: number[][] = [
    [1, 1], [1, 2], [1, 100], [5, 5], [5, 100], [50, 50], [50, 100], [1, 1000],
    [1, 1, 1], [1, 2, 3], [1, 1, 10], [1, 1, 100], [1, 10, 100], [1, 1, 1000], [1, 10, 1000], [1, 100, 1000],
    [1, 1, 1, 1], [1, 2, 3, 4], [1, 1, 1, 10], [1, 1, 1, 100], [1, 1, 1, 1000], [1, 1, 10, 100], [1, 1, 10, 1000],
    [1, 1, 100, 1000], [1, 10, 100, 1000],
  ]
  const prng = createPrng(99)
  for (let i = 0; i < 25; i++) {
    const n = prng.range(1, 40)
    cases.push(Array.from({ length: n }, () => prng.range(1, 300)))
  }
  for (const powers of cases) {
    const { freq } = frequencies(powers)
    const bound = powers.length - 1
    const worst = Math.max(...powers.map((p, i) => Math.abs((freq[i] ?? 0) - p)))
    t.ok(worst <= bound, `powers ${powers.length <= 6 ? powers.join(',') : `${powers.length} validators`}: max deviation ${worst} ≤ ${bound}`)
  }
})

t.test('proposer frequency over long runs stays proportional (10 × total heights)', async (t) => {
  const prng = createPrng(2024)
  for (let c = 0; c < 8; c++) {
    const n = prng.range(2, 20)
    const powers = Array.from({ length: n }, () => prng.range(1, 200))
    const created = newValidatorSet(powers.map((p, i) => change(Uint8Array.of(0, i), p)))
    if (!created.ok) throw created.error
    let set = created.value
    const total = powers.reduce((s, p) => s + p, 0)
    const runs = 10 * total
    const freq = powers.map(() => 0)
    for (let r = 0; r < runs; r++) {
      const i = set.proposer.address[1] ?? 0
      freq[i] = (freq[i] ?? 0) + 1
      set = incrementProposerPriority(set.validators, 1)
    }
    const worst = Math.max(...powers.map((p, i) => Math.abs((freq[i] ?? 0) - 10 * p)))
    t.ok(worst <= n - 1, `${n} validators, ${runs} heights: max deviation ${worst} ≤ ${n - 1}`)
  }
})
