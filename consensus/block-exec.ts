/**
 * Block execution, after CometBFT state/execution.go (CreateProposalBlock, ValidateBlock,
 * ApplyBlock, updateState) and consensus/replay.go (Handshaker.ReplayBlocks), DESIGN §3-§5.
 *
 * The executor owns the chain state (src/types ChainState) after the last block:
 *
 *   createProposalBlock  reap the mempool by bytes, pending evidence, the last commit,
 *                        app.prepareProposal, a header with every hash
 *   validateBlock        everything a block must satisfy against the chain state: basic
 *                        validation, header fields, time (> previous block; ≤ our clock +
 *                        max drift for proposals), the last commit (verifyCommit), evidence
 *                        (evidence pool), app.processProposal
 *   applyBlock           save block + parts + seen commit (one batch) → WAL end-of-height
 *                        (fsync) → app.finalizeBlock → save the response → save the chain
 *                        state → app.commit + mempool update (under the mempool lock) →
 *                        evidence markCommitted → prune below the app's retain height
 *   handshake            initChain at genesis; replay stored blocks into an app that is
 *                        behind; refuse to start if the app is ahead or hashes disagree
 *
 * Validator sets in the chain state. CometBFT keeps the round-0 proposer in the stored
 * ValidatorSet; our schema keeps only priorities. So a ChainState set for height H holds the
 * priorities BEFORE that height's increment: CometBFT's set for H is
 * incrementProposerPriority(set, 1), whose `proposer` is round 0's proposer (`proposerSetFor`).
 * Updates returned by finalizeBlock(H) take effect at H+2 (DESIGN §4):
 *   next(H+2) = updateWithChangeSet(increment(next(H+1), 1), updates)   (= CometBFT updateState)
 * Membership, powers and the set hash (which excludes priorities) are the same either way.
 *
 * Crash windows (the order above): block saved, state not → the block is applied again on
 * start; state saved, app behind (an app that persists in commit, as state/app.ts does) →
 * the handshake replays the block into the app and checks its app hash. An app that
 * persists already in finalizeBlock can be one block ahead of the chain state: the state
 * is rebuilt from the saved finalize response without the app (CometBFT's stored ABCI
 * responses); a crash before that response was saved leaves nothing to rebuild from, and
 * the handshake refuses to start with an error that says to restore the app.
 */
import type { Application, FinalizeBlockResponse, InitChainResponse } from '../src/abci.ts'
import { equalBytes, toHex } from '../src/bytes.ts'
import type { Clock } from '../src/clock.ts'
import { bool, bytes, decode, encode, list, optional, str, struct, uint, type Infer } from '../src/codec/index.ts'
import { addressFromPubKey } from '../src/crypto/address.ts'
import { merkleRoot } from '../src/crypto/merkle.ts'
import type { VerifyPool } from '../src/crypto/pool.ts'
import { AidError, type Result, fail, ok } from '../src/errors.ts'
import type { Logger } from '../src/log.ts'
import type { BlockStore, ConsensusStateStore } from '../src/store/index.ts'
import {
  type Block, type BlockId, type ChainState, type Commit, type CommitTally, type Header, type PartSet, type Validator,
  type ValidatorSet, type ValidatorUpdate, type VerifyFn,
  ConsensusParamsSchema, HASH_SIZE, MAX_TXS_PER_BLOCK, blockIdEquals, commitHash, commitSignatureChecks,
  consensusParamsHash, dataHash, encodeBlock, evidenceListHash, finishCommitVerification, findValidator, headerHash,
  makePartSet, newValidatorSet as newTypesValidatorSet, nilBlockId, validateBlock as validateBlockBasic,
  validatorSetHash, verifyCommit,
} from '../src/types/index.ts'
import {
  incrementProposerPriority, updateWithChangeSet, type ProposerSet,
} from './core/proposer.ts'
import type { EngineGenesis } from './engine-types.ts'
import type { EvidencePool, EvidencePoolDeps } from './evidence-pool.ts'
import type { Mempool } from './mempool.ts'
import type { Wal } from './wal.ts'

// ---------------------------------------------------------------------------------------
// Validator sets

/** CometBFT's set of the height (priorities incremented once) and its round-0 proposer. */
export function proposerSetFor (set: ValidatorSet): ProposerSet<Validator> {
  return incrementProposerPriority([...set.validators], 1)
}

/** The state store's `incrementProposerPriority` dependency (src/store state-store.ts). */
export function incrementValidatorSet (set: ValidatorSet, times: number): ValidatorSet {
  return { validators: [...incrementProposerPriority([...set.validators], times).validators] }
}

function toChanges (updates: readonly ValidatorUpdate[]): Array<Omit<Validator, 'proposerPriority'>> {
  return updates.map((u) => ({ address: addressFromPubKey(u.pubKey), pubKey: u.pubKey, votingPower: u.power }))
}

export function validatorUpdatesOf (set: ValidatorSet): ValidatorUpdate[] {
  return set.validators.map((v) => ({ pubKey: v.pubKey, power: v.votingPower }))
}

// ---------------------------------------------------------------------------------------
// Results hash and the stored finalize responses

/** The deterministic part of a tx result (CometBFT hashes {code, data, gas…}; we have no gas). */
const ResultForHashSchema = struct('TxResultForHash', { code: uint(), data: bytes({ max: 1024 * 1024 }) })

export function lastResultsHash (results: ReadonlyArray<{ code: number, data: Uint8Array }>): Uint8Array {
  return merkleRoot(results.map((r) => encode(ResultForHashSchema, { code: r.code, data: r.data })))
}

const AttributeSchema = struct('EventAttribute', { key: str({ max: 1024 }), value: str({ max: 64 * 1024 }), index: bool })
const AppEventSchema = struct('AppEvent', { type: str({ max: 256 }), attributes: list(AttributeSchema, { max: 1024 }) })
const TxResultSchema = struct('TxResult', {
  code: uint(),
  codespace: str({ max: 256 }),
  log: str({ max: 64 * 1024 }),
  data: bytes({ max: 1024 * 1024 }),
  events: list(AppEventSchema, { max: 1024 }),
})
export const FinalizeResponseSchema = struct('FinalizeBlockResponse', {
  txResults: list(TxResultSchema, { max: MAX_TXS_PER_BLOCK }),
  events: list(AppEventSchema, { max: 4096 }),
  validatorUpdates: list(struct('ValidatorUpdate', { pubKey: bytes({ len: 32 }), power: uint() }), { max: 1000 }),
  consensusParamUpdates: optional(ConsensusParamsSchema),
  appHash: bytes({ max: HASH_SIZE }),
})
type StoredFinalizeResponse = Infer<typeof FinalizeResponseSchema>

/** Finalize responses by height (CometBFT's ABCIResponses; also what RPC block_results serves). */
export interface FinalizeResponseStore {
  save: (height: number, response: FinalizeBlockResponse) => Promise<void>
  load: (height: number) => Promise<FinalizeBlockResponse | undefined>
}

const VIEW = { keyEncoding: 'view', valueEncoding: 'view' } as const

/** The slice of abstract-level (classic-level, memory-level, a sublevel) the response store uses. */
export interface ResponseDb {
  get: (key: Uint8Array, opts: typeof VIEW) => Promise<Uint8Array | undefined>
  put: (key: Uint8Array, value: Uint8Array, opts: typeof VIEW & { sync?: boolean }) => Promise<void>
}

function responseKey (h: number): Uint8Array {
  const k = new Uint8Array(11)
  k[0] = 0x66 // 'f'
  k[1] = 0x72 // 'r'
  const v = new DataView(k.buffer)
  v.setUint32(3, Math.floor(h / 2 ** 32))
  v.setUint32(7, h >>> 0)
  return k
}

function storedResponse (r: FinalizeBlockResponse): StoredFinalizeResponse {
  return {
    txResults: r.txResults.map((t) => ({ code: t.code, codespace: t.codespace, log: t.log, data: t.data, events: t.events })),
    events: r.events,
    validatorUpdates: r.validatorUpdates.map((u) => ({ pubKey: u.pubKey, power: u.power })),
    consensusParamUpdates: r.consensusParamUpdates,
    appHash: r.appHash,
  }
}

/** A response store over an abstract-level database (its keys start with "fr"). */
export function createFinalizeResponseStore (db: ResponseDb): FinalizeResponseStore {
  return {
    save: async (h, r) => { await db.put(responseKey(h), encode(FinalizeResponseSchema, storedResponse(r)), { ...VIEW, sync: true }) },
    load: async (h) => {
      const raw = await db.get(responseKey(h), VIEW)
      if (raw === undefined) return undefined
      try {
        return decode(FinalizeResponseSchema, raw, { maxBytes: 256 * 1024 * 1024 })
      } catch (err) {
        throw new AidError('ERR_STORE_CORRUPT', (err as Error).message, `finalizeResponse/${h}`)
      }
    },
  }
}

/** Responses kept in memory only: enough for a node that never crashes between finalizeBlock and saving the state. */
export function createMemoryResponseStore (): FinalizeResponseStore {
  const m = new Map<number, Uint8Array>()
  return {
    save: async (h, r) => { m.set(h, encode(FinalizeResponseSchema, storedResponse(r))) },
    load: async (h) => {
      const raw = m.get(h)
      return raw === undefined ? undefined : decode(FinalizeResponseSchema, raw, { maxBytes: 256 * 1024 * 1024 })
    },
  }
}

// ---------------------------------------------------------------------------------------
// Chain state transitions

/** The chain state before the first block (CometBFT MakeGenesisState + InitChain's answer). */
export function genesisChainState (chainId: string, g: EngineGenesis, init: InitChainResponse | null): ChainState {
  const vals = init?.validators != null && init.validators.length > 0
    ? newTypesValidatorSet(init.validators.map((u) => ({ pubKey: u.pubKey, votingPower: u.power })))
    : g.validatorSet
  const validators: ValidatorSet = { validators: vals.validators.map((v) => ({ ...v, proposerPriority: 0n })) }
  return {
    chainId,
    initialHeight: g.initialHeight,
    lastBlockHeight: 0,
    lastBlockId: nilBlockId(),
    lastBlockTime: g.genesisTimeMs,
    validators,
    nextValidators: { validators: [...proposerSetFor(validators).validators] },
    lastValidators: { validators: [] },
    lastHeightValidatorsChanged: g.initialHeight,
    consensusParams: init?.consensusParams ?? g.consensusParams,
    lastHeightConsensusParamsChanged: g.initialHeight,
    lastResultsHash: lastResultsHash([]),
    appHash: init?.appHash ?? new Uint8Array(0),
  }
}

/** The height the next block has. */
export function nextHeightOf (s: ChainState): number {
  return s.lastBlockHeight === 0 ? s.initialHeight : s.lastBlockHeight + 1
}

/**
 * CometBFT updateState: the chain state after `header`'s block with finalizeBlock's answer.
 * Throws ERR_TYPES_INVALID when the app's validator or params updates are invalid (an app
 * bug the node must not paper over; CometBFT panics).
 */
export function updateChainState (s: ChainState, blockId: BlockId, header: Header, resp: FinalizeBlockResponse): ChainState {
  const h = header.height
  let next = s.nextValidators
  let lastHeightValidatorsChanged = s.lastHeightValidatorsChanged
  const incremented = [...proposerSetFor(s.nextValidators).validators]
  if (resp.validatorUpdates.length > 0) {
    const r = updateWithChangeSet(incremented, toChanges(resp.validatorUpdates))
    if (!r.ok) throw new AidError('ERR_TYPES_INVALID', `finalizeBlock(${h}) returned invalid validator updates: ${r.error.message}`, 'validatorUpdates')
    next = { validators: r.value }
    lastHeightValidatorsChanged = h + 2
  } else {
    next = { validators: incremented }
  }
  let params = s.consensusParams
  let lastHeightConsensusParamsChanged = s.lastHeightConsensusParamsChanged
  if (resp.consensusParamUpdates !== null) {
    try {
      encode(ConsensusParamsSchema, resp.consensusParamUpdates)
    } catch (err) {
      throw new AidError('ERR_TYPES_INVALID', `finalizeBlock(${h}) returned invalid consensus params: ${(err as Error).message}`, 'consensusParamUpdates')
    }
    params = resp.consensusParamUpdates
    lastHeightConsensusParamsChanged = h + 1
  }
  return {
    ...s,
    lastBlockHeight: h,
    lastBlockId: blockId,
    lastBlockTime: header.time,
    lastValidators: s.validators,
    validators: s.nextValidators,
    nextValidators: next,
    lastHeightValidatorsChanged,
    consensusParams: params,
    lastHeightConsensusParamsChanged,
    lastResultsHash: lastResultsHash(resp.txResults),
    appHash: resp.appHash,
  }
}

/**
 * The commit of block `blockId` at `height` from precommits held by consensus, one slot per
 * validator of `set` in set order (CometBFT VoteSet.MakeCommit): a precommit for another
 * block cannot appear (its signature covers that block), so its slot is absent.
 */
export function makeCommit (set: ValidatorSet, height: number, round: number, blockId: BlockId,
  precommits: ReadonlyArray<import('../src/types/index.ts').Vote>): Commit {
  const byIndex = new Map<number, import('../src/types/index.ts').Vote>()
  for (const v of precommits) if (v.height === height && v.round === round && v.type === 'precommit') byIndex.set(v.validatorIndex, v)
  const signatures = set.validators.map((val, i) => {
    const v = byIndex.get(i)
    if (v === undefined || !equalBytes(v.validatorAddress, val.address)) {
      return { flag: 'absent' as const, validatorAddress: new Uint8Array(20), timestamp: 0, signature: new Uint8Array(0) }
    }
    const isNil = v.blockId.hash.length === 0
    if (!isNil && !blockIdEquals(v.blockId, blockId)) {
      return { flag: 'absent' as const, validatorAddress: new Uint8Array(20), timestamp: 0, signature: new Uint8Array(0) }
    }
    return { flag: isNil ? 'nil' as const : 'commit' as const, validatorAddress: v.validatorAddress, timestamp: v.timestamp, signature: v.signature }
  })
  return { height, round, blockId, signatures }
}

// ---------------------------------------------------------------------------------------
// The executor

export interface BlockExecutorOptions {
  /** How far ahead of our clock a proposed block's time may be (ms). */
  maxClockDriftMs: number
}

export interface BlockExecutorDeps {
  chainId: string
  genesis: EngineGenesis
  app: Application
  blockStore: BlockStore
  stateStore: ConsensusStateStore
  wal: Pick<Wal, 'writeEndHeight'>
  mempool: Pick<Mempool, 'reap' | 'exclusive'>
  evidencePool: Pick<EvidencePool, 'pendingEvidence' | 'checkBlockEvidence' | 'markCommitted'>
  clock: Clock
  verify: VerifyFn
  verifyPool?: Pick<VerifyPool, 'verifyBatch'> | undefined
  responses: FinalizeResponseStore
  logger: Logger
}

export interface ProposalBlock {
  block: Block
  parts: PartSet
  blockId: BlockId
}

export interface AppliedBlock {
  state: ChainState
  blockId: BlockId
  response: FinalizeBlockResponse
  /** Wall time of finalizeBlock through the app commit, ms: for metrics only, never for state. */
  processingMs: number
}

export interface ValidateBlockOptions {
  /** Check the time against our clock + max drift (proposals; not replay or block sync). */
  checkDrift: boolean
  /** Ask app.processProposal (consensus; CometBFT block sync does not). */
  processProposal: boolean
}

export interface BlockExecutor {
  /** The chain state after the last block; throws before handshake(). */
  state: () => ChainState
  handshake: () => Promise<ChainState>
  createProposalBlock: (proposer: Uint8Array, lastCommit: Commit | null) => Promise<ProposalBlock>
  validateBlock: (block: Block, opts: ValidateBlockOptions) => Promise<Result<void>>
  /** Applies the next block (which must be valid); saves it unless the store already holds it. */
  applyBlock: (block: Block, parts: PartSet, seenCommit: Commit) => Promise<AppliedBlock>
  verifyCommit: (set: ValidatorSet, blockId: BlockId, height: number, commit: Commit) => Promise<Result<CommitTally>>
}

function invalid (at: string, detail: string): Result<never> {
  return fail(new AidError('ERR_TYPES_INVALID', detail, at))
}

function expectHash (at: string, what: string, got: Uint8Array, want: Uint8Array): Result<void> | undefined {
  return equalBytes(got, want) ? undefined : invalid(at, `${what} is ${toHex(got)}, expected ${toHex(want)}`)
}

export function createBlockExecutor (opts: BlockExecutorOptions, deps: BlockExecutorDeps): BlockExecutor {
  const { chainId, genesis, app, blockStore, stateStore, wal, mempool, evidencePool, clock, responses } = deps
  const log = deps.logger
  let current: ChainState | undefined

  const state = (): ChainState => {
    if (current === undefined) throw new AidError('ERR_STORE_NOT_FOUND', 'chain state not loaded: handshake first', 'block-exec')
    return current
  }

  const verifyCommitWith = async (set: ValidatorSet, blockId: BlockId, height: number, commit: Commit): Promise<Result<CommitTally>> => {
    if (deps.verifyPool === undefined) return verifyCommit(chainId, set, blockId, height, commit, deps.verify)
    const pending = commitSignatureChecks(chainId, set, blockId, height, commit)
    if (!pending.ok) return pending
    const verdicts = await deps.verifyPool.verifyBatch(pending.value.checks)
    return finishCommitVerification(pending.value, verdicts)
  }

  // ---- proposal ----

  const createProposalBlock = async (proposer: Uint8Array, lastCommit: Commit | null): Promise<ProposalBlock> => {
    const s = state()
    const height = nextHeightOf(s)
    const params = s.consensusParams
    const now = clock.now()
    const time = height === s.initialHeight ? Math.max(now, s.lastBlockTime) : Math.max(now, s.lastBlockTime + 1)
    const { evidence } = evidencePool.pendingEvidence(params.evidence.maxBytes)
    const header: Header = {
      chainId,
      height,
      time,
      lastBlockId: s.lastBlockId,
      lastCommitHash: commitHash(lastCommit),
      dataHash: dataHash([]),
      validatorsHash: validatorSetHash(s.validators),
      nextValidatorsHash: validatorSetHash(s.nextValidators),
      consensusHash: consensusParamsHash(params),
      appHash: s.appHash,
      lastResultsHash: s.lastResultsHash.length === HASH_SIZE ? s.lastResultsHash : lastResultsHash([]),
      evidenceHash: evidenceListHash(evidence),
      proposerAddress: proposer,
    }
    // Room for txs: the block without txs, plus the list header growing to array32 (5 bytes).
    const overhead = encodeBlock({ header, txs: [], evidence, lastCommit }).length + 5
    const maxTxBytes = Math.max(0, params.block.maxBytes - overhead)
    const reaped = mempool.reap(maxTxBytes, MAX_TXS_PER_BLOCK)
    const txs = await app.prepareProposal({ txs: reaped, maxTxBytes, height, time, proposerAddress: proposer })
    const block: Block = { header: { ...header, dataHash: dataHash(txs) }, txs, evidence, lastCommit }
    const encoded = encodeBlock(block)
    if (encoded.length > params.block.maxBytes) {
      throw new AidError('ERR_TYPES_INVALID', `prepareProposal returned ${txs.length} txs making a ${encoded.length}-byte block > ${params.block.maxBytes}`, 'prepareProposal')
    }
    const parts = makePartSet(encoded)
    return { block, parts, blockId: { hash: headerHash(block.header), partSetHeader: parts.header } }
  }

  // ---- validation ----

  const validateBlock = async (block: Block, o: ValidateBlockOptions): Promise<Result<void>> => {
    const s = state()
    const basic = validateBlockBasic(block, { initialHeight: s.initialHeight })
    if (!basic.ok) return basic
    const h = block.header
    const height = nextHeightOf(s)
    if (h.chainId !== chainId) return invalid('block.header.chainId', `chain id ${h.chainId}, expected ${chainId}`)
    if (h.height !== height) return invalid('block.header.height', `height ${h.height}, expected ${height}`)
    if (!blockIdEquals(h.lastBlockId, s.lastBlockId)) return invalid('block.header.lastBlockId', 'does not match the last block')
    const size = encodeBlock(block).length
    if (size > s.consensusParams.block.maxBytes) return invalid('block', `${size} bytes > max ${s.consensusParams.block.maxBytes}`)
    const hashProblem = expectHash('block.header.appHash', 'app hash', h.appHash, s.appHash) ??
      expectHash('block.header.lastResultsHash', 'last results hash', h.lastResultsHash,
        s.lastResultsHash.length === HASH_SIZE ? s.lastResultsHash : lastResultsHash([])) ??
      expectHash('block.header.validatorsHash', 'validators hash', h.validatorsHash, validatorSetHash(s.validators)) ??
      expectHash('block.header.nextValidatorsHash', 'next validators hash', h.nextValidatorsHash, validatorSetHash(s.nextValidators)) ??
      expectHash('block.header.consensusHash', 'consensus params hash', h.consensusHash, consensusParamsHash(s.consensusParams))
    if (hashProblem !== undefined) return hashProblem
    if (findValidator(s.validators, h.proposerAddress) === undefined) {
      return invalid('block.header.proposerAddress', `${toHex(h.proposerAddress)} is not a validator of height ${height}`)
    }
    // Time: strictly after the previous block (the first block: not before genesis).
    if (height === s.initialHeight ? h.time < s.lastBlockTime : h.time <= s.lastBlockTime) {
      return invalid('block.header.time', `time ${h.time} is not after the previous block's ${s.lastBlockTime}`)
    }
    if (o.checkDrift) {
      const limit = clock.now() + opts.maxClockDriftMs
      if (h.time > limit) return invalid('block.header.time', `time ${h.time} is more than ${opts.maxClockDriftMs} ms ahead of our clock`)
    }
    if (block.lastCommit !== null) {
      const c = await verifyCommitWith(s.lastValidators, s.lastBlockId, height - 1, block.lastCommit)
      if (!c.ok) return invalid('block.lastCommit', c.error.message)
    }
    if (block.evidence.length > 0) {
      const ev = await evidencePool.checkBlockEvidence(block.evidence)
      if (!ev.ok) return ev
    }
    if (o.processProposal) {
      const verdict = await app.processProposal({ txs: block.txs, height, time: h.time, hash: headerHash(h), proposerAddress: h.proposerAddress })
      if (verdict !== 'accept') return fail(new AidError('ERR_TYPES_INVALID', 'the application rejected the block', 'processProposal'))
    }
    return ok(undefined)
  }

  // ---- application ----

  const checkResponse = (block: Block, r: FinalizeBlockResponse): void => {
    if (r.txResults.length !== block.txs.length) {
      throw new AidError('ERR_TYPES_INVALID', `finalizeBlock returned ${r.txResults.length} results for ${block.txs.length} txs`, 'finalizeBlock')
    }
    if (!(r.appHash instanceof Uint8Array) || r.appHash.length > HASH_SIZE) {
      throw new AidError('ERR_TYPES_INVALID', 'finalizeBlock returned an app hash that is not ≤ 32 bytes', 'finalizeBlock')
    }
  }

  const finalize = async (block: Block): Promise<FinalizeBlockResponse> => {
    const h = block.header
    const r = await app.finalizeBlock({
      txs: block.txs,
      height: h.height,
      time: h.time,
      hash: headerHash(h),
      proposerAddress: h.proposerAddress,
      misbehavior: block.evidence,
      nextValidatorsHash: h.nextValidatorsHash,
    })
    checkResponse(block, r)
    return r
  }

  /** Everything after finalizeBlock: response, state, app commit + mempool, evidence, pruning. */
  const finishApply = async (block: Block, blockId: BlockId, resp: FinalizeBlockResponse, commitApp: boolean): Promise<ChainState> => {
    const h = block.header.height
    await responses.save(h, resp)
    const next = updateChainState(state(), blockId, block.header, resp)
    await stateStore.saveState(next)
    current = next
    let retainHeight = 0
    if (commitApp) {
      retainHeight = await mempool.exclusive(async (locked) => {
        const { retainHeight: rh } = await app.commit()
        await locked.update(h, block.txs, resp.txResults)
        return rh
      })
    }
    await evidencePool.markCommitted(h, block.evidence)
    if (retainHeight > blockStore.base() && retainHeight <= blockStore.height()) {
      try {
        await blockStore.prune(retainHeight)
      } catch (err) {
        log.warn('block store prune failed', { retainHeight, err })
      }
    }
    return next
  }

  const applyBlock = async (block: Block, parts: PartSet, seenCommit: Commit): Promise<AppliedBlock> => {
    const s = state()
    const h = block.header.height
    if (h !== nextHeightOf(s)) throw new AidError('ERR_STORE_INVALID_WRITE', `applying block ${h}, the chain is at ${s.lastBlockHeight}`, 'applyBlock')
    const blockId: BlockId = { hash: headerHash(block.header), partSetHeader: parts.header }
    if (blockStore.height() < h) await blockStore.saveBlock(block, parts, seenCommit)
    await wal.writeEndHeight(h)
    const started = performance.now()
    const response = await finalize(block)
    const next = await finishApply(block, blockId, response, true)
    return { state: next, blockId, response, processingMs: performance.now() - started }
  }

  // ---- handshake (CometBFT replay.go) ----

  const initChain = async (): Promise<InitChainResponse> => await app.initChain({
    chainId,
    time: genesis.genesisTimeMs,
    initialHeight: genesis.initialHeight,
    consensusParams: genesis.consensusParams,
    validators: validatorUpdatesOf(genesis.validatorSet),
    appStateBytes: genesis.appStateBytes,
  })

  const loadStored = async (h: number): Promise<{ block: Block, parts: PartSet, seen: Commit }> => {
    const block = await blockStore.loadBlock(h)
    const meta = await blockStore.loadBlockMeta(h)
    const seen = await blockStore.loadSeenCommit(h)
    if (block === undefined || meta === undefined || seen === undefined) {
      throw new AidError('ERR_STORE_CORRUPT', `block ${h} (or its seen commit) is missing from the block store`, 'handshake')
    }
    const parts = makePartSet(encodeBlock(block))
    return { block, parts, seen }
  }

  const handshake = async (): Promise<ChainState> => {
    const info = await app.info()
    const appH = info.lastBlockHeight
    const storeH = blockStore.height()
    let s = await stateStore.loadState()
    const initial = genesis.initialHeight
    const noBlocks = (h: number): boolean => h === 0 || h < initial
    const where = `app at ${appH}, block store at ${storeH}, chain state at ${s?.lastBlockHeight ?? 'none'}`

    if (s === undefined) {
      if (storeH > 0) throw new AidError('ERR_STORE_CORRUPT', `the block store holds blocks but there is no chain state (${where})`, 'handshake')
      if (!noBlocks(appH)) throw new AidError('ERR_STORE_INVALID_WRITE', `the application is ahead of the node: it has executed block ${appH} but the node has no blocks; reset the application state`, 'handshake')
      s = genesisChainState(chainId, genesis, await initChain())
      await stateStore.saveState(s)
      current = s
      log.info('genesis: initChain done', { appHash: toHex(s.appHash) })
      return s
    }
    if (s.chainId !== chainId) throw new AidError('ERR_STORE_CORRUPT', `the chain state is for chain ${s.chainId}, not ${chainId}`, 'handshake')
    const stateH = s.lastBlockHeight
    current = s
    if (storeH !== stateH && storeH !== stateH + 1) {
      throw new AidError('ERR_STORE_CORRUPT', `block store and chain state disagree (${where})`, 'handshake')
    }
    if (appH > storeH) {
      throw new AidError('ERR_STORE_INVALID_WRITE', `the application is ahead of the block store (${where}); the application state belongs to another chain or the node's data was reset`, 'handshake')
    }
    let from = appH
    if (noBlocks(appH)) {
      // The app has no block: (again) initChain; it must answer with the genesis app hash.
      const init = await initChain()
      if (stateH === 0) {
        s = genesisChainState(chainId, genesis, init)
        await stateStore.saveState(s)
        current = s
      } else {
        const first = await blockStore.loadBlockMeta(initial)
        if (first !== undefined && !equalBytes(first.header.appHash, init.appHash)) {
          throw new AidError('ERR_STORE_CORRUPT', `initChain gave app hash ${toHex(init.appHash)}, block ${initial} says ${toHex(first.header.appHash)}`, 'handshake')
        }
      }
      from = initial - 1
    }
    if (from + 1 < Math.max(blockStore.base(), initial) && from < storeH) {
      throw new AidError('ERR_STORE_NOT_FOUND', `the application needs blocks from ${from + 1}, the block store starts at ${blockStore.base()}`, 'handshake')
    }
    // Replay blocks the chain state already reflects: check each app hash against the record.
    for (let h = from + 1; h <= stateH; h++) {
      const { block } = await loadStored(h)
      const resp = await finalize(block)
      await app.commit()
      const want = h < stateH ? (await blockStore.loadBlockMeta(h + 1))?.header.appHash : s.appHash
      if (want === undefined || !equalBytes(resp.appHash, want)) {
        throw new AidError('ERR_STORE_CORRUPT', `replaying block ${h}: the application computed app hash ${toHex(resp.appHash)}, the chain recorded ${want === undefined ? 'nothing' : toHex(want)}`, 'handshake')
      }
      log.info('replayed block into the application', { height: h })
    }
    if (storeH === stateH + 1) {
      const { block, parts, seen } = await loadStored(storeH)
      const blockId: BlockId = { hash: headerHash(block.header), partSetHeader: parts.header }
      if (appH === storeH) {
        // The app persisted the block in finalizeBlock but the state was not saved: rebuild it
        // from the saved response. (Apps that persist in commit never get here: their commit
        // comes after the state is saved.)
        const resp = await responses.load(storeH)
        if (resp === undefined) {
          throw new AidError('ERR_STORE_NOT_FOUND', `the application executed block ${storeH} but neither the chain state nor its finalize response was saved; restore the application state to height ${storeH - 1}`, 'handshake')
        }
        if (!equalBytes(resp.appHash, info.lastBlockAppHash)) {
          throw new AidError('ERR_STORE_CORRUPT', `saved finalize response of block ${storeH} has app hash ${toHex(resp.appHash)}, the application reports ${toHex(info.lastBlockAppHash)}`, 'handshake')
        }
        await wal.writeEndHeight(storeH)
        s = await finishApply(block, blockId, resp, false)
      } else {
        s = (await applyBlock(block, parts, seen)).state
      }
      log.info('applied the stored block the chain state lacked', { height: storeH })
    } else if (appH === stateH && stateH > 0 && !equalBytes(info.lastBlockAppHash, s.appHash)) {
      throw new AidError('ERR_STORE_CORRUPT', `the application's app hash ${toHex(info.lastBlockAppHash)} differs from the chain state's ${toHex(s.appHash)} at height ${stateH}`, 'handshake')
    }
    if (s.lastBlockHeight > 0) {
      // Idempotent: a crash may have come between saving the state and marking the evidence.
      const last = await blockStore.loadBlock(s.lastBlockHeight)
      if (last !== undefined && last.evidence.length > 0) await evidencePool.markCommitted(s.lastBlockHeight, last.evidence)
    }
    current = s
    return s
  }

  return { state, handshake, createProposalBlock, validateBlock, applyBlock, verifyCommit: verifyCommitWith }
}

// ---------------------------------------------------------------------------------------
// Wiring helper for the node assembly

export interface EvidencePoolWiring {
  chainId: string
  blockStore: Pick<BlockStore, 'loadBlockMeta'>
  stateStore: Pick<ConsensusStateStore, 'loadValidators'>
  /** The engine's chain state once started (engine.chainState), undefined before; a throw counts as undefined. */
  chainState: () => ChainState | undefined
  /** Genesis consensus params, used before the chain state is known. */
  consensusParams: ChainState['consensusParams']
  verify?: VerifyFn
  logger?: Logger
}

/** The evidence pool's dependencies from the stores and the engine's chain state. */
export function evidencePoolDeps (w: EvidencePoolWiring): EvidencePoolDeps {
  return {
    validatorSet: async (h) => await w.stateStore.loadValidators(h),
    blockTime: async (h) => (await w.blockStore.loadBlockMeta(h))?.header.time,
    state: () => {
      let s: ChainState | undefined
      try {
        s = w.chainState()
      } catch {
        s = undefined
      }
      return {
        chainId: w.chainId,
        lastBlockHeight: s?.lastBlockHeight ?? 0,
        lastBlockTime: s?.lastBlockTime ?? 0,
        evidenceParams: (s?.consensusParams ?? w.consensusParams).evidence,
      }
    },
    ...(w.verify === undefined ? {} : { verify: w.verify }),
    ...(w.logger === undefined ? {} : { log: w.logger }),
  }
}
