/**
 * The consensus engine shell (DESIGN §3, §4, §8): the pure driver (consensus/core) wired to
 * the WAL, the private validator, the application, the stores, the mempool, the evidence
 * pool and the network, after CometBFT consensus/state.go + reactor.go (split here into
 * engine.ts, engine-height.ts, engine-gossip.ts, gossip.ts, blocksync.ts, block-exec.ts,
 * messages.ts).
 *
 * PUBLIC API (stable; the simulator and the node assembly code against it)
 *
 *   createConsensusEngine(options: ConsensusEngineOptions, deps: ConsensusEngineDeps): ConsensusEngine
 *
 *   deps = { chainId, genesis: { initialHeight, genesisTimeMs, validatorSet, consensusParams,
 *            appStateBytes }, app, blockStore, stateStore, wal, privval | null, mempool,
 *            evidencePool, transport, clock, timers, verify, verifyPool?, responseStore?, logger? }
 *   options = { timeouts?: { propose 3000, proposeDelta 500, prevote 1000, prevoteDelta 500,
 *               precommit 1000, precommitDelta 500, commit 1000 }, skipTimeoutCommit?,
 *               maxClockDriftMs? (10 s), gossipIntervalMs? (100), gossipResendMs?,
 *               maxVotesPerTick?, maxPartsPerTick?, maxTxBytesPerTick?, txResendMs? (30 s),
 *               blocksync?: { lagThreshold 2, window 8, requestTimeoutMs 5000, statusIntervalMs 1000 },
 *               maxRoundsAhead?, faults? (test only) }
 *   engine = { start(), stop(), idle(), status(), chainState(), subscribe(listener) → unsubscribe }
 *   events = new-block | new-round-step | new-round | complete-proposal | vote |
 *            evidence-committed | catching-up | halted
 *
 * Types: consensus/engine-types.ts. Helpers for the node assembly in block-exec.ts:
 * `evidencePoolDeps`, `incrementValidatorSet` (the state store's incrementProposerPriority),
 * `createFinalizeResponseStore` (the responseStore; also RPC block_results).
 *
 * One input, start to end: decode (messages.ts; undecodable or invalid → misbehavior
 * report) → height/round bounds → signature check → WAL append → driver step → outputs in
 * order: our proposal/vote is signed by privval, appended and fsynced to the WAL, then
 * broadcast and looped back into the driver; timeouts go to `timers`; a decision applies
 * the block (block-exec) and starts the next height after timeouts.commit. A proposal is fed
 * once its block is assembled from parts and validated (valid(v) is the block's verdict).
 * A restart replays the height's WAL records into a fresh driver; our own signed votes and
 * proposals come from the WAL, so nothing conflicting is signed (privval refuses anyway).
 *
 * Equivocators (VoteSetMaj23): the core's vote keeper counts a validator's first vote per
 * round and type. The shell also keeps a vote book of every signed vote per value
 * (engine-height.ts), announces the values it holds +2/3 for, re-sends their votes to peers
 * that do not announce them, commits on a book precommit quorum, and rebuilds the driver
 * from the height's inputs when a prevote quorum hides behind an equivocator's other vote.
 *
 * Determinism contract (for test/sim): the engine reads time only through `clock`, schedules
 * only through `timers`, and does all its async work inside ONE serial input queue; `idle()`
 * resolves when that queue is empty and nothing is in flight. Transport handlers only
 * enqueue. No unawaited promise and no real timer exists in the engine.
 */
import { equalBytes, toHex } from '../src/bytes.ts'
import type { CancelTimer } from '../src/clock.ts'
import { rootFromProof } from '../src/crypto/merkle.ts'
import { AidError, isAidError } from '../src/errors.ts'
import { silentLogger } from '../src/log.ts'
import type { PeerId } from '../src/transport.ts'
import {
  type BlockId, type ChainState, type Proposal, type Vote, blockIdKey, encodeBlock, isNilBlockId, makePartSet, newPartSetAssembler, nilBlockId,
  proposalSignBytes, voteSignBytes,
} from '../src/types/index.ts'
import {
  createBlockExecutor, createMemoryResponseStore, makeCommit, nextHeightOf, proposerSetFor, type AppliedBlock,
} from './block-exec.ts'
import { createBlocksync, type SyncedBlock } from './blocksync.ts'
import { createDriver, type DriverInput, type DriverOutput, type DriverResult } from './core/driver.ts'
import { createProposerSchedule } from './core/proposer.ts'
import type { ProposalData, TimeoutStep, VoteData } from './core/types.ts'
import {
  DEFAULT_TIMEOUTS, type ConsensusEngine, type ConsensusEngineDeps, type ConsensusEngineOptions, type ConsensusEvent,
  type ConsensusListener, type ConsensusStatus, type ConsensusTimeouts, type EngineStep,
} from './engine-types.ts'
import { createGossipLoop, evidenceItem } from './engine-gossip.ts'
import {
  MAX_PROPOSALS_PER_ROUND, buildView, decodeEntryBlock, ensureBlock, newHeightState, precommitsOfCommit, recordVote,
  toCoreProposal, toCoreVote, valueIdOf, votesKey, type BlockEntry, type HeightState, type LastHeight,
} from './engine-height.ts'
import { partItem, partSetKey, proposalItem, quorumVoteItem, voteItem, type OurView } from './gossip.ts'
import {
  decodeChannelMessage, encodeBlockPart, encodeConsensus, encodeVoteMessage, type BlockPart,
  type ChannelMessage, type StatusStep,
} from './messages.ts'
import type { WalRecord } from './wal.ts'

export * from './engine-types.ts'

/** Messages for the next height kept while we finish this one (bounded). */
const MAX_FUTURE_MESSAGES = 4096

interface ResolvedOptions {
  timeouts: ConsensusTimeouts
  skipTimeoutCommit: boolean
  maxClockDriftMs: number
  gossipIntervalMs: number
  resendMs: number
  maxVotesPerTick: number
  maxPartsPerTick: number
  maxTxBytesPerTick: number
  txResendMs: number
  maxRoundsAhead: number
  blocksync: { lagThreshold: number, window: number, requestTimeoutMs: number, statusIntervalMs: number }
}

function positive (name: string, v: number, min = 1): number {
  if (!Number.isSafeInteger(v) || v < min) throw new AidError('ERR_CONFIG_INVALID', `${name} must be an integer ≥ ${min}, got ${String(v)}`, 'consensus')
  return v
}

function resolveOptions (o: ConsensusEngineOptions): ResolvedOptions {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...o.timeouts }
  for (const [k, v] of Object.entries(timeouts)) positive(`timeouts.${k}`, v, 0)
  const gossipIntervalMs = positive('gossipIntervalMs', o.gossipIntervalMs ?? 100)
  const bs = o.blocksync ?? {}
  return {
    timeouts,
    skipTimeoutCommit: o.skipTimeoutCommit ?? false,
    maxClockDriftMs: positive('maxClockDriftMs', o.maxClockDriftMs ?? 10_000, 0),
    gossipIntervalMs,
    resendMs: positive('gossipResendMs', o.gossipResendMs ?? 5 * gossipIntervalMs),
    maxVotesPerTick: positive('maxVotesPerTick', o.maxVotesPerTick ?? 64),
    maxPartsPerTick: positive('maxPartsPerTick', o.maxPartsPerTick ?? 16),
    maxTxBytesPerTick: positive('maxTxBytesPerTick', o.maxTxBytesPerTick ?? 60 * 1024),
    txResendMs: positive('txResendMs', o.txResendMs ?? 30_000, 0),
    maxRoundsAhead: positive('maxRoundsAhead', o.maxRoundsAhead ?? 1000),
    blocksync: {
      lagThreshold: positive('blocksync.lagThreshold', bs.lagThreshold ?? 2, 2),
      window: positive('blocksync.window', bs.window ?? 8),
      requestTimeoutMs: positive('blocksync.requestTimeoutMs', bs.requestTimeoutMs ?? 5000),
      statusIntervalMs: positive('blocksync.statusIntervalMs', bs.statusIntervalMs ?? 1000),
    },
  }
}

type Output = DriverOutput<Vote, Proposal>

export function createConsensusEngine (options: ConsensusEngineOptions, deps: ConsensusEngineDeps): ConsensusEngine {
  const cfg = resolveOptions(options)
  const log = (deps.logger ?? silentLogger).child({ module: 'consensus' })
  const { chainId, transport, clock, timers, wal, privval, mempool, evidencePool, blockStore } = deps
  const initialHeight = deps.genesis.initialHeight
  const selfAddress = privval?.address ?? null
  const selfHex = selfAddress === null ? null : toHex(selfAddress)

  const exec = createBlockExecutor({ maxClockDriftMs: cfg.maxClockDriftMs }, {
    chainId,
    genesis: deps.genesis,
    app: deps.app,
    blockStore,
    stateStore: deps.stateStore,
    wal,
    mempool,
    evidencePool,
    clock,
    verify: deps.verify,
    verifyPool: deps.verifyPool,
    responses: deps.responseStore ?? createMemoryResponseStore(),
    logger: log.child({ module: 'block-exec' }),
  })
  const gossip = createGossipLoop({
    resendMs: cfg.resendMs,
    maxVotesPerTick: cfg.maxVotesPerTick,
    maxPartsPerTick: cfg.maxPartsPerTick,
    maxTxBytesPerTick: cfg.maxTxBytesPerTick,
    statusRefreshMs: Math.max(1000, 10 * cfg.gossipIntervalMs),
    evidenceResendMs: Math.max(5000, 10 * cfg.resendMs),
    txResendMs: cfg.txResendMs,
  }, { transport, mempool, evidencePool, logger: log })
  const sync = createBlocksync(cfg.blocksync, { transport, blockStore, exec, logger: log.child({ module: 'blocksync' }) })

  let hs: HeightState | null = null
  let last: LastHeight | null = null
  let started = false
  let stopped = false
  let halted: Error | null = null
  let syncing = false
  let future: Array<{ peer: PeerId, m: ChannelMessage }> = []
  let pendingDecision: { round: number, valueId: string, proposal: Proposal | null } | null = null
  let commitTimer: CancelTimer | null = null
  let gossipTimer: CancelTimer | null = null
  let unsubscribe: (() => void) | null = null
  let lastStepKey = ''
  const listeners = new Set<ConsensusListener>()
  const reportedInvalidQuorum = new Set<string>()

  // ---- events ----

  const emit = (ev: ConsensusEvent): void => {
    for (const l of listeners) {
      try {
        l(ev)
      } catch (err) {
        log.warn('event listener threw', { type: ev.type, err })
      }
    }
  }

  const maxBlockBytes = (): number => exec.state().consensusParams.block.maxBytes

  const currentStep = (): EngineStep => {
    if (halted !== null || stopped) return 'stopped'
    if (syncing) return 'sync'
    if (hs === null) return 'unstarted'
    return hs.decided ? 'commit' : hs.driver.roundState().step
  }

  const view = (): OurView => {
    const step = currentStep()
    const st: StatusStep = step === 'stopped' ? 'unstarted' : step
    const fallback = started ? nextHeightOf(exec.state()) : initialHeight
    return buildView(syncing ? null : hs, last, fallback, st)
  }

  const emitStepIfChanged = (): void => {
    const height = hs?.height ?? (started ? nextHeightOf(exec.state()) : initialHeight)
    const round = hs?.driver.roundState().round ?? 0
    const step = currentStep()
    const key = `${height}/${round}/${step}`
    if (key === lastStepKey) return
    lastStepKey = key
    emit({ type: 'new-round-step', height, round, step })
    if (started && !stopped) gossip.announce(view(), clock.now())
  }

  // ---- the serial input queue ----

  const queue: Array<{ fn: () => Promise<void>, done: () => void }> = []
  let running = false
  let idleWaiters: Array<() => void> = []

  /** Forgets queued inputs (stop, halt); whoever awaits them is released. */
  const dropQueued = (): void => {
    for (const item of queue.splice(0)) item.done()
  }

  const halt = (err: unknown): void => {
    if (halted !== null) return
    halted = err instanceof Error ? err : new Error(String(err))
    log.error('consensus halted', { err: halted })
    cancelAllTimers()
    dropQueued()
    emit({ type: 'halted', error: halted })
  }

  const run = async (): Promise<void> => {
    try {
      for (;;) {
        const item = queue.shift()
        if (item === undefined) break
        try {
          if (halted === null) {
            await item.fn()
            await settle()
          }
        } catch (err) {
          halt(err)
        } finally {
          item.done()
        }
      }
    } finally {
      running = false
      const ws = idleWaiters
      idleWaiters = []
      for (const w of ws) w()
    }
  }

  /** Queues an input; the returned promise settles when it has been processed (never rejects). */
  const enqueue = (fn: () => Promise<void>): Promise<void> => {
    if (stopped || halted !== null) return Promise.resolve()
    return new Promise<void>((resolve) => {
      queue.push({ fn, done: resolve })
      if (!running) {
        running = true
        queueMicrotask(() => { void run() })
      }
    })
  }

  const idle = (): Promise<void> => (running || queue.length > 0 ? new Promise<void>((resolve) => idleWaiters.push(resolve)) : Promise.resolve())

  // ---- timers ----

  const timeoutMs = (step: TimeoutStep, round: number): number => {
    const t = cfg.timeouts
    switch (step) {
      case 'propose': return t.propose + round * t.proposeDelta
      case 'prevote': return t.prevote + round * t.prevoteDelta
      case 'precommit': return t.precommit + round * t.precommitDelta
    }
  }

  const cancelHeightTimers = (h: HeightState | null): void => {
    if (h === null) return
    for (const c of h.timers) c()
    h.timers.clear()
  }

  function cancelAllTimers (): void {
    cancelHeightTimers(hs)
    commitTimer?.()
    commitTimer = null
    gossipTimer?.()
    gossipTimer = null
  }

  const scheduleTimeout = (me: HeightState, height: number, round: number, step: TimeoutStep): void => {
    const cancel: CancelTimer = timers.schedule(timeoutMs(step, round), () => {
      me.timers.delete(cancel)
      void enqueue(() => onTimeout(height, round, step, false))
    })
    me.timers.add(cancel)
  }

  /** One gossip tick queued at a time: a node busy for longer than the interval skips ticks rather than piling them up. */
  let gossipQueued = false
  const scheduleGossip = (): void => {
    gossipTimer = timers.schedule(cfg.gossipIntervalMs, () => {
      gossipTimer = null
      if (stopped || halted !== null) return
      if (!gossipQueued) {
        gossipQueued = true
        void enqueue(async () => {
          gossipQueued = false
          await gossipTick()
        })
      }
      scheduleGossip()
    })
  }

  // ---- helpers ----

  const misbehave = (peer: PeerId | null, kind: Parameters<typeof transport.reportMisbehavior>[1], detail: string): void => {
    if (peer === null) return
    log.debug('peer misbehaved', { peer, kind, detail })
    transport.reportMisbehavior(peer, kind, detail)
  }

  const walAppend = (record: WalRecord): void => { wal.append(record) }
  /** The WAL keeps at most 128 characters of a peer id (libp2p ids are ~52). */
  const walPeer = (peer: PeerId | null): string => (peer ?? '').slice(0, 128)

  const bufferFuture = (peer: PeerId, m: ChannelMessage): void => {
    future.push({ peer, m })
    if (future.length > MAX_FUTURE_MESSAGES) future = future.slice(future.length - MAX_FUTURE_MESSAGES)
  }

  /** Every driver input goes through here: logged for a rebuild, counted votes recorded for gossip. */
  const drive = (me: HeightState, input: DriverInput<Vote, Proposal>): DriverResult<Vote, Proposal> => {
    me.inputs.push(input)
    const res = me.driver.step(input)
    if (input.kind === 'vote' && res.status === 'applied') {
      recordVote(me, input.vote.signature)
      if (!me.rebuilding) emit({ type: 'vote', vote: input.vote.signature })
    }
    return res
  }

  const quorumFor = (me: HeightState, round: number, valueId: string): boolean =>
    me.driver.votes.quorum('prevote', round) === valueId || me.driver.votes.quorum('precommit', round) === valueId

  // ---- inputs: proposals, parts, votes, timeouts ----

  async function onProposal (peer: PeerId | null, p: Proposal, replay: boolean): Promise<void> {
    const me = hs
    if (me === null || syncing) return
    if (p.height === me.height + 1 && peer !== null) return bufferFuture(peer, { channel: 'consensus', message: { type: 'proposal', value: p } })
    if (p.height !== me.height) return
    if (p.round > me.driver.roundState().round + cfg.maxRoundsAhead) return
    const key = blockIdKey(p.blockId)
    if (peer !== null) gossip.received(peer, proposalItem(p.height, p.round, key))
    const sameRound = me.proposals.filter((x) => x.proposal.round === p.round)
    if (sameRound.some((x) => x.blockKey === key)) return
    if (sameRound.length >= MAX_PROPOSALS_PER_ROUND) return
    const proposer = me.schedule.proposer(p.round)
    if (!replay && !deps.verify(proposer.pubKey, proposalSignBytes(chainId, p), p.signature)) {
      return misbehave(peer, 'invalid-signature', `proposal ${p.height}/${p.round} is not signed by the round's proposer`)
    }
    if (!replay) walAppend({ type: 'received', value: { peer: walPeer(peer), message: { type: 'proposal', value: p } } })
    me.blockIds.set(key, p.blockId)
    const entry = ensureBlock(me, p.blockId, p.round, maxBlockBytes())
    // No entry because the part-set header itself is impossible → the block is invalid (prevote nil).
    const impossible = entry === undefined && !newPartSetAssembler(p.blockId.partSetHeader, { maxBytes: maxBlockBytes() }).ok
    me.proposals.push({ proposal: p, blockKey: key, fed: false, conflicting: false, impossible })
  }

  async function onPart (peer: PeerId | null, m: BlockPart, replay: boolean): Promise<void> {
    const me = hs
    if (me === null || syncing) return
    if (m.height === me.height + 1 && peer !== null) return bufferFuture(peer, { channel: 'block-parts', message: { type: 'part', value: m } })
    if (m.height !== me.height) return
    const pk = partSetKey(m.partSetHeader)
    if (peer !== null) gossip.received(peer, partItem(m.height, pk, m.part.index))
    const entry = me.blocksByPsh.get(pk)
    if (entry === undefined || entry.assembler.hasPart(m.part.index)) return
    const r = entry.assembler.addPart(m.part)
    if (!r.ok) return misbehave(peer, 'protocol', `block part: ${r.error.message}`)
    if (!replay) {
      walAppend({ type: 'received', value: { peer: walPeer(peer), message: { type: 'blockPart', value: { height: m.height, round: m.round, part: m.part } } } })
    }
    if (r.value === 'complete') await onBlockComplete(me, entry)
  }

  async function onBlockComplete (me: HeightState, entry: BlockEntry): Promise<void> {
    const d = decodeEntryBlock(entry)
    if (!d.ok) {
      entry.verdict = 'invalid'
      entry.why = d.error.message
      log.warn('proposed block does not decode', { height: me.height, block: entry.key, why: entry.why })
      return
    }
    entry.block = d.value
    // Decided: the executor has applied (or is applying) this height's block, so its state
    // is a height ahead and any other block of this height would be judged against the
    // wrong state. A late proposal for a decided height needs no verdict ('unknown').
    if (me.decided) return
    const v = await exec.validateBlock(d.value, { checkDrift: true, processProposal: true })
    entry.verdict = v.ok ? 'valid' : 'invalid'
    entry.commitable = v.ok
    if (!v.ok) {
      entry.why = v.error.message
      entry.commitable = (await exec.validateBlock(d.value, { checkDrift: false, processProposal: false })).ok
      log.warn('proposed block is invalid', { height: me.height, block: entry.key, why: entry.why, commitable: entry.commitable })
    }
    for (const hp of me.proposals) {
      if (hp.blockKey === entry.key) emit({ type: 'complete-proposal', height: me.height, round: hp.proposal.round, blockId: entry.blockId, proposal: hp.proposal })
    }
  }

  function onLatePrecommit (peer: PeerId | null, v: Vote): void {
    const l = last
    if (l === null || v.type !== 'precommit' || v.round !== l.round || v.height !== l.height) return
    if (peer !== null) {
      gossip.received(peer, voteItem(v.height, v.round, v.type, v.validatorIndex))
      if (!isNilBlockId(v.blockId)) gossip.received(peer, quorumVoteItem(v.height, v.round, v.type, v.validatorIndex, blockIdKey(v.blockId)))
    }
    const val = l.validators.validators[v.validatorIndex]
    if (val === undefined || !equalBytes(val.address, v.validatorAddress)) return
    const forBlock = !isNilBlockId(v.blockId) && blockIdKey(v.blockId) === blockIdKey(l.blockId)
    if (!isNilBlockId(v.blockId) && !forBlock) return
    // A slot is filled once, but a precommit for the block replaces an equivocator's nil.
    const held = l.precommits[v.validatorIndex]
    if (held !== undefined && (!forBlock || !isNilBlockId(held.blockId))) return
    if (!deps.verify(val.pubKey, voteSignBytes(chainId, v), v.signature)) return misbehave(peer, 'invalid-signature', `late precommit ${v.height}/${v.round}`)
    l.precommits[v.validatorIndex] = v
  }

  async function onVote (peer: PeerId | null, v: Vote, replay: boolean): Promise<void> {
    const me = hs
    if (me === null || syncing) return
    if (v.height === me.height - 1) return onLatePrecommit(peer, v)
    if (v.height === me.height + 1 && peer !== null) return bufferFuture(peer, { channel: 'votes', message: { type: 'vote', value: v } })
    if (v.height !== me.height) return
    const val = me.validators.validators[v.validatorIndex]
    if (val === undefined || !equalBytes(val.address, v.validatorAddress)) {
      return misbehave(peer, 'protocol', `vote from ${toHex(v.validatorAddress)} with index ${v.validatorIndex} that is not its index in the set`)
    }
    if (v.round > me.driver.roundState().round + cfg.maxRoundsAhead) return
    const vid = valueIdOf(v.blockId)
    if (peer !== null) {
      gossip.received(peer, voteItem(v.height, v.round, v.type, v.validatorIndex))
      if (vid !== null) gossip.received(peer, quorumVoteItem(v.height, v.round, v.type, v.validatorIndex, vid))
    }
    const seenKey = `${v.type}/${v.round}/${v.validatorIndex}/${vid ?? 'nil'}`
    if (me.seenVotes.has(seenKey)) return
    if (!replay && !deps.verify(val.pubKey, voteSignBytes(chainId, v), v.signature)) {
      return misbehave(peer, 'invalid-signature', `vote ${v.type} ${v.height}/${v.round} from validator ${v.validatorIndex}`)
    }
    me.seenVotes.add(seenKey)
    if (!replay && !me.decided) walAppend({ type: 'received', value: { peer: walPeer(peer), message: { type: 'vote', value: v } } })
    if (vid !== null && !me.blockIds.has(vid)) me.blockIds.set(vid, v.blockId)
    me.book.add(v, val.votingPower)
    const res = drive(me, { kind: 'vote', vote: toCoreVote(v) })
    await handleOutputs(me, res.outputs)
  }

  async function onTimeout (height: number, round: number, step: TimeoutStep, replay: boolean): Promise<void> {
    const me = hs
    if (me === null || me.height !== height || syncing || me.decided) return
    if (!replay) walAppend({ type: 'timeout', value: { height, round, step } })
    const res = drive(me, { kind: 'timeout', height, round, step })
    await handleOutputs(me, res.outputs)
  }

  // ---- outputs ----

  async function handleOutputs (me: HeightState, outs: readonly Output[]): Promise<void> {
    const work: Output[] = [...outs]
    for (let o = work.shift(); o !== undefined; o = work.shift()) {
      if (hs !== me) return
      switch (o.kind) {
        case 'new-round':
          if (!me.rebuilding) emit({ type: 'new-round', height: o.height, round: o.round, proposer: me.schedule.proposer(o.round).address })
          break
        case 'schedule-timeout':
          scheduleTimeout(me, o.height, o.round, o.step)
          break
        case 'get-value':
          work.push(...await onGetValue(me, o.round))
          break
        case 'propose': {
          const p = await ownProposal(me, o.proposal)
          if (p === null || selfAddress === null) break
          const entry = me.blocks.get(blockIdKey(p.blockId))
          const res = drive(me, { kind: 'proposal', proposal: toCoreProposal(p, selfAddress), valid: entry?.verdict === 'valid' })
          work.push(...res.outputs)
          break
        }
        case 'vote': {
          const v = await ownVote(me, o.vote)
          if (v === null) break
          const res = drive(me, { kind: 'vote', vote: toCoreVote(v) })
          work.push(...res.outputs)
          break
        }
        case 'decision':
          pendingDecision = { round: o.round, valueId: o.valueId, proposal: o.proposal.signature }
          break
        case 'evidence':
          await evidencePool.reportConflictingVotes(o.evidence.voteA.signature, o.evidence.voteB.signature)
          break
      }
    }
  }

  const lastCommitForProposal = (height: number): ReturnType<typeof makeCommit> | null => {
    if (height === initialHeight) return null
    const l = last
    if (l === null || l.height !== height - 1) throw new AidError('ERR_STORE_NOT_FOUND', `no commit of height ${height - 1} to build block ${height} on`, 'consensus')
    return makeCommit(l.validators, l.height, l.round, l.blockId, l.precommits.filter((v): v is Vote => v !== undefined))
  }

  async function onGetValue (me: HeightState, round: number): Promise<Output[]> {
    if (me.replaying) {
      me.deferredGetValue = round
      return []
    }
    if (selfAddress === null) return []
    const inWal = me.ownProposals.get(round)
    if (inWal !== undefined) {
      // We signed a proposal for this round before a restart: propose that block again, or nothing.
      const e = me.blocks.get(blockIdKey(inWal.blockId))
      if (e === undefined || e.verdict !== 'valid') return []
      return [...drive(me, { kind: 'propose-value', round, valueId: e.key }).outputs]
    }
    const built = await exec.createProposalBlock(selfAddress, lastCommitForProposal(me.height))
    const entry = ensureBlock(me, built.blockId, round, Math.max(maxBlockBytes(), built.parts.parts.reduce((n, p) => n + p.bytes.length, 0)))
    if (entry === undefined) {
      log.warn('cannot hold our own block (too many blocks this height)', { height: me.height, round })
      return []
    }
    if (!entry.assembler.isComplete()) {
      for (const part of built.parts.parts) {
        entry.assembler.addPart(part)
        walAppend({ type: 'own', value: { message: { type: 'blockPart', value: { height: me.height, round, part } } } })
      }
    }
    entry.block = built.block
    entry.verdict = 'valid'
    entry.commitable = true
    return [...drive(me, { kind: 'propose-value', round, valueId: entry.key }).outputs]
  }

  async function ownProposal (me: HeightState, data: ProposalData): Promise<Proposal | null> {
    if (privval === null) return null
    const entry = me.blocks.get(data.valueId)
    if (entry === undefined || !entry.assembler.isComplete()) {
      log.error('asked to propose a block we do not hold', { height: me.height, round: data.round })
      return null
    }
    const inWal = me.ownProposals.get(data.round)
    let signed: Proposal
    if (inWal !== undefined) {
      if (blockIdKey(inWal.blockId) !== data.valueId || inWal.polRound !== data.validRound) {
        log.error('not proposing: the WAL holds another proposal of ours for this round', { height: me.height, round: data.round })
        return null
      }
      signed = inWal
    } else {
      try {
        signed = await privval.signProposal(chainId, { height: me.height, round: data.round, polRound: data.validRound, blockId: entry.blockId, timestamp: clock.now() })
      } catch (err) {
        if (!isAidError(err, 'ERR_PRIVVAL_CONFLICT')) throw err
        log.warn('private validator refused to sign our proposal', { height: me.height, round: data.round, err })
        return null
      }
      walAppend({ type: 'own', value: { message: { type: 'proposal', value: signed } } })
      await wal.flushAndSync()
      me.ownProposals.set(data.round, signed)
    }
    if (!me.proposals.some((x) => x.proposal.round === data.round && x.blockKey === data.valueId)) {
      me.proposals.push({ proposal: signed, blockKey: data.valueId, fed: true, conflicting: false, impossible: false })
    }
    if (inWal !== undefined && me.rebuilding) return signed
    const now = clock.now()
    gossip.broadcastOwn('consensus', encodeConsensus({ type: 'proposal', value: signed }), proposalItem(me.height, data.round, data.valueId), now)
    for (let i = 0; i < entry.blockId.partSetHeader.total; i++) {
      const part = entry.assembler.getPart(i)
      if (part === undefined) continue
      const msg = encodeBlockPart({ type: 'part', value: { height: me.height, round: data.round, partSetHeader: entry.blockId.partSetHeader, part } })
      gossip.broadcastOwn('block-parts', msg, partItem(me.height, entry.pshKey, i), now)
    }
    return signed
  }

  async function ownVote (me: HeightState, data: VoteData): Promise<Vote | null> {
    if (privval === null || me.selfIndex === null) return null
    const blockId: BlockId | undefined = data.valueId === null ? nilBlockId() : me.blockIds.get(data.valueId)
    if (blockId === undefined) {
      log.error('asked to vote for a block id we never saw', { height: me.height, round: data.round })
      return null
    }
    const k = votesKey(data.round, data.type)
    const inWal = me.ownVotes.get(k)
    let signed: Vote
    if (inWal !== undefined) {
      if (valueIdOf(inWal.blockId) !== data.valueId) {
        log.error('not voting: the WAL holds another vote of ours for this round and type', { height: me.height, round: data.round, type: data.type })
        return null
      }
      signed = inWal
    } else {
      try {
        signed = await privval.signVote(chainId, {
          type: data.type, height: me.height, round: data.round, blockId, timestamp: clock.now(), validatorAddress: privval.address, validatorIndex: me.selfIndex,
        })
      } catch (err) {
        if (!isAidError(err, 'ERR_PRIVVAL_CONFLICT')) throw err
        log.warn('private validator refused to sign our vote', { height: me.height, round: data.round, type: data.type, err })
        return null
      }
      walAppend({ type: 'own', value: { message: { type: 'vote', value: signed } } })
      await wal.flushAndSync()
      me.ownVotes.set(k, signed)
    }
    me.seenVotes.add(`${signed.type}/${signed.round}/${signed.validatorIndex}/${valueIdOf(signed.blockId) ?? 'nil'}`)
    me.book.add(signed, me.validators.validators[me.selfIndex]?.votingPower ?? 0)
    if (inWal !== undefined && me.rebuilding) return signed
    gossip.broadcastOwn('votes', encodeVoteMessage({ type: 'vote', value: signed }), voteItem(me.height, signed.round, signed.type, signed.validatorIndex), clock.now())
    return signed
  }

  // ---- settling: proposals to feed, decisions to commit ----

  async function feedProposals (me: HeightState): Promise<boolean> {
    let progressed = false
    for (const hp of me.proposals) {
      if (hs !== me || me.decided) break
      if (hp.fed) continue
      const verdict = hp.impossible ? 'invalid' : me.blocks.get(hp.blockKey)?.verdict ?? 'unknown'
      if (verdict === 'unknown') continue
      if (hp.conflicting && !quorumFor(me, hp.proposal.round, hp.blockKey)) continue
      hp.fed = true
      const proposer = me.schedule.proposer(hp.proposal.round).address
      const res = drive(me, { kind: 'proposal', proposal: toCoreProposal(hp.proposal, proposer), valid: verdict === 'valid' })
      if (res.status === 'rejected' && res.reason === 'conflicting-proposal') {
        hp.fed = false
        hp.conflicting = true
      }
      if (res.status === 'applied') progressed = true
      await handleOutputs(me, res.outputs)
    }
    return progressed
  }

  /**
   * A +2/3 precommit quorum for a block we hold and find valid that the driver cannot act
   * on: it lacks the proposal (CometBFT commits on the quorum alone), or the quorum exists
   * only counting an equivocator's other vote (the vote book sees it, the keeper does not).
   */
  function commitWithoutDriver (me: HeightState): { round: number, valueId: string } | null {
    const candidates = [
      ...me.driver.votes.precommitQuorums().map((q) => ({ round: q.round, valueId: q.valueId })),
      ...me.book.quorums().filter((q) => q.type === 'precommit').map((q) => ({ round: q.round, valueId: q.valueKey })),
    ]
    for (const q of candidates) {
      const e = me.blocks.get(q.valueId)
      if (e === undefined || e.block === null) continue
      if (e.verdict === 'invalid' && !e.commitable) {
        if (!reportedInvalidQuorum.has(e.key)) {
          reportedInvalidQuorum.add(e.key)
          log.error('+2/3 of the validators precommitted a block this node finds invalid', { height: me.height, round: q.round, why: e.why })
        }
        continue
      }
      if (!e.commitable) continue
      const driverCan = me.driver.votes.quorum('precommit', q.round) === q.valueId &&
        me.driver.proposals(q.round).some((sp) => sp.proposal.valueId === q.valueId && sp.valid)
      if (!driverCan) return q
    }
    return null
  }

  /**
   * CometBFT's VoteSetMaj23, without changing the core: when the vote book holds +2/3
   * prevotes for a value that the driver's keeper does not see (it counted an equivocator's
   * other vote first), the driver is built again from this height's inputs with, for each
   * such validator, the vote for the quorum value in place of the other. With at most 1/3
   * faulty power no two values have such a quorum in one round, so the rebuilt driver sees
   * every quorum the old one saw and more; what it asks to sign again comes from what we
   * signed (the WAL), what conflicts with that is refused (and privval would refuse it),
   * anything new is signed as usual.
   */
  async function rebuildDriver (me: HeightState): Promise<void> {
    const prefer = new Map<string, Vote>()
    for (const q of me.book.quorums()) {
      for (const v of me.book.votesFor(q.round, q.type, q.valueKey)) prefer.set(`${v.type}/${v.round}/${v.validatorIndex}`, v)
    }
    const log0 = me.inputs
    log.info('rebuilding the driver: a quorum counts an equivocator\'s other vote', { height: me.height, inputs: log0.length })
    me.driver = newDriver(me.height, me.validators, me.schedule)
    me.inputs = []
    me.votes.clear()
    me.rebuilding = true
    me.replaying = true
    try {
      for (const input of log0) {
        if (hs !== me || me.decided) break
        let x = input
        if (input.kind === 'vote') {
          const v = input.vote.signature
          const p = prefer.get(`${v.type}/${v.round}/${v.validatorIndex}`)
          if (p !== undefined) x = { kind: 'vote', vote: toCoreVote(p) }
        }
        await handleOutputs(me, drive(me, x).outputs)
      }
      // quorum votes that were never fed (they came as the conflicting second vote)
      for (const v of prefer.values()) {
        if (hs !== me || me.decided) break
        await handleOutputs(me, drive(me, { kind: 'vote', vote: toCoreVote(v) }).outputs)
      }
    } finally {
      me.rebuilding = false
      me.replaying = false
    }
    if (hs === me) await answerDeferredValue(me)
  }

  async function settle (): Promise<void> {
    for (let guard = 0; guard < 64; guard++) {
      const me = hs
      if (me === null || me.decided || syncing) break
      for (const q of me.driver.votes.precommitQuorums()) {
        const bid = me.blockIds.get(q.valueId)
        if (bid !== undefined) ensureBlock(me, bid, -1, maxBlockBytes())
      }
      for (const q of me.book.quorums()) if (q.type === 'precommit') ensureBlock(me, q.blockId, -1, maxBlockBytes())
      let progressed = await feedProposals(me)
      if (hs !== me) break
      if (pendingDecision !== null) {
        const d = pendingDecision
        pendingDecision = null
        await commitBlock(me, d.round, d.valueId, d.proposal)
        break
      }
      const q = commitWithoutDriver(me)
      if (q !== null) {
        const proposal = me.proposals.find((x) => x.proposal.round === q.round && x.blockKey === q.valueId)?.proposal ?? null
        await commitBlock(me, q.round, q.valueId, proposal)
        break
      }
      const hidden = me.book.quorums().find((x) => x.type === 'prevote' && me.driver.votes.quorum('prevote', x.round) !== x.valueKey &&
        !me.rebuiltFor.has(`${x.round}/${x.type}/${x.valueKey}`))
      if (hidden !== undefined) {
        me.rebuiltFor.add(`${hidden.round}/${hidden.type}/${hidden.valueKey}`)
        await rebuildDriver(me)
        progressed = true
      }
      if (!progressed) break
    }
    emitStepIfChanged()
  }

  // ---- commit and heights ----

  const newBlockEvent = (a: AppliedBlock, block: SyncedBlock['block'], source: 'consensus' | 'blocksync'): void => {
    emit({
      type: 'new-block',
      height: block.header.height,
      block,
      blockId: a.blockId,
      txResults: a.response.txResults,
      events: a.response.events,
      validatorUpdates: a.response.validatorUpdates,
      consensusParamUpdates: a.response.consensusParamUpdates,
      appHash: a.response.appHash,
      source,
      processingMs: a.processingMs,
    })
    for (const evidence of block.evidence) emit({ type: 'evidence-committed', height: block.header.height, evidence })
  }

  async function commitBlock (me: HeightState, round: number, valueId: string, proposal: Proposal | null): Promise<void> {
    const entry = me.blocks.get(valueId)
    const parts = entry?.assembler.partSet()
    if (entry === undefined || entry.block === null || parts === undefined) {
      throw new AidError('ERR_STORE_NOT_FOUND', `decided block ${valueId} of height ${me.height} is not held`, 'consensus')
    }
    me.decided = true
    cancelHeightTimers(me)
    // The commit: each validator's precommit for the block where it signed one (the vote book
    // has an equivocator's too), else the precommit consensus counted (nil or another block).
    const counted = me.votes.get(votesKey(round, 'precommit')) ?? []
    const precommits: Array<Vote | undefined> = me.validators.validators.map((_, i) => counted[i])
    for (const v of me.book.votesFor(round, 'precommit', valueId)) precommits[v.validatorIndex] = v
    me.votes.set(votesKey(round, 'precommit'), precommits)
    const seen = makeCommit(me.validators, me.height, round, entry.blockId, precommits.filter((v): v is Vote => v !== undefined))
    const applied = await exec.applyBlock(entry.block, parts, seen)
    last = { height: me.height, round, blockId: entry.blockId, validators: me.validators, precommits, proposal, parts, since: clock.now() }
    log.info('committed block', { height: me.height, round, hash: toHex(entry.blockId.hash), txs: entry.block.txs.length })
    newBlockEvent(applied, entry.block, 'consensus')
    emitStepIfChanged()
    if (cfg.skipTimeoutCommit) {
      await enterHeight()
      return
    }
    commitTimer = timers.schedule(cfg.timeouts.commit, () => {
      commitTimer = null
      void enqueue(async () => { if (hs === me && !syncing) await enterHeight() })
    })
  }

  async function lastFromStore (s: ChainState): Promise<LastHeight | null> {
    if (s.lastBlockHeight === 0) return null
    const block = await blockStore.loadBlock(s.lastBlockHeight)
    const seen = await blockStore.loadSeenCommit(s.lastBlockHeight)
    if (block === undefined || seen === undefined) {
      throw new AidError('ERR_STORE_CORRUPT', `block ${s.lastBlockHeight} or its seen commit is missing`, 'consensus')
    }
    return {
      height: s.lastBlockHeight, round: seen.round, blockId: s.lastBlockId, validators: s.lastValidators,
      precommits: precommitsOfCommit(seen, s.lastValidators.validators.length), proposal: null, parts: makePartSet(encodeBlock(block)),
      since: clock.now(),
    }
  }

  async function replayRecord (me: HeightState, r: WalRecord): Promise<void> {
    switch (r.type) {
      case 'received':
      case 'own': {
        const m = r.value.message
        if (m.type === 'proposal') await onProposal(null, m.value, true)
        else if (m.type === 'vote') await onVote(null, m.value, true)
        else {
          // The part's proof names its part set: total and root.
          const root = rootFromProof(m.value.part.proof)
          if (root !== undefined) {
            const partSetHeader = { total: m.value.part.proof.total, hash: root }
            await onPart(null, { height: m.value.height, round: m.value.round, partSetHeader, part: m.value.part }, true)
          }
        }
        break
      }
      case 'timeout':
        if (r.value.step !== 'commit') await onTimeout(r.value.height, r.value.round, r.value.step, true)
        break
      case 'endHeight':
        break
    }
    if (hs === me) await settle()
  }

  function newDriver (height: number, validators: HeightState['validators'], schedule: HeightState['schedule']): HeightState['driver'] {
    const voters = validators.validators.map((v) => ({ address: toHex(v.address), votingPower: v.votingPower }))
    return createDriver<Vote, Proposal>({
      height, validators: voters, self: selfHex, proposer: (r) => toHex(schedule.proposer(r).address), maxRoundsAhead: cfg.maxRoundsAhead,
      ...(options.faults === undefined ? {} : { faults: options.faults }),
    })
  }

  /** After a replay or rebuild: if the driver still waits for our value of the round, build it now. */
  async function answerDeferredValue (me: HeightState): Promise<void> {
    const round = me.deferredGetValue
    me.deferredGetValue = null
    if (round === null || me.decided) return
    const rs = me.driver.roundState()
    if (rs.awaitingValue && rs.round === round && rs.step === 'propose') await handleOutputs(me, await onGetValue(me, round))
  }

  /** Starts consensus on the height after the chain state's last block (WAL replay first). */
  async function enterHeight (): Promise<void> {
    commitTimer?.()
    commitTimer = null
    cancelHeightTimers(hs)
    pendingDecision = null
    const s = exec.state()
    const height = nextHeightOf(s)
    const schedule = createProposerSchedule(proposerSetFor(s.validators))
    const driver = newDriver(height, s.validators, schedule)
    const me = newHeightState({ height, validators: s.validators, schedule, driver, self: selfAddress, now: clock.now })
    hs = me
    if (last === null || last.height !== height - 1) last = await lastFromStore(s)

    const rep = await wal.replayFrom(height)
    if (rep.status === 'ahead') {
      throw new AidError('ERR_WAL_CORRUPT', `the WAL has ended height ${rep.endHeight}, but the chain state is at ${s.lastBlockHeight}`, 'consensus')
    }
    if (rep.status === 'no-marker') {
      log.warn('WAL has no end-of-height marker for the previous height; writing it', { height })
      await wal.writeEndHeight(height === initialHeight ? 0 : height - 1)
    }
    const records = rep.status === 'found' ? rep.records : []
    for (const r of records) {
      if (r.type !== 'own') continue
      const m = r.value.message
      if (m.type === 'vote' && m.value.height === height) me.ownVotes.set(votesKey(m.value.round, m.value.type), m.value)
      if (m.type === 'proposal' && m.value.height === height) me.ownProposals.set(m.value.round, m.value)
    }
    if (records.length > 0) log.info('replaying WAL', { height, records: records.length })
    me.replaying = true
    await handleOutputs(me, drive(me, { kind: 'start' }).outputs)
    for (const r of records) {
      if (hs !== me || me.decided) break
      await replayRecord(me, r)
    }
    me.replaying = false
    if (hs !== me) return
    await answerDeferredValue(me)
    if (hs !== me) return
    const buffered = future.filter((f) => messageHeight(f.m) === height)
    future = future.filter((f) => (messageHeight(f.m) ?? 0) > height)
    buffered.sort((a, b) => order(a.m) - order(b.m))
    for (const f of buffered) {
      if (hs !== me) break
      await dispatch(f.peer, f.m)
    }
    emitStepIfChanged()
  }

  // ---- block sync ----

  const startSync = (): void => {
    syncing = true
    cancelHeightTimers(hs)
    commitTimer?.()
    commitTimer = null
    pendingDecision = null
    hs = null
    future = []
    log.info('switching to block sync', { height: exec.state().lastBlockHeight, best: sync.pool.maxPeerHeight() })
    emit({ type: 'catching-up', catchingUp: true })
  }

  async function maybeSwitchSync (): Promise<void> {
    if (!syncing) {
      if (sync.lagging() && hs !== null) startSync()
      else return
    }
    for (const sb of await sync.applyReady()) {
      const s = exec.state()
      last = {
        height: s.lastBlockHeight, round: sb.commit.round, blockId: sb.applied.blockId, validators: s.lastValidators,
        precommits: precommitsOfCommit(sb.commit, s.lastValidators.validators.length), proposal: null, parts: sb.parts,
        since: clock.now(),
      }
      newBlockEvent(sb.applied, sb.block, 'blocksync')
    }
    if (sync.caughtUp()) {
      syncing = false
      sync.pool.clear()
      log.info('block sync caught up; switching to consensus', { height: exec.state().lastBlockHeight })
      emit({ type: 'catching-up', catchingUp: false })
      await enterHeight()
    } else {
      sync.tick(clock.now(), true)
    }
  }

  async function gossipTick (): Promise<void> {
    const now = clock.now()
    gossip.tick(view(), now, !syncing && hs !== null)
    sync.tick(now, syncing)
    await maybeSwitchSync()
  }

  // ---- dispatch ----

  async function onTxs (peer: PeerId, txs: Uint8Array[]): Promise<void> {
    const results = await mempool.checkTxs(txs, { peer })
    for (const r of results) {
      if (r.status !== 'refused') continue
      const code = r.error.code
      if (code === 'ERR_MEMPOOL_MALFORMED_TX' || code === 'ERR_MEMPOOL_BAD_SIGNATURE' || code === 'ERR_MEMPOOL_WRONG_CHAIN') {
        misbehave(peer, 'protocol', `gossiped tx: ${r.error.message}`)
        return
      }
    }
  }

  async function onEvidence (peer: PeerId, list: ChannelMessage & { channel: 'evidence' }): Promise<void> {
    for (const ev of list.message.value) {
      gossip.received(peer, evidenceItem(ev))
      const r = await evidencePool.addEvidence(ev)
      if (r.status === 'invalid' && r.error.code === 'ERR_EVIDENCE_INVALID') {
        misbehave(peer, 'protocol', `evidence: ${r.error.message}`)
        return
      }
    }
  }

  async function dispatch (peer: PeerId, m: ChannelMessage): Promise<void> {
    switch (m.channel) {
      case 'consensus':
        if (m.message.type === 'proposal') await onProposal(peer, m.message.value, false)
        else gossip.onStatus(peer, m.message.value)
        return
      case 'votes':
        return await onVote(peer, m.message.value, false)
      case 'block-parts':
        return await onPart(peer, m.message.value, false)
      case 'mempool':
        return await onTxs(peer, m.message.value)
      case 'evidence':
        return await onEvidence(peer, m)
      case 'blocksync':
        await sync.handle(peer, m.message)
        await maybeSwitchSync()
    }
  }

  // ---- lifecycle ----

  const start = async (): Promise<void> => {
    if (started) throw new AidError('ERR_CONFIG_INVALID', 'engine already started', 'consensus')
    started = true
    const s = await exec.handshake()
    last = await lastFromStore(s)
    log.info('consensus starting', { height: nextHeightOf(s), appHash: toHex(s.appHash), validator: selfHex })
    unsubscribe = transport.subscribe({
      onMessage: (peer, channel, data) => {
        if (stopped || halted !== null) return
        const r = decodeChannelMessage(channel, data, { initialHeight })
        if (!r.ok) {
          transport.reportMisbehavior(peer, r.error.kind, r.error.error.message)
          return
        }
        void enqueue(() => dispatch(peer, r.value))
      },
      onPeerUp: (peer) => { void enqueue(async () => { gossip.peerUp(peer, view()); sync.onPeerUp(peer) }) },
      onPeerDown: (peer) => { void enqueue(async () => { gossip.peerDown(peer); sync.onPeerDown(peer) }) },
    })
    await enqueue(async () => {
      await enterHeight()
      for (const peer of transport.peers()) {
        gossip.peerUp(peer, view())
        sync.onPeerUp(peer)
      }
    })
    if (halted !== null) throw halted
    scheduleGossip()
  }

  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    unsubscribe?.()
    unsubscribe = null
    cancelAllTimers()
    dropQueued()
    await idle()
    log.info('consensus stopped')
  }

  const status = (): ConsensusStatus => {
    const s = started ? exec.state() : null
    const rs = hs?.driver.roundState()
    const set = hs?.validators ?? s?.validators
    const idx = selfAddress === null || set === undefined ? -1 : set.validators.findIndex((v) => equalBytes(v.address, selfAddress))
    const val = idx < 0 ? undefined : set?.validators[idx]
    return {
      height: hs?.height ?? (s === null ? initialHeight : nextHeightOf(s)),
      round: rs?.round ?? 0,
      step: currentStep(),
      latestBlockHeight: s?.lastBlockHeight ?? 0,
      latestBlockHash: s?.lastBlockId.hash ?? new Uint8Array(0),
      latestAppHash: s?.appHash ?? new Uint8Array(0),
      latestBlockTime: s?.lastBlockTime ?? deps.genesis.genesisTimeMs,
      catchingUp: syncing,
      validator: val === undefined ? null : { address: val.address, pubKey: val.pubKey, votingPower: val.votingPower },
    }
  }

  return {
    start,
    stop,
    idle,
    status,
    chainState: () => exec.state(),
    subscribe: (listener) => {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
  }
}

function messageHeight (m: ChannelMessage): number | undefined {
  switch (m.channel) {
    case 'consensus': return m.message.type === 'proposal' ? m.message.value.height : undefined
    case 'votes': return m.message.value.height
    case 'block-parts': return m.message.value.height
    default: return undefined
  }
}

/** Replay order of buffered next-height messages: proposals, then parts, then votes. */
function order (m: ChannelMessage): number {
  return m.channel === 'consensus' ? 0 : m.channel === 'block-parts' ? 1 : 2
}
