/**
 * NodeBackend: the narrow face the node shows to its JSON-RPC server (rpc/), after the
 * `Environment` of CometBFT rpc/core/env.go. rpc/ imports only this kernel interface, never
 * consensus/, state/ or p2p/ (DESIGN §2); the node assembly implements it from the real
 * components (block store, consensus state store, engine, mempool, app, evidence pool,
 * transport), and tests implement it with fixed data.
 *
 * Everything the RPC renders is derived from these readers, as CometBFT's routes derive it
 * from the stores: status from the block store + validator set, commits from the block
 * store, validators/params from the state store. Events come in as `NodeEvent`s; the RPC
 * derives CometBFT's NewBlockHeader, NewBlockEvents, Tx and ValidatorSetUpdates events from
 * each NewBlock itself, so the node emits only what it alone knows.
 */
import type { AppEvent, AppInfo, CheckTxResult, QueryRequest, QueryResponse, TxResult } from './abci.ts'
import type { Genesis } from './config/genesis.ts'
import type { BlockStore, ConsensusStateStore } from './store/index.ts'
import type { Block, BlockId, ConsensusParams, DuplicateVoteEvidence, ValidatorSet, ValidatorUpdate, Vote } from './types/index.ts'

/** CometBFT's p2p DefaultNodeInfo (what `status` and `net_info` show of a node). */
export interface NodeInfo {
  protocolVersion: { p2p: number, block: number, app: number }
  /** The node id (libp2p peer id of the node key). */
  id: string
  listenAddr: string
  /** The chain id. */
  network: string
  /** Software version. */
  version: string
  /** Ids of the channels the node speaks (rendered as upper-case hex, as CometBFT). */
  channels: Uint8Array
  moniker: string
}

export interface PeerInfo {
  /** What is known of the peer; missing fields render as CometBFT's zero values. */
  nodeInfo: Partial<NodeInfo> & { id: string }
  isOutbound: boolean
  remoteIp: string
  /** How long the connection has been up, ms. */
  connectedMs: number
}

export interface NetInfo {
  listening: boolean
  listeners: string[]
  peers: PeerInfo[]
}

/** What finalizeBlock returned for one height (CometBFT ResponseFinalizeBlock). */
export interface BlockResults {
  height: number
  txResults: TxResult[]
  events: AppEvent[]
  validatorUpdates: ValidatorUpdate[]
  consensusParamUpdates: ConsensusParams | null
  appHash: Uint8Array
}

/** CometBFT's RoundStepType names (consensus/types/round_state.go), without the prefix. */
export const ROUND_STEPS = ['NewHeight', 'NewRound', 'Propose', 'Prevote', 'PrevoteWait', 'Precommit', 'PrecommitWait', 'Commit'] as const
export type RoundStep = typeof ROUND_STEPS[number]

/** A summary of the consensus round state, for `consensus_state` and `dump_consensus_state`. */
export interface RoundStateView {
  height: number
  round: number
  step: RoundStep
  /** Unix ms. */
  startTimeMs: number
  commitTimeMs: number
  /** The set voting at `height`. */
  validators: ValidatorSet
  proposer: { address: Uint8Array, index: number }
  /** Empty when absent. */
  proposalBlockHash: Uint8Array
  lockedRound: number
  lockedBlockHash: Uint8Array
  validRound: number
  validBlockHash: Uint8Array
  commitRound: number
  /** Votes seen at `height`, per round; slot i is validator i's vote or null. */
  votes: Array<{ round: number, prevotes: Array<Vote | null>, precommits: Array<Vote | null> }>
}

/** What broadcast_tx_* get back from the mempool. */
export type BroadcastTxOutcome =
  /** The app's CheckTx verdict; `added` when the tx is now in the mempool. */
  | { ok: true, added: boolean, check: CheckTxResult }
  /** Refused before the app (full, too large, duplicate, malformed…): an RPC error. */
  | { ok: false, error: string }

export type EvidenceOutcome = { ok: true } | { ok: false, error: string }

/** Consensus events that carry only height/round/step (CometBFT EventDataRoundState). */
export const ROUND_STATE_EVENTS = [
  'NewRoundStep', 'Polka', 'Lock', 'Relock', 'Unlock', 'TimeoutPropose', 'TimeoutWait', 'ValidBlock',
] as const
export type RoundStateEventType = typeof ROUND_STATE_EVENTS[number]

/**
 * What the node publishes. NewBlock must be emitted once per committed height, in height
 * order, after the block and its results are saved; the RPC derives the other block-level
 * events (NewBlockHeader, NewBlockEvents, NewEvidence, Tx, ValidatorSetUpdates) from it.
 */
export type NodeEvent =
  | { type: 'NewBlock', block: Block, blockId: BlockId, results: BlockResults }
  | { type: RoundStateEventType, height: number, round: number, step: RoundStep }
  | { type: 'NewRound', height: number, round: number, step: RoundStep, proposer: { address: Uint8Array, index: number } }
  | { type: 'CompleteProposal', height: number, round: number, step: RoundStep, blockId: BlockId }
  | { type: 'Vote', vote: Vote }

export type NodeEventListener = (event: NodeEvent) => void

export interface NodeBackend {
  nodeInfo: () => NodeInfo
  netInfo: () => NetInfo | Promise<NetInfo>
  genesis: () => Genesis
  /** This node's validator public key, or null on a full node. */
  validatorPubKey: () => Uint8Array | null
  /** True while block sync runs (CometBFT's WaitSync). */
  catchingUp: () => boolean
  /** The block store (src/store) or any reader with the same methods. */
  blocks: Pick<BlockStore, 'base' | 'height' | 'loadBlock' | 'loadBlockByHash' | 'loadBlockMeta' | 'loadBlockMetaByHash' | 'loadCommit' | 'loadSeenCommit'>
  /** The consensus state store (src/store) or any reader with the same methods. */
  state: Pick<ConsensusStateStore, 'loadValidators' | 'loadConsensusParams'>
  /**
   * finalizeBlock results of a stored height. Optional: without it the RPC serves
   * block_results from its own indexer, which keeps every height it has indexed.
   */
  loadBlockResults?: (height: number) => Promise<BlockResults | undefined>
  roundState: () => RoundStateView | undefined
  mempool: {
    size: () => number
    sizeBytes: () => number
    /** Up to `limit` txs in reap order. */
    txs: (limit: number) => Uint8Array[]
    /** CheckTx then, when accepted, into the mempool and out to peers. */
    broadcastTx: (tx: Uint8Array) => Promise<BroadcastTxOutcome>
  }
  /** The app's CheckTx against its check state, without adding the tx anywhere. */
  checkTx: (tx: Uint8Array) => Promise<CheckTxResult>
  abciInfo: () => Promise<AppInfo>
  abciQuery: (req: QueryRequest) => Promise<QueryResponse>
  /** Into the evidence pool (and out to peers) after its checks. */
  broadcastEvidence: (ev: DuplicateVoteEvidence) => Promise<EvidenceOutcome>
  /** Returns the unsubscribe function. Listeners are called synchronously, in order. */
  subscribe: (listener: NodeEventListener) => () => void
  /** Readiness for load balancers (GET /ready): caught up and enough peers. Absent = always ready. */
  readiness?: () => Readiness
}

export interface Readiness {
  ready: boolean
  /** Why not ready, in words an operator can act on; empty when ready. */
  reasons: string[]
  /** Figures behind the verdict (rendered as JSON fields). */
  details?: Record<string, string | number | boolean>
}
