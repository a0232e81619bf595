/**
 * A NodeBackend over the fixed test chain (./fixtures.ts): block store and state store
 * readers, a mempool that the test can commit into a new block (emitting NewBlock), fixed
 * node/net info and round state, an app that answers check_tx/abci_query by rule:
 *   tx[0] = 0xEE → CheckTx code 7 (the app rejects it)
 *   tx[0] = 0xFF → refused before the app ("tx already exists in cache")
 */
import type { AppInfo, CheckTxResult, QueryRequest, QueryResponse } from '../../../src/abci.ts'
import { equalBytes, utf8 } from '../../../src/bytes.ts'
import { sha256 } from '../../../src/crypto/hash.ts'
import type {
  BroadcastTxOutcome, EvidenceOutcome, NetInfo, NodeBackend, NodeEvent, NodeEventListener, NodeInfo, RoundStateView,
} from '../../../src/node-api.ts'
import type { DuplicateVoteEvidence, Vote } from '../../../src/types/index.ts'
import { buildChain, GENESIS_TIME, type Chain, type ChainEntry } from './fixtures.ts'

export interface FakeBackend extends NodeBackend {
  chain: Chain
  /** Emits a node event to subscribers. */
  emit: (ev: NodeEvent) => void
  /** Moves the mempool (or `txs`) into a new block, stores it and emits NewBlock. */
  commitBlock: (txs?: Uint8Array[]) => ChainEntry
  mempoolTxs: Uint8Array[]
  evidence: DuplicateVoteEvidence[]
  listeners: () => number
  catching: boolean
  /** Without it the server serves block_results from its indexer. */
  withoutResults: () => FakeBackend
}

export function nodeInfo (): NodeInfo {
  return {
    protocolVersion: { p2p: 8, block: 11, app: 1 },
    id: '12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq',
    listenAddr: 'tcp://0.0.0.0:26656',
    network: 'aidledger-test',
    version: '0.1.0',
    channels: Uint8Array.from([0x20, 0x21, 0x22, 0x23, 0x30, 0x38]),
    moniker: 'node-0',
  }
}

export function createFakeBackend (chain: Chain = buildChain()): FakeBackend {
  const listeners = new Set<NodeEventListener>()
  const entryAt = (h: number): ChainEntry | undefined => chain.entries.find((e) => e.block.header.height === h)
  const byHash = (hash: Uint8Array): ChainEntry | undefined => chain.entries.find((e) => equalBytes(e.blockId.hash, hash))
  const me = chain.validators.validators[0]

  const roundVote = (i: number, type: Vote['type']): Vote | null => {
    const v = chain.validators.validators[i]
    if (v === undefined || i === 3) return null
    const top = chain.entries[chain.entries.length - 1]
    return {
      type, height: (top?.block.header.height ?? 0) + 1, round: 0,
      blockId: { hash: sha256(utf8('proposal')), partSetHeader: { total: 1, hash: sha256(utf8('proposal parts')) } },
      timestamp: GENESIS_TIME + 100_000 + i, validatorAddress: v.address, validatorIndex: i, signature: sha256(utf8(`sig ${i} ${type}`)),
    }
  }

  const fake: FakeBackend = {
    chain,
    mempoolTxs: [],
    evidence: [],
    catching: false,
    nodeInfo,
    netInfo: (): NetInfo => ({
      listening: true,
      listeners: ['Listener(@tcp://0.0.0.0:26656)'],
      peers: [
        { nodeInfo: { ...nodeInfo(), id: '12D3KooWPeerOne', moniker: 'node-1', listenAddr: 'tcp://10.0.0.2:26656' }, isOutbound: true, remoteIp: '10.0.0.2', connectedMs: 65_000 },
        { nodeInfo: { id: '12D3KooWPeerTwo' }, isOutbound: false, remoteIp: '10.0.0.3', connectedMs: 1_500 },
      ],
    }),
    genesis: () => chain.genesis,
    validatorPubKey: () => me?.pubKey ?? null,
    catchingUp: () => fake.catching,
    blocks: {
      base: () => chain.entries[0]?.block.header.height ?? 0,
      height: () => chain.entries[chain.entries.length - 1]?.block.header.height ?? 0,
      loadBlock: async (h) => entryAt(h)?.block,
      loadBlockByHash: async (hash) => byHash(hash)?.block,
      loadBlockMeta: async (h) => entryAt(h)?.meta,
      loadBlockMetaByHash: async (hash) => byHash(hash)?.meta,
      loadCommit: async (h) => entryAt(h + 1)?.block.lastCommit ?? undefined,
      loadSeenCommit: async (h) => entryAt(h)?.seenCommit,
    },
    state: {
      loadValidators: async (h) => (h >= 1 && h <= fake.blocks.height() + 2 ? chain.validators : undefined),
      loadConsensusParams: async (h) => (h >= 1 && h <= fake.blocks.height() + 1 ? chain.params : undefined),
    },
    loadBlockResults: async (h) => entryAt(h)?.results,
    roundState: (): RoundStateView => {
      const top = chain.entries[chain.entries.length - 1]
      return {
        height: (top?.block.header.height ?? 0) + 1,
        round: 0,
        step: 'Prevote',
        startTimeMs: GENESIS_TIME + 100_000,
        commitTimeMs: GENESIS_TIME + 99_000,
        validators: chain.validators,
        proposer: { address: chain.validators.validators[1]?.address ?? new Uint8Array(20), index: 1 },
        proposalBlockHash: sha256(utf8('proposal')),
        lockedRound: -1,
        lockedBlockHash: new Uint8Array(0),
        validRound: -1,
        validBlockHash: new Uint8Array(0),
        commitRound: -1,
        votes: [{ round: 0, prevotes: [0, 1, 2, 3].map((i) => roundVote(i, 'prevote')), precommits: [0, 1, 2, 3].map(() => null) }],
      }
    },
    mempool: {
      size: () => fake.mempoolTxs.length,
      sizeBytes: () => fake.mempoolTxs.reduce((n, t) => n + t.length, 0),
      txs: (limit) => fake.mempoolTxs.slice(0, limit),
      broadcastTx: async (tx): Promise<BroadcastTxOutcome> => {
        if (tx[0] === 0xff) return { ok: false, error: 'tx already exists in cache' }
        const check = checkTxOf(tx)
        if (check.code !== 0) return { ok: true, added: false, check }
        if (fake.mempoolTxs.some((t) => equalBytes(t, tx))) return { ok: false, error: 'tx already exists in cache' }
        fake.mempoolTxs.push(tx)
        return { ok: true, added: true, check }
      },
    },
    checkTx: async (tx) => checkTxOf(tx),
    abciInfo: async (): Promise<AppInfo> => ({
      version: '0.1.0', appVersion: 1, lastBlockHeight: fake.blocks.height(),
      lastBlockAppHash: chain.entries[chain.entries.length - 1]?.results.appHash ?? new Uint8Array(0),
    }),
    abciQuery: async (req: QueryRequest): Promise<QueryResponse> => {
      if (req.path === '/echo') {
        return {
          code: 0, codespace: '', log: '', key: req.data, value: utf8(`echo:${Buffer.from(req.data).toString('hex')}`),
          proofOps: req.prove ? [{ type: 'ics23:smt', key: req.data, data: sha256(req.data) }] : [], height: req.height === 0 ? fake.blocks.height() : req.height,
        }
      }
      return { code: 6, codespace: 'aidledger', log: `unknown query path ${req.path}`, key: new Uint8Array(0), value: new Uint8Array(0), proofOps: [], height: fake.blocks.height() }
    },
    broadcastEvidence: async (ev): Promise<EvidenceOutcome> => {
      if (ev.voteA.height > fake.blocks.height()) return { ok: false, error: 'no block or validator set for the evidence height' }
      fake.evidence.push(ev)
      return { ok: true }
    },
    subscribe: (l) => {
      listeners.add(l)
      return () => { listeners.delete(l) }
    },
    emit: (ev) => { for (const l of [...listeners]) l(ev) },
    listeners: () => listeners.size,
    commitBlock: (txs) => {
      const list = txs ?? fake.mempoolTxs.splice(0)
      const entry = chain.append(list)
      fake.emit({ type: 'NewBlock', block: entry.block, blockId: entry.blockId, results: entry.results })
      return entry
    },
    withoutResults: () => {
      delete fake.loadBlockResults
      return fake
    },
  }
  return fake
}

function checkTxOf (tx: Uint8Array): CheckTxResult {
  if (tx[0] === 0xee) return { code: 7, codespace: 'aidledger', log: 'budget exceeded', sender: '' }
  return { code: 0, codespace: '', log: '', sender: 'ab' }
}
