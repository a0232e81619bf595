/**
 * A second, deliberately plain implementation of CometBFT's proposer selection, written
 * from the algorithm's description rather than from proposer.ts, for cross-checking it:
 * hex-string addresses, mutable records, sorting instead of scanning, floor/ceil/trunc
 * division spelled out by sign. It does not clip (the property tests stay far from int64
 * limits) but reports if a value would leave int64.
 */
export interface RefVal { addr: string, power: bigint, prio: bigint }
export interface RefSet { vals: RefVal[], proposer: string }
export type RefResult = { ok: true, set: RefSet } | { ok: false }

const I64_MIN = -(2n ** 63n)
const I64_MAX = 2n ** 63n - 1n
export const REF_MAX_TOTAL = 2n ** 50n

export class RefOverflow extends Error {}

function checked (x: bigint): bigint {
  if (x < I64_MIN || x > I64_MAX) throw new RefOverflow(`value ${x} leaves int64`)
  return x
}

/** floor(a / n) for n > 0. */
function floorDiv (a: bigint, n: bigint): bigint {
  if (a >= 0n) return a / n
  return -((-a + n - 1n) / n)
}

/** a / n rounded toward zero, n > 0. */
function truncDiv (a: bigint, n: bigint): bigint {
  return a >= 0n ? a / n : -((-a) / n)
}

function sum (xs: bigint[]): bigint {
  return xs.reduce((s, x) => s + x, 0n)
}

/** Rescale to the 2·total window, then shift by the floored average. Mutates `vals`. */
function scaleAndCenter (vals: RefVal[]): void {
  const total = sum(vals.map((v) => v.power))
  const window = 2n * total
  const ps = vals.map((v) => v.prio)
  const diff = ps.reduce((m, p) => (p > m ? p : m), ps[0] ?? 0n) - ps.reduce((m, p) => (p < m ? p : m), ps[0] ?? 0n)
  if (window > 0n && diff > window) {
    const ratio = (diff + window - 1n) / window // ceil for positives
    for (const v of vals) v.prio = truncDiv(v.prio, ratio)
  }
  const avg = floorDiv(sum(vals.map((v) => v.prio)), BigInt(vals.length))
  for (const v of vals) v.prio = checked(v.prio - avg)
}

const byPriority = (a: RefVal, b: RefVal): number =>
  a.prio !== b.prio ? (a.prio > b.prio ? -1 : 1) : (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0)
const byPower = (a: RefVal, b: RefVal): number =>
  a.power !== b.power ? (a.power > b.power ? -1 : 1) : (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0)

export function refIncrement (vals: readonly RefVal[], times: number): RefSet {
  const vs = vals.map((v) => ({ ...v }))
  const total = sum(vs.map((v) => v.power))
  scaleAndCenter(vs)
  let proposer = ''
  for (let i = 0; i < times; i++) {
    for (const v of vs) v.prio = checked(v.prio + v.power)
    const best = [...vs].sort(byPriority)[0] as RefVal
    best.prio = checked(best.prio - total)
    proposer = best.addr
  }
  return { vals: vs, proposer }
}

/** Apply changes ({addr, power}; power 0 removes), CometBFT semantics. */
export function refUpdate (vals: readonly RefVal[], changes: ReadonlyArray<{ addr: string, power: number }>, allowDeletes = true): { ok: true, vals: RefVal[] } | { ok: false } {
  if (changes.length === 0) return { ok: true, vals: vals.map((v) => ({ ...v })) }
  const seen = new Set<string>()
  for (const c of changes) {
    if (seen.has(c.addr)) return { ok: false }
    seen.add(c.addr)
    if (!Number.isSafeInteger(c.power) || c.power < 0 || BigInt(c.power) > REF_MAX_TOTAL) return { ok: false }
  }
  const current = new Map(vals.map((v) => [v.addr, v]))
  const removals = changes.filter((c) => c.power === 0)
  const updates = changes.filter((c) => c.power > 0)
  if (!allowDeletes && removals.length > 0) return { ok: false }
  if (removals.some((c) => !current.has(c.addr))) return { ok: false }
  // The set with all updates applied but nobody removed yet.
  const afterUpdates = new Map(vals.map((v) => [v.addr, { ...v }]))
  for (const u of updates) {
    const old = current.get(u.addr)
    afterUpdates.set(u.addr, { addr: u.addr, power: BigInt(u.power), prio: old?.prio ?? 0n })
  }
  const tvp = sum([...afterUpdates.values()].map((v) => v.power))
  for (const r of removals) afterUpdates.delete(r.addr)
  const result = [...afterUpdates.values()]
  if (result.length === 0) return { ok: false }
  if (sum(result.map((v) => v.power)) > REF_MAX_TOTAL) return { ok: false }
  const start = -(tvp + tvp / 8n) // −1.125·T, floor (T > 0)
  for (const u of updates) if (!current.has(u.addr)) (afterUpdates.get(u.addr) as RefVal).prio = start
  scaleAndCenter(result)
  return { ok: true, vals: result.sort(byPower) }
}

export function refNew (changes: ReadonlyArray<{ addr: string, power: number }>): RefResult {
  if (changes.length === 0) return { ok: false }
  const u = refUpdate([], changes, false)
  if (!u.ok) return { ok: false }
  return { ok: true, set: refIncrement(u.vals, 1) }
}

export function refNext (set: RefSet, changes: ReadonlyArray<{ addr: string, power: number }>): RefResult {
  const u = refUpdate(set.vals, changes)
  if (!u.ok) return { ok: false }
  return { ok: true, set: refIncrement(u.vals, 1) }
}
