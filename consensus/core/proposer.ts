/**
 * Proposer selection: CometBFT's weighted round robin, `types/validator_set.go`
 * (IncrementProposerPriority, RescalePriorities, shiftByAvgProposerPriority,
 * updateWithChangeSet) and `types/validator.go` (CompareProposerPriority), reproduced
 * operation by operation so both pick the same proposer from the same set:
 *
 *  increment(times): rescale so that max − min ≤ 2·total (PriorityWindowSizeFactor = 2),
 *    shift every priority by the average, then `times` times: add each validator's power
 *    to its priority, pick the highest priority (tie: smaller address bytes), subtract the
 *    total from the chosen one.
 *  update(changes): removals (power 0), power changes (priority kept), additions (priority
 *    −1.125·T where T is the total after updates and before removals), then rescale and
 *    re-center; the list is kept sorted by power descending, address ascending.
 *
 * Arithmetic: priorities are bigint and every add/sub clips to int64 (safeAddClip /
 * safeSubClip), as in Go. Go's int64 `/` truncates like bigint `/` (used by the rescale),
 * but the average uses big.Int `Div`, which is Euclidean (floor for a positive divisor):
 * `euclidDiv` does that; plain bigint `/` would differ for negative sums.
 *
 * Everything is immutable: inputs are never modified; new validator objects are returned.
 * Invalid change sets (from the application) come back as `Result` data.
 */
import { AidError, fail, ok, type Result } from '../../src/errors.ts'
import { MAX_TOTAL_VOTING_POWER } from './types.ts'

/** The minimal validator shape proposer selection needs. */
export interface PrioritizedValidator {
  /** 20 bytes in production; compared byte-wise for ties and ordering. */
  readonly address: Uint8Array
  readonly votingPower: number
  readonly proposerPriority: bigint
}

/** A validator set with its current proposer (CometBFT `ValidatorSet{Validators, Proposer}`). */
export interface ProposerSet<V extends PrioritizedValidator = PrioritizedValidator> {
  /** Sorted by voting power descending, then address ascending. */
  readonly validators: readonly V[]
  /** The proposer chosen by the last increment: proposer of round 0 for this set's height. */
  readonly proposer: V
}

/** A validator update from the application: the priority is computed, not taken. Power 0 removes. */
export type ValidatorChange<V extends PrioritizedValidator> = Omit<V, 'proposerPriority'>

export const PRIORITY_WINDOW_SIZE_FACTOR = 2n
export const INT64_MAX = (1n << 63n) - 1n
export const INT64_MIN = -(1n << 63n)

export function clipInt64 (x: bigint): bigint {
  return x > INT64_MAX ? INT64_MAX : x < INT64_MIN ? INT64_MIN : x
}

/** Go `safeAddClip`: a + b, clipped to int64 on overflow. */
export function safeAddClip (a: bigint, b: bigint): bigint {
  return clipInt64(a + b)
}

/** Go `safeSubClip`: a − b, clipped to int64 on overflow. */
export function safeSubClip (a: bigint, b: bigint): bigint {
  return clipInt64(a - b)
}

/** Go big.Int `Div`: Euclidean division, the remainder is always ≥ 0. */
export function euclidDiv (a: bigint, b: bigint): bigint {
  if (b === 0n) throw new AidError('ERR_TYPES_INVALID', 'division by zero', 'euclidDiv')
  const q = a / b
  const r = a % b
  if (r < 0n) return b > 0n ? q - 1n : q + 1n
  return q
}

/** Byte-wise comparison of addresses (Go `bytes.Compare`). */
export function compareAddresses (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0)
    if (d !== 0) return d < 0 ? -1 : 1
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1
}

/** CometBFT `ValidatorsByVotingPower`: power descending, then address ascending. */
export function compareByVotingPower (a: PrioritizedValidator, b: PrioritizedValidator): number {
  if (a.votingPower !== b.votingPower) return a.votingPower > b.votingPower ? -1 : 1
  return compareAddresses(a.address, b.address)
}

export function totalVotingPower (validators: readonly PrioritizedValidator[]): number {
  let sum = 0
  for (const v of validators) sum += v.votingPower
  return sum
}

// ---- priority arithmetic on plain arrays (the hot loop works on bigint[]) ----

/** Go `computeMaxMinPriorityDiff`, with int64 wrap-around as in Go. */
export function maxMinPriorityDiff (priorities: readonly bigint[]): bigint {
  let max = INT64_MIN
  let min = INT64_MAX
  for (const p of priorities) {
    if (p < min) min = p
    if (p > max) max = p
  }
  const diff = BigInt.asIntN(64, max - min)
  return diff < 0n ? BigInt.asIntN(64, -diff) : diff
}

/** Go `RescalePriorities`: divide all priorities by ceil(diff / diffMax) when diff > diffMax. */
export function rescalePriorities (priorities: readonly bigint[], diffMax: bigint): bigint[] {
  const out = [...priorities]
  if (diffMax <= 0n || out.length === 0) return out
  const diff = maxMinPriorityDiff(out)
  const ratio = BigInt.asIntN(64, diff + diffMax - 1n) / diffMax
  if (diff > diffMax) {
    for (let i = 0; i < out.length; i++) out[i] = (out[i] ?? 0n) / ratio // Go int64 `/=` truncates, as bigint does
  }
  return out
}

/** Go `computeAvgProposerPriority`: big.Int sum, Euclidean `Div` by n. */
export function averagePriority (priorities: readonly bigint[]): bigint {
  let sum = 0n
  for (const p of priorities) sum += p
  return euclidDiv(sum, BigInt(priorities.length))
}

/** Go `shiftByAvgProposerPriority`. */
export function centerPriorities (priorities: readonly bigint[]): bigint[] {
  if (priorities.length === 0) return []
  const avg = averagePriority(priorities)
  return priorities.map((p) => safeSubClip(p, avg))
}

/** Index of the validator with the most priority (Go `getValWithMostPriority`). */
function mostPriority (validators: readonly PrioritizedValidator[], priorities: readonly bigint[]): number {
  let best = -1
  for (let i = 0; i < priorities.length; i++) {
    if (best < 0) { best = i; continue }
    const p = priorities[i] ?? 0n
    const bp = priorities[best] ?? 0n
    if (p > bp) best = i
    else if (p === bp) {
      const a = validators[i]
      const b = validators[best]
      if (a !== undefined && b !== undefined && compareAddresses(a.address, b.address) < 0) best = i
    }
  }
  return best
}

function withPriorities<V extends PrioritizedValidator> (validators: readonly V[], priorities: readonly bigint[]): V[] {
  return validators.map((v, i) => ({ ...v, proposerPriority: priorities[i] ?? 0n }))
}

/**
 * Go `Validator.CompareProposerPriority`: the validator with more priority, ties to the
 * smaller address. Returns one of its arguments.
 */
export function compareProposerPriority<V extends PrioritizedValidator> (a: V, b: V): V {
  if (a.proposerPriority !== b.proposerPriority) return a.proposerPriority > b.proposerPriority ? a : b
  return compareAddresses(a.address, b.address) <= 0 ? a : b
}

/** Go `findProposer`: the validator with the most priority now (no increment). */
export function findProposer<V extends PrioritizedValidator> (validators: readonly V[]): V {
  const first = validators[0]
  if (first === undefined) throw new AidError('ERR_TYPES_INVALID', 'empty validator set', 'findProposer')
  let best = first
  for (const v of validators) best = compareProposerPriority(best, v)
  return best
}

/**
 * Go `IncrementProposerPriority(times)` on a copy: rescale, center, then `times` rounds of
 * add-power / pick-max / subtract-total. `times` ≥ 1; the set must not be empty.
 */
export function incrementProposerPriority<V extends PrioritizedValidator> (validators: readonly V[], times: number): ProposerSet<V> {
  if (validators.length === 0) throw new AidError('ERR_TYPES_INVALID', 'empty validator set', 'incrementProposerPriority')
  if (!Number.isSafeInteger(times) || times <= 0) {
    throw new AidError('ERR_TYPES_INVALID', 'times must be a positive integer', 'incrementProposerPriority')
  }
  const total = BigInt(totalVotingPower(validators))
  const powers = validators.map((v) => BigInt(v.votingPower))
  let prio = rescalePriorities(validators.map((v) => v.proposerPriority), PRIORITY_WINDOW_SIZE_FACTOR * total)
  prio = centerPriorities(prio)
  let chosen = 0
  for (let t = 0; t < times; t++) {
    for (let i = 0; i < prio.length; i++) prio[i] = safeAddClip(prio[i] ?? 0n, powers[i] ?? 0n)
    chosen = mostPriority(validators, prio)
    prio[chosen] = safeSubClip(prio[chosen] ?? 0n, total)
  }
  const out = withPriorities(validators, prio)
  return { validators: out, proposer: out[chosen] as V }
}

/**
 * The proposer of `round` at this set's height: the set's proposer for round 0, otherwise
 * the proposer after incrementing a copy `round` times (CometBFT `enterNewRound` with
 * `IncrementProposerPriority(round - 0)`).
 */
export function proposerForRound<V extends PrioritizedValidator> (set: ProposerSet<V>, round: number): V {
  if (!Number.isSafeInteger(round) || round < 0) throw new AidError('ERR_TYPES_INVALID', 'round must be ≥ 0', 'proposerForRound')
  if (round === 0) return set.proposer
  return incrementProposerPriority(set.validators, round).proposer
}

/** Proposers of the rounds of one height, computed incrementally and memoized. */
export interface ProposerSchedule<V extends PrioritizedValidator = PrioritizedValidator> {
  /** Same result as `proposerForRound(set, round)`, O(n) per round not yet computed. */
  proposer (round: number): V
}

/**
 * Factory for a height's proposer schedule. `increment(r)` is one rescale + center followed
 * by r iterations, so its first r − 1 iterations are those of `increment(r − 1)`: the
 * proposer of round r is the validator chosen by the r-th iteration of one continuous run.
 * This keeps a flood of proposals for distinct far rounds at O(rounds · n) in total.
 */
export function createProposerSchedule<V extends PrioritizedValidator> (set: ProposerSet<V>): ProposerSchedule<V> {
  const validators = set.validators
  if (validators.length === 0) throw new AidError('ERR_TYPES_INVALID', 'empty validator set', 'createProposerSchedule')
  const total = BigInt(totalVotingPower(validators))
  const powers = validators.map((v) => BigInt(v.votingPower))
  const prio = centerPriorities(rescalePriorities(validators.map((v) => v.proposerPriority), PRIORITY_WINDOW_SIZE_FACTOR * total))
  const chosen: V[] = [set.proposer]
  return {
    proposer (round: number): V {
      if (!Number.isSafeInteger(round) || round < 0) throw new AidError('ERR_TYPES_INVALID', 'round must be ≥ 0', 'proposerSchedule')
      while (chosen.length <= round) {
        for (let i = 0; i < prio.length; i++) prio[i] = safeAddClip(prio[i] ?? 0n, powers[i] ?? 0n)
        const c = mostPriority(validators, prio)
        prio[c] = safeSubClip(prio[c] ?? 0n, total)
        chosen.push(validators[c] as V)
      }
      return chosen[round] as V
    },
  }
}

function hexKey (a: Uint8Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex')
}

function changeError (detail: string): Result<never> {
  return fail(new AidError('ERR_TYPES_INVALID', detail, 'validatorUpdates'))
}

/**
 * Go `updateWithChangeSet`: apply removals (power 0), power changes and additions, then
 * rescale and center; returns the new list sorted by power. Does not increment (the
 * caller does, see `nextValidatorSet`). `allowDeletes` is false only when building a set.
 */
export function updateWithChangeSet<V extends PrioritizedValidator> (
  validators: readonly V[],
  changes: ReadonlyArray<ValidatorChange<V>>,
  allowDeletes = true,
): Result<V[]> {
  if (changes.length === 0) return ok([...validators])

  // processChanges: sort by address, reject duplicates and bad powers, split.
  for (const c of changes) {
    if (!(c.address instanceof Uint8Array) || c.address.length === 0) return changeError('address must be non-empty bytes')
  }
  const keyed = changes.map((c) => ({ c, k: hexKey(c.address) })).sort((a, b) => compareAddresses(a.c.address, b.c.address))
  const updates: Array<{ c: ValidatorChange<V>, k: string }> = []
  const deletes: Array<{ c: ValidatorChange<V>, k: string }> = []
  let prev: string | null = null
  for (const e of keyed) {
    if (e.k === prev) return changeError('duplicate entry in changes')
    const p = e.c.votingPower
    if (!Number.isSafeInteger(p) || p < 0) return changeError(`bad voting power ${String(p)}`)
    if (p > MAX_TOTAL_VOTING_POWER) return changeError(`voting power above ${MAX_TOTAL_VOTING_POWER}`)
    if (p === 0) deletes.push(e)
    else updates.push(e)
    prev = e.k
  }
  if (!allowDeletes && deletes.length > 0) return changeError('cannot process validators with voting power 0')

  const byAddress = new Map<string, V>()
  for (const v of validators) byAddress.set(hexKey(v.address), v)

  let numNew = 0
  for (const u of updates) if (!byAddress.has(u.k)) numNew++
  if (numNew === 0 && validators.length === deletes.length) return changeError('applying the changes would result in an empty set')

  // verifyRemovals
  let removedPower = 0
  for (const d of deletes) {
    const v = byAddress.get(d.k)
    if (v === undefined) return changeError(`failed to find validator ${d.k} to remove`)
    removedPower += v.votingPower
  }

  // verifyUpdates: running total over deltas in ascending order must stay ≤ max.
  const deltas = updates.map((u) => u.c.votingPower - (byAddress.get(u.k)?.votingPower ?? 0)).sort((a, b) => a - b)
  let tvpAfterRemovals = totalVotingPower(validators) - removedPower
  for (const d of deltas) {
    tvpAfterRemovals += d
    if (tvpAfterRemovals > MAX_TOTAL_VOTING_POWER) return changeError(`total voting power would exceed ${MAX_TOTAL_VOTING_POWER}`)
  }
  const tvpAfterUpdatesBeforeRemovals = BigInt(tvpAfterRemovals + removedPower)

  // computeNewPriorities: existing keep theirs, new ones start at −(T + T>>3) = −1.125·T.
  const newPriority = -(tvpAfterUpdatesBeforeRemovals + (tvpAfterUpdatesBeforeRemovals >> 3n))
  const merged = new Map<string, V>(byAddress)
  for (const u of updates) {
    const existing = byAddress.get(u.k)
    merged.set(u.k, { ...u.c, proposerPriority: existing?.proposerPriority ?? newPriority } as unknown as V)
  }
  for (const d of deletes) merged.delete(d.k)

  // applyUpdates/applyRemovals leave the list sorted by address; rescale and center act
  // element-wise and on order-independent aggregates, so the order here does not matter.
  const list = [...merged.values()].sort((a, b) => compareAddresses(a.address, b.address))
  const total = BigInt(totalVotingPower(list))
  let prio = rescalePriorities(list.map((v) => v.proposerPriority), PRIORITY_WINDOW_SIZE_FACTOR * total)
  prio = centerPriorities(prio)
  return ok(withPriorities(list, prio).sort(compareByVotingPower))
}

/** Go `NewValidatorSet`: build from scratch (no removals allowed), then increment once. */
export function newValidatorSet<V extends PrioritizedValidator> (validators: ReadonlyArray<ValidatorChange<V>>): Result<ProposerSet<V>> {
  if (validators.length === 0) return changeError('validator set is empty')
  const updated = updateWithChangeSet<V>([], validators, false)
  if (!updated.ok) return updated
  return ok(incrementProposerPriority(updated.value, 1))
}

/**
 * The set of the next height (CometBFT `state.UpdateState`): apply the application's
 * changes to a copy (if any), then increment once.
 */
export function nextValidatorSet<V extends PrioritizedValidator> (
  set: ProposerSet<V>,
  changes: ReadonlyArray<ValidatorChange<V>> = [],
): Result<ProposerSet<V>> {
  const updated = updateWithChangeSet(set.validators, changes)
  if (!updated.ok) return updated
  return ok(incrementProposerPriority(updated.value, 1))
}
