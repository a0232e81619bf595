/**
 * The node's NodeBackend (src/node-api.ts) for the JSON-RPC server: CometBFT's rpc/core
 * Environment, built from the real components. Everything the RPC renders is read from
 * the stores, the engine, the mempool and the app here; this file only adapts shapes.
 */
import type { Application } from './abci.ts'
import type { LoadedHome } from './config/home.ts'
import { CHANNELS } from './transport.ts'
import type {
  BlockResults, NodeBackend, NodeEvent, NodeEventListener, NodeInfo, RoundStep,
} from './node-api.ts'
import type { BlockStore, ConsensusStateStore } from './store/index.ts'
import type { ConsensusEngine, EngineStep } from '../consensus/engine.ts'
import type { FinalizeResponseStore } from '../consensus/block-exec.ts'
import type { EvidencePool } from '../consensus/evidence-pool.ts'
import type { Mempool } from '../consensus/mempool.ts'
import type { P2PTransport } from '../p2p/index.ts'

export interface NodeBackendParts {
  home: LoadedHome
  version: string
  engine: ConsensusEngine
  transport: P2PTransport
  mempool: Mempool
  evidencePool: EvidencePool
  app: Application
  blockStore: BlockStore
  stateStore: ConsensusStateStore
  responses: FinalizeResponseStore
  validatorPubKey: Uint8Array | null
}

const STEP_NAMES: Record<EngineStep, RoundStep> = {
  unstarted: 'NewHeight',
  propose: 'Propose',
  prevote: 'Prevote',
  precommit: 'Precommit',
  commit: 'Commit',
  sync: 'NewHeight',
  stopped: 'NewHeight',
}

/** Channel ids as CometBFT shows them in node_info (one byte each, our channel order). */
const CHANNEL_BYTES = new Uint8Array(CHANNELS.map((_, i) => 0x20 + i))

export function createNodeBackend (p: NodeBackendParts): NodeBackend {
  const { home, engine, mempool, app } = p
  const connectedSince = new Map<string, number>()

  const nodeInfo = (): NodeInfo => ({
    protocolVersion: { p2p: 8, block: 11, app: 1 },
    id: home.nodeKey.id,
    listenAddr: home.config.p2p.laddr,
    network: home.genesis.chainId,
    version: p.version,
    channels: CHANNEL_BYTES,
    moniker: home.config.moniker,
  })

  const toNodeEvent = (ev: Parameters<Parameters<ConsensusEngine['subscribe']>[0]>[0]): NodeEvent | undefined => {
    switch (ev.type) {
      case 'new-block': {
        const results: BlockResults = {
          height: ev.height,
          txResults: ev.txResults,
          events: ev.events,
          validatorUpdates: ev.validatorUpdates,
          consensusParamUpdates: ev.consensusParamUpdates,
          appHash: ev.appHash,
        }
        return { type: 'NewBlock', block: ev.block, blockId: ev.blockId, results }
      }
      case 'new-round-step':
        return { type: 'NewRoundStep', height: ev.height, round: ev.round, step: STEP_NAMES[ev.step] }
      case 'new-round': {
        const vals = engine.chainState().validators.validators
        const index = vals.findIndex((v) => Buffer.compare(v.address, ev.proposer) === 0)
        return { type: 'NewRound', height: ev.height, round: ev.round, step: 'NewRound', proposer: { address: ev.proposer, index } }
      }
      case 'complete-proposal':
        return { type: 'CompleteProposal', height: ev.height, round: ev.round, step: 'Propose', blockId: ev.blockId }
      case 'vote':
        return { type: 'Vote', vote: ev.vote }
      default:
        return undefined
    }
  }

  return {
    nodeInfo,
    netInfo: () => {
      const now = Date.now()
      const peers = p.transport.peers()
      for (const id of [...connectedSince.keys()]) if (!peers.includes(id)) connectedSince.delete(id)
      return {
        listening: true,
        listeners: [home.config.p2p.laddr],
        peers: peers.map((id) => {
          if (!connectedSince.has(id)) connectedSince.set(id, now)
          return { nodeInfo: { id }, isOutbound: home.config.p2p.persistent_peers.some((a) => a.startsWith(`${id}@`)), remoteIp: '', connectedMs: now - (connectedSince.get(id) ?? now) }
        }),
      }
    },
    genesis: () => home.genesis,
    validatorPubKey: () => p.validatorPubKey,
    catchingUp: () => engine.status().catchingUp,
    blocks: p.blockStore,
    state: p.stateStore,
    loadBlockResults: async (height) => {
      const r = await p.responses.load(height)
      return r === undefined
        ? undefined
        : { height, txResults: r.txResults, events: r.events, validatorUpdates: r.validatorUpdates, consensusParamUpdates: r.consensusParamUpdates, appHash: r.appHash }
    },
    roundState: () => {
      const st = engine.status()
      let cs
      try { cs = engine.chainState() } catch { return undefined }
      return {
        height: st.height,
        round: st.round,
        step: STEP_NAMES[st.step],
        startTimeMs: 0,
        commitTimeMs: st.latestBlockTime,
        validators: cs.validators,
        proposer: { address: new Uint8Array(20), index: -1 },
        proposalBlockHash: new Uint8Array(0),
        lockedRound: -1,
        lockedBlockHash: new Uint8Array(0),
        validRound: -1,
        validBlockHash: new Uint8Array(0),
        commitRound: -1,
        votes: [],
      }
    },
    mempool: {
      size: () => mempool.size(),
      sizeBytes: () => mempool.sizeBytes(),
      txs: (limit) => {
        const out: Uint8Array[] = []
        for (const m of mempool.txs()) {
          if (out.length >= limit) break
          out.push(m.tx)
        }
        return out
      },
      broadcastTx: async (tx) => {
        const r = await mempool.checkTx(tx)
        if (r.status === 'refused') return { ok: false, error: r.error.message }
        return { ok: true, added: r.status === 'added', check: r.check }
      },
    },
    // CometBFT's check_tx goes to the app's mempool connection as a new tx, as here.
    checkTx: async (tx) => await app.checkTx(tx, 'new'),
    abciInfo: async () => await app.info(),
    abciQuery: async (req) => await app.query(req),
    broadcastEvidence: async (ev) => {
      const r = await p.evidencePool.addEvidence(ev)
      return r.status === 'invalid' ? { ok: false, error: r.error.message } : { ok: true }
    },
    readiness: () => {
      const st = engine.status()
      const peers = p.transport.peers().length
      let validators = 1
      try { validators = engine.chainState().validators.validators.length } catch { /* before start */ }
      // Enough peers to see +2/3 of the others' votes: ceil(2/3 of the other validators).
      const minPeers = Math.ceil((2 * (validators - 1)) / 3)
      const reasons: string[] = []
      if (st.step === 'stopped') reasons.push('consensus is stopped')
      if (st.catchingUp) reasons.push('catching up (block sync)')
      if (st.latestBlockHeight === 0) reasons.push('no block committed yet')
      if (peers < minPeers) reasons.push(`${peers} peers, need ${minPeers}`)
      return {
        ready: reasons.length === 0,
        reasons,
        details: { latest_block_height: String(st.latestBlockHeight), catching_up: st.catchingUp, peers, min_peers: minPeers },
      }
    },
    subscribe: (listener: NodeEventListener) => engine.subscribe((ev) => {
      const out = toNodeEvent(ev)
      if (out !== undefined) listener(out)
    }),
  }
}
