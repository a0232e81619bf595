/**
 * The tx and block indexer behind `tx`, `tx_search`, `block_search` (and `block_results`
 * when the node keeps no results of its own), after CometBFT state/txindex/kv and
 * state/indexer/block/kv, on classic-level (or any abstract-level database, e.g.
 * memory-level in tests).
 *
 * Keys (binary; heights big-endian so LevelDB order is chain order):
 *   0x00 "height"                          → last indexed height (u64)
 *   0x01 hash[32]                          → tx record {height, index, tx, result} (./index-records.ts)
 *   0x02 height u64 · index u32            → hash          (tx.height, block_results)
 *   0x03 tag · value · height · index      → hash          (each `index: true` tx attribute)
 *   0x04 height u64                        → block record {events, validator updates, params, app hash, numTxs}
 *   0x05 tag · value · height              → ∅             (each `index: true` block attribute)
 * where tag and value are escaped strings (0x00 → 0x00 0xFF, terminated by 0x00 0x01), so
 * an exact value is a key prefix and every value of one tag is a contiguous range.
 *
 * One block is one atomic write batch, including the height marker: after a crash the
 * index holds whole blocks, and `height()` says where to resume (the RPC server re-indexes
 * from the node's stores on start).
 *
 * Search (CometBFT's semantics, where they are sane): `tx.hash = 'X'` is a direct lookup;
 * `tx.height` / `block.height` conditions bound every scan; `tm.event` is 'Tx' (or
 * 'NewBlock') for everything; every other condition scans its tag's range (only the exact
 * value's range for `= 'string'`) and the sets are intersected. Unlike CometBFT's kv
 * indexer, each condition is matched on its own against all of a tx's attributes (the
 * pubsub semantics), so subscriptions and searches agree. Scans and results are bounded
 * (`maxScan`, `maxResults`): a query that would exceed them fails with
 * ERR_RPC_TOO_MANY_RESULTS instead of exhausting memory.
 */
import { ClassicLevel } from 'classic-level'
import type { TxResult } from '../src/abci.ts'
import { AidError } from '../src/errors.ts'
import type { BlockResults } from '../src/node-api.ts'
import { txHash, type Block } from '../src/types/index.ts'
import type { IndexedTx } from './encode.ts'
import { decodeBlockRecord, decodeTxRecord, encodeBlockRecord, encodeTxRecord } from './index-records.ts'
import { conditionHolds, flattenEvents, valueMatcher, type Condition, type Query } from './query.ts'

const ENC = { keyEncoding: 'view', valueEncoding: 'view' } as const

/** The slice of abstract-level the indexer uses (ClassicLevel and MemoryLevel fit). */
export interface IndexDb {
  open?: () => Promise<void>
  get: (key: Uint8Array, opts: typeof ENC) => Promise<Uint8Array | undefined>
  batch: (ops: Array<{ type: 'put', key: Uint8Array, value: Uint8Array }>, opts: typeof ENC & { sync?: boolean }) => Promise<void>
  iterator: (opts: typeof ENC & { gte?: Uint8Array, lt?: Uint8Array, limit?: number }) => AsyncIterable<[Uint8Array, Uint8Array]>
  close: () => Promise<void>
}

export interface IndexerOptions {
  /** Directory of a LevelDB the indexer opens and owns. */
  path?: string
  /** An open database instead (abstract-level, e.g. memory-level); the caller closes it. */
  db?: IndexDb
  /** Most index entries one condition may scan (default 100,000). */
  maxScan?: number
  /** Most matches one search may return before paging (default 10,000). */
  maxResults?: number
}

export interface TxKey { height: number, index: number, hash: Uint8Array }

export interface Indexer {
  /** Last indexed height (0 when empty). */
  height: () => number
  /** Indexes a committed block and its results; heights at or below height() are skipped. */
  indexBlock: (block: Block, results: BlockResults) => Promise<void>
  getTx: (hash: Uint8Array) => Promise<IndexedTx | undefined>
  blockResults: (height: number) => Promise<BlockResults | undefined>
  /** Matching txs in (height, index) order. */
  searchTxs: (q: Query) => Promise<TxKey[]>
  /** Matching block heights, ascending. */
  searchBlocks: (q: Query) => Promise<number[]>
  close: () => Promise<void>
}

// ---- keys ----------------------------------------------------------------------------------

const T_META = 0x00
const T_TX = 0x01
const T_TX_HEIGHT = 0x02
const T_TX_EVENT = 0x03
const T_BLOCK = 0x04
const T_BLOCK_EVENT = 0x05
const HEIGHT_KEY = Uint8Array.from([T_META, ...Buffer.from('height')])

const utf8 = new TextEncoder()
const utf8d = new TextDecoder('utf-8', { fatal: false })

/** Escaped string: 0x00 → 0x00 0xFF; with `terminate`, followed by 0x00 0x01. */
function esc (s: string, terminate = true): number[] {
  const out: number[] = []
  for (const b of utf8.encode(s)) {
    out.push(b)
    if (b === 0) out.push(0xff)
  }
  if (terminate) out.push(0x00, 0x01)
  return out
}

/** Reads one escaped string at `off`; returns it and the offset after its terminator. */
function unesc (k: Uint8Array, off: number): { s: string, next: number } {
  const out: number[] = []
  let i = off
  while (i < k.length) {
    const b = k[i] as number
    if (b === 0) {
      if (k[i + 1] === 0x01) return { s: utf8d.decode(Uint8Array.from(out)), next: i + 2 }
      out.push(0)
      i += 2
      continue
    }
    out.push(b)
    i++
  }
  throw new AidError('ERR_STORE_CORRUPT', 'unterminated string in index key', 'indexer')
}

function u64 (n: number): number[] {
  const b = Buffer.alloc(8)
  b.writeBigUInt64BE(BigInt(n))
  return [...b]
}
function u32 (n: number): number[] {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n)
  return [...b]
}
const readU64 = (k: Uint8Array, off: number): number => Number(Buffer.from(k.buffer, k.byteOffset, k.byteLength).readBigUInt64BE(off))
const readU32 = (k: Uint8Array, off: number): number => Buffer.from(k.buffer, k.byteOffset, k.byteLength).readUInt32BE(off)

const key = (...parts: Array<number | number[] | Uint8Array>): Uint8Array => {
  const out: number[] = []
  for (const p of parts) {
    if (typeof p === 'number') out.push(p)
    else out.push(...p)
  }
  return Uint8Array.from(out)
}

/** The smallest key greater than every key with this prefix. */
function prefixEnd (prefix: Uint8Array): Uint8Array {
  const out = Uint8Array.from(prefix)
  for (let i = out.length - 1; i >= 0; i--) {
    if ((out[i] as number) < 0xff) {
      out[i] = (out[i] as number) + 1
      return out.subarray(0, i + 1)
    }
  }
  return Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
}

// ---- height bounds ---------------------------------------------------------------------------

interface Range { lo: number, hi: number }

/** Bounds from `heightTag` conditions (=, <, <=, >, >= with integer-valued numbers). */
function heightRange (conds: readonly Condition[], heightTag: string): Range {
  let lo = 0
  let hi = Number.MAX_SAFE_INTEGER
  for (const c of conds) {
    if (c.tag !== heightTag || c.arg?.type !== 'number') continue
    const m = /^(\d+)(?:\.(\d+))?$/.exec(c.arg.text)
    if (m === null) continue
    const int = Math.min(Number(m[1]), Number.MAX_SAFE_INTEGER)
    const whole = m[2] === undefined || /^0*$/.test(m[2])
    switch (c.op) {
      case '=': if (whole) { lo = Math.max(lo, int); hi = Math.min(hi, int) } else { lo = 1; hi = 0 } break
      case '>': lo = Math.max(lo, int + 1); break
      case '>=': lo = Math.max(lo, whole ? int : int + 1); break
      case '<': hi = Math.min(hi, whole ? int - 1 : int); break
      case '<=': hi = Math.min(hi, int); break
    }
  }
  return { lo, hi }
}

function tooMany (what: string, limit: number): AidError {
  return new AidError('ERR_RPC_TOO_MANY_RESULTS', `${what} more than ${limit}; narrow the query (e.g. with a height range)`, 'query')
}

export async function openIndexer (opts: IndexerOptions): Promise<Indexer> {
  if ((opts.path === undefined) === (opts.db === undefined)) {
    throw new AidError('ERR_RPC_INVALID_OPTIONS', 'give exactly one of path or db', 'indexer')
  }
  const maxScan = opts.maxScan ?? 100_000
  const maxResults = opts.maxResults ?? 10_000
  const owned = opts.path !== undefined
  const db: IndexDb = opts.db ?? (new ClassicLevel<Uint8Array, Uint8Array>(opts.path as string, ENC) as unknown as IndexDb)
  if (db.open !== undefined) await db.open()
  let closed = false
  const live = (): void => { if (closed) throw new AidError('ERR_RPC_CLOSED', 'indexer is closed', 'indexer') }

  const raw = await db.get(HEIGHT_KEY, ENC)
  let lastHeight = raw === undefined ? 0 : readU64(raw, 0)
  let writing: Promise<void> = Promise.resolve()

  const getTxRecord = async (hash: Uint8Array): Promise<IndexedTx | undefined> => {
    const v = await db.get(key(T_TX, hash), ENC)
    if (v === undefined) return undefined
    const r = decodeTxRecord(v, `tx ${Buffer.from(hash).toString('hex')}`)
    return { hash, height: r.height, index: r.index, tx: r.tx, result: r.result }
  }

  const indexBlock = (block: Block, results: BlockResults): Promise<void> => {
    const run = writing.then(async () => {
      live()
      const h = block.header.height
      if (h <= lastHeight) return
      const ops: Array<{ type: 'put', key: Uint8Array, value: Uint8Array }> = []
      const put = (k: Uint8Array, v: Uint8Array): void => { ops.push({ type: 'put', key: k, value: v }) }
      const seen = new Map<string, number>() // hash → index within this block (a later duplicate wins, as CometBFT)
      for (const [i, tx] of block.txs.entries()) {
        const result: TxResult = results.txResults[i] ?? { code: 0, codespace: '', log: '', data: new Uint8Array(0), events: [] }
        const hash = txHash(tx)
        const hk = Buffer.from(hash).toString('hex')
        // CometBFT's rule: a failed tx does not overwrite an earlier successful one with the same hash.
        if (result.code !== 0) {
          const prevIdx = seen.get(hk)
          const prevCode = prevIdx === undefined ? (await getTxRecord(hash))?.result.code : results.txResults[prevIdx]?.code
          if (prevCode === 0) continue
        }
        seen.set(hk, i)
        put(key(T_TX, hash), encodeTxRecord({ height: h, index: i, tx, result }))
        put(key(T_TX_HEIGHT, u64(h), u32(i)), hash)
        for (const ev of result.events) {
          if (ev.type === '') continue
          for (const a of ev.attributes) {
            if (!a.index || a.key === '') continue
            const tag = `${ev.type}.${a.key}`
            if (tag === 'tx.hash' || tag === 'tx.height') continue // reserved (CometBFT refuses them)
            put(key(T_TX_EVENT, esc(tag), esc(a.value), u64(h), u32(i)), hash)
          }
        }
      }
      put(key(T_BLOCK, u64(h)), encodeBlockRecord({
        numTxs: block.txs.length,
        events: results.events,
        validatorUpdates: results.validatorUpdates,
        consensusParamUpdates: results.consensusParamUpdates,
        appHash: results.appHash,
      }))
      for (const ev of results.events) {
        if (ev.type === '') continue
        for (const a of ev.attributes) {
          if (!a.index || a.key === '') continue
          put(key(T_BLOCK_EVENT, esc(`${ev.type}.${a.key}`), esc(a.value), u64(h)), new Uint8Array(0))
        }
      }
      put(HEIGHT_KEY, Uint8Array.from(u64(h)))
      await db.batch(ops, { ...ENC, sync: false })
      lastHeight = h
    })
    writing = run.catch(() => {})
    return run
  }

  const blockResults = async (h: number): Promise<BlockResults | undefined> => {
    live()
    if (!Number.isSafeInteger(h) || h < 1) return undefined
    const v = await db.get(key(T_BLOCK, u64(h)), ENC)
    if (v === undefined) return undefined
    const b = decodeBlockRecord(v, `block ${h}`)
    const txResults: TxResult[] = []
    for await (const [, hash] of db.iterator({ ...ENC, gte: key(T_TX_HEIGHT, u64(h)), lt: key(T_TX_HEIGHT, u64(h + 1)) })) {
      const r = await getTxRecord(hash)
      if (r !== undefined) txResults.push(r.result)
    }
    return {
      height: h, txResults, events: b.events, validatorUpdates: b.validatorUpdates,
      consensusParamUpdates: b.consensusParamUpdates, appHash: b.appHash,
    }
  }

  /**
   * Entries of one condition's range: `onEntry(value, height, index?, hash?)` for each key
   * whose value satisfies the condition and whose height is in range.
   */
  const scanCondition = async (
    table: number, c: Condition, range: Range,
    onEntry: (height: number, index: number, hash: Uint8Array) => void,
  ): Promise<void> => {
    const match = valueMatcher(c)
    const exact = c.op === '=' && c.arg?.type === 'string'
    const typeOnly = !c.tag.includes('.') // a bare event type: any of its attributes, matched against ""
    if (typeOnly && !match('')) return
    const prefix = exact
      ? key(table, esc(c.tag), esc(c.arg?.text ?? ''))
      : typeOnly ? key(table, esc(c.tag + '.', false)) : key(table, esc(c.tag))
    // One exact value's keys are in height order: seek straight to the height range.
    const bounds = exact
      ? { gte: key(prefix, u64(range.lo)), lt: range.hi >= Number.MAX_SAFE_INTEGER - 1 ? prefixEnd(prefix) : key(prefix, u64(range.hi + 1)) }
      : { gte: prefix, lt: prefixEnd(prefix) }
    let scanned = 0
    for await (const [k, v] of db.iterator({ ...ENC, ...bounds })) {
      if (++scanned > maxScan) throw tooMany(`condition "${c.tag}" scans`, maxScan)
      const t = unesc(k, 1)
      const val = unesc(k, t.next)
      if (!typeOnly && !exact && !match(val.s)) continue
      const height = readU64(k, val.next)
      if (height < range.lo || height > range.hi) continue
      const index = table === T_TX_EVENT ? readU32(k, val.next + 8) : 0
      onEntry(height, index, v)
    }
  }

  const searchTxs = async (q: Query): Promise<TxKey[]> => {
    live()
    const conds = q.conditions
    // tm.event is 'Tx' for every indexed tx: a condition on it either holds for all or for none.
    for (const c of conds) if (c.tag === 'tm.event' && !valueMatcher(c)('Tx')) return []
    const hashCond = conds.find((c) => c.tag === 'tx.hash' && c.op === '=' && c.arg?.type === 'string')
    if (hashCond !== undefined) {
      const hex = hashCond.arg?.text ?? ''
      if (!/^[0-9a-fA-F]{64}$/.test(hex)) return []
      const r = await getTxRecord(new Uint8Array(Buffer.from(hex, 'hex')))
      if (r === undefined) return []
      const events = flattenEvents(r.result.events, { 'tm.event': ['Tx'], 'tx.hash': [hex.toUpperCase()], 'tx.height': [String(r.height)] })
      const ok = conds.every((c) => c === hashCond || conditionHolds(c, valueMatcher(c), events))
      return ok ? [{ height: r.height, index: r.index, hash: r.hash }] : []
    }
    const range = heightRange(conds, 'tx.height')
    if (range.lo > range.hi) return []
    const heightConds = conds.filter((c) => c.tag === 'tx.height')
    const hashConds = conds.filter((c) => c.tag === 'tx.hash')
    const eventConds = conds.filter((c) => c.tag !== 'tx.height' && c.tag !== 'tx.hash' && c.tag !== 'tm.event')
    let found: Map<string, TxKey> | undefined
    for (const c of eventConds) {
      const hits = new Map<string, TxKey>()
      await scanCondition(T_TX_EVENT, c, range, (height, index, hash) => {
        const id = `${height}:${index}`
        if (found === undefined || found.has(id)) hits.set(id, { height, index, hash })
      })
      found = hits
      if (found.size === 0) return []
    }
    if (found === undefined) {
      found = new Map()
      let scanned = 0
      for await (const [k, hash] of db.iterator({ ...ENC, gte: key(T_TX_HEIGHT, u64(range.lo)), lt: key(T_TX_HEIGHT, u64(Math.min(range.hi, Number.MAX_SAFE_INTEGER - 1) + 1)) })) {
        if (++scanned > maxScan) throw tooMany('the height range scans', maxScan)
        const height = readU64(k, 1)
        const index = readU32(k, 9)
        found.set(`${height}:${index}`, { height, index, hash })
      }
    }
    let out = [...found.values()]
    // Exact checks the range scan cannot make: non-integer height bounds, conditions on tx.hash.
    if (heightConds.length > 0 || hashConds.length > 0) {
      const hm = heightConds.map((c) => ({ c, m: valueMatcher(c) }))
      const xm = hashConds.map((c) => ({ c, m: valueMatcher(c) }))
      out = out.filter((t) => hm.every(({ m }) => m(String(t.height))) &&
        xm.every(({ m }) => m(Buffer.from(t.hash).toString('hex').toUpperCase())))
    }
    if (out.length > maxResults) throw tooMany('the query matches', maxResults)
    return out.sort((a, b) => a.height - b.height || a.index - b.index)
  }

  const searchBlocks = async (q: Query): Promise<number[]> => {
    live()
    const conds = q.conditions
    for (const c of conds) if (c.tag === 'tm.event' && !valueMatcher(c)('NewBlock')) return []
    const range = heightRange(conds, 'block.height')
    if (range.lo > range.hi) return []
    const heightConds = conds.filter((c) => c.tag === 'block.height')
    const eventConds = conds.filter((c) => c.tag !== 'block.height' && c.tag !== 'tm.event')
    let found: Set<number> | undefined
    for (const c of eventConds) {
      const hits = new Set<number>()
      await scanCondition(T_BLOCK_EVENT, c, range, (height) => {
        if (found === undefined || found.has(height)) hits.add(height)
      })
      found = hits
      if (found.size === 0) return []
    }
    if (found === undefined) {
      found = new Set()
      let scanned = 0
      for await (const [k] of db.iterator({ ...ENC, gte: key(T_BLOCK, u64(range.lo)), lt: key(T_BLOCK, u64(Math.min(range.hi, Number.MAX_SAFE_INTEGER - 1) + 1)) })) {
        if (++scanned > maxScan) throw tooMany('the height range scans', maxScan)
        found.add(readU64(k, 1))
      }
    }
    let out = [...found]
    if (heightConds.length > 0) {
      const hm = heightConds.map((c) => valueMatcher(c))
      out = out.filter((h) => hm.every((m) => m(String(h))))
    }
    if (out.length > maxResults) throw tooMany('the query matches', maxResults)
    return out.sort((a, b) => a - b)
  }

  return {
    height: () => lastHeight,
    indexBlock,
    getTx: async (hash) => { live(); return hash.length === 32 ? await getTxRecord(hash) : undefined },
    blockResults,
    searchTxs,
    searchBlocks,
    close: async () => {
      if (closed) return
      await writing
      closed = true
      if (owned) await db.close()
    },
  }
}
