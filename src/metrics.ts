/**
 * The metrics registry (DESIGN §9): CometBFT's metric names (their consensus_, mempool_,
 * p2p_, state_ and blocksync_ subsystems, from CometBFT's metrics.go / metrics.gen.go)
 * under a configurable namespace (default `aidledger`, config instrumentation.namespace),
 * every series labelled `chain_id` (a registry default label), plus Node.js process metrics
 * (prom-client collectDefaultMetrics, prefix `<namespace>_`) and the app's own `app_*`.
 * The full table, with types, labels and buckets, is ./metrics/defs.ts.
 *
 * `createMetrics` returns one typed object. Each call has its OWN prom-client Registry
 * (never the global default one), so several nodes or tests live in one process. With
 * `enabled: false` the object has the same shape with no-op handles and an empty registry,
 * so callers never branch. Nothing here imports consensus/, p2p/, state/ or rpc/: the
 * helpers take plain structural inputs that those modules' outputs already satisfy.
 *
 * Who updates what (the node assembly does the calls; every helper is cheap and never
 * throws):
 *
 *   node start, from the block store      setCommittedHeight(height, totalTxs)
 *   consensus engine `new-block` event   observeBlock({ height, numTxs, sizeBytes,
 *     (source 'consensus' or 'blocksync')    intervalSeconds, processingMs, validators,
 *                                            lastCommit, byzantine, validatorUpdates, … })
 *       → consensus_height, _latest_block_height, _num_txs, _total_txs, _block_size_bytes,
 *         _chain_size_bytes, _block_interval_seconds, _validators, _validators_power,
 *         _missing_validators(_power), _byzantine_validators(_power), per-validator
 *         _validator_last_signed_height / _validator_missed_blocks / _validator_power,
 *         state_block_processing_time, state_validator_set_updates,
 *         state_consensus_param_updates. A block fetched by block sync (source
 *         'blocksync') sets blocksync_* instead of the consensus_* per-block gauges, as in
 *         CometBFT; consensus_latest_block_height and state_* follow both sources, so the
 *         committed height keeps moving (and the stall alert quiet) while a node syncs.
 *   consensus engine `new-round-step`     enterStep(height, round, step)
 *       → consensus_rounds, consensus_round_duration_seconds, consensus_step_duration_seconds
 *   consensus engine `catching-up`        setSyncing(catchingUp) → blocksync_syncing
 *   vote keeper: a vote already counted    observeDuplicateVote() → consensus_duplicate_vote
 *   block-part set: a part already held    observeDuplicateBlockPart()
 *   evidence pool: a conflicting vote pair observeConflictingVote()
 *                                          → consensus_conflicting_votes_total
 *   mempool (consensus/mempool.ts), after each block and on a timer:
 *       setMempool({ size: m.size(), sizeBytes: m.sizeBytes(), counters: m.counters(),
 *                    sizeLimit, sizeBytesLimit })  → mempool_size, _size_bytes,
 *         _failed_txs, _rejected_txs, _evicted_txs, _recheck_times, _already_received_txs,
 *         _size_limit, _size_bytes_limit
 *   mempool onTxAdded                      observeMempoolTx(tx.bytes.length) → mempool_tx_size_bytes
 *   p2p transport, on a timer:             setPeers(transport.stats()) → p2p_peers,
 *         p2p_peer_{receive,send}_bytes_total{peer_id, chID},
 *         p2p_message_{receive,send}_bytes_total{message_type} (message_type = channel)
 *   app, per committed tx:                 observeTx(operation, code) → app_txs_total
 *   app, per disbursement:                 addDisbursed(category, fen) → app_disbursed_fen_total
 *   app aggregate queries, after a block:  setApplications({ submitted: n, … }),
 *                                          setOpenEscalations({ county: n, … })
 *   node lifecycle:                        setReady(bool) → node_ready
 *
 * Counters fed from cumulative totals (mempool counters, p2p stats) advance by the
 * difference from the last call; a total that goes down (the component was recreated)
 * counts as a restart from zero, as Prometheus's rate() would.
 *
 * Semantics kept from CometBFT: consensus_duplicate_vote counts redundant copies of a vote
 * already counted (normal under gossip), NOT equivocation; equivocation shows as
 * consensus_byzantine_validators when evidence is committed, and earlier as the own
 * counter consensus_conflicting_votes_total. state_block_processing_time is in
 * milliseconds, as CometBFT's. One deliberate difference: CometBFT records the
 * per-validator series only for the node's own validator; here every validator of the
 * last commit gets them (bounded by the validator set; series of validators that leave
 * the set are removed), so any node shows which validator is missing.
 *
 * Never per-person labels: label values are checked (./metrics/handles.ts), and the app
 * metrics take only bounded enums (operation, result code, status, category, level).
 */
import { collectDefaultMetrics, Registry } from 'prom-client'
import { silentLogger, type Logger } from './log.ts'
import { METRIC_DEFS, type MetricDef, SUBSYSTEMS } from './metrics/defs.ts'
import { buildHandles, type MetricHandles } from './metrics/handles.ts'

export type { Counter, Gauge, Histogram, Labels, LabeledCounter, LabeledGauge, LabeledHistogram, MetricHandles } from './metrics/handles.ts'
export { METRIC_DEFS, type MetricDef, type MetricType } from './metrics/defs.ts'

export const DEFAULT_METRICS_NAMESPACE = 'aidledger'
const NAMESPACE_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/

export interface MetricsOptions {
  /** Metric name prefix (config instrumentation.namespace). Default `aidledger`. */
  namespace?: string
  /** Value of the `chain_id` label on every series. */
  chainId: string
  /** false: no-op handles, empty registry (config instrumentation.prometheus). Default true. */
  enabled?: boolean
  /** Node.js process metrics (CPU, memory, event loop, GC). Default true. */
  processMetrics?: boolean
  /** Distinct label sets kept per labelled metric; more are dropped with a warning. Default 1000. */
  maxSeriesPerMetric?: number
}

export interface MetricsDeps {
  logger?: Logger
  /** Monotonic milliseconds, for round and step durations. Default performance.now. */
  now?: () => number
}

export type Power = number | bigint

export interface CommitSignatureObservation {
  /** Validator address: hex string, or bytes (shown as upper-case hex, as CometBFT). */
  address: string | Uint8Array
  power: Power
  /** true when the commit carries this validator's precommit for the block (BlockIDFlagCommit). */
  signed: boolean
}

export interface BlockObservation {
  height: number
  numTxs: number
  /** Encoded block size in bytes. */
  sizeBytes: number
  /** 'blocksync' for blocks fetched from peers while catching up. Default 'consensus'. */
  source?: 'consensus' | 'blocksync'
  /** Txs in the chain up to this block; when absent, numTxs is added to the running total. */
  totalTxs?: number
  /** Header time of this block minus the previous block's, in seconds. */
  intervalSeconds?: number
  /** How long finalizeBlock took, in milliseconds (CometBFT's unit for this metric). */
  processingMs?: number
  /** The validator set of this height. */
  validators?: { count: number, power: Power }
  /** The block's last_commit: every validator of height-1 and whether it signed. */
  lastCommit?: { height: number, signatures: readonly CommitSignatureObservation[] }
  /** Validators named in this block's evidence. Absent means none. */
  byzantine?: { count: number, power: Power }
  /** Validator updates and consensus-param updates returned by finalizeBlock. */
  validatorUpdates?: number
  consensusParamUpdates?: number
}

/** consensus/mempool.ts MempoolCounters (cumulative). */
export interface MempoolCountersObservation {
  failed: number
  rejected: number
  evicted: number
  recheck: number
  alreadyReceived?: number
}

export interface MempoolObservation {
  size: number
  sizeBytes: number
  counters?: MempoolCountersObservation
  /** Config mempool.size and mempool.max_txs_bytes; needed by the "mempool near full" alert. */
  sizeLimit?: number
  sizeBytesLimit?: number
}

export interface ChannelBytesObservation {
  bytesSent: number
  bytesReceived: number
}

/** What p2p/transport.ts `stats()` returns (the fields used here; totals are cumulative). */
export interface PeersObservation {
  peers: number
  channels?: Readonly<Record<string, ChannelBytesObservation>>
  perPeer?: Readonly<Record<string, { readonly channels: Readonly<Record<string, ChannelBytesObservation>> }>>
}

export interface Metrics extends MetricHandles {
  readonly enabled: boolean
  readonly namespace: string
  readonly chainId: string
  /** This object's own registry (empty when disabled). */
  readonly registry: Registry
  /** Content-Type of `render()`'s text (Prometheus text format 0.0.4). */
  readonly contentType: string
  /** The exposition text of every metric ('' when disabled). */
  render: () => Promise<string>
  /** Every metric family name exported, namespace included, sorted ([] when disabled). */
  names: () => string[]

  observeBlock: (b: BlockObservation) => void
  /**
   * At start, from the block store: the committed height (and tx total) before any new
   * block, so latest_block_height is right from the first scrape, not 0.
   */
  setCommittedHeight: (height: number, totalTxs?: number) => void
  enterStep: (height: number, round: number, step: string) => void
  setSyncing: (syncing: boolean) => void
  observeDuplicateVote: () => void
  observeDuplicateBlockPart: () => void
  observeConflictingVote: () => void
  setMempool: (m: MempoolObservation) => void
  observeMempoolTx: (sizeBytes: number) => void
  setPeers: (p: PeersObservation) => void
  observeTx: (operation: string, code: number) => void
  addDisbursed: (category: string, fen: number | bigint) => void
  /** A full snapshot: statuses seen before but absent now are set to 0. */
  setApplications: (countsByStatus: Readonly<Record<string, number>>) => void
  /** A full snapshot by office level, as setApplications. */
  setOpenEscalations: (countsByLevel: Readonly<Record<string, number>>) => void
  setReady: (ready: boolean) => void
}

const toNumber = (p: Power): number => (typeof p === 'bigint' ? Number(p) : p)

function addressLabel (a: string | Uint8Array): string {
  return typeof a === 'string' ? a : Buffer.from(a).toString('hex').toUpperCase()
}

export function createMetrics (opts: MetricsOptions, deps: MetricsDeps = {}): Metrics {
  const namespace = opts.namespace ?? DEFAULT_METRICS_NAMESPACE
  if (!NAMESPACE_PATTERN.test(namespace)) throw new TypeError(`metrics namespace ${JSON.stringify(namespace)} must match [a-zA-Z_][a-zA-Z0-9_]*`)
  const enabled = opts.enabled ?? true
  const logger = deps.logger ?? silentLogger
  const now = deps.now ?? (() => performance.now())
  const registry = new Registry()
  if (enabled) {
    registry.setDefaultLabels({ chain_id: opts.chainId })
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: `${namespace}_` })
  }
  const h = buildHandles(enabled ? registry : null, {
    namespace,
    maxSeriesPerMetric: opts.maxSeriesPerMetric ?? 1000,
    logger,
  })

  // ---- cumulative totals → counter increments ----
  const lastTotals = new Map<string, number>()
  const advance = (key: string, total: number, inc: (d: number) => void): void => {
    if (!Number.isFinite(total) || total < 0) return
    const prev = lastTotals.get(key)
    lastTotals.set(key, total)
    const d = prev === undefined || total < prev ? total : total - prev
    if (d > 0) inc(d)
  }

  // ---- block state ----
  let lastHeight = 0
  let runningTotalTxs = 0
  let validatorsSeen = new Set<string>()

  const observeLastCommit = (c: NonNullable<BlockObservation['lastCommit']>): void => {
    let missing = 0
    let missingPower = 0
    const present = new Set<string>()
    for (const s of c.signatures) {
      const power = toNumber(s.power)
      const labels = { validator_address: addressLabel(s.address) }
      present.add(labels.validator_address)
      h.consensus.validatorPower.set(labels, power)
      if (s.signed) {
        h.consensus.validatorLastSignedHeight.set(labels, c.height)
        h.consensus.validatorMissedBlocks.inc(labels, 0)
      } else {
        missing++
        missingPower += power
        h.consensus.validatorMissedBlocks.inc(labels, 1)
      }
    }
    for (const a of validatorsSeen) {
      if (present.has(a)) continue
      const labels = { validator_address: a }
      h.consensus.validatorPower.remove(labels)
      h.consensus.validatorLastSignedHeight.remove(labels)
      h.consensus.validatorMissedBlocks.remove(labels)
    }
    validatorsSeen = present
    h.consensus.missingValidators.set(missing)
    h.consensus.missingValidatorsPower.set(missingPower)
  }

  const observeBlock = (b: BlockObservation): void => {
    const isNew = b.height > lastHeight
    if (isNew) {
      lastHeight = b.height
      h.consensus.latestBlockHeight.set(b.height)
    }
    if (b.processingMs !== undefined) h.state.blockProcessingTime.observe(b.processingMs)
    if (isNew) {
      h.state.validatorSetUpdates.inc(b.validatorUpdates ?? 0)
      h.state.consensusParamUpdates.inc(b.consensusParamUpdates ?? 0)
    }
    if (b.totalTxs !== undefined) runningTotalTxs = b.totalTxs
    else if (isNew) runningTotalTxs += b.numTxs
    if (b.source === 'blocksync') {
      h.blocksync.latestBlockHeight.set(b.height)
      h.blocksync.numTxs.set(b.numTxs)
      h.blocksync.blockSizeBytes.set(b.sizeBytes)
      h.blocksync.totalTxs.set(runningTotalTxs)
      return
    }
    h.consensus.height.set(b.height)
    h.consensus.numTxs.set(b.numTxs)
    h.consensus.blockSizeBytes.set(b.sizeBytes)
    h.consensus.totalTxs.set(runningTotalTxs)
    if (isNew) {
      h.consensus.chainSizeBytes.inc(b.sizeBytes)
      if (b.intervalSeconds !== undefined && b.intervalSeconds >= 0) h.consensus.blockIntervalSeconds.observe(b.intervalSeconds)
    }
    if (b.validators !== undefined) {
      h.consensus.validators.set(b.validators.count)
      h.consensus.validatorsPower.set(toNumber(b.validators.power))
    }
    if (b.lastCommit !== undefined) observeLastCommit(b.lastCommit)
    h.consensus.byzantineValidators.set(b.byzantine?.count ?? 0)
    h.consensus.byzantineValidatorsPower.set(toNumber(b.byzantine?.power ?? 0))
  }

  // ---- rounds and steps (CometBFT MarkRound / MarkStep: a step's time is observed under
  // the step that ended, when the next one starts) ----
  let cur: { height: number, round: number, step: string, roundStart: number, stepStart: number } | null = null
  const enterStep = (height: number, round: number, step: string): void => {
    const t = now()
    if (cur === null) {
      cur = { height, round, step, roundStart: t, stepStart: t }
      h.consensus.rounds.set(round)
      return
    }
    const newRound = height !== cur.height || round !== cur.round
    if (newRound || step !== cur.step) {
      h.consensus.stepDurationSeconds.observe({ step: cur.step }, (t - cur.stepStart) / 1000)
      cur.stepStart = t
      cur.step = step
    }
    if (newRound) {
      h.consensus.roundDurationSeconds.observe((t - cur.roundStart) / 1000)
      h.consensus.rounds.set(round)
      cur.roundStart = t
      cur.height = height
      cur.round = round
    }
  }

  // ---- app snapshots ----
  const snapshot = (set: (labels: Record<string, string>, v: number) => void, label: string) => {
    const seen = new Set<string>()
    return (counts: Readonly<Record<string, number>>): void => {
      for (const k of seen) if (!Object.prototype.hasOwnProperty.call(counts, k)) set({ [label]: k }, 0)
      for (const [k, v] of Object.entries(counts)) {
        seen.add(k)
        set({ [label]: k }, v)
      }
    }
  }

  const familyNames = (): string[] => {
    if (!enabled) return []
    return registry.getMetricsAsArray().map((m) => (m as unknown as { name: string }).name).sort()
  }

  return {
    ...h,
    enabled,
    namespace,
    chainId: opts.chainId,
    registry,
    contentType: registry.contentType,
    // prom-client 15 writes NaN as "Nan" (lib/util.js); Prometheus's parser takes any case,
    // the exposition format and stricter parsers (OpenMetrics) want "NaN".
    render: async () => (enabled ? (await registry.metrics()).replace(/ Nan$/gm, ' NaN') : ''),
    names: familyNames,

    observeBlock,
    setCommittedHeight: (height, totalTxs) => {
      if (height > lastHeight) lastHeight = height
      h.consensus.latestBlockHeight.set(lastHeight)
      h.consensus.height.set(lastHeight)
      if (totalTxs !== undefined) {
        runningTotalTxs = totalTxs
        h.consensus.totalTxs.set(totalTxs)
      }
    },
    enterStep,
    setSyncing: (syncing) => { h.blocksync.syncing.set(syncing ? 1 : 0) },
    observeDuplicateVote: () => { h.consensus.duplicateVote.inc() },
    observeDuplicateBlockPart: () => { h.consensus.duplicateBlockPart.inc() },
    observeConflictingVote: () => { h.consensus.conflictingVotes.inc() },
    setMempool: (m) => {
      h.mempool.size.set(m.size)
      h.mempool.sizeBytes.set(m.sizeBytes)
      if (m.sizeLimit !== undefined) h.mempool.sizeLimit.set(m.sizeLimit)
      if (m.sizeBytesLimit !== undefined) h.mempool.sizeBytesLimit.set(m.sizeBytesLimit)
      const c = m.counters
      if (c === undefined) return
      advance('mempool.failed', c.failed, (d) => { h.mempool.failedTxs.inc(d) })
      advance('mempool.rejected', c.rejected, (d) => { h.mempool.rejectedTxs.inc(d) })
      advance('mempool.evicted', c.evicted, (d) => { h.mempool.evictedTxs.inc(d) })
      advance('mempool.recheck', c.recheck, (d) => { h.mempool.recheckTimes.inc(d) })
      if (c.alreadyReceived !== undefined) advance('mempool.already', c.alreadyReceived, (d) => { h.mempool.alreadyReceivedTxs.inc(d) })
    },
    observeMempoolTx: (sizeBytes) => { h.mempool.txSizeBytes.observe(sizeBytes) },
    setPeers: (p) => {
      h.p2p.peers.set(p.peers)
      for (const [type, c] of Object.entries(p.channels ?? {})) {
        const labels = { message_type: type }
        advance(`msg\u0000${type}\u0000s`, c.bytesSent, (d) => { h.p2p.messageSendBytesTotal.inc(labels, d) })
        advance(`msg\u0000${type}\u0000r`, c.bytesReceived, (d) => { h.p2p.messageReceiveBytesTotal.inc(labels, d) })
      }
      for (const [peer, ps] of Object.entries(p.perPeer ?? {})) {
        for (const [ch, c] of Object.entries(ps.channels)) {
          const labels = { peer_id: peer, chID: ch }
          advance(`peer\u0000${peer}\u0000${ch}\u0000s`, c.bytesSent, (d) => { h.p2p.peerSendBytesTotal.inc(labels, d) })
          advance(`peer\u0000${peer}\u0000${ch}\u0000r`, c.bytesReceived, (d) => { h.p2p.peerReceiveBytesTotal.inc(labels, d) })
        }
      }
    },
    observeTx: (operation, code) => { h.app.txs.inc({ operation, code }) },
    addDisbursed: (category, fen) => { h.app.disbursedFen.inc({ category }, typeof fen === 'bigint' ? Number(fen) : fen) },
    setApplications: snapshot((l, v) => { h.app.applications.set(l as { status: string }, v) }, 'status'),
    setOpenEscalations: snapshot((l, v) => { h.app.openEscalations.set(l as { level: string }, v) }, 'level'),
    setReady: (ready) => { h.node.ready.set(ready ? 1 : 0) },
  }
}

/** Every metric family `createMetrics` defines from the table (namespace included), with its type. */
export function metricCatalogue (namespace = DEFAULT_METRICS_NAMESPACE): Array<{ name: string, type: MetricDef['type'], labels: readonly string[] }> {
  return SUBSYSTEMS.flatMap((s) => (Object.values(METRIC_DEFS[s]) as MetricDef[])
    .map((d) => ({ name: `${namespace}_${d.name}`, type: d.type, labels: d.labels ?? [] })))
}
