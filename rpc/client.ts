/**
 * The aidledger JSON-RPC client (DESIGN §1: apps and the CLI use it): HTTP JSON-RPC 2.0 to
 * a node's CometBFT v0.38 routes, WebSocket `/websocket` for event subscriptions (the `ws`
 * package), and queries verified against a committed header (./client-verify.ts).
 *
 *   const c = createClient({ url: 'http://127.0.0.1:26657', codec })
 *   const st = await c.status()
 *   const signed = await c.buildTx({ body, signer: officeKey, ttl: 100 })
 *   const r = await c.broadcastTxCommit(signed.bytes)
 *   const q = await c.query('/enrolled/<subject>/basic-living')   // { verified: true, height, value }
 *   const off = await c.subscribe("tm.event='Tx'", (ev) => { ... }); await off()
 *
 * rpc/ imports the kernel only, so the client knows envelopes (src/types/tx.ts) but not the
 * app's bodies or proofs: tx bodies come in encoded (state/client.ts builds them), and the
 * app's proof check and value decoder come in as a QueryCodec. The package entry
 * (src/index.ts) wires both for the social-assistance app.
 *
 * Verified query: abci_query(prove) answers at height h; the client waits for block h+1,
 * fetches its signed header (/commit) and validator set (/validators, every page), checks
 * header hash, validator-set hash, +2/3 commit and trust (./client-verify.ts), then the
 * proof ops against header(h+1).app_hash. The trust root is the genesis validator set
 * (fetched once from /genesis) unless `trust` says otherwise; after a set change the client
 * accepts a new set when validators it trusts with > 1/3 of their power signed for it.
 *
 * Transport errors are ClientError (ERR_CLIENT_*); HTTP 429 is retried with backoff.
 */
import { randomBytes } from 'node:crypto'
import WebSocket from 'ws'
import type { QueryResponse, TxResult } from '../src/abci.ts'
import { toBase64, toHex } from '../src/bytes.ts'
import { encode } from '../src/codec/index.ts'
import { createSigner, type Ed25519KeyPair, type Ed25519Signer } from '../src/crypto/ed25519.ts'
import { sha256 } from '../src/crypto/hash.ts'
import {
  newValidatorSet, txHash, txSignBytes, TxEnvelopeSchema, validatorSetHash,
  type BlockId, type Commit, type Header, type TxEnvelope, type ValidatorSet,
} from '../src/types/index.ts'
import {
  blockIdFromJson, ClientError, commitFromJson, headerFromJson, isClientError, jArr, jB64, jInt, jObj, jStr, jTime,
  ProofVerificationError, pubKeyFromJson, queryResponseFromJson, txResultFromJson, validatorFromJson, verifyQueryProofs,
  verifySignedHeader, type QueryCodec, type VerifiedHeader,
} from './client-verify.ts'

export * from './client-verify.ts'

export interface ClientOptions {
  /** http(s)://host:port of the node's RPC server. */
  url: string
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number
  /** The app's proof check and value decoder, for `query` (state/client.ts appQueryCodec). */
  codec?: QueryCodec
  /**
   * Which validator set to trust for verified queries: 'genesis' (default; from /genesis),
   * 'node' (whatever set the node reports, checked only against the header and commit), or
   * an explicit set.
   */
  trust?: 'genesis' | 'node' | ValidatorSet
  /** Expected chain id; default: the genesis chain id (trust 'genesis') or the node's network. */
  chainId?: string
  /** Poll interval of the wait helpers (default 250 ms). */
  pollMs?: number
}

export interface Status {
  nodeId: string
  moniker: string
  network: string
  version: string
  latestHeight: number
  latestBlockHash: string
  latestAppHash: string
  latestBlockTime: number
  earliestHeight: number
  catchingUp: boolean
  raw: Record<string, unknown>
}

export interface BroadcastResult { code: number, log: string, codespace: string, hash: string }
export interface CommitResult { checkTx: TxResult, txResult: TxResult, hash: string, height: number }
export interface ResultTx { hash: string, height: number, index: number, txResult: TxResult, tx: Uint8Array }
export interface BlockResult { blockId: BlockId, header: Header | null, txs: Uint8Array[], lastCommit: Commit | null }
export interface SignedHeader { header: Header, commit: Commit, canonical: boolean }
export interface NodeEvent { query: string, data: { type: string, value: unknown }, events: Record<string, string[]> }
export type Unsubscribe = () => Promise<void>

export interface QueryResult<E> {
  path: string
  /** Height of the state that answered. */
  height: number
  verified: boolean
  value: E
  response: QueryResponse
  /** The header (height + 1) whose app_hash the proofs were checked against. */
  proof?: { height: number, appHash: string, blockHash: string, signedPower: number, totalPower: number, trust: VerifiedHeader['trust'] }
}

export type TxSigner = Ed25519KeyPair | Ed25519Signer

export interface BuildTxOptions {
  /** The canonical body encoding (state/client.ts `body.*` or encode(BodySchema, …)). */
  body: Uint8Array
  signer: TxSigner
  /** Default: the node's network (status). */
  chainId?: string
  /** expiresAtHeight = latest height + ttl (default 100) unless given. */
  ttl?: number
  expiresAtHeight?: number
  /** Default: 48 random bits. */
  nonce?: number
}

export interface SignedTx {
  bytes: Uint8Array
  /** SHA-256 of the bytes, upper-case hex (CometBFT tx hash). */
  hash: string
  /** SHA-256 of the sign bytes: the id of whatever the tx creates (TxResult.data). */
  opId: Uint8Array
  envelope: TxEnvelope
}

export function toSigner (s: TxSigner): Ed25519Signer {
  return 'sign' in s ? s : createSigner(s)
}

export function randomNonce (): number {
  return randomBytes(6).readUIntBE(0, 6)
}

/** Signs an envelope around an encoded body (no node needed). */
export function signTx (o: { body: Uint8Array, signer: TxSigner, chainId: string, expiresAtHeight: number, nonce?: number }): SignedTx {
  const signer = toSigner(o.signer)
  const unsigned = { chainId: o.chainId, signer: signer.publicKey, expiresAtHeight: o.expiresAtHeight, nonce: o.nonce ?? randomNonce(), body: o.body }
  const sb = txSignBytes(unsigned)
  const envelope: TxEnvelope = { ...unsigned, signature: signer.sign(sb) }
  const bytes = encode(TxEnvelopeSchema, envelope)
  return { bytes, hash: toHex(txHash(bytes)).toUpperCase(), opId: sha256(sb), envelope }
}

export interface AidClient {
  readonly url: string
  /** A raw JSON-RPC call; returns `result`. */
  call: (method: string, params?: Record<string, unknown>) => Promise<unknown>
  health: () => Promise<void>
  status: () => Promise<Status>
  abciInfo: () => Promise<Record<string, unknown>>
  block: (height?: number) => Promise<BlockResult>
  header: (height?: number) => Promise<Header | null>
  commit: (height?: number) => Promise<SignedHeader | null>
  /** The whole validator set at a height (every page). */
  validators: (height?: number) => Promise<{ height: number, set: ValidatorSet }>
  genesisValidators: () => Promise<{ chainId: string, set: ValidatorSet }>
  abciQuery: (path: string, o?: { data?: Uint8Array, height?: number, prove?: boolean }) => Promise<QueryResponse>
  broadcastTxAsync: (tx: Uint8Array) => Promise<BroadcastResult>
  broadcastTxSync: (tx: Uint8Array) => Promise<BroadcastResult>
  broadcastTxCommit: (tx: Uint8Array) => Promise<CommitResult>
  /** The indexed tx, or null when the node does not know it (yet). */
  tx: (hash: string | Uint8Array, o?: { prove?: boolean }) => Promise<ResultTx | null>
  txSearch: (query: string, o?: { page?: number, perPage?: number, orderBy?: 'asc' | 'desc', prove?: boolean }) => Promise<{ txs: ResultTx[], totalCount: number }>
  /**
   * Subscribes over the WebSocket (one connection per client); resolves once the node
   * confirmed; the result unsubscribes. `onClose` hears of a subscription the node ended
   * (slow client, node stopping) or a lost connection; subscribe again to resume.
   */
  subscribe: (query: string, onEvent: (ev: NodeEvent) => void, o?: { onClose?: (err: ClientError) => void }) => Promise<Unsubscribe>
  waitForHeight: (height: number, o?: { timeoutMs?: number }) => Promise<number>
  waitForTx: (hash: string | Uint8Array, o?: { timeoutMs?: number }) => Promise<ResultTx>
  /** The signed header at `height`, verified (header hash, validator set, +2/3 commit, trust). */
  verifiedHeader: (height: number) => Promise<VerifiedHeader>
  /** An app query, decoded with the codec; proven against header height+1 unless prove is false. */
  query: <E = unknown>(path: string, o?: { height?: number, prove?: boolean, codec?: QueryCodec<E>, waitMs?: number }) => Promise<QueryResult<E>>
  buildTx: (o: BuildTxOptions) => Promise<SignedTx>
  /** Closes the WebSocket (if any); HTTP calls need no closing. */
  close: () => Promise<void>
}

const hashHex = (h: string | Uint8Array): string => typeof h === 'string' ? h.toUpperCase() : toHex(h).toUpperCase()

function resultTxFromJson (v: unknown, at = 'result'): ResultTx {
  const o = jObj(v, at)
  return {
    hash: jStr(o.hash, `${at}.hash`),
    height: jInt(o.height, `${at}.height`),
    index: jInt(o.index, `${at}.index`),
    txResult: txResultFromJson(o.tx_result, `${at}.tx_result`),
    tx: jB64(o.tx, `${at}.tx`),
  }
}

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

export function createClient (opts: ClientOptions): AidClient {
  const base = opts.url.replace(/\/+$/, '')
  if (!/^https?:\/\/[^/]+$/.test(base)) throw new ClientError('ERR_CLIENT_BAD_ARGUMENT', `expected http(s)://host:port, got ${JSON.stringify(opts.url)}`, 'url')
  const timeoutMs = opts.timeoutMs ?? 30_000
  const pollMs = opts.pollMs ?? 250
  let nextId = 1
  let closed = false
  let trusted: ValidatorSet | null | undefined = opts.trust === 'node' ? null : typeof opts.trust === 'object' ? opts.trust : undefined
  let chainId: string | undefined = opts.chainId
  const headerCache = new Map<number, VerifiedHeader>()

  async function call (method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    if (closed) throw new ClientError('ERR_CLIENT_CLOSED', 'client is closed', method)
    const id = nextId++
    const body = JSON.stringify({ jsonrpc: '2.0', id, method, params })
    for (let attempt = 0; ; attempt++) {
      let res: Response
      try {
        res = await fetch(`${base}/`, { method: 'POST', body, headers: { 'Content-Type': 'application/json' }, signal: AbortSignal.timeout(timeoutMs) })
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } }
        if (e.name === 'TimeoutError') throw new ClientError('ERR_CLIENT_TIMEOUT', `no answer within ${timeoutMs} ms`, method)
        throw new ClientError('ERR_CLIENT_HTTP', `${base}: ${e.cause?.code ?? e.message}`, method)
      }
      const text = await res.text()
      if (res.status === 429 && attempt < 5) {
        await sleep(Math.min(2000, 100 * 2 ** attempt))
        continue
      }
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch {
        throw new ClientError('ERR_CLIENT_HTTP', `HTTP ${res.status}: ${text.slice(0, 200)}`, method)
      }
      const o = jObj(json, method)
      if (o.error !== undefined && o.error !== null) {
        const e = jObj(o.error, `${method}.error`)
        const info = { code: Number(e.code), message: String(e.message ?? ''), data: e.data }
        throw new ClientError('ERR_CLIENT_RPC', `${info.message} (${info.code})${info.data === undefined ? '' : `: ${String(info.data)}`}`, method, info)
      }
      if (!res.ok) throw new ClientError('ERR_CLIENT_HTTP', `HTTP ${res.status}`, method)
      return o.result
    }
  }

  const heightParam = (h: number | undefined): Record<string, unknown> => (h === undefined || h === 0 ? {} : { height: String(h) })

  async function status (): Promise<Status> {
    const r = jObj(await call('status'), 'status')
    const ni = jObj(r.node_info, 'status.node_info')
    const si = jObj(r.sync_info, 'status.sync_info')
    return {
      nodeId: jStr(ni.id, 'node_info.id'),
      moniker: String(ni.moniker ?? ''),
      network: jStr(ni.network, 'node_info.network'),
      version: String(ni.version ?? ''),
      latestHeight: jInt(si.latest_block_height, 'sync_info.latest_block_height'),
      latestBlockHash: String(si.latest_block_hash ?? ''),
      latestAppHash: String(si.latest_app_hash ?? ''),
      latestBlockTime: jTime(si.latest_block_time, 'sync_info.latest_block_time'),
      earliestHeight: jInt(si.earliest_block_height, 'sync_info.earliest_block_height'),
      catchingUp: si.catching_up === true,
      raw: r,
    }
  }

  async function validators (height?: number): Promise<{ height: number, set: ValidatorSet }> {
    const all = []
    let h = height ?? 0
    for (let page = 1; ; page++) {
      const r = jObj(await call('validators', { ...heightParam(h), page: String(page), per_page: '100' }), 'validators')
      h = jInt(r.block_height, 'validators.block_height')
      const vs = jArr(r.validators, 'validators.validators').map((v, i) => validatorFromJson(v, `validators[${all.length + i}]`))
      all.push(...vs)
      const total = jInt(r.total, 'validators.total')
      if (all.length >= total || vs.length === 0) break
    }
    return { height: h, set: { validators: all } }
  }

  async function genesisValidators (): Promise<{ chainId: string, set: ValidatorSet }> {
    let doc: Record<string, unknown>
    try {
      doc = jObj(jObj(await call('genesis'), 'genesis').genesis, 'genesis.genesis')
    } catch (err) {
      if (!isClientError(err, 'ERR_CLIENT_RPC') || !/genesis_chunked/.test(err.message)) throw err
      const first = jObj(await call('genesis_chunked', { chunk: '0' }), 'genesis_chunked')
      const total = jInt(first.total, 'genesis_chunked.total')
      const parts = [jB64(first.data, 'genesis_chunked.data')]
      for (let i = 1; i < total; i++) parts.push(jB64(jObj(await call('genesis_chunked', { chunk: String(i) }), 'genesis_chunked').data, 'genesis_chunked.data'))
      doc = jObj(JSON.parse(Buffer.concat(parts).toString('utf8')), 'genesis')
    }
    const vals = jArr(doc.validators, 'genesis.validators').map((v, i) => {
      const o = jObj(v, `genesis.validators[${i}]`)
      return { pubKey: pubKeyFromJson(o.pub_key, `genesis.validators[${i}].pub_key`), votingPower: jInt(o.power, `genesis.validators[${i}].power`) }
    })
    return { chainId: jStr(doc.chain_id, 'genesis.chain_id'), set: newValidatorSet(vals) }
  }

  async function abciQuery (path: string, o: { data?: Uint8Array, height?: number, prove?: boolean } = {}): Promise<QueryResponse> {
    const r = jObj(await call('abci_query', { path, data: toHex(o.data ?? new Uint8Array(0)), height: String(o.height ?? 0), prove: o.prove === true }), 'abci_query')
    return queryResponseFromJson(r.response, 'abci_query.response')
  }

  const broadcastResult = (v: unknown, at: string): BroadcastResult => {
    const o = jObj(v, at)
    return { code: jInt(o.code, `${at}.code`), log: String(o.log ?? ''), codespace: String(o.codespace ?? ''), hash: jStr(o.hash, `${at}.hash`) }
  }

  async function tx (hash: string | Uint8Array, o: { prove?: boolean } = {}): Promise<ResultTx | null> {
    const hex = hashHex(hash)
    if (!/^[0-9A-F]{64}$/.test(hex)) throw new ClientError('ERR_CLIENT_BAD_ARGUMENT', 'expected a 32-byte tx hash', 'tx')
    try {
      return resultTxFromJson(await call('tx', { hash: toBase64(Buffer.from(hex, 'hex')), prove: o.prove === true }), 'tx')
    } catch (err) {
      if (isClientError(err, 'ERR_CLIENT_RPC') && /not found/.test(err.message)) return null
      throw err
    }
  }

  async function waitUntil<T> (what: string, ms: number, probe: () => Promise<T | null>): Promise<T> {
    const deadline = Date.now() + ms
    for (;;) {
      const v = await probe()
      if (v !== null) return v
      if (Date.now() >= deadline) throw new ClientError('ERR_CLIENT_TIMEOUT', `${what} after ${ms} ms`)
      await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())))
    }
  }

  async function waitForHeight (height: number, o: { timeoutMs?: number } = {}): Promise<number> {
    return await waitUntil(`no block ${height}`, o.timeoutMs ?? 60_000, async () => {
      const h = (await status()).latestHeight
      return h >= height ? h : null
    })
  }

  async function trustRoot (): Promise<{ chainId: string, trusted: ValidatorSet | null }> {
    if (trusted === undefined) {
      const g = await genesisValidators()
      trusted = g.set
      chainId ??= g.chainId
    }
    chainId ??= (await status()).network
    return { chainId, trusted }
  }

  async function verifiedHeader (height: number): Promise<VerifiedHeader> {
    const cached = headerCache.get(height)
    if (cached !== undefined) return cached
    const root = await trustRoot()
    const sh = jObj(await call('commit', { height: String(height) }), 'commit')
    const signed = jObj(sh.signed_header, 'commit.signed_header')
    if (signed.commit === null) throw new ProofVerificationError('commit', height, 'the node has no commit for this height')
    let header: Header
    let commit: Commit
    try {
      header = headerFromJson(signed.header, 'signed_header.header')
      commit = commitFromJson(signed.commit, 'signed_header.commit')
    } catch (err) {
      throw new ProofVerificationError('header', height, err instanceof Error ? err.message : String(err))
    }
    const { set } = await validators(height)
    const vh = verifySignedHeader({ chainId: root.chainId, height, header, commit, validators: set, trusted: root.trusted })
    if (vh.trust === 'overlap') trusted = set // the new set is now the one trusted
    headerCache.set(height, vh)
    if (headerCache.size > 64) headerCache.delete(headerCache.keys().next().value as number)
    return vh
  }

  async function query<E> (path: string, o: { height?: number, prove?: boolean, codec?: QueryCodec<E>, waitMs?: number } = {}): Promise<QueryResult<E>> {
    const codec = (o.codec ?? opts.codec) as QueryCodec<E> | undefined
    if (codec === undefined) throw new ClientError('ERR_CLIENT_BAD_ARGUMENT', 'query needs a codec (the app\'s proof check and decoder)', 'codec')
    const prove = o.prove ?? true
    const response = await abciQuery(path, { height: o.height ?? 0, prove })
    if (response.code !== 0) {
      throw new ProofVerificationError('query', response.height, `${response.codespace === '' ? '' : `${response.codespace} `}code ${response.code}: ${response.log}`)
    }
    if (!prove) return { path, height: response.height, verified: false, value: codec.decode(response.value), response }
    const h = response.height + 1
    try {
      await waitForHeight(h, { timeoutMs: o.waitMs ?? 60_000 })
    } catch (err) {
      if (isClientError(err, 'ERR_CLIENT_TIMEOUT')) throw new ProofVerificationError('header', h, `block ${h} (whose header commits this state) did not appear: ${err.message}`)
      throw err
    }
    const vh = await verifiedHeader(h)
    const value = verifyQueryProofs(response, vh, codec)
    return {
      path,
      height: response.height,
      verified: true,
      value,
      response,
      proof: {
        height: h,
        appHash: toHex(vh.header.appHash).toUpperCase(),
        blockHash: toHex(vh.blockId.hash).toUpperCase(),
        signedPower: vh.tally.signedPower,
        totalPower: vh.tally.totalPower,
        trust: vh.trust,
      },
    }
  }

  // ---- WebSocket ---------------------------------------------------------------------------

  interface Pending { resolve: (v: unknown) => void, reject: (e: Error) => void }
  let ws: WebSocket | undefined
  let wsOpen: Promise<WebSocket> | undefined
  const wsPending = new Map<number, Pending>()
  const subs = new Map<string, { onEvent: (ev: NodeEvent) => void, onClose?: ((err: ClientError) => void) | undefined }>()

  function wsUrl (): string {
    return base.replace(/^http/, 'ws') + '/websocket'
  }

  function failAll (err: Error): void {
    for (const p of wsPending.values()) p.reject(err)
    wsPending.clear()
  }

  async function socket (): Promise<WebSocket> {
    if (closed) throw new ClientError('ERR_CLIENT_CLOSED', 'client is closed', 'websocket')
    if (wsOpen !== undefined) return await wsOpen
    wsOpen = new Promise<WebSocket>((resolve, reject) => {
      const s = new WebSocket(wsUrl())
      s.once('open', () => { ws = s; resolve(s) })
      // Before 'open' an error fails the connect; after it, 'close' follows and fails what is pending.
      s.on('error', (err) => { reject(new ClientError('ERR_CLIENT_HTTP', `${wsUrl()}: ${err.message}`, 'websocket')) })
      s.on('message', (data) => {
        let m: Record<string, unknown>
        try { m = JSON.parse(data.toString()) as Record<string, unknown> } catch { return }
        const result = m.result as Record<string, unknown> | undefined
        if (result !== undefined && result !== null && typeof result.query === 'string' && result.data !== undefined) {
          const h = subs.get(result.query)
          if (h !== undefined) h.onEvent({ query: result.query, data: result.data as NodeEvent['data'], events: (result.events ?? {}) as Record<string, string[]> })
          return
        }
        const p = typeof m.id === 'number' ? wsPending.get(m.id) : undefined
        if (p === undefined) return
        wsPending.delete(m.id as number)
        if (m.error !== undefined && m.error !== null) {
          const e = m.error as { code?: number, message?: string, data?: unknown }
          p.reject(new ClientError('ERR_CLIENT_RPC', `${e.message ?? ''} (${e.code ?? 0})${e.data === undefined ? '' : `: ${String(e.data)}`}`, 'websocket', { code: Number(e.code), message: String(e.message ?? ''), data: e.data }))
        } else p.resolve(m.result)
      })
      s.on('close', (code, reason) => {
        ws = undefined
        wsOpen = undefined
        const err = new ClientError('ERR_CLIENT_CLOSED', `WebSocket closed (${code}${reason.length > 0 ? ` ${reason.toString()}` : ''})`, 'websocket')
        const ended = [...subs.values()]
        subs.clear()
        failAll(err)
        for (const sub of ended) sub.onClose?.(err)
      })
    })
    wsOpen.catch(() => { wsOpen = undefined })
    return await wsOpen
  }

  async function wsCall (method: string, params: Record<string, unknown>): Promise<unknown> {
    const s = await socket()
    const id = nextId++
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { wsPending.delete(id); reject(new ClientError('ERR_CLIENT_TIMEOUT', `no answer within ${timeoutMs} ms`, method)) }, timeoutMs)
      wsPending.set(id, { resolve: (v) => { clearTimeout(timer); resolve(v) }, reject: (e) => { clearTimeout(timer); reject(e) } })
      s.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }))
    })
  }

  async function subscribe (q: string, onEvent: (ev: NodeEvent) => void, o: { onClose?: (err: ClientError) => void } = {}): Promise<Unsubscribe> {
    if (subs.has(q)) throw new ClientError('ERR_CLIENT_BAD_ARGUMENT', 'already subscribed to this query', 'subscribe')
    subs.set(q, { onEvent, onClose: o.onClose })
    try {
      await wsCall('subscribe', { query: q })
    } catch (err) {
      subs.delete(q)
      throw err
    }
    let done = false
    return async () => {
      if (done) return
      done = true
      subs.delete(q)
      if (ws !== undefined) await wsCall('unsubscribe', { query: q }).catch(() => {})
    }
  }

  const client: AidClient = {
    url: base,
    call,
    health: async () => { await call('health') },
    status,
    abciInfo: async () => jObj(jObj(await call('abci_info'), 'abci_info').response, 'abci_info.response'),
    async block (height) {
      const r = jObj(await call('block', heightParam(height)), 'block')
      if (r.block === null) return { blockId: blockIdFromJson(r.block_id, 'block.block_id'), header: null, txs: [], lastCommit: null }
      const b = jObj(r.block, 'block.block')
      const lc = b.last_commit === null ? null : commitFromJson(b.last_commit, 'block.last_commit')
      return {
        blockId: blockIdFromJson(r.block_id, 'block.block_id'),
        header: headerFromJson(b.header, 'block.header'),
        txs: jArr(jObj(b.data, 'block.data').txs ?? [], 'block.data.txs').map((t, i) => jB64(t, `block.data.txs[${i}]`)),
        lastCommit: lc !== null && lc.height === 0 ? null : lc,
      }
    },
    async header (height) {
      const r = jObj(await call('header', heightParam(height)), 'header')
      return r.header === null ? null : headerFromJson(r.header)
    },
    async commit (height) {
      const r = await call('commit', heightParam(height))
      if (r === null) return null
      const o = jObj(r, 'commit')
      const sh = jObj(o.signed_header, 'commit.signed_header')
      return { header: headerFromJson(sh.header, 'signed_header.header'), commit: commitFromJson(sh.commit, 'signed_header.commit'), canonical: o.canonical === true }
    },
    validators,
    genesisValidators,
    abciQuery,
    broadcastTxAsync: async (t) => broadcastResult(await call('broadcast_tx_async', { tx: toBase64(t) }), 'broadcast_tx_async'),
    broadcastTxSync: async (t) => broadcastResult(await call('broadcast_tx_sync', { tx: toBase64(t) }), 'broadcast_tx_sync'),
    async broadcastTxCommit (t) {
      const r = jObj(await call('broadcast_tx_commit', { tx: toBase64(t) }), 'broadcast_tx_commit')
      return {
        checkTx: txResultFromJson(r.check_tx, 'check_tx'),
        txResult: txResultFromJson(r.tx_result, 'tx_result'),
        hash: jStr(r.hash, 'hash'),
        height: jInt(r.height, 'height'),
      }
    },
    tx,
    async txSearch (q, o = {}) {
      const r = jObj(await call('tx_search', {
        query: q, prove: o.prove === true, page: String(o.page ?? 1), per_page: String(o.perPage ?? 30), order_by: o.orderBy ?? 'asc',
      }), 'tx_search')
      return { txs: jArr(r.txs, 'tx_search.txs').map((t, i) => resultTxFromJson(t, `tx_search.txs[${i}]`)), totalCount: jInt(r.total_count, 'tx_search.total_count') }
    },
    subscribe,
    waitForHeight,
    waitForTx: async (hash, o = {}) => await waitUntil(`tx ${hashHex(hash)} not committed`, o.timeoutMs ?? 60_000, async () => await tx(hash)),
    verifiedHeader,
    query,
    async buildTx (o) {
      let cid = o.chainId
      let expiresAtHeight = o.expiresAtHeight
      if (cid === undefined || expiresAtHeight === undefined) {
        const st = await status()
        cid ??= st.network
        expiresAtHeight ??= st.latestHeight + (o.ttl ?? 100)
      }
      return signTx({ body: o.body, signer: o.signer, chainId: cid, expiresAtHeight, ...(o.nonce === undefined ? {} : { nonce: o.nonce }) })
    },
    async close () {
      closed = true
      const s = ws
      failAll(new ClientError('ERR_CLIENT_CLOSED', 'client closed', 'websocket'))
      if (s !== undefined && s.readyState !== WebSocket.CLOSED) {
        await new Promise<void>((resolve) => { s.once('close', () => resolve()); s.close() })
      }
    },
  }
  return client
}

/** The hash a validator set commits to, upper-case hex (handy for pinning a trust root). */
export function validatorSetHashHex (set: ValidatorSet): string {
  return toHex(validatorSetHash(set)).toUpperCase()
}
