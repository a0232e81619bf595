/**
 * The HTTP side of the JSON-RPC server, after CometBFT rpc/jsonrpc/server
 * (http_server.go PreChecksHandler/RecoverAndLogHandler, http_json_handler.go,
 * http_uri_handler.go) plus what CometBFT delegates to rs/cors and to operators:
 *
 *   CORS        allowed origins (exact, "*", or one "*" wildcard as http://*.example.com),
 *               methods and headers; preflight answered 204 (rs/cors semantics).
 *   rate limit  a token bucket per client IP (CometBFT has none): over the limit → HTTP 429
 *               with -32000 "Server error", data "rate limit exceeded".
 *   body size   over maxBodyBytes → HTTP 413 with -32600, data "error reading request body:
 *               http: request body too large" (CometBFT: the same error with HTTP 400).
 *   batches     over maxBatchSize → one -32600 "batch request exceeds maximum (N) allowed
 *               number of requests", as CometBFT; an empty batch → -32600 (JSON-RPC spec).
 *
 * Routing as CometBFT: POST / is JSON-RPC (single or batch; GET / lists the endpoints as HTML,
 * an empty POST gets -32600 where CometBFT also answers HTML); /<method>?args is the URI form for any HTTP method (id -1, errors
 * with HTTP 500); a WebSocket-only method or unknown path over URI → 404 "Method not
 * found". Parse errors → HTTP 500, as CometBFT. Responses to batches are always arrays
 * (CometBFT unwraps a batch of one); a body of notifications only gets 204 No Content.
 *
 * `handleHttp` is transport-free (method, url, headers, body in; status, headers, body
 * out), so tests drive the exact pipeline in-process; server.ts adapts node:http to it.
 */
import type { Logger } from '../src/log.ts'
import type { CallContext, RouteEnv } from './env.ts'
import {
  checkRequest, errorResponse, RPC_INTERNAL_ERROR, RPC_INVALID_REQUEST, RPC_METHOD_NOT_FOUND, RPC_PARSE_ERROR,
  RPC_SERVER_ERROR, type RpcResponse,
} from './jsonrpc.ts'
import { callJson, callUri, endpointsHtml, errorToResponse } from './routes.ts'

export interface CorsOptions {
  /** Origins allowed to make cross-origin requests: exact, "*", or with one "*" wildcard. Empty = CORS off. */
  allowedOrigins: string[]
  allowedMethods: string[]
  allowedHeaders: string[]
}

export const DEFAULT_CORS: Readonly<CorsOptions> = Object.freeze({
  allowedOrigins: [],
  allowedMethods: ['HEAD', 'GET', 'POST'],
  allowedHeaders: ['Origin', 'Accept', 'Content-Type', 'X-Requested-With', 'X-Server-Time'],
})

export function originAllowed (cors: CorsOptions, origin: string): boolean {
  for (const pattern of cors.allowedOrigins) {
    if (pattern === '*') return true
    const star = pattern.indexOf('*')
    if (star < 0) {
      if (pattern.toLowerCase() === origin.toLowerCase()) return true
      continue
    }
    const pre = pattern.slice(0, star).toLowerCase()
    const post = pattern.slice(star + 1).toLowerCase()
    const o = origin.toLowerCase()
    if (o.length >= pre.length + post.length && o.startsWith(pre) && o.endsWith(post)) return true
  }
  return false
}

export interface RateLimitOptions {
  /** Tokens added per second per IP; 0 disables the limit. */
  ratePerSecond: number
  /** Bucket size: the burst a client may send at once. */
  burst: number
}

export interface RateLimiter { take: (ip: string) => boolean }

/** Token bucket per IP; idle full buckets are dropped so the map stays small. */
export function createRateLimiter (opts: RateLimitOptions, now: () => number): RateLimiter {
  const buckets = new Map<string, { tokens: number, at: number }>()
  if (opts.ratePerSecond <= 0) return { take: () => true }
  const refill = (b: { tokens: number, at: number }, t: number): void => {
    b.tokens = Math.min(opts.burst, b.tokens + ((t - b.at) / 1000) * opts.ratePerSecond)
    b.at = t
  }
  return {
    take: (ip) => {
      const t = now()
      let b = buckets.get(ip)
      if (b === undefined) {
        if (buckets.size >= 10_000) {
          for (const [k, v] of buckets) {
            refill(v, t)
            if (v.tokens >= opts.burst) buckets.delete(k)
          }
        }
        b = { tokens: opts.burst, at: t }
        buckets.set(ip, b)
      }
      refill(b, t)
      if (b.tokens < 1) return false
      b.tokens -= 1
      return true
    },
  }
}

export interface HttpConfig {
  maxBodyBytes: number
  maxBatchSize: number
  cors: CorsOptions
  limiter: RateLimiter
  logger: Logger
}

export interface HttpIn {
  method: string
  /** Path and query, e.g. "/block?height=5". */
  url: string
  headers: Readonly<Record<string, string | undefined>>
  ip: string
  /** Subscriber identity for broadcast_tx_commit (ip:port). */
  clientId: string
  /** The body, or 'too-large' when it exceeded maxBodyBytes (reading stopped). */
  body: Uint8Array | 'too-large'
  signal?: AbortSignal
}

export interface HttpOut {
  status: number
  headers: Record<string, string>
  body: string
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

function safeJson (v: unknown): string {
  try {
    return JSON.stringify(v)
  } catch (err) {
    // A result that cannot be serialised is a bug; answer with an internal error, never a crash.
    return JSON.stringify(errorResponse(null, RPC_INTERNAL_ERROR, `error marshaling response: ${err instanceof Error ? err.message : String(err)}`))
  }
}

/**
 * A JSON-RPC text (HTTP body or WebSocket message) to its responses: one response, an
 * array for a batch, or undefined when there is nothing to answer (only notifications).
 */
export async function processJsonText (
  env: RouteEnv, text: string, maxBatchSize: number, ctx: Omit<CallContext, 'id'>,
): Promise<{ response: RpcResponse | RpcResponse[] | undefined, parseError: boolean }> {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err)
    return { response: errorResponse(null, RPC_PARSE_ERROR, `error unmarshaling request: ${why}`), parseError: true }
  }
  const one = async (v: unknown): Promise<RpcResponse | undefined> => {
    const c = checkRequest(v)
    if (c.kind === 'notification') return undefined
    if (c.kind === 'invalid') return c.response
    try {
      return await callJson(env, c.req.method, c.req.params, { ...ctx, id: c.req.id })
    } catch (err) {
      return errorToResponse(c.req.id, err, c.req.method, env.logger)
    }
  }
  if (!Array.isArray(parsed)) return { response: await one(parsed), parseError: false }
  if (parsed.length === 0) return { response: errorResponse(null, RPC_INVALID_REQUEST, 'empty batch'), parseError: false }
  if (maxBatchSize > 0 && parsed.length > maxBatchSize) {
    return {
      response: [errorResponse(null, RPC_INVALID_REQUEST, `batch request exceeds maximum (${maxBatchSize}) allowed number of requests`)],
      parseError: false,
    }
  }
  const out: RpcResponse[] = []
  for (const v of parsed) { // sequential, as CometBFT
    const r = await one(v)
    if (r !== undefined) out.push(r)
  }
  return { response: out.length === 0 ? undefined : out, parseError: false }
}

function json (status: number, body: unknown, extra: Record<string, string> = {}): HttpOut {
  return { status, headers: { 'Content-Type': 'application/json', ...extra }, body: typeof body === 'string' ? body : safeJson(body) }
}

/** The CORS response headers for a request (empty when CORS does not apply or the origin is refused). */
function corsFor (cfg: HttpConfig, inp: HttpIn): Record<string, string> {
  const origin = inp.headers.origin
  if (origin === undefined || cfg.cors.allowedOrigins.length === 0 || !originAllowed(cfg.cors, origin)) return {}
  const all = cfg.cors.allowedOrigins.includes('*')
  return { 'Access-Control-Allow-Origin': all ? '*' : origin, Vary: 'Origin' }
}

function preflight (cfg: HttpConfig, inp: HttpIn): HttpOut {
  const base = corsFor(cfg, inp)
  const reqMethod = (inp.headers['access-control-request-method'] ?? '').toUpperCase()
  const methods = cfg.cors.allowedMethods.map((m) => m.toUpperCase())
  const reqHeaders = (inp.headers['access-control-request-headers'] ?? '').split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== '')
  const allowedHeaders = cfg.cors.allowedHeaders.map((h) => h.toLowerCase())
  const ok = base['Access-Control-Allow-Origin'] !== undefined && methods.includes(reqMethod) &&
    (allowedHeaders.includes('*') || reqHeaders.every((h) => allowedHeaders.includes(h)))
  if (!ok) return { status: 204, headers: { Vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers' }, body: '' }
  const headers: Record<string, string> = {
    ...base,
    Vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
    'Access-Control-Allow-Methods': reqMethod,
  }
  if (reqHeaders.length > 0) headers['Access-Control-Allow-Headers'] = reqHeaders.join(', ')
  return { status: 204, headers, body: '' }
}

export async function handleHttp (env: RouteEnv, cfg: HttpConfig, inp: HttpIn): Promise<HttpOut> {
  const serverTime = { 'X-Server-Time': String(Math.floor(env.now() / 1000)) }
  try {
    if (inp.method.toUpperCase() === 'OPTIONS' && inp.headers.origin !== undefined && inp.headers['access-control-request-method'] !== undefined) {
      const out = preflight(cfg, inp)
      out.headers = { ...serverTime, ...out.headers }
      return out
    }
    const out = await route(env, cfg, inp)
    out.headers = { ...serverTime, ...corsFor(cfg, inp), ...out.headers }
    if (inp.method === 'HEAD') out.body = ''
    return out
  } catch (err) {
    cfg.logger.error('panic in RPC HTTP handler', { err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) })
    return json(500, errorResponse(-1, RPC_INTERNAL_ERROR, err instanceof Error ? err.message : String(err)), serverTime)
  }
}

/**
 * GET /ready — a readiness probe for load balancers (not JSON-RPC): 200 when the node is
 * caught up and has enough peers to follow consensus, 503 with the reasons otherwise.
 * Liveness stays the JSON-RPC `health` route, as in CometBFT.
 */
function readiness (env: RouteEnv): HttpOut {
  const r = env.backend.readiness?.() ?? { ready: true, reasons: [] }
  return json(r.ready ? 200 : 503, { ready: r.ready, reasons: r.reasons, ...(r.details ?? {}) })
}

async function route (env: RouteEnv, cfg: HttpConfig, inp: HttpIn): Promise<HttpOut> {
  const method = inp.method.toUpperCase()
  if (!cfg.limiter.take(inp.ip)) return json(429, errorResponse(null, RPC_SERVER_ERROR, 'rate limit exceeded'), { 'Retry-After': '1' })
  if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') {
    return json(405, errorResponse(null, RPC_INVALID_REQUEST, `method ${method} is not allowed`), { Allow: 'GET, HEAD, POST' })
  }
  if (inp.body === 'too-large') {
    return json(413, errorResponse(null, RPC_INVALID_REQUEST, 'error reading request body: http: request body too large'), { Connection: 'close' })
  }
  let url: URL
  try {
    url = new URL(inp.url, 'http://localhost')
  } catch {
    return json(400, errorResponse(null, RPC_INVALID_REQUEST, 'malformed request URL'))
  }
  const path = url.pathname
  if (path === '/') {
    if (inp.body.length === 0) {
      if (method === 'POST') return json(200, errorResponse(null, RPC_INVALID_REQUEST, 'empty request body'))
      return { status: 200, headers: { 'Content-Type': 'text/html' }, body: endpointsHtml(inp.headers.host ?? 'localhost') }
    }
    let text: string
    try {
      text = utf8.decode(inp.body)
    } catch {
      return json(500, errorResponse(null, RPC_PARSE_ERROR, 'error unmarshaling request: body is not valid UTF-8'))
    }
    const { response, parseError } = await processJsonText(env, text, cfg.maxBatchSize, {
      transport: 'http', clientId: inp.clientId, signal: inp.signal,
    })
    if (response === undefined) return { status: 204, headers: {}, body: '' }
    return json(parseError ? 500 : 200, response)
  }
  if (path === '/ready') return readiness(env)
  if (path === '/websocket') {
    return json(400, errorResponse(null, RPC_INVALID_REQUEST, 'websocket: the client is not using the websocket protocol'))
  }
  const name = path.slice(1)
  const res = await callUri(env, name, url.searchParams, { transport: 'uri', clientId: inp.clientId, id: -1, signal: inp.signal })
  if (res === undefined) return json(404, errorResponse(-1, RPC_METHOD_NOT_FOUND))
  return json(res.error === undefined ? 200 : 500, res)
}
