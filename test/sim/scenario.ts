/**
 * Scenarios: everything a simulation run does, drawn from one seed. The validator count,
 * the fault mix, the network profile before and after GST, partitions that form and heal,
 * crash-restarts (at a time, or at the k-th write to the WAL, the private validator, a
 * store or the app), clock skews, byzantine validators (at most f of n by power) and the
 * workload. `describe()` renders the fault mix for violation messages.
 *
 * The scenario stream ("scenario") is independent of the network stream ("network") and
 * of the workload stream ("workload"), see ./rng.ts.
 */
import type { LinkProfile, NetworkOptions } from './network.ts'
import { rngFor, type Prng } from './rng.ts'

export const FAULT_MIXES = ['none', 'network', 'crash', 'byzantine', 'all'] as const
export type FaultMix = typeof FAULT_MIXES[number]

export const BYZANTINE_BEHAVIORS = ['equivocate-proposer', 'double-prevote', 'double-precommit', 'double-vote', 'amnesia', 'twins'] as const
export type ByzantineBehavior = typeof BYZANTINE_BEHAVIORS[number]

/** Where a node can be killed in the middle of persisting something. */
export const CRASH_POINT_KINDS = [
  'privval:before-temp-write', 'privval:after-temp-write', 'privval:after-temp-fsync', 'privval:after-rename', 'privval:after-dir-fsync',
  'wal:before-sync', 'wal:after-sync', 'wal:before-end-height', 'wal:after-end-height',
  'blockstore:before-batch', 'blockstore:after-batch', 'statestore:before-batch', 'statestore:after-batch',
  'app:before-commit', 'app:after-commit',
] as const
export type CrashPointKind = typeof CRASH_POINT_KINDS[number]

export interface NodeSpec {
  /** Node (peer) name: n0, n1, … ; a twin of validator i is `n<i>t`. */
  name: string
  /** Index of the validator key this node signs with (twins share one). */
  key: number
  byzantine: ByzantineBehavior | null
  skewMs: number
}

export interface PartitionSpec {
  startMs: number
  endMs: number
  groups: string[][]
}

export type CrashSpec =
  /** Kill `node` at a time, restart it `downMs` later. */
  | { node: string, atMs: number, downMs: number, point: null }
  /** From `atMs` on, kill `node` at the `occurrence`-th hit of write point `point`. */
  | { node: string, atMs: number, downMs: number, point: CrashPointKind, occurrence: number }

export interface SimTimeouts {
  proposeMs: number
  proposeDeltaMs: number
  prevoteMs: number
  prevoteDeltaMs: number
  precommitMs: number
  precommitDeltaMs: number
  commitMs: number
}

export interface Scenario {
  seed: number
  mix: FaultMix
  /** Number of validators (keys); twins add nodes, not keys. */
  validators: number
  nodes: NodeSpec[]
  network: NetworkOptions
  partitions: PartitionSpec[]
  crashes: CrashSpec[]
  timeouts: SimTimeouts
  /** Txs submitted to random nodes, one every txIntervalMs until the run ends. */
  txIntervalMs: number
  /** Stop once every honest node has this many heights (and liveness held). */
  minHeights: number
  /** Heights every honest node must add after all faults heal. */
  livenessHeights: number
  /** Simulated ms after healMs within which those heights must come. */
  livenessBudgetMs: number
  /** When the last fault is over: GST, last partition healed, last node restarted. */
  healMs: number
  /** Honest nodes run this engine fault (the deliberately wrong variant); byzantine ones keep theirs. */
  honestFault: 'prevoteIgnoringLock' | null
}

export interface ScenarioOptions {
  validators?: 4 | 7 | 10
  mix?: FaultMix
  /** Apply `prevoteIgnoringLock` to honest nodes (the checks must catch it). */
  honestFault?: 'prevoteIgnoringLock' | null
  /** Force crash points (the crash-restart test). */
  crashes?: CrashSpec[]
  /** Override heights (default 5..10 drawn from the seed). */
  minHeights?: number
}

/** An armed crash point that is not hit within this window after arming is dropped. */
export const ARM_WINDOW_MS = 1_500

export const SIM_TIMEOUTS: SimTimeouts = {
  proposeMs: 400, proposeDeltaMs: 100, prevoteMs: 200, prevoteDeltaMs: 100, precommitMs: 200, precommitDeltaMs: 100, commitMs: 400,
}

/** The default mix of a seed: cycles through the mixes so every N seeds cover all of them. */
export function defaultMix (seed: number): FaultMix {
  const mixes: FaultMix[] = ['all', 'network', 'crash', 'byzantine', 'all', 'network', 'crash', 'byzantine', 'none', 'all']
  return mixes[seed % mixes.length] as FaultMix
}

/** n of a seed: 4 (45 %), 7 (35 %) or 10 (20 %), independent of the mix. */
export function defaultValidators (seed: number): 4 | 7 | 10 {
  const x = rngFor(seed, 'validators').int(20)
  return x < 9 ? 4 : x < 16 ? 7 : 10
}

function linkProfile (rng: Prng, rough: boolean): LinkProfile {
  if (!rough) return { minDelayMs: 1, maxDelayMs: rng.range(5, 40), tailProb: 0, tailMs: 0, dropProb: 0, dupProb: 0 }
  const maxDelayMs = rng.pick([20, 60, 150, 300])
  return {
    minDelayMs: 1,
    maxDelayMs,
    tailProb: rng.pick([0, 0.02, 0.1]),
    tailMs: rng.pick([200, 1000, 3000]),
    dropProb: rng.pick([0, 0.02, 0.05, 0.15, 0.3]),
    dupProb: rng.pick([0, 0.02, 0.1]),
    slowLinkProb: rng.pick([0, 0.2, 0.4]),
    slowLinkMs: rng.pick([400, 1_200]),
  }
}

function randomSplit (rng: Prng, names: readonly string[]): string[][] {
  const shuffled = rng.shuffle(names)
  const parts = rng.pick([2, 2, 3])
  const groups: string[][] = Array.from({ length: parts }, () => [])
  shuffled.forEach((n, i) => {
    // the first `parts` nodes seed each group, the rest land anywhere
    const g = i < parts ? i : rng.int(parts)
    ;(groups[g] as string[]).push(n)
  })
  return groups.map((g) => g.sort())
}

export function generateScenario (seed: number, opts: ScenarioOptions = {}): Scenario {
  const rng = rngFor(seed, 'scenario')
  const n = opts.validators ?? defaultValidators(seed)
  const mix = opts.mix ?? defaultMix(seed)
  const f = Math.floor((n - 1) / 3)
  const network = mix === 'network' || mix === 'all'
  const crash = mix === 'crash' || mix === 'all'
  const byz = mix === 'byzantine' || mix === 'all'

  // byzantine validators: 1..f of them, distinct keys
  const behaviors = new Map<number, ByzantineBehavior>()
  if (byz) {
    const count = rng.range(1, f)
    const keys = rng.shuffle(Array.from({ length: n }, (_, i) => i)).slice(0, count)
    for (const k of keys) behaviors.set(k, rng.pick(BYZANTINE_BEHAVIORS))
  }
  const nodes: NodeSpec[] = []
  const skewRange = network ? rng.pick([0, 20, 200]) : 0
  for (let i = 0; i < n; i++) {
    const b = behaviors.get(i) ?? null
    nodes.push({ name: `n${i}`, key: i, byzantine: b, skewMs: skewRange === 0 ? 0 : rng.range(-skewRange, skewRange) })
    if (b === 'twins') nodes.push({ name: `n${i}t`, key: i, byzantine: b, skewMs: skewRange === 0 ? 0 : rng.range(-skewRange, skewRange) })
  }
  const names = nodes.map((s) => s.name)

  const gstMs = network ? rng.range(500, 3_000) : 0
  const netOpts: NetworkOptions = {
    preGst: linkProfile(rng, network),
    postGst: { minDelayMs: 1, maxDelayMs: rng.range(5, 50), tailProb: 0, tailMs: 0, dropProb: 0, dupProb: network ? 0.01 : 0 },
    gstMs,
    fifo: network ? rng.bool(0.5) : true,
  }

  const partitions: PartitionSpec[] = []
  if (network) {
    const count = rng.pick([0, 1, 1, 2])
    let t = rng.range(200, 1_500)
    for (let i = 0; i < count; i++) {
      const len = rng.range(300, 2_500)
      partitions.push({ startMs: t, endMs: t + len, groups: randomSplit(rng, names) })
      t += len + rng.range(100, 1_500)
    }
  }

  let crashes: CrashSpec[] = []
  if (opts.crashes !== undefined) crashes = opts.crashes
  else if (crash) {
    const count = rng.range(1, Math.max(1, Math.min(names.length, f + 2)))
    let t = rng.range(100, 1_500)
    for (let i = 0; i < count; i++) {
      const node = rng.pick(names)
      const downMs = rng.range(50, 2_000)
      if (rng.bool(0.5)) {
        crashes.push({ node, atMs: t, downMs, point: rng.pick(CRASH_POINT_KINDS), occurrence: rng.range(1, 4) })
      } else {
        crashes.push({ node, atMs: t, downMs, point: null })
      }
      t += rng.range(0, 1_500)
    }
  }

  const partitionEnd = partitions.reduce((m, p) => Math.max(m, p.endMs), 0)
  // A crash-point crash fires soon after it is armed (writes are frequent); allow slack.
  const crashEnd = crashes.reduce((m, c) => Math.max(m, c.atMs + c.downMs + (c.point === null ? 0 : ARM_WINDOW_MS)), 0)
  const healMs = Math.max(gstMs, partitionEnd, crashEnd)
  const minHeights = opts.minHeights ?? rng.range(5, 10)

  return {
    seed,
    mix,
    validators: n,
    nodes,
    network: netOpts,
    partitions,
    crashes,
    timeouts: SIM_TIMEOUTS,
    txIntervalMs: rng.pick([100, 250, 500]),
    minHeights,
    livenessHeights: 3,
    livenessBudgetMs: 30_000,
    healMs,
    honestFault: opts.honestFault ?? null,
  }
}

function fmtLink (p: LinkProfile): string {
  return `delay ${p.minDelayMs}..${p.maxDelayMs}ms` +
    (p.tailProb > 0 ? ` tail ${p.tailProb}×${p.tailMs}ms` : '') +
    (p.dropProb > 0 ? ` drop ${p.dropProb}` : '') +
    (p.dupProb > 0 ? ` dup ${p.dupProb}` : '') +
    ((p.slowLinkProb ?? 0) > 0 ? ` slow-links ${p.slowLinkProb as number}×${p.slowLinkMs ?? 0}ms` : '')
}

/** One line naming everything that can go wrong in this scenario. */
export function describeScenario (s: Scenario): string {
  const parts = [`n=${s.validators}`, `mix=${s.mix}`]
  const byz = s.nodes.filter((x) => x.byzantine !== null && !x.name.endsWith('t')).map((x) => `${x.name}:${x.byzantine as string}`)
  parts.push(`byzantine=[${byz.join(',')}]`)
  if (s.honestFault !== null) parts.push(`honest-fault=${s.honestFault}`)
  parts.push(`net{pre-GST ${fmtLink(s.network.preGst)}; post-GST ${fmtLink(s.network.postGst)}; GST ${s.network.gstMs}ms; ${s.network.fifo ? 'fifo' : 'reorder'}}`)
  if (s.partitions.length > 0) {
    parts.push(`partitions=[${s.partitions.map((p) => `${p.startMs}-${p.endMs}ms ${p.groups.map((g) => g.join('+')).join(' | ')}`).join('; ')}]`)
  }
  if (s.crashes.length > 0) {
    parts.push(`crashes=[${s.crashes.map((c) => c.point === null
      ? `${c.node}@${c.atMs}ms down ${c.downMs}ms`
      : `${c.node}@${c.point}#${c.occurrence} after ${c.atMs}ms down ${c.downMs}ms`).join('; ')}]`)
  }
  const skews = s.nodes.filter((x) => x.skewMs !== 0)
  if (skews.length > 0) parts.push(`skew=[${skews.map((x) => `${x.name}:${x.skewMs}`).join(',')}]`)
  parts.push(`heal ${s.healMs}ms, ${s.minHeights} heights`)
  return parts.join(' ')
}
