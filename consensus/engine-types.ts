/**
 * Public types of the consensus engine shell (consensus/engine.ts): options, dependencies,
 * status and events. Kept apart so that the node assembly, RPC, metrics and the simulator
 * can import the shapes without the implementation. The API is described in the header of
 * consensus/engine.ts.
 */
import type { Application } from '../src/abci.ts'
import type { AppEvent, TxResult } from '../src/abci.ts'
import type { Clock, Timers } from '../src/clock.ts'
import type { VerifyPool } from '../src/crypto/pool.ts'
import type { Logger } from '../src/log.ts'
import type { BlockStore, ConsensusStateStore } from '../src/store/index.ts'
import type { Transport } from '../src/transport.ts'
import type {
  Block, BlockId, ChainState, ConsensusParams, DuplicateVoteEvidence, Proposal, ValidatorSet, ValidatorUpdate, VerifyFn, Vote,
} from '../src/types/index.ts'
import type { FinalizeResponseStore } from './block-exec.ts'
import type { DriverFaults } from './core/driver.ts'
import type { Step } from './core/types.ts'
import type { EvidencePool } from './evidence-pool.ts'
import type { Mempool } from './mempool.ts'
import type { PrivValidator } from './privval.ts'
import type { Wal } from './wal.ts'

/** Consensus timeouts in ms (CometBFT defaults; DESIGN §4). Round r waits base + r·delta. */
export interface ConsensusTimeouts {
  propose: number
  proposeDelta: number
  prevote: number
  prevoteDelta: number
  precommit: number
  precommitDelta: number
  /** Wait after a commit, collecting late precommits, before the next height starts. */
  commit: number
}

export const DEFAULT_TIMEOUTS: Readonly<ConsensusTimeouts> = Object.freeze({
  propose: 3000,
  proposeDelta: 500,
  prevote: 1000,
  prevoteDelta: 500,
  precommit: 1000,
  precommitDelta: 500,
  commit: 1000,
})

export interface BlocksyncOptions {
  /** Switch to block sync when a peer is this many heights ahead of our last block (default 2). */
  lagThreshold?: number
  /** Blocks requested at once (default 8). */
  window?: number
  /** A request not answered in this time goes to another peer (default 5000 ms). */
  requestTimeoutMs?: number
  /** How often our base/height is announced to peers (default 1000 ms). */
  statusIntervalMs?: number
}

export interface ConsensusEngineOptions {
  timeouts?: Partial<ConsensusTimeouts>
  /** Start the next height right after a commit instead of waiting timeouts.commit (tests). */
  skipTimeoutCommit?: boolean
  /** How far ahead of our clock a proposed block's time may be (default 10,000 ms). */
  maxClockDriftMs?: number
  /** Period of the gossip send loop (default 100 ms). */
  gossipIntervalMs?: number
  /** An item sent to a peer counts as held by it for this long, then is sent again unless the peer announced it (default 5 × gossipIntervalMs). */
  gossipResendMs?: number
  /** Largest number of votes / block parts sent to one peer per gossip tick (defaults 64 / 16). */
  maxVotesPerTick?: number
  maxPartsPerTick?: number
  /** Bytes of mempool txs sent to one peer per gossip tick (default 60 KiB, one message). */
  maxTxBytesPerTick?: number
  /** Mempool txs are offered to each peer again this often, for networks that lose messages (default 30,000 ms; 0 = never). */
  txResendMs?: number
  blocksync?: BlocksyncOptions
  /** Votes and proposals more than this many rounds ahead are ignored (default 1000). */
  maxRoundsAhead?: number
  /** Test-only fault switches of the pure core; never set in production. */
  faults?: DriverFaults
}

/** The genesis facts the engine needs (src/config Genesis maps onto it; app_state as canonical JSON bytes). */
export interface EngineGenesis {
  initialHeight: number
  genesisTimeMs: number
  /** Canonical order, zero priorities (src/config Genesis.validatorSet). */
  validatorSet: ValidatorSet
  consensusParams: ConsensusParams
  appStateBytes: Uint8Array
}

export interface ConsensusEngineDeps {
  chainId: string
  genesis: EngineGenesis
  app: Application
  blockStore: BlockStore
  stateStore: ConsensusStateStore
  wal: Wal
  /** null on a full node: it follows consensus without voting. */
  privval: PrivValidator | null
  mempool: Mempool
  evidencePool: EvidencePool
  transport: Transport
  clock: Clock
  timers: Timers
  /** Single-thread signature check under the consensus rule (src/crypto verify). */
  verify: VerifyFn
  /** When given, commit signatures of blocks are checked through the worker pool. */
  verifyPool?: Pick<VerifyPool, 'verifyBatch'>
  /**
   * Finalize responses by height (CometBFT's ABCI responses): they let a node that crashed
   * after the app executed a block but before the chain state was saved rebuild that state,
   * and serve RPC block_results. Default: kept in memory only (createMemoryResponseStore).
   * The node passes createFinalizeResponseStore(db) over its state database.
   */
  responseStore?: FinalizeResponseStore
  logger?: Logger
}

export type EngineStep = Step | 'sync' | 'stopped'

export interface ConsensusStatus {
  /** The height consensus works on (last block + 1). */
  height: number
  round: number
  step: EngineStep
  latestBlockHeight: number
  /** Empty before the first block. */
  latestBlockHash: Uint8Array
  latestAppHash: Uint8Array
  /** Unix ms; the genesis time before the first block. */
  latestBlockTime: number
  /** True while block sync runs. */
  catchingUp: boolean
  /** This node as a validator of the current height, or null (full node, or not in the set). */
  validator: { address: Uint8Array, pubKey: Uint8Array, votingPower: number } | null
}

export interface NewBlockEvent {
  type: 'new-block'
  height: number
  block: Block
  blockId: BlockId
  txResults: TxResult[]
  /** finalizeBlock's block-level events. */
  events: AppEvent[]
  validatorUpdates: ValidatorUpdate[]
  consensusParamUpdates: ConsensusParams | null
  /** The app hash after this block (goes in the next header). */
  appHash: Uint8Array
  /** 'consensus' when decided here, 'blocksync' when fetched from a peer. */
  source: 'consensus' | 'blocksync'
  /** Wall time of finalizeBlock through the app commit, ms (CometBFT's state_block_processing_time). */
  processingMs: number
}

export type ConsensusEvent =
  | NewBlockEvent
  | { type: 'new-round-step', height: number, round: number, step: EngineStep }
  | { type: 'new-round', height: number, round: number, proposer: Uint8Array }
  | { type: 'complete-proposal', height: number, round: number, blockId: BlockId, proposal: Proposal }
  /** A vote counted by consensus (own or a peer's). */
  | { type: 'vote', vote: Vote }
  | { type: 'evidence-committed', height: number, evidence: DuplicateVoteEvidence }
  | { type: 'catching-up', catchingUp: boolean }
  /** The engine stopped on an error it must not continue past (storage or WAL I/O, an app bug, a +2/3-committed invalid block). */
  | { type: 'halted', error: Error }

export type ConsensusListener = (event: ConsensusEvent) => void

export interface ConsensusEngine {
  /** Handshake with the app, restore the chain state, replay the WAL, start consensus and gossip. */
  start: () => Promise<void>
  /** Cancel timers, unsubscribe from the transport, wait for the input in flight. Stores stay open (the caller owns them). */
  stop: () => Promise<void>
  /** Resolves once the input queue is empty and no work is in flight. */
  idle: () => Promise<void>
  status: () => ConsensusStatus
  /** The chain state after the last block (valid after start()). */
  chainState: () => ChainState
  subscribe: (listener: ConsensusListener) => () => void
}
