/**
 * The metric table (DESIGN §9): every metric the node exports, by subsystem, with its
 * name (without the namespace), type, help text, labels and buckets. One table drives the
 * prom-client registry, the no-op set used when metrics are off, and the `Metrics` type.
 *
 * Names, types, labels and help follow CometBFT's metrics.go / metrics.gen.go files
 * (consensus/, mempool/, p2p/, state/, blocksync/). CometBFT declares counters without a
 * `_total` suffix except where the name itself ends in `_total` (p2p_peer_*_bytes_total,
 * p2p_message_*_bytes_total), and neither prom-client nor Go's client appends one, so the
 * exposed names match CometBFT's exactly. Bucket layouts are CometBFT's, except where noted.
 *
 * Metrics that are aidledger's own (not in CometBFT) are marked `own: true` and follow the
 * Prometheus naming guide (counters end in `_total`).
 */

export type MetricType = 'gauge' | 'counter' | 'histogram'

/**
 * How label values are checked before use, by label name:
 * - `id` labels (validator_address, peer_id): a node or validator identity (hex address,
 *   libp2p peer id), up to 128 characters of [A-Za-z0-9]. Bounded by the validator set and
 *   the peer allow-list. These name machines and their operators' keys, never people.
 * - every other label is `enum`: a value from a small fixed set (step, channel, status,
 *   category, level, result code). A value that looks like an identifier (16+ hex
 *   characters in a row: the shape of a subject id, office key or hash) becomes "redacted",
 *   so no per-person label reaches a scrape even by a wiring mistake.
 */
export type LabelKind = 'id' | 'enum'

export const ID_LABELS: ReadonlySet<string> = new Set(['validator_address', 'peer_id'])

export function labelKind (label: string): LabelKind {
  return ID_LABELS.has(label) ? 'id' : 'enum'
}

export interface MetricDef {
  readonly type: MetricType
  readonly name: string
  readonly help: string
  readonly labels?: readonly string[]
  readonly buckets?: readonly number[]
  readonly own?: boolean
}

/**
 * Go's prometheus.ExponentialBucketsRange(min, max, count), computed the same way and then
 * rounded to 12 significant digits, so the top bucket is `100`, not `99.99999999999993`.
 */
export function exponentialBucketsRange (min: number, max: number, count: number): number[] {
  const growth = Math.pow(max / min, 1 / (count - 1))
  return Array.from({ length: count }, (_, i) => Number((min * Math.pow(growth, i)).toPrecision(12)))
}

/** Go's prometheus.ExponentialBuckets(start, factor, count). */
export function exponentialBuckets (start: number, factor: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start * Math.pow(factor, i))
}

/** Go's prometheus.LinearBuckets(start, width, count). */
export function linearBuckets (start: number, width: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => start + width * i)
}

/** Go's prometheus.DefBuckets (also prom-client's default), used where CometBFT gives none. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

const ROUND_BUCKETS = exponentialBucketsRange(0.1, 100, 8)

export const METRIC_DEFS = {
  consensus: {
    height: { type: 'gauge', name: 'consensus_height', help: 'Height of the chain.' },
    validatorLastSignedHeight: {
      type: 'gauge',
      name: 'consensus_validator_last_signed_height',
      help: 'Last height signed by this validator if the node is a validator.',
      labels: ['validator_address'],
    },
    rounds: { type: 'gauge', name: 'consensus_rounds', help: 'Number of rounds.' },
    roundDurationSeconds: {
      type: 'histogram', name: 'consensus_round_duration_seconds', help: 'Histogram of round duration.', buckets: ROUND_BUCKETS,
    },
    validators: { type: 'gauge', name: 'consensus_validators', help: 'Number of validators.' },
    validatorsPower: { type: 'gauge', name: 'consensus_validators_power', help: 'Total power of all validators.' },
    validatorPower: {
      type: 'gauge', name: 'consensus_validator_power', help: 'Power of a validator.', labels: ['validator_address'],
    },
    validatorMissedBlocks: {
      type: 'gauge',
      name: 'consensus_validator_missed_blocks',
      help: 'Amount of blocks missed per validator.',
      labels: ['validator_address'],
    },
    missingValidators: { type: 'gauge', name: 'consensus_missing_validators', help: 'Number of validators who did not sign.' },
    missingValidatorsPower: { type: 'gauge', name: 'consensus_missing_validators_power', help: 'Total power of the missing validators.' },
    byzantineValidators: { type: 'gauge', name: 'consensus_byzantine_validators', help: 'Number of validators who tried to double sign.' },
    byzantineValidatorsPower: {
      type: 'gauge', name: 'consensus_byzantine_validators_power', help: 'Total power of the byzantine validators.',
    },
    blockIntervalSeconds: {
      type: 'histogram', name: 'consensus_block_interval_seconds', help: 'Time between this and the last block.', buckets: DEFAULT_BUCKETS,
    },
    numTxs: { type: 'gauge', name: 'consensus_num_txs', help: 'Number of transactions.' },
    blockSizeBytes: { type: 'gauge', name: 'consensus_block_size_bytes', help: 'Size of the block.' },
    chainSizeBytes: { type: 'counter', name: 'consensus_chain_size_bytes', help: 'Size of the chain in bytes.' },
    totalTxs: { type: 'gauge', name: 'consensus_total_txs', help: 'Total number of transactions.' },
    latestBlockHeight: { type: 'gauge', name: 'consensus_latest_block_height', help: 'The latest block height.' },
    duplicateBlockPart: {
      type: 'counter', name: 'consensus_duplicate_block_part', help: 'Number of times we received a duplicate block part',
    },
    duplicateVote: { type: 'counter', name: 'consensus_duplicate_vote', help: 'Number of times we received a duplicate vote' },
    stepDurationSeconds: {
      type: 'histogram',
      name: 'consensus_step_duration_seconds',
      help: 'Histogram of durations for each step in the consensus protocol.',
      labels: ['step'],
      buckets: ROUND_BUCKETS,
    },
    conflictingVotes: {
      type: 'counter',
      name: 'consensus_conflicting_votes_total',
      help: 'Conflicting votes (duplicate-vote evidence: one validator signing two values for one height, ' +
        'round and type) detected from gossip, before any commit.',
      own: true,
    },
  },
  mempool: {
    size: { type: 'gauge', name: 'mempool_size', help: 'Number of uncommitted transactions in the mempool.' },
    sizeBytes: { type: 'gauge', name: 'mempool_size_bytes', help: 'Total size of the mempool in bytes.' },
    // Buckets: Tendermint v0.34's ExponentialBuckets(1, 3, 17) (1 B … 43 MB). CometBFT v0.38's
    // (1, 3, 7) stop at 729 B, below nearly every signed envelope, so every tx would land in +Inf.
    txSizeBytes: {
      type: 'histogram', name: 'mempool_tx_size_bytes', help: 'Histogram of transaction sizes in bytes.', buckets: exponentialBuckets(1, 3, 17),
    },
    failedTxs: { type: 'counter', name: 'mempool_failed_txs', help: 'Number of failed transactions.' },
    rejectedTxs: { type: 'counter', name: 'mempool_rejected_txs', help: 'Number of rejected transactions.' },
    evictedTxs: { type: 'counter', name: 'mempool_evicted_txs', help: 'Number of evicted transactions.' },
    recheckTimes: { type: 'counter', name: 'mempool_recheck_times', help: 'Number of times transactions are rechecked in the mempool.' },
    alreadyReceivedTxs: { type: 'counter', name: 'mempool_already_received_txs', help: 'Number of duplicate transaction reception.' },
    sizeLimit: {
      type: 'gauge', name: 'mempool_size_limit', help: 'Most transactions the mempool holds (config mempool.size).', own: true,
    },
    sizeBytesLimit: {
      type: 'gauge', name: 'mempool_size_bytes_limit', help: 'Most bytes of transactions the mempool holds (config mempool.max_txs_bytes).', own: true,
    },
  },
  p2p: {
    peers: { type: 'gauge', name: 'p2p_peers', help: 'Number of peers.' },
    peerReceiveBytesTotal: {
      type: 'counter',
      name: 'p2p_peer_receive_bytes_total',
      help: 'Number of bytes received from a given peer.',
      labels: ['peer_id', 'chID'],
    },
    peerSendBytesTotal: {
      type: 'counter',
      name: 'p2p_peer_send_bytes_total',
      help: 'Number of bytes sent to a given peer.',
      labels: ['peer_id', 'chID'],
    },
    messageReceiveBytesTotal: {
      type: 'counter',
      name: 'p2p_message_receive_bytes_total',
      help: 'Number of bytes of each message type received.',
      labels: ['message_type'],
    },
    messageSendBytesTotal: {
      type: 'counter',
      name: 'p2p_message_send_bytes_total',
      help: 'Number of bytes of each message type sent.',
      labels: ['message_type'],
    },
  },
  state: {
    // Milliseconds, as CometBFT observes it (state/execution.go divides nanoseconds by 1e6),
    // despite the absent unit suffix; LinearBuckets(1, 10, 10) = 1 … 91 ms.
    blockProcessingTime: {
      type: 'histogram', name: 'state_block_processing_time', help: 'Time spent processing FinalizeBlock', buckets: linearBuckets(1, 10, 10),
    },
    consensusParamUpdates: {
      type: 'counter',
      name: 'state_consensus_param_updates',
      help: 'Number of consensus parameter updates returned by the application since process start.',
    },
    validatorSetUpdates: {
      type: 'counter',
      name: 'state_validator_set_updates',
      help: 'Number of validator set updates returned by the application since process start.',
    },
  },
  blocksync: {
    syncing: { type: 'gauge', name: 'blocksync_syncing', help: 'Whether or not a node is block syncing. 1 if yes, 0 if no.' },
    numTxs: { type: 'gauge', name: 'blocksync_num_txs', help: 'Number of transactions in the latest block.' },
    totalTxs: { type: 'gauge', name: 'blocksync_total_txs', help: 'Total number of transactions.' },
    blockSizeBytes: { type: 'gauge', name: 'blocksync_block_size_bytes', help: 'Size of the latest block.' },
    latestBlockHeight: { type: 'gauge', name: 'blocksync_latest_block_height', help: 'The height of the latest block.' },
  },
  app: {
    txs: {
      type: 'counter',
      name: 'app_txs_total',
      help: 'Transactions executed in committed blocks, by operation and result code (0 = ok).',
      labels: ['operation', 'code'],
      own: true,
    },
    applications: {
      type: 'gauge',
      name: 'app_applications',
      help: 'Assistance applications on the ledger, by status.',
      labels: ['status'],
      own: true,
    },
    disbursedFen: {
      type: 'counter',
      name: 'app_disbursed_fen_total',
      help: 'Amount disbursed in committed blocks, in fen, by program category.',
      labels: ['category'],
      own: true,
    },
    openEscalations: {
      type: 'gauge',
      name: 'app_open_escalations',
      help: 'Alerts and escalation reports not yet resolved, by the level of the office they are addressed to.',
      labels: ['level'],
      own: true,
    },
  },
  node: {
    ready: {
      type: 'gauge',
      name: 'node_ready',
      help: '1 when the node is started, caught up and taking part in consensus; 0 otherwise.',
      own: true,
    },
  },
} as const satisfies Record<string, Record<string, MetricDef>>

export type MetricDefs = typeof METRIC_DEFS
export type Subsystem = keyof MetricDefs

export const SUBSYSTEMS = Object.keys(METRIC_DEFS) as Subsystem[]

/** Every table entry, flattened. */
export function allMetricDefs (): MetricDef[] {
  return SUBSYSTEMS.flatMap((s) => Object.values(METRIC_DEFS[s]) as MetricDef[])
}
