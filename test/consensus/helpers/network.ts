/**
 * An in-process network of consensus engines for the engine tests: N validators (plus
 * optional full nodes) with memory-level stores, real WALs and private validators in a
 * temp dir (on /dev/shm where there is one), the KV test app, the real mempool and
 * evidence pool, over the in-memory transport and the fake clock. Stores, WAL directory,
 * privval state and app "disk" survive `stop`/`restart`, as a process's files would.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { toHex, utf8 } from '../../../src/bytes.ts'
import { keyPairFromSeed, verify, type Ed25519KeyPair } from '../../../src/crypto/ed25519.ts'
import { silentLogger, createLogger, type Logger } from '../../../src/log.ts'
import { openBlockStore, openConsensusStateStore, type StoreDb } from '../../../src/store/index.ts'
import { defaultConsensusParams, newValidatorSet, type ValidatorSet } from '../../../src/types/index.ts'
import { createFinalizeResponseStore, evidencePoolDeps, incrementValidatorSet, type ResponseDb } from '../../../consensus/block-exec.ts'
import { createConsensusEngine, type ConsensusEngine, type ConsensusEngineDeps, type ConsensusEngineOptions, type ConsensusEvent, type EngineGenesis, type NewBlockEvent } from '../../../consensus/engine.ts'
import { openEvidencePool, type EvidenceDb } from '../../../consensus/evidence-pool.ts'
import { createMempool } from '../../../consensus/mempool.ts'
import { openPrivValidator } from '../../../consensus/privval.ts'
import { openWal } from '../../../consensus/wal.ts'
import type { Transport } from '../../../src/transport.ts'
import { systemClock, systemTimers } from '../../../src/clock.ts'
import { FakeTime } from './fake-time.ts'
import { createKvApp, createTxClient, newKvDisk, type KvApp, type KvDisk } from './kv-app.ts'
import { MemoryNetwork } from './memory-transport.ts'

export const CHAIN_ID = 'engine-test'

type Level = MemoryLevel<Uint8Array, Uint8Array>
const newLevel = (): Level => new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })

/** One start of a node: its engine, its KV app and the parts the engine was built from. */
export interface Incarnation extends Pick<ConsensusEngineDeps, 'blockStore' | 'stateStore' | 'wal' | 'privval' | 'mempool' | 'evidencePool' | 'transport'> {
  engine: ConsensusEngine
  app: KvApp
}

export class TestNode {
  readonly disk: KvDisk = newKvDisk()
  readonly dbs = { block: newLevel(), state: newLevel(), evidence: newLevel(), responses: newLevel() }
  readonly events: ConsensusEvent[] = []
  /** height → block hash hex, from new-block events (all incarnations). */
  readonly blocks = new Map<number, { hash: string, appHash: string, txs: string[], source: string, proposer: string }>()
  current: Incarnation | null = null
  starts = 0

  constructor (
    readonly id: string,
    readonly index: number,
    readonly key: Ed25519KeyPair | null,
    readonly dir: string,
  ) {}

  get engine (): ConsensusEngine {
    if (this.current === null) throw new Error(`${this.id} is not running`)
    return this.current.engine
  }

  get running (): boolean { return this.current !== null }

  height (): number {
    return this.current === null ? -1 : this.current.engine.status().latestBlockHeight
  }
}

export interface TestNetOptions {
  validators: number
  fullNodes?: number
  engine?: ConsensusEngineOptions
  powers?: number[]
  logLevel?: 'debug' | 'info' | 'warn' | 'error'
  initialHeight?: number
  /** Per-node clock offsets in ms (node i reads fake time + skewMs[i]). */
  skewMs?: number[]
  /** Real clock and timers (systemClock/systemTimers) instead of the fake ones. */
  realTime?: boolean
  /** Wrap a node's transport (byzantine behaviour). */
  wrapTransport?: (node: TestNode, t: Transport) => Transport
}

export const FAST_TIMEOUTS: ConsensusEngineOptions = {
  timeouts: { propose: 1000, proposeDelta: 200, prevote: 300, prevoteDelta: 100, precommit: 300, precommitDelta: 100, commit: 200 },
  gossipIntervalMs: 50,
  txResendMs: 2000,
  blocksync: { statusIntervalMs: 200, requestTimeoutMs: 1000 },
}

export class TestNet {
  readonly time = new FakeTime()
  readonly net = new MemoryNetwork()
  readonly nodes: TestNode[] = []
  genesis: EngineGenesis
  readonly client = createTxClient(CHAIN_ID, 200)
  private readonly log: Logger

  private constructor (readonly opts: TestNetOptions, readonly dir: string, keys: Ed25519KeyPair[]) {
    const powers = opts.powers ?? keys.map(() => 10)
    const set: ValidatorSet = newValidatorSet(keys.map((k, i) => ({ pubKey: k.publicKey, votingPower: powers[i] ?? 10 })))
    this.genesis = {
      initialHeight: opts.initialHeight ?? 1,
      genesisTimeMs: this.time.now() - 1000,
      validatorSet: set,
      consensusParams: defaultConsensusParams(),
      appStateBytes: utf8('{}'),
    }
    this.log = opts.logLevel === undefined ? silentLogger : createLogger({ level: opts.logLevel, format: 'plain', now: () => this.time.now() })
    this.time.settle = () => this.settle()
    if (opts.realTime === true) this.genesis.genesisTimeMs = Date.now() - 1000
    this.net.schedule = (ms, fn) => this.time.schedule(ms, fn)
  }

  static async create (t: { teardown: (fn: () => Promise<void>) => void }, opts: TestNetOptions): Promise<TestNet> {
    const base = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
    const dir = await mkdtemp(join(base, 'aid-engine-'))
    const keys = Array.from({ length: opts.validators }, (_, i) => keyPairFromSeed(new Uint8Array(32).fill(i + 1)))
    const tn = new TestNet(opts, dir, keys)
    for (let i = 0; i < opts.validators + (opts.fullNodes ?? 0); i++) {
      tn.nodes.push(new TestNode(`n${i}`, i, keys[i] ?? null, join(dir, `n${i}`)))
    }
    t.teardown(async () => {
      await tn.shutdown()
      await rm(dir, { recursive: true, force: true })
    })
    return tn
  }

  /** Waits until no engine has queued work and no message moved in a whole pass. */
  async settle (): Promise<void> {
    for (let i = 0; i < 100_000; i++) {
      const before = this.net.delivered
      await Promise.all(this.nodes.map(async (n) => await n.current?.engine.idle()))
      await new Promise<void>((resolve) => setImmediate(resolve))
      if (this.net.delivered === before) return
    }
    throw new Error('network did not settle')
  }

  async start (i: number): Promise<void> {
    const node = this.nodes[i] as TestNode
    if (node.current !== null) throw new Error(`${node.id} already running`)
    node.starts++
    const log = this.log.child({ node: node.id })
    const blockStore = await openBlockStore({ db: node.dbs.block as unknown as StoreDb, sync: false })
    const stateStore = await openConsensusStateStore({ db: node.dbs.state as unknown as StoreDb, sync: false, incrementProposerPriority: incrementValidatorSet })
    const wal = await openWal({ dir: join(node.dir, 'cs.wal'), flushIntervalMs: 0, initialHeight: this.genesis.initialHeight, log: log.child({ module: 'wal' }) })
    const privval = node.key === null
      ? null
      : await openPrivValidator({ key: { secret: node.key.secretKey }, stateFile: join(node.dir, 'priv_validator_state.json'), createIfMissing: true })
    const app = createKvApp(node.disk)
    const mempool = createMempool({ chainId: CHAIN_ID }, {
      app,
      verifier: { verifyTxs: async (items) => items.map((x) => verify(x.pubKey, x.signBytes, x.signature)) },
    })
    let engineRef: ConsensusEngine | null = null
    const evidencePool = await openEvidencePool({ db: node.dbs.evidence as unknown as EvidenceDb }, evidencePoolDeps({
      chainId: CHAIN_ID, blockStore, stateStore, chainState: () => engineRef?.chainState(), consensusParams: this.genesis.consensusParams, verify, logger: log,
    }))
    let transport = this.net.connect(node.id)
    if (this.opts.wrapTransport !== undefined) transport = this.opts.wrapTransport(node, transport)
    const engine = createConsensusEngine({ ...FAST_TIMEOUTS, ...this.opts.engine }, {
      chainId: CHAIN_ID,
      genesis: this.genesis,
      app,
      blockStore,
      stateStore,
      wal,
      privval,
      mempool,
      evidencePool,
      transport,
      clock: this.opts.realTime === true ? systemClock : { now: () => this.time.now() + (this.opts.skewMs?.[i] ?? 0) },
      timers: this.opts.realTime === true ? systemTimers : this.time,
      verify,
      responseStore: createFinalizeResponseStore(node.dbs.responses as unknown as ResponseDb),
      logger: log,
    })
    engineRef = engine
    engine.subscribe((ev) => {
      node.events.push(ev)
      if (ev.type === 'new-block') recordBlock(node, ev)
    })
    node.current = { engine, app, blockStore, stateStore, wal, privval, mempool, evidencePool, transport }
    await engine.start()
  }

  async startAll (): Promise<void> {
    for (let i = 0; i < this.nodes.length; i++) await this.start(i)
  }

  /** Stops node i cleanly (it leaves the network); its stores and files stay. */
  async stop (i: number): Promise<void> {
    const node = this.nodes[i] as TestNode
    const c = node.current
    if (c === null) return
    node.current = null
    this.net.disconnect(node.id)
    await c.engine.stop()
    await c.wal.close()
    await c.privval?.close()
    await c.evidencePool.close()
    await c.blockStore.close()
    await c.stateStore.close()
  }

  /**
   * Like a crash between two inputs: the engine stops and the node leaves the network, but
   * WAL records appended and not yet synced are lost (the WAL is abandoned, not closed).
   */
  async crash (i: number): Promise<void> {
    const node = this.nodes[i] as TestNode
    const c = node.current
    if (c === null) return
    node.current = null
    this.net.disconnect(node.id)
    await c.engine.stop()
    await c.privval?.close()
    await c.evidencePool.close()
    await c.blockStore.close()
    await c.stateStore.close()
  }

  async shutdown (): Promise<void> {
    for (let i = 0; i < this.nodes.length; i++) await this.stop(i)
  }

  /** Runs fake time until `pred` holds; false if `maxMs` of fake time pass first. */
  async runUntil (pred: () => boolean, maxMs = 60_000): Promise<boolean> {
    if (this.opts.realTime !== true) return await this.time.runUntil(pred, maxMs)
    const end = Date.now() + maxMs
    while (!pred()) {
      if (Date.now() > end) return false
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    return true
  }

  running (): TestNode[] {
    return this.nodes.filter((n) => n.running)
  }

  /** Every running node has committed at least `h`. */
  allAt (h: number, nodes: TestNode[] = this.running()): boolean {
    return nodes.every((n) => n.height() >= h)
  }

  async submit (i: number, body: string): Promise<Uint8Array> {
    const tx = this.client.tx(body)
    const node = this.nodes[i] as TestNode
    const r = await node.current?.mempool.checkTx(tx)
    if (r?.status !== 'added') throw new Error(`tx not added: ${JSON.stringify(r)}`)
    return tx
  }
}

function recordBlock (node: TestNode, ev: NewBlockEvent): void {
  node.blocks.set(ev.height, {
    hash: toHex(ev.blockId.hash),
    appHash: toHex(ev.appHash),
    txs: ev.block.txs.map((tx) => toHex(tx)),
    source: ev.source,
    proposer: toHex(ev.block.header.proposerAddress),
  })
}
