/**
 * Test harness: the RPC server over the fake backend with a memory-level indexer, either
 * in-process only or listening on 127.0.0.1:0, plus small HTTP and WebSocket clients.
 * Everything opened here is closed by `close()`.
 */
import { MemoryLevel } from 'memory-level'
import WebSocket from 'ws'
import type { Clock } from '../../../src/clock.ts'
import { openIndexer, type Indexer, type IndexDb } from '../../../rpc/indexer.ts'
import { createRpcServer, type RpcServer, type RpcServerOptions } from '../../../rpc/server.ts'
import { createFakeBackend, type FakeBackend } from './fake-backend.ts'
import { buildChain, GENESIS_TIME } from './fixtures.ts'

export interface Harness {
  server: RpcServer
  backend: FakeBackend
  indexer: Indexer
  close: () => Promise<void>
}

/** A fixed clock for byte-stable goldens (net_info start times, X-Server-Time). */
export const fixedClock: Clock = { now: () => GENESIS_TIME + 200_000 }

export async function startHarness (opts: RpcServerOptions & { listen?: boolean, heights?: number, backend?: FakeBackend, clock?: Clock } = {}): Promise<Harness> {
  const backend = opts.backend ?? createFakeBackend(buildChain(opts.heights ?? 5))
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
  const indexer = await openIndexer({ db: db as unknown as IndexDb })
  const server = createRpcServer({ laddr: 'tcp://127.0.0.1:0', rateLimit: { ratePerSecond: 0, burst: 1 }, ...opts }, {
    backend, indexer, clock: opts.clock ?? fixedClock,
  })
  await server.start()
  await server.idle()
  return {
    server,
    backend,
    indexer,
    close: async () => {
      await server.stop()
      await indexer.close()
      await db.close()
    },
  }
}

export interface HttpResult { status: number, headers: Headers, text: string, json: unknown }

export async function post (base: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<HttpResult> {
  const res = await fetch(base + '/', { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers } })
  const text = await res.text()
  let json: unknown
  try { json = text === '' ? undefined : JSON.parse(text) } catch { json = undefined }
  return { status: res.status, headers: res.headers, text, json }
}

export async function get (base: string, path: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  const res = await fetch(base + path, { headers })
  const text = await res.text()
  let json: unknown
  try { json = text === '' ? undefined : JSON.parse(text) } catch { json = undefined }
  return { status: res.status, headers: res.headers, text, json }
}

/** A WebSocket client that collects every message it receives. */
export interface WsClient {
  ws: WebSocket
  messages: unknown[]
  /** Sends a request and resolves with the first message carrying its id. */
  request: (method: string, params?: unknown, id?: number | string) => Promise<any>
  /** Resolves once `n` messages satisfy `pred`. */
  waitFor: (pred: (m: any) => boolean, n?: number, timeoutMs?: number) => Promise<any[]>
  closed: Promise<{ code: number, reason: string }>
  close: () => Promise<void>
}

let nextId = 1000

export async function connectWs (url: string, opts: { headers?: Record<string, string> } = {}): Promise<WsClient> {
  const ws = new WebSocket(url, { headers: opts.headers })
  const messages: unknown[] = []
  const waiters: Array<() => void> = []
  ws.on('message', (data) => {
    messages.push(JSON.parse(data.toString()))
    for (const w of [...waiters]) w()
  })
  const closed = new Promise<{ code: number, reason: string }>((resolve) => {
    ws.on('close', (code, reason) => { resolve({ code, reason: reason.toString() }); for (const w of [...waiters]) w() })
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
    ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected response ${res.statusCode ?? 0}`)))
  })
  ws.on('error', () => {})
  const waitFor = (pred: (m: any) => boolean, n = 1, timeoutMs = 5000): Promise<any[]> => new Promise((resolve, reject) => {
    const check = (): boolean => {
      const hits = messages.filter(pred)
      if (hits.length >= n) {
        clearTimeout(timer)
        const i = waiters.indexOf(w)
        if (i >= 0) waiters.splice(i, 1)
        resolve(hits)
        return true
      }
      if (ws.readyState === WebSocket.CLOSED) {
        clearTimeout(timer)
        reject(new Error(`socket closed with ${hits.length}/${n} matching messages`))
        return true
      }
      return false
    }
    const w = (): void => { check() }
    const timer = setTimeout(() => {
      const i = waiters.indexOf(w)
      if (i >= 0) waiters.splice(i, 1)
      reject(new Error(`timed out with ${messages.filter(pred).length}/${n} matching messages`))
    }, timeoutMs)
    if (!check()) waiters.push(w)
  })
  return {
    ws,
    messages,
    request: async (method, params, id = nextId++) => {
      ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }))
      const [m] = await waitFor((x) => x.id === id && (x.result !== undefined || x.error !== undefined) && !(x.result?.query !== undefined && x.result?.data !== undefined))
      return m
    },
    waitFor,
    closed,
    close: async () => {
      if (ws.readyState === WebSocket.CLOSED) return
      ws.close()
      await closed
    },
  }
}
