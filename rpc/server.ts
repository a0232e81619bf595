/**
 * The JSON-RPC server (DESIGN §9: CometBFT v0.38 routes, encodings and shapes on
 * 127.0.0.1:26657), after CometBFT node/node.go startRPC + rpc/jsonrpc/server: HTTP
 * (JSON-RPC POST, single and batch, and the GET URI form) and WebSocket at /websocket on
 * one node:http server; the event pipeline that feeds the indexer and the subscribers;
 * and the limits (rpc/http.ts, rpc/ws.ts).
 *
 * Event pipeline (CometBFT's IndexerService + EventBus, in one ordered queue): the node's
 * events are taken in order; a NewBlock is first indexed (so that a client that sees a Tx
 * event can at once find it with `tx`), then CometBFT's events for it are published. On
 * start, and before any block that would leave a gap, the indexer catches up from the
 * node's stores (blocks + results), so a crash between commit and indexing, or a failed
 * index write, leaves no hole. Without stored results (NodeBackend.loadBlockResults) a gap
 * cannot be filled: it is logged and later blocks are indexed anyway.
 *
 *   const rpc = createRpcServer({ laddr: 'tcp://127.0.0.1:26657' }, { backend, indexer })
 *   await rpc.start(); …; await rpc.stop()
 *
 * The server does not own the indexer or the backend: the caller closes them after stop().
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { systemClock, systemTimers, type Clock, type Timers } from '../src/clock.ts'
import { AidError } from '../src/errors.ts'
import { silentLogger, type Logger } from '../src/log.ts'
import type { NodeBackend, NodeEvent } from '../src/node-api.ts'
import type { RouteEnv } from './env.ts'
import { busMessagesFor, createEventBus, type EventBus } from './events.ts'
import { createRateLimiter, DEFAULT_CORS, handleHttp, type CorsOptions, type HttpIn, type HttpOut, type RateLimitOptions } from './http.ts'
import type { Indexer } from './indexer.ts'
import { errorResponse, RPC_INVALID_REQUEST, type RpcResponse } from './jsonrpc.ts'
import { callJson } from './routes.ts'
import { genesisChunksOf } from './routes-chain.ts'
import { createWsHandler, type WsHandler } from './ws.ts'

export interface RpcServerOptions {
  /** Listen address, "tcp://host:port" or "host:port" (default tcp://127.0.0.1:26657; port 0 picks one). */
  laddr?: string
  /** Largest request body (CometBFT max_body_bytes, default 1,000,000). */
  maxBodyBytes?: number
  /** Largest request head (CometBFT max_header_bytes, default 1 MiB). */
  maxHeaderBytes?: number
  /** Most requests in one batch (CometBFT max_request_batch_size, default 10; 0 = no limit). */
  maxBatchSize?: number
  /** Most open HTTP + WebSocket connections (CometBFT max_open_connections, default 900; 0 = no limit). */
  maxOpenConnections?: number
  /** Most open WebSocket connections (default 100). */
  maxWsConnections?: number
  /** Time to receive a request's head and body (CometBFT read_timeout, default 10 s). */
  readTimeoutMs?: number
  /** How long broadcast_tx_commit waits for inclusion (CometBFT timeout_broadcast_tx_commit, default 10 s). */
  timeoutBroadcastTxCommitMs?: number
  /** CometBFT max_subscription_clients (default 100). */
  maxSubscriptionClients?: number
  /** CometBFT max_subscriptions_per_client (default 5). */
  maxSubscriptionsPerClient?: number
  /** Bytes queued for a WebSocket client (beyond the kernel's buffers) before it is disconnected as too slow (default 16 MiB). */
  wsMaxBufferedBytes?: number
  /** Largest WebSocket message (default maxBodyBytes). */
  wsMaxMessageBytes?: number
  /** Requests waiting on one WebSocket connection (default 100). */
  wsMaxPendingRequests?: number
  /** Ping period (default 27 s) and read timeout (default 30 s), as CometBFT. */
  wsPingIntervalMs?: number
  wsReadTimeoutMs?: number
  /** Per-IP token bucket (default 200 requests/s, burst 400); ratePerSecond 0 disables it. */
  rateLimit?: RateLimitOptions
  /** CORS (CometBFT cors_allowed_origins/methods/headers); off unless origins are given. */
  cors?: Partial<CorsOptions>
  /** genesis_chunked piece size (CometBFT: 16 MiB). */
  genesisChunkSize?: number
}

export interface RpcServerDeps {
  backend: NodeBackend
  /** Without one, tx/tx_search/block_search answer "indexing is disabled". */
  indexer?: Indexer
  logger?: Logger
  clock?: Clock
  timers?: Timers
}

export interface RpcServer {
  /** Catches the indexer up, subscribes to the node's events, listens. */
  start: () => Promise<void>
  /** Stops listening, closes connections and subscriptions, drains the event queue. */
  stop: () => Promise<void>
  /** The bound address (after start). */
  address: () => { host: string, port: number }
  /** http://host:port */
  url: () => string
  /** ws://host:port/websocket */
  wsUrl: () => string
  /** Resolves once every node event received so far is indexed and published. */
  idle: () => Promise<void>
  /** The HTTP pipeline in-process (no socket): same routing, limits and responses. */
  handle: (req: { method?: string, url?: string, body?: string | Uint8Array, headers?: Record<string, string>, ip?: string }) => Promise<HttpOut>
  /** One JSON-RPC call in-process. */
  call: (method: string, params?: unknown) => Promise<RpcResponse>
  readonly bus: EventBus
}

function parseLaddr (laddr: string): { host: string, port: number } {
  const m = /^(?:tcp:\/\/)?(\[[^\]]+\]|[^:/]*):(\d{1,5})$/.exec(laddr)
  const port = Number(m?.[2])
  if (m === null || !Number.isInteger(port) || port > 65535) {
    throw new AidError('ERR_RPC_INVALID_OPTIONS', `laddr ${JSON.stringify(laddr)} is not tcp://host:port`, 'laddr')
  }
  const host = (m[1] ?? '').replace(/^\[|\]$/g, '')
  return { host: host === '' ? '0.0.0.0' : host, port }
}

function positive (name: string, v: number | undefined, dflt: number, allowZero = false): number {
  const n = v ?? dflt
  if (!Number.isSafeInteger(n) || n < 0 || (!allowZero && n === 0)) {
    throw new AidError('ERR_RPC_INVALID_OPTIONS', `${name} must be a ${allowZero ? 'non-negative' : 'positive'} integer, got ${String(v)}`, name)
  }
  return n
}

export function createRpcServer (options: RpcServerOptions, deps: RpcServerDeps): RpcServer {
  const logger = (deps.logger ?? silentLogger).child({ module: 'rpc' })
  const clock = deps.clock ?? systemClock
  const timers = deps.timers ?? systemTimers
  const listen = parseLaddr(options.laddr ?? 'tcp://127.0.0.1:26657')
  const maxBodyBytes = positive('maxBodyBytes', options.maxBodyBytes, 1_000_000)
  const maxBatchSize = positive('maxBatchSize', options.maxBatchSize, 10, true)
  const rate = options.rateLimit ?? { ratePerSecond: 200, burst: 400 }
  if (!(rate.ratePerSecond >= 0) || !(rate.burst >= 1)) throw new AidError('ERR_RPC_INVALID_OPTIONS', 'rateLimit needs ratePerSecond ≥ 0 and burst ≥ 1', 'rateLimit')
  const cors: CorsOptions = {
    allowedOrigins: options.cors?.allowedOrigins ?? DEFAULT_CORS.allowedOrigins,
    allowedMethods: options.cors?.allowedMethods ?? DEFAULT_CORS.allowedMethods,
    allowedHeaders: options.cors?.allowedHeaders ?? DEFAULT_CORS.allowedHeaders,
  }
  for (const o of cors.allowedOrigins) {
    if ((o.match(/\*/g) ?? []).length > 1) throw new AidError('ERR_RPC_INVALID_OPTIONS', `origin ${o} has more than one wildcard`, 'cors')
  }
  const limiter = createRateLimiter(rate, () => clock.now())
  const bus = createEventBus({
    maxClients: positive('maxSubscriptionClients', options.maxSubscriptionClients, 100),
    maxSubscriptionsPerClient: positive('maxSubscriptionsPerClient', options.maxSubscriptionsPerClient, 5),
  })
  const genesisChunkSize = positive('genesisChunkSize', options.genesisChunkSize, 16 * 1024 * 1024)
  let chunks: string[] | undefined
  let bound: { host: string, port: number } | undefined

  const env: RouteEnv = {
    backend: deps.backend,
    indexer: deps.indexer,
    bus,
    broadcastTxCommitTimeoutMs: positive('timeoutBroadcastTxCommitMs', options.timeoutBroadcastTxCommitMs, 10_000),
    genesisChunkSize,
    rpcAddress: () => {
      const a = bound ?? listen
      return `tcp://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`
    },
    now: () => clock.now(),
    timers,
    logger,
    genesisChunks: () => (chunks ??= genesisChunksOf(deps.backend.genesis(), genesisChunkSize)),
  }
  const httpCfg = { maxBodyBytes, maxBatchSize, cors, limiter, logger }
  const wsCfg = {
    maxConnections: positive('maxWsConnections', options.maxWsConnections, 100),
    maxMessageBytes: positive('wsMaxMessageBytes', options.wsMaxMessageBytes, maxBodyBytes),
    maxBufferedBytes: positive('wsMaxBufferedBytes', options.wsMaxBufferedBytes, 16 * 1024 * 1024),
    maxPendingRequests: positive('wsMaxPendingRequests', options.wsMaxPendingRequests, 100),
    maxBatchSize,
    pingIntervalMs: positive('wsPingIntervalMs', options.wsPingIntervalMs, 27_000),
    readTimeoutMs: positive('wsReadTimeoutMs', options.wsReadTimeoutMs, 30_000),
    cors,
    limiter,
    logger,
  }
  const maxOpenConnections = positive('maxOpenConnections', options.maxOpenConnections, 900, true)
  const readTimeoutMs = positive('readTimeoutMs', options.readTimeoutMs, 10_000)
  const maxHeaderBytes = positive('maxHeaderBytes', options.maxHeaderBytes, 1 << 20)

  // ---- event pipeline ----------------------------------------------------------------------
  let queue: Promise<void> = Promise.resolve()
  let unsubscribe: (() => void) | undefined
  let stopping = false
  const enqueue = (task: () => Promise<void>): void => {
    queue = queue.then(task).catch((err: unknown) => { logger.error('event pipeline failed', { err }) })
  }
  const appVersion = (): number => deps.backend.nodeInfo().protocolVersion.app
  let warnedGap = 0
  /** Indexes heights (indexer.height(), upTo] from the node's stores, as far as they go. */
  const catchUp = async (upTo: number): Promise<void> => {
    const indexer = env.indexer
    if (indexer === undefined || indexer.height() >= upTo) return
    const blocks = deps.backend.blocks
    const from = Math.max(indexer.height() + 1, blocks.base())
    if (from > indexer.height() + 1) logger.warn('indexer is behind the pruned block store', { indexed: indexer.height(), base: blocks.base() })
    const load = deps.backend.loadBlockResults
    if (load === undefined) {
      if (warnedGap < upTo) logger.warn('blocks not indexed: the node keeps no block results to re-index from', { from, to: upTo })
      warnedGap = upTo
      return
    }
    for (let h = from; h <= upTo && !stopping; h++) {
      const [block, results] = await Promise.all([blocks.loadBlock(h), load(h)])
      if (block === undefined || results === undefined) {
        logger.warn('cannot re-index: block or results missing', { height: h })
        return
      }
      await indexer.indexBlock(block, results)
    }
  }
  const onNodeEvent = (ev: NodeEvent): void => {
    if (stopping) return
    enqueue(async () => {
      if (ev.type === 'NewBlock' && env.indexer !== undefined) {
        const h = ev.block.header.height
        try {
          await catchUp(h - 1) // a gap (a failed write, events lost before start) is filled from the stores first
          await env.indexer.indexBlock(ev.block, ev.results)
        } catch (err) {
          logger.error('indexing failed', { height: h, err })
        }
      }
      if (!bus.hasSubscribers()) return
      for (const m of busMessagesFor(ev, appVersion())) bus.publish(m)
    })
  }

  // ---- HTTP ----------------------------------------------------------------------------------
  let server: Server | undefined
  let ws: WsHandler | undefined

  const readBody = (req: IncomingMessage): Promise<Uint8Array | 'too-large'> => new Promise((resolve) => {
    const declared = Number(req.headers['content-length'])
    if (Number.isFinite(declared) && declared > maxBodyBytes) { resolve('too-large'); return }
    const chunks: Buffer[] = []
    let size = 0
    const done = (v: Uint8Array | 'too-large'): void => {
      req.removeListener('data', onData)
      resolve(v)
    }
    const onData = (c: Buffer): void => {
      size += c.length
      if (size > maxBodyBytes) { req.pause(); done('too-large'); return }
      chunks.push(c)
    }
    req.on('data', onData)
    req.on('end', () => done(new Uint8Array(Buffer.concat(chunks))))
    req.on('error', () => done(new Uint8Array(Buffer.concat(chunks))))
  })

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const abort = new AbortController()
    res.on('close', () => { if (!res.writableFinished) abort.abort() })
    const ip = req.socket.remoteAddress ?? '?'
    void (async () => {
      const body = await readBody(req)
      const headers: Record<string, string | undefined> = {}
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v
      const out = await handleHttp(env, httpCfg, {
        method: req.method ?? 'GET', url: req.url ?? '/', headers, ip, clientId: `${ip}:${req.socket.remotePort ?? 0}`, body, signal: abort.signal,
      })
      if (res.destroyed) return
      res.writeHead(out.status, out.headers)
      res.end(out.body)
      if (body === 'too-large') res.on('finish', () => req.socket.destroy())
    })().catch((err: unknown) => {
      logger.error('rpc request failed', { err })
      if (!res.headersSent) { res.statusCode = 500; res.end() } else res.destroy()
    })
  }

  const call = async (method: string, params?: unknown): Promise<RpcResponse> =>
    callJson(env, method, params, { transport: 'http', clientId: 'in-process', id: 1 })

  return {
    bus,
    start: async () => {
      if (server !== undefined) throw new AidError('ERR_RPC_INVALID_OPTIONS', 'server already started', 'start')
      stopping = false
      unsubscribe = deps.backend.subscribe(onNodeEvent)
      enqueue(async () => {
        const before = env.indexer?.height() ?? 0
        await catchUp(deps.backend.blocks.height())
        const after = env.indexer?.height() ?? 0
        if (after > before) logger.info('indexer caught up', { from: before + 1, to: after })
      })
      const s = createServer({ maxHeaderSize: maxHeaderBytes, requestTimeout: readTimeoutMs, headersTimeout: readTimeoutMs }, onRequest)
      if (maxOpenConnections > 0) s.maxConnections = maxOpenConnections
      ws = createWsHandler(env, wsCfg)
      const wsh = ws
      s.on('upgrade', (req, socket, head) => wsh.handleUpgrade(req, socket, head))
      s.on('clientError', (err: NodeJS.ErrnoException, socket) => {
        // Malformed HTTP never reaches a handler: answer it here, still as JSON-RPC.
        const [status, text, data] = err.code === 'HPE_HEADER_OVERFLOW'
          ? [431, 'Request Header Fields Too Large', `request head exceeds ${maxHeaderBytes} bytes`]
          : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout', 'request not received in time'] : [400, 'Bad Request', 'malformed HTTP request']
        const body = JSON.stringify(errorResponse(null, RPC_INVALID_REQUEST, data))
        if (socket.writable) socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
        else socket.destroy()
      })
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject)
        s.listen(listen.port, listen.host, () => { s.off('error', reject); resolve() })
      })
      server = s
      const a = s.address() as AddressInfo
      bound = { host: a.address, port: a.port }
      logger.info('RPC server listening', { address: env.rpcAddress() })
    },
    stop: async () => {
      stopping = true
      unsubscribe?.()
      unsubscribe = undefined
      bus.close('node is stopping')
      const s = server
      server = undefined
      if (s !== undefined) {
        const closed = new Promise<void>((resolve) => s.close(() => resolve()))
        s.closeIdleConnections()
        await ws?.close()
        s.closeAllConnections()
        await closed
      }
      await queue
    },
    address: () => {
      if (bound === undefined) throw new AidError('ERR_RPC_CLOSED', 'server is not started', 'address')
      return bound
    },
    url: () => {
      const a = bound ?? listen
      return `http://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`
    },
    wsUrl: () => {
      const a = bound ?? listen
      return `ws://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}/websocket`
    },
    idle: async () => {
      for (;;) {
        const q = queue
        await q
        if (q === queue) return
      }
    },
    handle: async (r) => {
      const body = r.body === undefined ? new Uint8Array(0) : typeof r.body === 'string' ? new Uint8Array(Buffer.from(r.body, 'utf8')) : r.body
      const inp: HttpIn = {
        method: r.method ?? (body.length > 0 ? 'POST' : 'GET'),
        url: r.url ?? '/',
        headers: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
        ip: r.ip ?? '127.0.0.1',
        clientId: `${r.ip ?? '127.0.0.1'}:0`,
        body: body.length > maxBodyBytes ? 'too-large' : body,
      }
      return handleHttp(env, httpCfg, inp)
    },
    call,
  }
}
