/**
 * What route handlers see (CometBFT rpc/core/env.go `Environment`): the node backend, the
 * indexer, the event bus, limits, and the per-call context; plus env.go's shared checks
 * (getHeight, validatePage, validatePerPage, latestUncommittedHeight) with CometBFT's
 * error texts.
 */
import type { Timers } from '../src/clock.ts'
import type { Logger } from '../src/log.ts'
import type { NodeBackend } from '../src/node-api.ts'
import type { Json } from './encode.ts'
import type { EventBus } from './events.ts'
import type { Indexer } from './indexer.ts'
import { routeError, type RpcId } from './jsonrpc.ts'
import type { ArgSpec, Args } from './params.ts'

/** CometBFT rpc/core defaults. */
export const DEFAULT_PER_PAGE = 30
export const MAX_PER_PAGE = 100

export interface RouteEnv {
  backend: NodeBackend
  /** Absent: tx indexing is off (tx, tx_search, block_search answer as CometBFT's null indexer). */
  indexer: Indexer | undefined
  bus: EventBus
  broadcastTxCommitTimeoutMs: number
  genesisChunkSize: number
  /** "tcp://host:port" the server listens on (status.node_info.other.rpc_address). */
  rpcAddress: () => string
  now: () => number
  timers: Timers
  logger: Logger
  /** Memoized genesis JSON text split in chunks (base64 each). */
  genesisChunks: () => string[]
}

/** A WebSocket connection as handlers see it (subscribe). */
export interface WsSession {
  readonly clientId: string
  /** Queues one JSON text; false when the client is not keeping up (the caller then gives up on it). */
  send: (json: string) => boolean
  /** Sends `json` if it can and closes the connection: 1008 for a subscriber that cannot keep up, 1001 when the server stops. */
  fail: (json: string, reason: string, code?: 1001 | 1008) => void
}

export interface CallContext {
  transport: 'http' | 'uri' | 'ws'
  /** Subscriber identity: the remote address (HTTP) or the connection (WebSocket), as CometBFT's RemoteAddr. */
  clientId: string
  id: RpcId
  ws?: WsSession
  /** Aborted when the client goes away. */
  signal?: AbortSignal
  /** WebSocket: runs `fn` right after this call's response is written (subscriptions start there). */
  afterResponse?: (fn: () => void) => void
}

export type Handler = (env: RouteEnv, args: Args, ctx: CallContext) => Promise<Json>

export interface Route {
  args: readonly ArgSpec[]
  handler: Handler
  /** WebSocket only (subscribe, unsubscribe, unsubscribe_all). */
  ws?: boolean
}

export const appVersion = (env: RouteEnv): number => env.backend.nodeInfo().protocolVersion.app

/** CometBFT's latestUncommittedHeight: the next height unless block sync runs. */
export function latestUncommittedHeight (env: RouteEnv): number {
  const h = env.backend.blocks.height()
  return env.backend.catchingUp() ? h : h + 1
}

/** CometBFT's getHeight: the given height checked against [base, latest], or latest. */
export function getHeight (env: RouteEnv, latest: number, height: unknown): number {
  if (height === undefined) return latest
  const h = height as number
  if (h <= 0) throw routeError(`height must be greater than 0, but got ${h}`)
  if (h > latest) throw routeError(`height ${h} must be less than or equal to the current blockchain height ${latest}`)
  const base = env.backend.blocks.base()
  if (h < base) throw routeError(`height ${h} is not available, lowest height is ${base}`)
  return h
}

export function validatePerPage (perPage: unknown): number {
  if (perPage === undefined) return DEFAULT_PER_PAGE
  const n = perPage as number
  if (n < 1) return DEFAULT_PER_PAGE
  return Math.min(n, MAX_PER_PAGE)
}

export function validatePage (page: unknown, perPage: number, total: number): number {
  if (page === undefined) return 1
  const pages = Math.max(1, Math.floor((total - 1) / perPage) + 1)
  const p = page as number
  if (p <= 0 || p > pages) throw routeError(`page should be within [1, ${pages}] range, given ${p}`)
  return p
}

/** The slice [skip, skip + size) of a page (CometBFT validateSkipCount + MinInt). */
export function pageSlice (page: number, perPage: number, total: number): { start: number, end: number } {
  const start = Math.max(0, (page - 1) * perPage)
  return { start, end: start + Math.max(0, Math.min(perPage, total - start)) }
}

export function orderBy (v: unknown, dflt: 'asc' | 'desc'): 'asc' | 'desc' {
  if (v === undefined || v === '') return dflt
  if (v === 'asc' || v === 'desc') return v
  throw routeError('expected order_by to be either `asc` or `desc` or empty')
}
