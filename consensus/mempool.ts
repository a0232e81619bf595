/**
 * The mempool, after CometBFT `mempool/clist_mempool.go` (CheckTx, resCbFirstTime,
 * Update, recheckTxs, ReapMaxBytesMaxGas) and `mempool/cache.go` (LRUTxCache), DESIGN §3:
 * size/shape check → envelope decode → signature verify (injected TxSignatureVerifier: the
 * node wires the worker pool, whose verdict cache is keyed by tx hash) → app.checkTx('new')
 * → FIFO list, gossiped to peers that did not send it; the proposer reaps in arrival order;
 * after each block, committed txs leave and the rest are rechecked.
 *
 * Two structures, kept consistent by construction (CVE-2023-34451, CometBFT PR #890: the
 * list could hold a tx twice when the cache overflowed, because only the cache guarded
 * entry):
 *   - `index` (hash → entry) is the truth for "in the mempool"; `list` is the arrival
 *     order, with removed entries skipped and compacted lazily. Insertion checks `index`
 *     itself, never the cache, so an entry evicted from the cache cannot enter twice.
 *   - `cache` is a bounded LRU of seen hashes: a cheap early "seen it" for gossip echoes
 *     and committed txs. A tx that fails a check or is evicted on recheck, or is removed
 *     by `removeTx`, leaves the cache so it can be sent again (unless
 *     keepInvalidTxsInCache); committed txs stay in it.
 *
 * Serialisation: checks hold a shared lock for their whole run; `update` (and anything run
 * through `exclusive`, e.g. the block executor's app commit + update, as CometBFT's
 * Lock/Unlock around Commit) holds it exclusively, with writer preference. App calls are
 * made one at a time in order (CometBFT's mempool connection is one ordered stream), so
 * checkTx never sees the app's check state in the middle of a commit or recheck.
 */
import type { Application, CheckTxResult, TxResult, TxSignatureVerifier } from '../src/abci.ts'
import { toHex } from '../src/bytes.ts'
import { tryDecode } from '../src/codec/index.ts'
import { createLru } from '../src/crypto/lru.ts'
import { AidError } from '../src/errors.ts'
import type { PeerId } from '../src/transport.ts'
import { MAX_TX_BYTES, TxEnvelopeSchema, txHash, txSignBytes } from '../src/types/index.ts'

export interface MempoolOptions {
  /** Most txs held (CometBFT `size`, default 5000). */
  maxTxs?: number
  /** Most bytes of txs held (CometBFT `max_txs_bytes`, default 64 MiB). */
  maxBytes?: number
  /** Largest tx accepted (default MAX_TX_BYTES, 32 KiB). */
  maxTxBytes?: number
  /** Entries in the seen-hash cache (CometBFT `cache_size`, default 10000). */
  cacheSize?: number
  /** Keep hashes of txs that failed a check in the cache (default false, as CometBFT). */
  keepInvalidTxsInCache?: boolean
  /** Recheck the remaining txs after every block (default true, as CometBFT). */
  recheck?: boolean
  /** When set, envelopes for another chain are refused before their signature is checked. */
  chainId?: string
}

export interface MempoolDeps {
  app: Pick<Application, 'checkTx'>
  verifier: TxSignatureVerifier
}

export interface MempoolTx {
  readonly tx: Uint8Array
  readonly hash: Uint8Array
  /** Arrival number, increasing: gossip remembers the last one sent to each peer. */
  readonly seq: number
  /** The height the mempool was at when the tx entered. */
  readonly height: number
  /** The app's sender key (CheckTxResult.sender). */
  readonly sender: string
  /** Peers that sent us this tx: gossip never sends it back to them. */
  readonly peers: ReadonlySet<PeerId>
}

export type MempoolCheckResult =
  /** In the mempool now. */
  | { status: 'added', hash: Uint8Array, check: CheckTxResult }
  /** The app said no (code ≠ 0); its result is what broadcast_tx_sync reports. */
  | { status: 'rejected', hash: Uint8Array, check: CheckTxResult }
  /** The mempool said no before or after the app: ERR_MEMPOOL_* (too large, full, duplicate, malformed, wrong chain, bad signature). */
  | { status: 'refused', hash: Uint8Array | null, error: AidError }

export interface MempoolCounters {
  /** Txs that failed a check: malformed, wrong chain, bad signature, or app code ≠ 0. */
  failed: number
  /** Txs refused for room: too large or mempool full. */
  rejected: number
  /** Txs removed because a recheck failed. */
  evicted: number
  /** Recheck calls made to the app. */
  recheck: number
  /** Txs we already had (in the mempool, in flight, or in the cache). */
  alreadyReceived: number
}

export interface CheckTxOptions {
  /** The peer that sent the tx (none for RPC submissions). */
  peer?: PeerId
}

/** The part of the mempool that is safe to call while holding the exclusive lock. */
export interface LockedMempool {
  update: (height: number, committedTxs: readonly Uint8Array[], results: readonly Pick<TxResult, 'code'>[]) => Promise<void>
}

export interface Mempool {
  checkTx: (tx: Uint8Array, opts?: CheckTxOptions) => Promise<MempoolCheckResult>
  /** Many txs, with one verifier call for all their signatures; results in input order. */
  checkTxs: (txs: readonly Uint8Array[], opts?: CheckTxOptions) => Promise<MempoolCheckResult[]>
  /** Txs in arrival order within both limits (-1 = no limit); stops at the first that does not fit. */
  reap: (maxBytes: number, maxTxs: number) => Uint8Array[]
  /** Removes committed txs, keeps their hashes in the cache, rechecks the rest (exclusive). */
  update: LockedMempool['update']
  /** Runs fn while no check runs (CometBFT Lock/Unlock around app Commit + Update). */
  exclusive: <T>(fn: (locked: LockedMempool) => Promise<T>) => Promise<T>
  /** Removes one tx (and forgets it, so it can be sent again); false when absent. */
  removeTx: (hash: Uint8Array) => boolean
  /** Removes every tx and empties the cache (CometBFT Flush, unsafe_flush_mempool). */
  flush: () => void
  has: (hash: Uint8Array) => boolean
  get: (hash: Uint8Array) => MempoolTx | undefined
  size: () => number
  sizeBytes: () => number
  /** All txs in arrival order (RPC unconfirmed_txs, gossip). */
  txs: () => IterableIterator<MempoolTx>
  /** Txs that arrived after `seq`, in order (per-peer gossip cursors). */
  txsAfter: (seq: number) => IterableIterator<MempoolTx>
  /** Called after each tx enters; returns an unsubscribe function. */
  onTxAdded: (listener: (tx: MempoolTx) => void) => () => void
  counters: () => MempoolCounters
}

/** Bytes a tx takes inside an encoded block: msgpack bin header + the tx (block.txs is a list of bin). */
export function encodedTxBytes (txLength: number): number {
  return txLength + (txLength < 0x100 ? 2 : txLength < 0x10000 ? 3 : 5)
}

// ---- an async reader/writer lock with writer preference ------------------------------

interface RwLock {
  shared: <T>(fn: () => Promise<T>) => Promise<T>
  exclusive: <T>(fn: () => Promise<T>) => Promise<T>
}

function createRwLock (): RwLock {
  let readers = 0
  let writer = false
  const writers: Array<() => void> = []
  let waitingReaders: Array<() => void> = []
  const wake = (): void => {
    if (writer || readers > 0) return
    const w = writers.shift()
    if (w !== undefined) {
      writer = true
      w()
      return
    }
    const rs = waitingReaders
    waitingReaders = []
    readers += rs.length
    for (const r of rs) r()
  }
  return {
    shared: async (fn) => {
      if (writer || writers.length > 0) await new Promise<void>((resolve) => waitingReaders.push(resolve))
      else readers++
      try {
        return await fn()
      } finally {
        readers--
        wake()
      }
    },
    exclusive: async (fn) => {
      if (writer || readers > 0) await new Promise<void>((resolve) => writers.push(resolve))
      else writer = true
      try {
        return await fn()
      } finally {
        writer = false
        wake()
      }
    },
  }
}

// ---- the mempool ------------------------------------------------------------------------

interface Entry {
  tx: Uint8Array
  hash: Uint8Array
  key: string
  seq: number
  height: number
  sender: string
  peers: Set<PeerId>
  removed: boolean
}

function positive (name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`mempool option ${name} must be a positive integer, got ${v}`)
  return v
}

export function createMempool (opts: MempoolOptions, deps: MempoolDeps): Mempool {
  const maxTxs = positive('maxTxs', opts.maxTxs ?? 5000)
  const maxBytes = positive('maxBytes', opts.maxBytes ?? 64 * 1024 * 1024)
  const maxTxBytes = positive('maxTxBytes', opts.maxTxBytes ?? MAX_TX_BYTES)
  const cache = createLru<string, true>(positive('cacheSize', opts.cacheSize ?? 10_000))
  const keepInvalid = opts.keepInvalidTxsInCache ?? false
  const recheck = opts.recheck ?? true
  const { app, verifier } = deps

  const index = new Map<string, Entry>()
  let list: Entry[] = []
  let removedInList = 0
  let bytes = 0
  let nextSeq = 1
  let height = 0
  /** Hashes between their first check and their insertion (a second copy is a duplicate). */
  const inflight = new Set<string>()
  const listeners = new Set<(tx: MempoolTx) => void>()
  const counters: MempoolCounters = { failed: 0, rejected: 0, evicted: 0, recheck: 0, alreadyReceived: 0 }
  const lock = createRwLock()
  let appChain: Promise<unknown> = Promise.resolve()

  /** App calls one at a time, in call order. */
  const callApp = (tx: Uint8Array, mode: 'new' | 'recheck'): Promise<CheckTxResult> => {
    const next = appChain.then(() => app.checkTx(tx, mode))
    appChain = next.catch(() => {})
    return next
  }

  const isFull = (txBytes: number): boolean => index.size >= maxTxs || bytes + txBytes > maxBytes

  const forget = (key: string): void => {
    if (!keepInvalid) cache.delete(key)
  }

  const removeEntry = (key: string): Entry | undefined => {
    const e = index.get(key)
    if (e === undefined) return undefined
    index.delete(key)
    e.removed = true
    bytes -= e.tx.length
    removedInList++
    if (removedInList > 64 && removedInList * 2 > list.length) {
      list = list.filter((x) => !x.removed)
      removedInList = 0
    }
    return e
  }

  const refused = (hash: Uint8Array | null, code: ConstructorParameters<typeof AidError>[0], detail?: string): MempoolCheckResult =>
    ({ status: 'refused', hash, error: new AidError(code, detail, hash === null ? 'tx' : `tx ${toHex(hash)}`) })

  interface Candidate { i: number, tx: Uint8Array, hash: Uint8Array, key: string, pubKey: Uint8Array, signBytes: Uint8Array, signature: Uint8Array }

  const checkTxsShared = async (txs: readonly Uint8Array[], peer: PeerId | undefined): Promise<MempoolCheckResult[]> => {
    const results: MempoolCheckResult[] = new Array(txs.length)
    const candidates: Candidate[] = []
    // 1. cheap checks, synchronously (no await: the state cannot move under us)
    for (const [i, tx] of txs.entries()) {
      if (tx.length > maxTxBytes) {
        counters.rejected++
        results[i] = refused(null, 'ERR_MEMPOOL_TX_TOO_LARGE', `${tx.length} bytes > ${maxTxBytes}`)
        continue
      }
      const hash = txHash(tx)
      const key = toHex(hash)
      const existing = index.get(key)
      if (existing !== undefined || inflight.has(key) || cache.get(key) !== undefined) {
        if (existing !== undefined && peer !== undefined) existing.peers.add(peer)
        counters.alreadyReceived++
        results[i] = refused(hash, 'ERR_MEMPOOL_DUPLICATE', existing !== undefined ? 'tx is already in the mempool' : 'tx was seen recently')
        continue
      }
      if (isFull(tx.length)) {
        counters.rejected++
        results[i] = refused(hash, 'ERR_MEMPOOL_FULL', `${index.size} txs, ${bytes} bytes`)
        continue
      }
      const env = tryDecode(TxEnvelopeSchema, tx, { maxBytes: maxTxBytes })
      if (!env.ok) {
        counters.failed++
        if (keepInvalid) cache.set(key, true)
        results[i] = refused(hash, 'ERR_MEMPOOL_MALFORMED_TX', env.error.message)
        continue
      }
      if (opts.chainId !== undefined && env.value.chainId !== opts.chainId) {
        counters.failed++
        if (keepInvalid) cache.set(key, true)
        results[i] = refused(hash, 'ERR_MEMPOOL_WRONG_CHAIN', `for chain ${JSON.stringify(env.value.chainId)}`)
        continue
      }
      inflight.add(key)
      cache.set(key, true)
      candidates.push({ i, tx, hash, key, pubKey: env.value.signer, signBytes: txSignBytes(env.value), signature: env.value.signature })
    }
    if (candidates.length === 0) return results

    let done = 0
    try {
      // 2. every signature in one verifier call (the worker pool batches and caches by tx hash)
      const verdicts = await verifier.verifyTxs(candidates.map((c) => ({ txHash: c.hash, pubKey: c.pubKey, signBytes: c.signBytes, signature: c.signature })))
      // 3. the app, in input order, then insertion
      for (const [n, c] of candidates.entries()) {
        if (verdicts[n] !== true) {
          counters.failed++
          results[c.i] = refused(c.hash, 'ERR_MEMPOOL_BAD_SIGNATURE')
          inflight.delete(c.key)
          forget(c.key)
          done++
          continue
        }
        const check = await callApp(c.tx, 'new')
        inflight.delete(c.key)
        done++
        if (check.code !== 0) {
          counters.failed++
          forget(c.key)
          results[c.i] = { status: 'rejected', hash: c.hash, check }
          continue
        }
        if (index.has(c.key)) { // cannot happen while inflight guards; kept as the invariant's last line
          counters.alreadyReceived++
          results[c.i] = refused(c.hash, 'ERR_MEMPOOL_DUPLICATE', 'tx is already in the mempool')
          continue
        }
        if (isFull(c.tx.length)) {
          counters.rejected++
          cache.delete(c.key) // there may be room later (CometBFT resCbFirstTime)
          results[c.i] = refused(c.hash, 'ERR_MEMPOOL_FULL', `${index.size} txs, ${bytes} bytes`)
          continue
        }
        const e: Entry = {
          tx: c.tx, hash: c.hash, key: c.key, seq: nextSeq++, height, sender: check.sender, peers: new Set(peer === undefined ? [] : [peer]), removed: false,
        }
        index.set(c.key, e)
        list.push(e)
        bytes += c.tx.length
        results[c.i] = { status: 'added', hash: c.hash, check }
        for (const l of listeners) l(e)
      }
    } finally {
      // an exception from the verifier or the app: release what was not finished
      for (const c of candidates.slice(done)) {
        if (inflight.delete(c.key)) cache.delete(c.key)
      }
    }
    return results
  }

  const updateLocked: LockedMempool['update'] = async (h, committedTxs, results) => {
    if (results.length !== committedTxs.length) {
      throw new RangeError(`update: ${committedTxs.length} txs but ${results.length} results`)
    }
    height = h
    for (const [i, tx] of committedTxs.entries()) {
      const key = toHex(txHash(tx))
      if ((results[i] as Pick<TxResult, 'code'>).code === 0) cache.set(key, true)
      else forget(key) // a committed tx that failed may be sent again (CometBFT Update)
      removeEntry(key)
    }
    if (!recheck || index.size === 0) return
    for (const e of [...index.values()]) {
      counters.recheck++
      const res = await callApp(e.tx, 'recheck')
      if (res.code !== 0 && removeEntry(e.key) !== undefined) {
        counters.evicted++
        forget(e.key)
      }
    }
  }
  const locked: LockedMempool = { update: updateLocked }

  function * iterate (from: number): IterableIterator<MempoolTx> {
    // arrival order; entries removed while a caller iterates are skipped
    const snapshot = list
    for (let i = from; i < snapshot.length; i++) {
      const e = snapshot[i] as Entry
      if (!e.removed) yield e
    }
  }

  /** First list position with seq > `seq` (the list is sorted by seq). */
  const positionAfter = (seq: number): number => {
    let lo = 0
    let hi = list.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((list[mid] as Entry).seq <= seq) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  return {
    checkTx: async (tx, o = {}) => (await lock.shared(() => checkTxsShared([tx], o.peer)))[0] as MempoolCheckResult,
    checkTxs: async (txs, o = {}) => await lock.shared(() => checkTxsShared(txs, o.peer)),
    reap: (maxReapBytes, maxReapTxs) => {
      const out: Uint8Array[] = []
      let total = 0
      for (const e of iterate(0)) {
        if (maxReapTxs >= 0 && out.length >= maxReapTxs) break
        const size = encodedTxBytes(e.tx.length)
        if (maxReapBytes >= 0 && total + size > maxReapBytes) break
        total += size
        out.push(e.tx)
      }
      return out
    },
    update: async (h, committedTxs, results) => { await lock.exclusive(() => updateLocked(h, committedTxs, results)) },
    exclusive: async (fn) => await lock.exclusive(() => fn(locked)),
    removeTx: (hash) => {
      const key = toHex(hash)
      cache.delete(key)
      return removeEntry(key) !== undefined
    },
    flush: () => {
      for (const e of list) e.removed = true
      index.clear()
      list = []
      removedInList = 0
      bytes = 0
      cache.clear()
    },
    has: (hash) => index.has(toHex(hash)),
    get: (hash) => index.get(toHex(hash)),
    size: () => index.size,
    sizeBytes: () => bytes,
    txs: () => iterate(0),
    txsAfter: (seq) => iterate(positionAfter(seq)),
    onTxAdded: (listener) => {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },
    counters: () => ({ ...counters }),
  }
}
