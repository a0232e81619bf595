/**
 * The Application interface (DESIGN §5), shaped after ABCI 2.0 (CometBFT v0.38) but
 * in-process and typed. Consensus talks to the app only through this; the app never sees
 * consensus internals. Everything here is deterministic: same blocks → same results and
 * app hash on every node, on every run, after any restart.
 */
import type { ConsensusParams } from './types/params.ts'
import type { DuplicateVoteEvidence } from './types/evidence.ts'
import type { ValidatorUpdate } from './types/validator.ts'

/** An event attribute; `index` marks it for the tx indexer and subscriptions. */
export interface EventAttribute { key: string, value: string, index: boolean }
export interface AppEvent { type: string, attributes: EventAttribute[] }

/** Result code 0 is success; the app's catalogue (state/) names every other code. */
export interface TxResult {
  code: number
  codespace: string
  log: string
  data: Uint8Array
  events: AppEvent[]
}

export type CheckTxMode = 'new' | 'recheck'

export interface CheckTxResult {
  code: number
  codespace: string
  log: string
  /** Key under which the mempool groups txs of one signer (for fair reaping), hex. */
  sender: string
}

export interface AppInfo {
  version: string
  appVersion: number
  lastBlockHeight: number
  lastBlockAppHash: Uint8Array
}

export interface InitChainRequest {
  chainId: string
  time: number
  initialHeight: number
  consensusParams: ConsensusParams
  validators: ValidatorUpdate[]
  /** The genesis `app_state` as canonical JSON bytes (UTF-8). */
  appStateBytes: Uint8Array
}

export interface InitChainResponse {
  /** Null keeps the genesis validators. */
  validators: ValidatorUpdate[] | null
  consensusParams: ConsensusParams | null
  appHash: Uint8Array
}

export interface PrepareProposalRequest {
  txs: Uint8Array[]
  maxTxBytes: number
  height: number
  time: number
  proposerAddress: Uint8Array
}

export interface ProcessProposalRequest {
  txs: Uint8Array[]
  height: number
  time: number
  hash: Uint8Array
  proposerAddress: Uint8Array
}

export interface FinalizeBlockRequest {
  txs: Uint8Array[]
  height: number
  time: number
  hash: Uint8Array
  proposerAddress: Uint8Array
  misbehavior: DuplicateVoteEvidence[]
  nextValidatorsHash: Uint8Array
}

export interface FinalizeBlockResponse {
  txResults: TxResult[]
  events: AppEvent[]
  /** Applied at height H+2 (DESIGN §4). */
  validatorUpdates: ValidatorUpdate[]
  consensusParamUpdates: ConsensusParams | null
  appHash: Uint8Array
}

export interface QueryRequest {
  path: string
  data: Uint8Array
  /** 0 = latest committed. */
  height: number
  prove: boolean
}

export interface ProofOp { type: string, key: Uint8Array, data: Uint8Array }

export interface QueryResponse {
  code: number
  codespace: string
  log: string
  key: Uint8Array
  value: Uint8Array
  proofOps: ProofOp[]
  height: number
}

export interface Application {
  info: () => Promise<AppInfo>
  initChain: (req: InitChainRequest) => Promise<InitChainResponse>
  checkTx: (tx: Uint8Array, mode: CheckTxMode) => Promise<CheckTxResult>
  prepareProposal: (req: PrepareProposalRequest) => Promise<Uint8Array[]>
  processProposal: (req: ProcessProposalRequest) => Promise<'accept' | 'reject'>
  finalizeBlock: (req: FinalizeBlockRequest) => Promise<FinalizeBlockResponse>
  /** Persists the state finalizeBlock produced; returns the height below which blocks may be pruned (0 = keep all). */
  commit: () => Promise<{ retainHeight: number }>
  query: (req: QueryRequest) => Promise<QueryResponse>
}

/**
 * Signature checks on tx envelopes, shared by the mempool and the app: the node wires in
 * the crypto worker pool with its cache keyed by tx hash, so a tx verified on entry to the
 * mempool is not verified again in finalizeBlock (DESIGN §3).
 */
export interface TxSignatureVerifier {
  /** verdicts[i] is whether envelope i's signature is valid under the consensus rule. */
  verifyTxs: (items: ReadonlyArray<{ txHash: Uint8Array, pubKey: Uint8Array, signBytes: Uint8Array, signature: Uint8Array }>) => Promise<boolean[]>
}
