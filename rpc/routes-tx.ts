/**
 * Tx, mempool, ABCI, evidence and event routes, after CometBFT rpc/core/{mempool,tx,
 * blocks (block_search),abci,evidence,events}.go: broadcast_tx_async/sync/commit,
 * check_tx, unconfirmed_txs, num_unconfirmed_txs, tx, tx_search, block_search, abci_info,
 * abci_query, broadcast_evidence, subscribe, unsubscribe, unsubscribe_all.
 *
 * broadcast_tx_async does not wait for CheckTx (CometBFT waits for the mempool's
 * synchronous pre-checks only; aidledger's mempool has one async path), so it always
 * answers code 0 with the hash; the outcome is logged. broadcast_tx_commit subscribes to
 * the tx's Tx event before submitting, as CometBFT, and counts against the subscription
 * limits of the caller.
 */
import { toHex } from '../src/bytes.ts'
import { evidenceHash, txHash, validateDuplicateVoteEvidence } from '../src/types/index.ts'
import { isAidError } from '../src/errors.ts'
import { evidenceFromJson } from './decode.ts'
import {
  b64, blockIdJson, blockJson, checkTxJson, emptyExecTxResultJson, execTxResultJson, hex, int64, responseInfoJson,
  responseQueryJson, resultTxJson, txProofJson, type Json,
} from './encode.ts'
import { appVersion, orderBy, pageSlice, validatePage, validatePerPage, type CallContext, type Route, type RouteEnv } from './env.ts'
import { BusError, type TxEventData } from './events.ts'
import { errorResponse, eventResponseJson, routeError, RPC_SERVER_ERROR, RpcError } from './jsonrpc.ts'
import { MAX_QUERY_LENGTH, parseQuery, type Query } from './query.ts'

type A = Record<string, unknown>

const txArg = (args: A): Uint8Array => (args.tx as Uint8Array | undefined) ?? new Uint8Array(0)

function parseQueryOrFail (text: unknown, prefix: string): Query {
  const s = (text as string | undefined) ?? ''
  if (s.length > MAX_QUERY_LENGTH) throw routeError('maximum query length exceeded')
  try {
    return parseQuery(s)
  } catch (err) {
    if (isAidError(err, 'ERR_RPC_BAD_QUERY')) throw routeError(prefix + err.message.replace(/^ERR_RPC_BAD_QUERY: query: /, ''))
    throw err
  }
}

function searchError (err: unknown): never {
  if (isAidError(err, 'ERR_RPC_TOO_MANY_RESULTS')) throw routeError(err.message.replace(/^ERR_RPC_TOO_MANY_RESULTS: query: /, ''))
  throw err
}

async function broadcastAsync (env: RouteEnv, args: A): Promise<Json> {
  const tx = txArg(args)
  env.backend.mempool.broadcastTx(tx).then((r) => {
    if (!r.ok) env.logger.debug('broadcast_tx_async refused', { error: r.error })
  }, (err: unknown) => { env.logger.warn('broadcast_tx_async failed', { err }) })
  return { code: 0, data: '', log: '', codespace: '', hash: hex(txHash(tx)) }
}

async function broadcastSync (env: RouteEnv, args: A): Promise<Json> {
  const tx = txArg(args)
  const r = await env.backend.mempool.broadcastTx(tx)
  if (!r.ok) throw routeError(r.error)
  return { code: r.check.code, data: '', log: r.check.log, codespace: r.check.codespace, hash: hex(txHash(tx)) }
}

async function broadcastCommit (env: RouteEnv, args: A, ctx: CallContext): Promise<Json> {
  const tx = txArg(args)
  const hash = txHash(tx)
  const query = parseQuery(`tm.event='Tx' AND tx.hash='${toHex(hash).toUpperCase()}'`)
  let settle: (v: { data?: TxEventData, reason?: string }) => void = () => {}
  const included = new Promise<{ data?: TxEventData, reason?: string }>((resolve) => { settle = resolve })
  try {
    env.bus.subscribe(ctx.clientId, query, {
      deliver: (_s, msg) => { settle({ data: msg.raw as TxEventData }); return true },
      onCancel: (_s, reason) => { settle({ reason }) },
    })
  } catch (err) {
    if (err instanceof BusError) throw routeError(`failed to subscribe to tx: ${err.message}`)
    throw err
  }
  const cancelTimer = env.timers.schedule(env.broadcastTxCommitTimeoutMs, () => settle({ reason: 'timeout' }))
  const onAbort = (): void => settle({ reason: 'client went away' })
  ctx.signal?.addEventListener('abort', onAbort)
  try {
    const r = await env.backend.mempool.broadcastTx(tx)
    if (!r.ok) throw routeError(`error on broadcastTxCommit: ${r.error}`)
    const checkTx = checkTxJson(r.check)
    if (r.check.code !== 0) return { check_tx: checkTx, tx_result: emptyExecTxResultJson(), hash: hex(hash), height: '0' }
    const got = await included
    if (got.data !== undefined) {
      return { check_tx: checkTx, tx_result: execTxResultJson(got.data.result), hash: hex(hash), height: int64(got.data.height) }
    }
    if (got.reason === 'timeout') throw routeError('timed out waiting for tx to be included in a block')
    throw routeError(`txSub was canceled (reason: ${got.reason ?? 'CometBFT exited'})`)
  } finally {
    cancelTimer()
    ctx.signal?.removeEventListener('abort', onAbort)
    try { env.bus.unsubscribe(ctx.clientId, query.text) } catch { /* already cancelled */ }
  }
}

async function checkTx (env: RouteEnv, args: A): Promise<Json> {
  return checkTxJson(await env.backend.checkTx(txArg(args)))
}

async function unconfirmedTxs (env: RouteEnv, args: A): Promise<Json> {
  const limit = validatePerPage(args.limit)
  const m = env.backend.mempool
  const txs = m.txs(limit)
  return { n_txs: int64(txs.length), total: int64(m.size()), total_bytes: int64(m.sizeBytes()), txs: txs.map(b64) }
}

async function numUnconfirmedTxs (env: RouteEnv): Promise<Json> {
  const m = env.backend.mempool
  return { n_txs: int64(m.size()), total: int64(m.size()), total_bytes: int64(m.sizeBytes()), txs: null }
}

async function proofFor (env: RouteEnv, height: number, index: number): Promise<Json | undefined> {
  const b = await env.backend.blocks.loadBlock(height)
  return b === undefined || index >= b.txs.length ? undefined : txProofJson(b.txs, index)
}

async function tx (env: RouteEnv, args: A): Promise<Json> {
  if (env.indexer === undefined) throw routeError('transaction indexing is disabled')
  const hash = (args.hash as Uint8Array | undefined) ?? new Uint8Array(0)
  if (hash.length === 0) throw routeError('transaction hash cannot be empty')
  const r = await env.indexer.getTx(hash)
  if (r === undefined) throw routeError(`tx (${hex(hash)}) not found`)
  const proof = args.prove === true ? await proofFor(env, r.height, r.index) : undefined
  return resultTxJson(r, proof as Record<string, Json> | undefined)
}

async function txSearch (env: RouteEnv, args: A): Promise<Json> {
  const indexer = env.indexer
  if (indexer === undefined) throw routeError('transaction indexing is disabled')
  const q = parseQueryOrFail(args.query, '')
  const order = orderBy(args.order_by, 'asc')
  const keys = await indexer.searchTxs(q).catch(searchError)
  if (order === 'desc') keys.reverse()
  const total = keys.length
  const perPage = validatePerPage(args.per_page)
  const page = validatePage(args.page, perPage, total)
  const { start, end } = pageSlice(page, perPage, total)
  const txs: Json[] = []
  for (const k of keys.slice(start, end)) {
    const r = await indexer.getTx(k.hash)
    if (r === undefined) continue
    const proof = args.prove === true ? await proofFor(env, r.height, r.index) : undefined
    txs.push(resultTxJson(r, proof as Record<string, Json> | undefined))
  }
  return { txs, total_count: int64(total) }
}

async function blockSearch (env: RouteEnv, args: A): Promise<Json> {
  const indexer = env.indexer
  if (indexer === undefined) throw routeError('block indexing is disabled')
  const q = parseQueryOrFail(args.query, '')
  const order = orderBy(args.order_by, 'desc')
  const heights = await indexer.searchBlocks(q).catch(searchError)
  if (order === 'desc') heights.reverse()
  const total = heights.length
  const perPage = validatePerPage(args.per_page)
  const page = validatePage(args.page, perPage, total)
  const { start, end } = pageSlice(page, perPage, total)
  const blocks: Json[] = []
  const av = appVersion(env)
  for (const h of heights.slice(start, end)) {
    const [b, m] = await Promise.all([env.backend.blocks.loadBlock(h), env.backend.blocks.loadBlockMeta(h)])
    if (b !== undefined && m !== undefined) blocks.push({ block_id: blockIdJson(m.blockId), block: blockJson(b, av) })
  }
  return { blocks, total_count: int64(total) }
}

async function abciInfo (env: RouteEnv): Promise<Json> {
  return { response: responseInfoJson(await env.backend.abciInfo()) }
}

async function abciQuery (env: RouteEnv, args: A): Promise<Json> {
  const height = (args.height as number | undefined) ?? 0
  if (height < 0) throw routeError(`height must be non-negative, but got ${height}`)
  const r = await env.backend.abciQuery({
    path: (args.path as string | undefined) ?? '',
    data: (args.data as Uint8Array | undefined) ?? new Uint8Array(0),
    height,
    prove: args.prove === true,
  })
  return { response: responseQueryJson(r) }
}

async function broadcastEvidence (env: RouteEnv, args: A): Promise<Json> {
  if (args.evidence === undefined) throw routeError('no evidence was provided')
  let ev = evidenceFromJson(args.evidence)
  // aidledger keeps the pair in canonical order (voteA's block id first); accept either order.
  const check = validateDuplicateVoteEvidence(ev)
  if (!check.ok && /canonical order/.test(check.error.message)) ev = { ...ev, voteA: ev.voteB, voteB: ev.voteA }
  const valid = validateDuplicateVoteEvidence(ev)
  if (!valid.ok) throw routeError(`evidence.ValidateBasic failed: ${valid.error.message}`)
  const r = await env.backend.broadcastEvidence(ev)
  if (!r.ok) throw routeError(`failed to add evidence: ${r.error}`)
  return { hash: b64(evidenceHash(ev)) }
}

async function subscribe (env: RouteEnv, args: A, ctx: CallContext): Promise<Json> {
  const ws = ctx.ws
  if (ws === undefined) throw new RpcError(RPC_SERVER_ERROR, 'subscribe is only available over WebSocket')
  const text = (args.query as string | undefined) ?? ''
  const q = parseQueryOrFail(text, 'failed to parse query: ')
  const id = ctx.id
  // Events published before the subscribe response is written wait here (in order), so the
  // client always sees the response first; the same bound applies to them.
  let early: string[] | undefined = []
  const limit = 1000
  try {
    env.bus.subscribe(ws.clientId, q, {
      deliver: (_s, msg) => {
        const json = eventResponseJson(id, text, msg.dataJson(), msg.eventsJson())
        if (early === undefined) return ws.send(json)
        early.push(json)
        return early.length <= limit
      },
      onCancel: (_s, reason, cause) => {
        ws.fail(JSON.stringify(errorResponse(id, RPC_SERVER_ERROR, `subscription was canceled (reason: ${reason})`)), reason, cause === 'closed' ? 1001 : 1008)
      },
    })
  } catch (err) {
    if (err instanceof BusError) throw routeError(err.message)
    throw err
  }
  const start = (): void => {
    const pending = early ?? []
    early = undefined
    for (const json of pending) {
      if (!ws.send(json)) {
        try { env.bus.unsubscribe(ws.clientId, q.text) } catch { /* gone */ }
        ws.fail(JSON.stringify(errorResponse(id, RPC_SERVER_ERROR, 'subscription was canceled (reason: client is not pulling messages fast enough)')), 'slow client')
        return
      }
    }
  }
  if (ctx.afterResponse !== undefined) ctx.afterResponse(start)
  else start()
  env.logger.debug('subscribed', { client: ws.clientId, query: q.text })
  return {}
}

async function unsubscribe (env: RouteEnv, args: A, ctx: CallContext): Promise<Json> {
  const q = parseQueryOrFail(args.query, 'failed to parse query: ')
  try {
    env.bus.unsubscribe(ctx.clientId, q.text)
  } catch (err) {
    if (err instanceof BusError) throw routeError(err.message)
    throw err
  }
  return {}
}

async function unsubscribeAll (env: RouteEnv, _args: A, ctx: CallContext): Promise<Json> {
  try {
    env.bus.unsubscribeAll(ctx.clientId)
  } catch (err) {
    if (err instanceof BusError) throw routeError(err.message)
    throw err
  }
  return {}
}

export const txRoutes: Record<string, Route> = {
  subscribe: { args: [{ name: 'query', type: 'string' }], handler: subscribe, ws: true },
  unsubscribe: { args: [{ name: 'query', type: 'string' }], handler: unsubscribe, ws: true },
  unsubscribe_all: { args: [], handler: unsubscribeAll, ws: true },
  check_tx: { args: [{ name: 'tx', type: 'bytes' }], handler: checkTx },
  tx: { args: [{ name: 'hash', type: 'bytes' }, { name: 'prove', type: 'bool' }], handler: tx },
  tx_search: {
    args: [
      { name: 'query', type: 'string' }, { name: 'prove', type: 'bool' }, { name: 'page', type: 'int' },
      { name: 'per_page', type: 'int' }, { name: 'order_by', type: 'string' },
    ],
    handler: txSearch,
  },
  block_search: {
    args: [{ name: 'query', type: 'string' }, { name: 'page', type: 'int' }, { name: 'per_page', type: 'int' }, { name: 'order_by', type: 'string' }],
    handler: blockSearch,
  },
  unconfirmed_txs: { args: [{ name: 'limit', type: 'int' }], handler: unconfirmedTxs },
  num_unconfirmed_txs: { args: [], handler: numUnconfirmedTxs },
  broadcast_tx_commit: { args: [{ name: 'tx', type: 'bytes' }], handler: broadcastCommit },
  broadcast_tx_sync: { args: [{ name: 'tx', type: 'bytes' }], handler: broadcastSync },
  broadcast_tx_async: { args: [{ name: 'tx', type: 'bytes' }], handler: broadcastAsync },
  abci_query: {
    args: [{ name: 'path', type: 'string' }, { name: 'data', type: 'hexbytes' }, { name: 'height', type: 'int64' }, { name: 'prove', type: 'bool' }],
    handler: abciQuery,
  },
  abci_info: { args: [], handler: abciInfo },
  broadcast_evidence: { args: [{ name: 'evidence', type: 'json' }], handler: broadcastEvidence },
}
