/**
 * One simulated node: an engine incarnation over durable pieces that outlive it. What a
 * crashed process keeps is kept here across incarnations: the memory-level databases of
 * the block store, consensus state store and evidence pool, the WAL directory, the
 * private validator's state file and the app's committed state (SimAppDisk). What it
 * loses is rebuilt: the engine, its timers and transport, the mempool, WAL records
 * appended but not yet flushed, the app's uncommitted block.
 *
 * Crash points: every durable write goes through a hook (`point(kind)`): the private
 * validator's persistence steps (its faultHook), WAL syncs and end-of-height markers, the
 * block store's and state store's write batches, the app's commit. A scenario can arm a
 * node to die at the k-th hit of one kind; the hook then throws (the write stops exactly
 * there, as under SIGKILL), the node drops off the network at once (nothing it does
 * afterwards leaves it), its timers vanish, every later write fails, and the runner stops
 * the engine and restarts it from the durable pieces after the scenario's downtime.
 */
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import type { Application } from '../../src/abci.ts'
import type { Ed25519KeyPair } from '../../src/crypto/ed25519.ts'
import type { Logger } from '../../src/log.ts'
import { openBlockStore, openConsensusStateStore, type StoreDb } from '../../src/store/index.ts'
import type { ConsensusEngine, ConsensusEngineOptions, ConsensusListener, EngineGenesis } from '../../consensus/engine-types.ts'
import { openEvidencePool, type EvidenceDb, type EvidencePool } from '../../consensus/evidence-pool.ts'
import { createMempool, type Mempool } from '../../consensus/mempool.ts'
import { openPrivValidator, type PrivValidator } from '../../consensus/privval.ts'
import { openWal, type Wal, type WalRecord } from '../../consensus/wal.ts'
import type { Block, BlockId, VerifyFn } from '../../src/types/index.ts'
import { createSimApp, newAppDisk, type SimAppDisk, type SimAppObserver } from './app.ts'
import type { EngineBinding } from './binding.ts'
import { byzantineTransport, type ByzantineStats } from './byzantine.ts'
import type { SimNetwork } from './network.ts'
import type { CrashPointKind, NodeSpec } from './scenario.ts'
import type { SimTimers, SimWorld } from './world.ts'

/** Thrown by a crash point: the process "died" there. */
export class SimCrash extends Error {
  constructor (readonly node: string, readonly point: string) {
    super(`simulated crash of ${node} at ${point}`)
    this.name = 'SimCrash'
  }
}

export interface SimNodeOptions {
  spec: NodeSpec
  /** The run's seed (byzantine choices derive from it). */
  seed: number
  world: SimWorld
  network: SimNetwork
  binding: EngineBinding
  /** This node's directory (WAL, privval state). */
  dir: string
  chainId: string
  genesis: EngineGenesis
  key: Ed25519KeyPair
  engineOptions: ConsensusEngineOptions
  appObserver: SimAppObserver
  verify: VerifyFn
  logger: Logger
  byzantineStats: ByzantineStats
  /** Called (synchronously) when the node dies at a crash point. */
  onDeath: (node: SimNode, point: string) => void
  /** Every consensus event of every incarnation. */
  listener?: ConsensusListener
}

interface Incarnation {
  engine: ConsensusEngine
  timers: SimTimers
  wal: CrashableWal
  privval: PrivValidator
  evidencePool: EvidencePool
  mempool: Mempool
  closeStores: () => Promise<void>
  unsubscribe: () => void
}

interface CrashArm {
  point: CrashPointKind
  remaining: number
  fromMs: number
}

export interface CrashableWal extends Wal {
  /** A crash: buffered records are lost; the file is closed without writing them. */
  abandon: () => Promise<void>
}

/** A Wal whose buffered appends live in "process memory" (lost on a crash), with crash points. */
function crashableWal (real: Wal, point: (kind: CrashPointKind) => void, dead: () => boolean): CrashableWal {
  let pending: WalRecord[] = []
  const push = (): void => {
    for (const r of pending) real.append(r)
    pending = []
  }
  const sync = async (): Promise<void> => {
    point('wal:before-sync')
    push()
    await real.flushAndSync()
    point('wal:after-sync')
  }
  const alive = (): void => {
    if (dead()) throw new SimCrash('wal', 'write after death')
  }
  return {
    append: (r) => {
      alive()
      pending.push(r)
    },
    appendSync: async (r) => {
      alive()
      pending.push(r)
      await sync()
    },
    flush: async () => {
      alive()
      push()
      await real.flush()
    },
    flushAndSync: async () => {
      alive()
      await sync()
    },
    writeEndHeight: async (h) => {
      alive()
      point('wal:before-end-height')
      push()
      await real.writeEndHeight(h)
      point('wal:after-end-height')
    },
    replayFrom: async (h) => {
      alive()
      push()
      return await real.replayFrom(h)
    },
    segments: () => real.segments(),
    close: async () => {
      if (!dead()) push()
      pending = []
      await real.close()
    },
    abandon: async () => {
      pending = []
      await real.close().catch(() => {})
    },
  }
}

type BatchOps = Parameters<StoreDb['batch']>[0]
type BatchOpts = Parameters<StoreDb['batch']>[1]

function crashableStoreDb (db: MemoryLevel<Uint8Array, Uint8Array>, label: 'blockstore' | 'statestore', point: (kind: CrashPointKind) => void, dead: () => boolean): StoreDb {
  const inner = db as unknown as StoreDb
  return {
    get: (k, o) => inner.get(k, o),
    getMany: (ks, o) => inner.getMany(ks, o),
    batch: async (ops: BatchOps, o: BatchOpts) => {
      if (dead()) throw new SimCrash(label, 'write after death')
      point(`${label}:before-batch`)
      await inner.batch(ops, o)
      point(`${label}:after-batch`)
    },
    close: async () => {},
  }
}

function crashableEvidenceDb (db: MemoryLevel<Uint8Array, Uint8Array>, dead: () => boolean): EvidenceDb {
  const inner = db as unknown as EvidenceDb
  return {
    get: (k, o) => inner.get(k, o),
    batch: async (ops, o) => {
      if (dead()) throw new SimCrash('evidence', 'write after death')
      await inner.batch(ops, o)
    },
    iterator: (o) => inner.iterator(o),
    close: async () => {},
  }
}

function crashableApp (app: Application, point: (kind: CrashPointKind) => void, dead: () => boolean): Application {
  const guard = (): void => { if (dead()) throw new SimCrash('app', 'call after death') }
  return {
    info: async () => await app.info(),
    initChain: async (r) => { guard(); return await app.initChain(r) },
    checkTx: async (tx, mode) => await app.checkTx(tx, mode),
    prepareProposal: async (r) => await app.prepareProposal(r),
    processProposal: async (r) => await app.processProposal(r),
    finalizeBlock: async (r) => { guard(); return await app.finalizeBlock(r) },
    commit: async () => {
      guard()
      point('app:before-commit')
      const r = await app.commit()
      point('app:after-commit')
      return r
    },
    query: async (r) => await app.query(r),
  }
}

export class SimNode {
  readonly name: string
  readonly spec: NodeSpec
  readonly appDisk: SimAppDisk = newAppDisk()
  private readonly dbs = {
    block: new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }),
    state: new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }),
    evidence: new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }),
  }

  private current: Incarnation | null = null
  private dead = false
  private started = 0
  private arm: CrashArm | null = null
  /** Hits per crash point kind (all incarnations), for the crash-point test's census. */
  readonly pointHits = new Map<string, number>()
  /** Errors the engine's start() or stop() threw (other than SimCrash). */
  readonly engineErrors: Error[] = []

  constructor (private readonly o: SimNodeOptions) {
    this.name = o.spec.name
    this.spec = o.spec
  }

  get running (): boolean { return this.current !== null && !this.dead }
  get incarnations (): number { return this.started }
  get engine (): ConsensusEngine | null { return this.current?.engine ?? null }

  /** Arms a crash at the `occurrence`-th hit of `point` from simulated time `fromMs` on. */
  armCrash (point: CrashPointKind, occurrence: number, fromMs: number): object {
    const arm = { point, remaining: occurrence, fromMs }
    this.arm = arm
    return arm
  }

  get armed (): boolean { return this.arm !== null }

  /** Disarms `token`'s crash if it is still the armed one (any crash without a token). */
  disarm (token?: object): void {
    if (token === undefined || this.arm === token) this.arm = null
  }

  private point (kind: CrashPointKind): void {
    this.pointHits.set(kind, (this.pointHits.get(kind) ?? 0) + 1)
    if (this.dead) throw new SimCrash(this.name, `${kind} after death`)
    const a = this.arm
    if (a === null || a.point !== kind || this.o.world.now < a.fromMs) return
    a.remaining--
    if (a.remaining > 0) return
    this.arm = null
    this.die(kind)
    throw new SimCrash(this.name, kind)
  }

  /** Dies now: off the network, timers gone, writes refused. The runner then calls reap(). */
  die (point: string): void {
    if (this.dead || this.current === null) return
    this.dead = true
    this.o.network.detach(this.name)
    this.current.timers.dispose()
    this.o.onDeath(this, point)
  }

  /** After die(): let the engine finish what it was doing, stop it, release the incarnation. */
  async reap (): Promise<void> {
    const inc = this.current
    if (inc === null) return
    this.current = null
    await this.safely(() => inc.engine.idle())
    await this.safely(() => inc.engine.stop())
    inc.unsubscribe()
    await inc.wal.abandon()
    await inc.privval.close().catch(() => {})
    await inc.evidencePool.close().catch(() => {})
    await inc.closeStores().catch(() => {})
  }

  /** A clean shutdown at the end of a run. */
  async shutdown (): Promise<void> {
    const inc = this.current
    if (inc === null) return
    this.current = null
    await this.safely(() => inc.engine.stop())
    inc.unsubscribe()
    inc.timers.dispose()
    if (this.dead) await inc.wal.abandon()
    else await inc.wal.close().catch(() => {})
    await inc.privval.close().catch(() => {})
    await inc.evidencePool.close().catch(() => {})
    await inc.closeStores().catch(() => {})
    this.o.network.detach(this.name)
  }

  async destroy (): Promise<void> {
    await this.shutdown()
    await Promise.all([this.dbs.block.close(), this.dbs.state.close(), this.dbs.evidence.close()])
  }

  private async safely (fn: () => Promise<void>): Promise<void> {
    try {
      await fn()
    } catch (err) {
      if (!(err instanceof SimCrash)) this.engineErrors.push(err as Error)
    }
  }

  async idle (): Promise<void> {
    const e = this.current?.engine
    if (e !== undefined) await this.safely(() => e.idle())
  }

  /**
   * Starts a new incarnation from the durable pieces (first start or restart). Returns the
   * error when the engine failed to start for a reason other than a simulated crash.
   */
  async start (): Promise<Error | null> {
    if (this.current !== null) throw new Error(`${this.name} is already running`)
    const o = this.o
    const first = this.started === 0
    this.started++
    this.dead = false
    const dead = (): boolean => this.dead
    const point = (k: CrashPointKind): void => this.point(k)
    const log = o.logger.child({ node: this.name, inc: this.started })

    await mkdir(o.dir, { recursive: true })
    const timers = o.world.timers(this.name)
    const realWal = await openWal({ dir: join(o.dir, 'cs.wal'), flushIntervalMs: 0, initialHeight: o.genesis.initialHeight, log: log.child({ module: 'wal' }) })
    const wal = crashableWal(realWal, point, dead)
    const privval = await openPrivValidator({
      key: { secret: o.key.secretKey },
      stateFile: join(o.dir, 'priv_validator_state.json'),
      createIfMissing: first,
      faultHook: (p) => { point(`privval:${p}`) },
    })
    const blockStore = await openBlockStore({ db: crashableStoreDb(this.dbs.block, 'blockstore', point, dead), sync: false })
    const stateStore = await openConsensusStateStore({
      db: crashableStoreDb(this.dbs.state, 'statestore', point, dead),
      sync: false,
      incrementProposerPriority: o.binding.incrementValidatorSet,
    })
    let engineRef: ConsensusEngine | null = null
    const evidencePool = await openEvidencePool({ db: crashableEvidenceDb(this.dbs.evidence, dead) }, o.binding.evidencePoolDeps({
      chainId: o.chainId,
      blockStore,
      stateStore,
      state: () => {
        try {
          return engineRef?.chainState()
        } catch {
          return undefined // before start()
        }
      },
      consensusParams: o.genesis.consensusParams,
      verify: o.verify,
    }))
    const app = crashableApp(createSimApp({ node: this.name, chainId: o.chainId, disk: this.appDisk, observer: o.appObserver }), point, dead)
    const mempool = createMempool({ chainId: o.chainId, maxTxs: 2000 }, {
      app,
      verifier: { verifyTxs: async (items) => items.map((i) => o.verify(i.pubKey, i.signBytes, i.signature)) },
    })
    let transport = o.network.attach(this.name)
    if (this.spec.byzantine !== null) {
      transport = byzantineTransport(transport, {
        behavior: this.spec.byzantine, chainId: o.chainId, key: o.key, address: privval.address, seed: o.seed, stats: o.byzantineStats,
      })
    }
    const engine = o.binding.createConsensusEngine(o.engineOptions, {
      chainId: o.chainId,
      genesis: o.genesis,
      app,
      blockStore,
      stateStore,
      wal,
      privval,
      mempool,
      evidencePool,
      transport,
      clock: o.world.clock(this.spec.skewMs),
      timers,
      verify: o.verify,
      logger: log,
    })
    engineRef = engine
    const unsubscribe = o.listener === undefined ? () => {} : engine.subscribe(o.listener)
    this.current = {
      engine,
      timers,
      wal,
      privval,
      evidencePool,
      mempool,
      unsubscribe,
      closeStores: async () => { await blockStore.close(); await stateStore.close() },
    }
    const before = this.engineErrors.length
    await this.safely(() => engine.start())
    return this.engineErrors.length > before && !this.dead ? this.engineErrors[this.engineErrors.length - 1] as Error : null
  }

  /** Submits a tx as a client would through RPC (no-op while down). */
  async submitTx (tx: Uint8Array): Promise<void> {
    const inc = this.current
    if (inc === null || this.dead) return
    await inc.mempool.checkTx(tx).catch(() => {})
  }

  /** Latest height this node's app committed (survives crashes, like the app's database). */
  height (): number {
    return this.appDisk.height
  }

  async loadBlockAt (h: number): Promise<{ block: Block, blockId: BlockId } | undefined> {
    // Opened read-only views over the durable database, independent of any incarnation.
    const bs = await openBlockStore({ db: this.dbs.block as unknown as StoreDb, sync: false })
    try {
      const meta = await bs.loadBlockMeta(h)
      const block = await bs.loadBlock(h)
      if (meta === undefined || block === undefined) return undefined
      return { block, blockId: meta.blockId }
    } finally {
      await bs.close()
    }
  }
}
