/**
 * Node assembly (DESIGN §2: the one module, with the CLI, that imports every folder): opens
 * a home's stores, builds the crypto pool, the social-assistance app, the mempool, the
 * evidence pool, the libp2p transport and the consensus engine, and starts and stops them
 * in dependency order.
 *
 * Data layout under <home>/data (CometBFT-like):
 *   blockstore.db/        blocks, parts, commits                (src/store)
 *   state.db/             chain state, validator sets, params   (src/store)
 *   abci_responses.db/    finalize responses by height          (consensus/block-exec)
 *   application.db/       the app's authenticated Merkle store  (state/store)
 *   evidence.db/          evidence pool                         (consensus/evidence-pool)
 *   cs.wal/               consensus write-ahead log             (consensus/wal)
 *   priv_validator_state.json                                   (consensus/privval)
 *
 * Start order: stores → app → pools → transport → engine → services (RPC, metrics).
 * Stop order is the reverse; every component is stopped even if an earlier one fails, and
 * the databases are closed last so nothing writes to a closed store.
 */
import { ClassicLevel } from 'classic-level'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { systemClock, systemTimers, type Clock, type Timers } from './clock.ts'
import { createVerifyPool, type VerifyPool } from './crypto/pool.ts'
import { poolTxVerifier } from './crypto/tx-verifier.ts'
import { verify } from './crypto/zip215.ts'
import { loadHome, type LoadedHome } from './config/home.ts'
import { canonicalJson } from './config/json.ts'
import { utf8 } from './bytes.ts'
import { createLogger, type Logger } from './log.ts'
import { openBlockStore, openConsensusStateStore, type BlockStore, type ConsensusStateStore } from './store/index.ts'
import {
  createConsensusEngine, type ConsensusEngine, type ConsensusEngineOptions,
} from '../consensus/engine.ts'
import { createFinalizeResponseStore, evidencePoolDeps, incrementValidatorSet } from '../consensus/block-exec.ts'
import { openEvidencePool, type EvidencePool } from '../consensus/evidence-pool.ts'
import { createMempool, type Mempool } from '../consensus/mempool.ts'
import { openPrivValidator, type PrivValidator } from '../consensus/privval.ts'
import { openWal, type Wal } from '../consensus/wal.ts'
import { createP2PTransport, type P2PTransport } from '../p2p/index.ts'
import { createSocialApp, type SocialApp } from '../state/app.ts'
import { validateAppState } from '../state/genesis.ts'
import { openAppStore } from '../state/store-adapter.ts'
import { createRpcServer, openIndexer, type RpcServer } from '../rpc/index.ts'
import { createNodeBackend } from './node-backend.ts'
import { packageVersion } from './cli/commands/version.ts'
import { createMetrics, type Metrics } from './metrics.ts'
import { createMetricsServer, metricsServerOptions } from './metrics-server.ts'
import { wireMetrics } from './node-metrics.ts'

export interface NodeOptions {
  home: string
  logger?: Logger
  /** Overrides for tests and the devnet (applied over config.toml). */
  clock?: Clock
  timers?: Timers
  /** Worker threads for signature checks (default: the core count). */
  verifyWorkers?: number
}

/** A service started after the engine and stopped before it (RPC server, metrics server). */
export interface NodeService {
  name: string
  start: () => Promise<void>
  stop: () => Promise<void>
}

export interface AidNode {
  readonly home: LoadedHome
  readonly logger: Logger
  readonly engine: ConsensusEngine
  readonly transport: P2PTransport
  readonly mempool: Mempool
  readonly evidencePool: EvidencePool
  readonly app: SocialApp
  readonly blockStore: BlockStore
  readonly stateStore: ConsensusStateStore
  readonly pool: VerifyPool
  /** The JSON-RPC server (listening after start). */
  readonly rpc: RpcServer
  /** Prometheus metrics (no-op handles when instrumentation.prometheus is off). */
  readonly metrics: Metrics
  /** Adds a service (before start). */
  addService: (service: NodeService) => void
  start: () => Promise<void>
  /** Idempotent; safe to call from a signal handler while start() is still running. */
  stop: () => Promise<void>
}

/** `tcp://host:port` (config) → `/ip4/host/tcp/port` (libp2p listen multiaddr). */
export function listenMultiaddr (laddr: string): string {
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:]+):(\d+)$/.exec(laddr)
  if (m === null) throw new Error(`not a tcp://host:port address: ${laddr}`)
  const host = m[1] ?? ''
  const port = m[2] ?? ''
  if (host.startsWith('[')) return `/ip6/${host.slice(1, -1)}/tcp/${port}`
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) ? `/ip4/${host}/tcp/${port}` : `/dns/${host}/tcp/${port}`
}

function engineOptions (h: LoadedHome): ConsensusEngineOptions {
  const c = h.config.consensus
  return {
    timeouts: {
      propose: c.timeout_propose,
      proposeDelta: c.timeout_propose_delta,
      prevote: c.timeout_prevote,
      prevoteDelta: c.timeout_prevote_delta,
      precommit: c.timeout_precommit,
      precommitDelta: c.timeout_precommit_delta,
      commit: c.timeout_commit,
    },
    skipTimeoutCommit: c.skip_timeout_commit,
    maxClockDriftMs: c.max_clock_drift,
  }
}

/** Opens everything a node needs from its home; nothing listens until start(). */
export async function createNode (opts: NodeOptions): Promise<AidNode> {
  const home = await loadHome(opts.home, { validateAppState: async (json, ctx) => await validateAppState(json, ctx.validators) })
  const { config, genesis, paths } = home
  const logger = opts.logger ?? createLogger({ level: config.log_level, format: config.log_format }).child({ moniker: config.moniker })
  const clock = opts.clock ?? systemClock
  const timers = opts.timers ?? systemTimers
  const data = (name: string): string => join(paths.dataDir, name)

  // Everything opened so far, closed in reverse order if a later step fails.
  const closers: Array<{ name: string, close: () => Promise<void> }> = []
  const opened = <T extends { close: () => Promise<void> }>(name: string, value: T): T => {
    closers.push({ name, close: async () => await value.close() })
    return value
  }
  const closeAll = async (): Promise<void> => {
    for (const c of closers.reverse()) {
      try {
        await c.close()
      } catch (err) {
        logger.error('closing failed', { module: 'node', component: c.name, err })
      }
    }
    closers.length = 0
  }

  try {
    const blockStore: BlockStore = opened('block store', await openBlockStore({ path: data('blockstore.db') }))
    const stateStore: ConsensusStateStore = opened('state store', await openConsensusStateStore({
      path: data('state.db'),
      incrementProposerPriority: incrementValidatorSet,
    }))
    const responsesDb = opened('responses db', new ClassicLevel<Uint8Array, Uint8Array>(data('abci_responses.db'), { keyEncoding: 'view', valueEncoding: 'view' }))
    await responsesDb.open()
    const keepRecent = config.storage.keep_recent === 0 ? {} : { keepRecent: config.storage.keep_recent }
    const appStore = await openAppStore({ path: data('application.db'), ...keepRecent })
    opened('app store', appStore.inner)

    const pool: VerifyPool = opened('verify pool', createVerifyPool({ size: opts.verifyWorkers ?? (config.mempool.verify_workers > 0 ? config.mempool.verify_workers : availableParallelism()) }))
    const verifier = poolTxVerifier(pool)
    const app = createSocialApp({ store: appStore, verifier, chainId: genesis.chainId, retainBlocks: config.storage.retain_blocks })

    const mempool = createMempool({
      maxTxs: config.mempool.size,
      maxBytes: config.mempool.max_txs_bytes,
      maxTxBytes: config.mempool.max_tx_bytes,
      cacheSize: config.mempool.cache_size,
      recheck: config.mempool.recheck,
      chainId: genesis.chainId,
    }, { app, verifier })

    const responses = createFinalizeResponseStore(responsesDb)
    const wal: Wal = opened('wal', await openWal({ dir: paths.walDir, initialHeight: genesis.initialHeight, timers, log: logger.child({ module: 'wal' }) }))
    const privval: PrivValidator = opened('privval', await openPrivValidator({
      key: { file: paths.privValidatorKeyFile },
      stateFile: paths.privValidatorStateFile,
      createIfMissing: true,
    }))

    // The engine reads the chain state lazily through this reference (the evidence pool
    // needs it before the engine exists).
    let engineRef: ConsensusEngine | undefined
    const evidencePool: EvidencePool = opened('evidence pool', await openEvidencePool({ path: data('evidence.db') }, evidencePoolDeps({
      chainId: genesis.chainId,
      stateStore,
      blockStore,
      chainState: () => engineRef?.chainState(),
      consensusParams: genesis.consensusParams,
      verify,
    })))

    const transport = await createP2PTransport({
      nodeKeySeed: home.nodeKey.seed,
      listen: [listenMultiaddr(config.p2p.laddr)],
      persistentPeers: config.p2p.persistent_peers,
      allowedPeers: config.p2p.allowed_peer_ids,
      dialTimeoutMs: config.p2p.dial_timeout,
    }, { logger: logger.child({ module: 'p2p' }) })

    const engine = createConsensusEngine(engineOptions(home), {
      chainId: genesis.chainId,
      genesis: {
        initialHeight: genesis.initialHeight,
        genesisTimeMs: genesis.genesisTimeMs,
        validatorSet: genesis.validatorSet,
        consensusParams: genesis.consensusParams,
        appStateBytes: utf8(canonicalJson(genesis.appState)),
      },
      app,
      blockStore,
      stateStore,
      wal,
      privval,
      mempool,
      evidencePool,
      transport,
      clock,
      timers,
      verify,
      verifyPool: pool,
      responseStore: responses,
      logger: logger.child({ module: 'consensus' }),
    })
    engineRef = engine

    const indexer = config.tx_index.indexer === 'kv' ? opened('tx index', await openIndexer({ path: data('tx_index.db') })) : undefined
    const rpc = createRpcServer({
      laddr: config.rpc.laddr,
      maxBodyBytes: config.rpc.max_body_bytes,
      maxBatchSize: config.rpc.max_batch_size,
      maxOpenConnections: config.rpc.max_open_connections,
      maxSubscriptionClients: config.rpc.max_subscription_clients,
      maxSubscriptionsPerClient: config.rpc.max_subscriptions_per_client,
      timeoutBroadcastTxCommitMs: config.rpc.timeout_broadcast_tx_commit,
      rateLimit: { ratePerSecond: config.rpc.rate_limit_per_ip, burst: Math.max(1, config.rpc.rate_limit_burst) },
      cors: { allowedOrigins: config.rpc.cors_allowed_origins },
    }, {
      backend: createNodeBackend({
        home, version: packageVersion(), engine, transport, mempool, evidencePool, app, blockStore, stateStore, responses,
        validatorPubKey: privval.publicKey,
      }),
      ...(indexer === undefined ? {} : { indexer }),
      logger,
      clock,
      timers,
    })

    const services: NodeService[] = [{ name: 'rpc', start: rpc.start, stop: rpc.stop }]

    const metricsOpts = metricsServerOptions(config.instrumentation)
    const metrics = createMetrics({ namespace: config.instrumentation.namespace, chainId: genesis.chainId, enabled: metricsOpts !== null }, { logger })
    let unwireMetrics: (() => void) | undefined
    services.push({
      name: 'metrics wiring',
      start: async () => {
        metrics.setCommittedHeight(blockStore.height())
        unwireMetrics = wireMetrics({
          metrics, engine, mempool, transport, timers,
          mempoolLimits: { size: config.mempool.size, sizeBytes: config.mempool.max_txs_bytes },
        })
        metrics.setReady(true)
      },
      stop: async () => {
        metrics.setReady(false)
        unwireMetrics?.()
      },
    })
    if (metricsOpts !== null) {
      const server = createMetricsServer(metricsOpts, { metrics, logger })
      services.push({ name: 'metrics server', start: server.start, stop: server.stop })
    }
    let started = false
    let stopping: Promise<void> | undefined

    const stop = async (): Promise<void> => {
      stopping ??= (async () => {
        for (const s of [...services].reverse()) {
          try { await s.stop() } catch (err) { logger.error('service stop failed', { module: 'node', service: s.name, err }) }
        }
        try { await engine.stop() } catch (err) { logger.error('engine stop failed', { module: 'node', err }) }
        try { await transport.stop() } catch (err) { logger.error('transport stop failed', { module: 'node', err }) }
        await closeAll()
        logger.info('node stopped', { module: 'node' })
      })()
      await stopping
    }

    return {
      home,
      logger,
      engine,
      transport,
      mempool,
      evidencePool,
      app,
      blockStore,
      stateStore,
      pool,
      rpc,
      metrics,
      addService: (s) => {
        if (started) throw new Error(`service ${s.name} added after start`)
        services.push(s)
      },
      start: async () => {
        if (started) return
        started = true
        // Not awaiting pool.ready(): batches sent while the workers load wait in their
        // ports, and loading them (~1 s of CPU each) need not delay joining consensus.
        await transport.start()
        await engine.start()
        for (const s of services) {
          if (stopping !== undefined) return
          await s.start()
        }
        const st = engine.status()
        logger.info('node started', {
          module: 'node', chainId: genesis.chainId, nodeId: home.nodeKey.id, height: st.height, p2p: config.p2p.laddr, rpc: rpc.url(),
        })
      },
      stop,
    }
  } catch (err) {
    await closeAll()
    throw err
  }
}
