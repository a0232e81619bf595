/**
 * The Prometheus metrics endpoint (DESIGN §9; CometBFT node.go startPrometheusServer):
 * `GET /metrics` on config instrumentation.prometheus_listen_addr (127.0.0.1:26660 by
 * default), in the Prometheus text exposition format 0.0.4, from one `Metrics` object's own
 * registry. Off when instrumentation.prometheus = false (`metricsServerOptions` → null).
 *
 * Only /metrics lives here: /health and readiness belong to the JSON-RPC server; the
 * `node_ready` gauge (metrics.setReady) is the metrics-side view of readiness.
 * instrumentation.max_open_connections caps simultaneous connections (0: no cap), as
 * CometBFT's netutil.LimitListener does. Port 0 picks a free port (tests).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { InstrumentationConfig } from './config/config.ts'
import { parseHostPort } from './config/fields.ts'
import { AidError } from './errors.ts'
import { silentLogger, type Logger } from './log.ts'
import type { Metrics } from './metrics.ts'

export const DEFAULT_METRICS_LISTEN_ADDR = '127.0.0.1:26660'

export interface MetricsServerOptions {
  /** "host:port" (IPv6 as "[::1]:26660"); port 0 picks a free port. Default 127.0.0.1:26660. */
  listenAddr?: string
  /** Most simultaneous connections; 0 means no limit. Default 3 (CometBFT's). */
  maxOpenConnections?: number
  /** Longest time to receive one request, in ms. Default 10 000. */
  requestTimeoutMs?: number
}

export interface MetricsServerDeps {
  metrics: Pick<Metrics, 'render' | 'contentType'>
  logger?: Logger
}

export interface MetricsServer {
  /** Listens; rejects with ERR_METRICS_LISTEN (address in use, bad host, …). */
  start: () => Promise<void>
  /** Closes the listener and every open connection. Safe to call twice or before start. */
  stop: () => Promise<void>
  /** The bound address after start (the real port when 0 was asked for), else null. */
  address: () => { host: string, port: number } | null
  /** `http://host:port/metrics` after start, else null. */
  url: () => string | null
}

/** Server options from config.toml [instrumentation]; null when prometheus = false. */
export function metricsServerOptions (cfg: InstrumentationConfig): MetricsServerOptions | null {
  if (!cfg.prometheus) return null
  return { listenAddr: cfg.prometheus_listen_addr, maxOpenConnections: cfg.max_open_connections }
}

function splitListenAddr (addr: string): { host: string, port: number } {
  const hp = parseHostPort(addr)
  if (typeof hp === 'string') throw new AidError('ERR_METRICS_LISTEN', `bad listen address ${JSON.stringify(addr)}: ${hp}`, 'prometheus_listen_addr')
  const host = hp.host.startsWith('[') ? hp.host.slice(1, -1) : hp.host
  return { host, port: hp.port }
}

export function createMetricsServer (opts: MetricsServerOptions, deps: MetricsServerDeps): MetricsServer {
  const listenAddr = opts.listenAddr ?? DEFAULT_METRICS_LISTEN_ADDR
  const { host, port } = splitListenAddr(listenAddr)
  const maxConnections = opts.maxOpenConnections ?? 3
  const log = (deps.logger ?? silentLogger).child({ module: 'metrics' })
  let server: Server | null = null
  let bound: { host: string, port: number } | null = null
  const sockets = new Set<Socket>()

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0]
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found: metrics are at /metrics\n')
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' }).end('method not allowed\n')
      return
    }
    deps.metrics.render().then((text) => {
      res.writeHead(200, {
        'Content-Type': deps.metrics.contentType,
        'Content-Length': Buffer.byteLength(text),
        'Cache-Control': 'no-store',
      })
      res.end(req.method === 'HEAD' ? undefined : text)
    }, (err: unknown) => {
      log.error('collecting metrics failed', { err })
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' })
      res.end('collecting metrics failed\n')
    })
  }

  return {
    start: async () => {
      if (server !== null) return
      const s = createServer(handle)
      if (maxConnections > 0) s.maxConnections = maxConnections
      s.requestTimeout = opts.requestTimeoutMs ?? 10_000
      s.headersTimeout = Math.min(s.requestTimeout, 10_000)
      s.on('connection', (sock: Socket) => {
        sockets.add(sock)
        sock.once('close', () => sockets.delete(sock))
      })
      await new Promise<void>((resolve, reject) => {
        const onError = (err: NodeJS.ErrnoException): void => {
          reject(new AidError('ERR_METRICS_LISTEN', `cannot listen on ${listenAddr}: ${err.code ?? err.message}`, 'prometheus_listen_addr'))
        }
        s.once('error', onError)
        s.listen(port, host, () => {
          s.off('error', onError)
          resolve()
        })
      })
      s.on('error', (err) => { log.error('metrics server error', { err }) })
      server = s
      const a = s.address() as AddressInfo
      bound = { host: a.address, port: a.port }
      log.info('serving Prometheus metrics', { url: `http://${listenAddr.replace(/:\d+$/, `:${a.port}`)}/metrics` })
    },
    stop: async () => {
      const s = server
      if (s === null) return
      server = null
      bound = null
      await new Promise<void>((resolve) => {
        s.close(() => resolve())
        for (const sock of sockets) sock.destroy()
        sockets.clear()
      })
    },
    address: () => (bound === null ? null : { ...bound }),
    url: () => {
      if (bound === null) return null
      const h = bound.host.includes(':') ? `[${bound.host}]` : bound.host
      return `http://${h}:${bound.port}/metrics`
    },
  }
}
