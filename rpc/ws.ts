/**
 * JSON-RPC over WebSocket at /websocket, after CometBFT rpc/jsonrpc/server/ws_handler.go
 * (wsConnection: read routine, bounded write channel, ping period 27 s, read wait 30 s),
 * on the `ws` library.
 *
 *   - One connection = one subscriber id (CometBFT keys subscribers by remote address).
 *   - Requests on one connection are handled one at a time, in order, as CometBFT's read
 *     routine does; at most `maxPendingRequests` wait (more get -32000, not memory).
 *   - Responses to requests are always written. Subscription events go through `send`,
 *     bounded by `maxBufferedBytes` queued for the connection beyond what the kernel took
 *     (the connection's buffer; counted in bytes rather than CometBFT's 200 messages, so a
 *     block with many txs does not cut off a client that reads promptly): a client that
 *     cannot keep up gets a -32000 "subscription was canceled (reason: …)" error and is
 *     disconnected (close 1008), never silently skipped (CometBFT's
 *     experimental_close_on_slow_client behaviour, here always on).
 *   - A subscription's events start only after its subscribe response is written.
 *   - Limits on upgrade: max open WebSocket connections (503), per-IP rate limit (429,
 *     shared with HTTP; each message also takes a token), and, when CORS origins are
 *     configured, a browser Origin must be one of them (403). CometBFT accepts any origin.
 *   - Differences: parameter errors are -32602 (CometBFT's WebSocket handler says -32603);
 *     batches are accepted over WebSocket too.
 */
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type RawData, type WebSocket } from 'ws'
import type { Logger } from '../src/log.ts'
import type { RouteEnv, WsSession } from './env.ts'
import { originAllowed, processJsonText, type CorsOptions, type RateLimiter } from './http.ts'
import { errorResponse, RPC_SERVER_ERROR } from './jsonrpc.ts'

export interface WsConfig {
  maxConnections: number
  maxMessageBytes: number
  maxBufferedBytes: number
  maxPendingRequests: number
  maxBatchSize: number
  pingIntervalMs: number
  readTimeoutMs: number
  cors: CorsOptions
  limiter: RateLimiter
  logger: Logger
}

export interface WsHandler {
  /** Handles an HTTP upgrade (server 'upgrade' event). */
  handleUpgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => void
  count: () => number
  /** Closes every connection (1001 going away) and waits for them. */
  close: () => Promise<void>
}

function reject (socket: Duplex, status: number, text: string, data: string): void {
  const body = JSON.stringify(errorResponse(null, RPC_SERVER_ERROR, data))
  socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`)
}

let connectionCounter = 0

export function createWsHandler (env: RouteEnv, cfg: WsConfig): WsHandler {
  const wss = new WebSocketServer({ noServer: true, maxPayload: cfg.maxMessageBytes, perMessageDeflate: false, clientTracking: false })
  const open = new Set<WebSocket>()
  const closedAll: Array<() => void> = []

  const onConnection = (ws: WebSocket, req: IncomingMessage): void => {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`
    const ip = req.socket.remoteAddress ?? '?'
    const clientId = `${remote}#${++connectionCounter}`
    const log = cfg.logger.child({ remote })
    const abort = new AbortController()
    let closed = false
    let lastSeen = env.now()
    const queue: string[] = []
    let busy = false

    const hardCapExceeded = (): boolean => ws.bufferedAmount > 4 * cfg.maxBufferedBytes
    const write = (json: string): void => {
      if (closed) return
      if (hardCapExceeded()) { ws.terminate(); return }
      ws.send(json)
    }
    const afterResponse: Array<() => void> = []
    const session: WsSession = {
      clientId,
      send: (json) => {
        if (closed) return false
        if (ws.bufferedAmount > cfg.maxBufferedBytes) return false
        write(json)
        return true
      },
      fail: (json, reason, code = 1008) => {
        if (closed) return
        log.info('disconnecting websocket client', { reason })
        try { ws.send(json) } catch { /* closing anyway */ }
        closed = true
        ws.close(code, reason.slice(0, 120))
        setTimeout(() => ws.terminate(), 1000).unref()
      },
    }

    const handle = async (text: string): Promise<void> => {
      const { response } = await processJsonText(env, text, cfg.maxBatchSize, {
        transport: 'ws', clientId, signal: abort.signal, ws: session,
        afterResponse: (fn) => { afterResponse.push(fn) },
      })
      if (response !== undefined) write(JSON.stringify(response))
      for (const fn of afterResponse.splice(0)) fn()
    }
    const pump = async (): Promise<void> => {
      if (busy) return
      busy = true
      try {
        for (let next = queue.shift(); next !== undefined && !closed; next = queue.shift()) {
          try {
            await handle(next)
          } catch (err) {
            log.error('websocket request failed', { err })
          }
        }
      } finally {
        busy = false
      }
    }

    ws.on('message', (data: RawData, isBinary: boolean) => {
      lastSeen = env.now()
      if (closed) return
      if (!cfg.limiter.take(ip)) { write(JSON.stringify(errorResponse(null, RPC_SERVER_ERROR, 'rate limit exceeded'))); return }
      if (queue.length >= cfg.maxPendingRequests) {
        write(JSON.stringify(errorResponse(null, RPC_SERVER_ERROR, `too many pending requests (max ${cfg.maxPendingRequests})`)))
        return
      }
      const buf = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? Buffer.from(data) : data
      let text: string
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(buf)
      } catch {
        write(JSON.stringify(errorResponse(null, -32700, isBinary ? 'error unmarshaling request: binary message is not UTF-8 JSON' : 'error unmarshaling request: message is not valid UTF-8')))
        return
      }
      queue.push(text)
      void pump()
    })
    ws.on('pong', () => { lastSeen = env.now() })
    ws.on('error', (err) => { log.debug('websocket error', { err }) })
    const ping = setInterval(() => {
      if (env.now() - lastSeen > cfg.readTimeoutMs) { ws.terminate(); return }
      try { ws.ping() } catch { /* closing */ }
    }, cfg.pingIntervalMs)
    ping.unref()
    ws.on('close', () => {
      closed = true
      clearInterval(ping)
      abort.abort()
      queue.length = 0
      env.bus.removeClient(clientId)
      open.delete(ws)
      if (open.size === 0) for (const f of closedAll.splice(0)) f()
      log.debug('websocket closed')
    })
    open.add(ws)
    log.debug('websocket connected')
  }

  return {
    handleUpgrade: (req, socket, head) => {
      socket.on('error', () => {})
      try {
        const path = new URL(req.url ?? '/', 'http://localhost').pathname
        if (path !== '/websocket') { reject(socket, 404, 'Not Found', 'websocket endpoint is /websocket'); return }
        if (!cfg.limiter.take(req.socket.remoteAddress ?? '?')) { reject(socket, 429, 'Too Many Requests', 'rate limit exceeded'); return }
        const origin = req.headers.origin
        if (origin !== undefined && cfg.cors.allowedOrigins.length > 0 && !originAllowed(cfg.cors, origin)) {
          reject(socket, 403, 'Forbidden', `origin ${origin} is not allowed`)
          return
        }
        if (open.size >= cfg.maxConnections) {
          reject(socket, 503, 'Service Unavailable', `max websocket connections (${cfg.maxConnections}) reached`)
          return
        }
        wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req))
      } catch (err) {
        cfg.logger.warn('websocket upgrade failed', { err })
        socket.destroy()
      }
    },
    count: () => open.size,
    close: async () => {
      if (open.size > 0) {
        const done = new Promise<void>((resolve) => closedAll.push(resolve))
        for (const ws of open) ws.close(1001, 'server stopping')
        const t = setTimeout(() => { for (const ws of open) ws.terminate() }, 1000)
        await done
        clearTimeout(t)
      }
      wss.close()
    },
  }
}
