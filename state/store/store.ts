/**
 * The authenticated state store: a disk-backed, versioned Merkle map (DESIGN §6).
 *
 * Design: Jellyfish Merkle Tree (Gao et al., "Jellyfish Merkle Tree", Diem 2021) on one
 * classic-level (LevelDB) database; hashing RFC 6962-style with domain-separated leaf,
 * internal and empty tags (verify.ts). The tree and its batch update are in tree.ts, the
 * byte layout in node.ts. This file is the shell: the pending working set, commits,
 * versions, the flat value table for ordered scans, pruning and the node cache.
 *
 * Why a 16-ary JMT rather than an IAVL-style balanced tree or a binary SMT: keyed by
 * SHA-256(key), the shape depends only on the key set (no rotations, so no history
 * dependence and an insertion order-independent root); nodes are immutable and stored
 * under (version, path), so every committed version stays readable until pruned without
 * copy-on-write bookkeeping; and 16-ary nodes keep a lookup to ~log16(n) reads (6 levels
 * at 10^7 keys) where a binary tree needs ~24.
 *
 * Versions: a fresh store is at version 0 with the empty root; each `commit()` makes the
 * next version, even with nothing pending (its root is then the previous one). A commit
 * writes its new nodes, their stale-index entries, the version's root pointer, the flat
 * table's changes and the meta record in ONE LevelDB batch, so after a crash or kill -9
 * the store is at the old version or the new one, never between.
 *
 * Two-step commit: `prepare()` computes the next version (tree update, root hash, the
 * whole batch) from the pending writes and keeps the batch in memory without writing
 * anything; `commit()` then writes it. The app needs the root (its app_hash) in
 * finalizeBlock but must not make the block durable before the consensus engine has saved
 * what it needs to rebuild its own state (state/app.ts), so a crash between the two steps
 * leaves the store at the old version, as if the block never ran. `commit()` without a
 * prepare does both. While a version is prepared — from `prepare()` until `commit()` or
 * `discard()` is called — `set`, `delete` and a second `prepare` are refused with
 * ERR_SMT_PREPARED: the batch already fixes the next version's content and root, and a
 * write that silently went to the version after it would surprise the caller. Committed
 * reads (`version`, `rootHash`, `getAt`, `prove`) stay at the old version until the batch
 * is written; pending reads (`get`, `has`, `iterate` with pending) see the prepared writes.
 * `discard()` drops the prepared batch with the pending writes; so does `close()`.
 *
 * Memory: pending writes live in memory until commit (they are the block's working set);
 * everything else is on disk behind a count-bounded LRU of internal nodes, a small LRU of
 * root pointers and a bounded map of read hints. Leaves are not cached: a leaf holds its
 * value (up to maxValueBytes), so a count bound on leaves would not bound bytes; LevelDB's
 * block cache serves them. Measured (bench/smt.ts, cacheNodes 50,000): the live heap after
 * GC stays at ~23 MB from 10^5 to 3·10^5 keys; RSS is larger (anonymous ~380 MB) because V8
 * and glibc keep freed memory for reuse, and LevelDB's mmapped table files add
 * file-backed RSS that grows with the database but is page cache the OS can reclaim.
 *
 * Reads: `get`/`has`/`iterate` see the pending writes (and prepared or in-flight ones) over
 * the latest commit (flat table); `getAt`/`prove`/`rootHash` read a committed version
 * through the tree, never the flat table, so they stay right even while a commit is being
 * written.
 */
import { ClassicLevel } from 'classic-level'
import { equalBytes } from '../../src/bytes.ts'
import { AidError, isAidError } from '../../src/errors.ts'
import { NodeLru } from './cache.ts'
import {
  type Meta, type NodeId, type RootRef, type TreeNode, META_KEY, TAG_ROOT, TAG_STALE,
  cacheKey, decodeMeta, decodeNode, decodeRoot, decodeStale, encodeMeta, encodeRoot, encodeStale,
  nodeKey, plain, valueKey, versionKey,
} from './node.ts'
import { scanFlat } from './scan.ts'
import { type NodeSource, type UpdateItem, applyUpdates, compareItems, lookup, proveKey } from './tree.ts'
import {
  type BatchOp, ENC, type StateProof, type StateStore, type StateStoreOptions, type StoreDb,
} from './types.ts'
import { EMPTY_ROOT, encodeProof, keyHashOf, valueHashOf } from './verify.ts'

/** Node deletes gathered per prune batch (whole versions' stale records), so one prune never builds an unbounded batch. */
const PRUNE_CHUNK = 20_000
const ROOT_CACHE = 256
/** See StateStoreOptions.levelMaxOpenFiles; measured in bench/state.ts (state.rss rows). */
const DEFAULT_MAX_OPEN_FILES = 64
/**
 * Read hints kept per block; beyond this, reads are simply not remembered. Values longer
 * than MAX_HINT_VALUE are remembered as present only, so the map stays under ~40 MB even
 * with 256-byte keys (a block reads ~5,000 distinct keys).
 */
const MAX_HINTS = 1 << 16
const MAX_HINT_VALUE = 256

function badOption (detail: string): AidError {
  return new AidError('ERR_SMT_BAD_OPTIONS', detail, 'openStateStore')
}

function posInt (v: number | undefined, name: string, def: number, min: number, max: number): number {
  if (v === undefined) return def
  if (!Number.isSafeInteger(v) || v < min || v > max) throw badOption(`${name} must be an integer in [${min}, ${max}]`)
  return v
}

/** The next version, computed and not written: everything commit() needs. */
interface Prepared {
  version: number
  root: RootRef
  /** The whole batch but the meta record, which commit() adds (see doWrite). */
  ops: BatchOp[]
  /** Where this version's auto-prune moves the oldest-version watermark. */
  oldest: number
  /** New internal nodes by cache key: cached once written. */
  written: Array<[string, TreeNode]>
  /** Cache keys of the nodes the auto-prune deletes. */
  pruned: string[]
}

function hexOf (b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
}

/**
 * Writes `ops` atomically. A chained batch, not `db.batch(ops)`: abstract-level's array
 * form clones and re-validates every op, measured here at 180–320 ms of CPU for 15,000 ops
 * against 30–120 ms chained (a 3,000-key commit writes ~8,000–11,000 ops).
 */
async function writeBatch (db: StoreDb, ops: BatchOp[], sync: boolean): Promise<void> {
  const b = db.batch()
  try {
    for (const op of ops) {
      if (op.type === 'put') b.put(op.key, op.value)
      else b.del(op.key)
    }
  } catch (err) {
    await b.close()
    throw err
  }
  await b.write({ sync })
}

export type { StateStore, StateStoreOptions, StoreDb, StoreBatch, StateProof, Entry, IterateOptions, StoreStats } from './types.ts'

export async function openStateStore (opts: StateStoreOptions): Promise<StateStore> {
  const cacheNodes = posInt(opts.cacheNodes, 'cacheNodes', 50_000, 0, 1e8)
  const keepRecent = opts.keepRecent === undefined ? undefined : posInt(opts.keepRecent, 'keepRecent', 1, 1, Number.MAX_SAFE_INTEGER)
  const maxKeyBytes = posInt(opts.maxKeyBytes, 'maxKeyBytes', 256, 1, 0xffff)
  const maxValueBytes = posInt(opts.maxValueBytes, 'maxValueBytes', 65_536, 0, 64 * 1024 * 1024)
  const sync = opts.sync ?? true
  if ((opts.db === undefined) === (opts.path === undefined)) throw badOption('give exactly one of path and db')

  let db: StoreDb
  let owned = false
  if (opts.db !== undefined) {
    db = opts.db
    const enc = db as unknown as { keyEncoding?: () => { format?: string }, valueEncoding?: () => { format?: string } }
    for (const f of [enc.keyEncoding?.().format, enc.valueEncoding?.().format]) {
      if (f !== undefined && f !== 'view' && f !== 'buffer') throw badOption(`db must use 'view' or 'buffer' default encodings, not '${f}'`)
    }
  } else {
    const level = new ClassicLevel<Uint8Array, Uint8Array>(opts.path as string, {
      ...ENC,
      cacheSize: posInt(opts.levelCacheBytes, 'levelCacheBytes', 8 << 20, 0, 2 ** 40),
      maxOpenFiles: posInt(opts.levelMaxOpenFiles, 'levelMaxOpenFiles', DEFAULT_MAX_OPEN_FILES, 16, 1 << 20),
    })
    await level.open()
    db = level as unknown as StoreDb
    owned = true
  }

  let meta: Meta
  let latestRoot: RootRef
  try {
    const rawMeta = await db.get(META_KEY, ENC)
    if (rawMeta === undefined) {
      meta = { latest: 0, oldest: 0 }
      latestRoot = { kind: 'empty', version: 0, hash: EMPTY_ROOT }
      await writeBatch(db, [
        { type: 'put', key: versionKey(TAG_ROOT, 0), value: encodeRoot(latestRoot) },
        { type: 'put', key: META_KEY, value: encodeMeta(meta) },
      ], sync)
    } else {
      meta = decodeMeta(rawMeta)
      const rawRoot = await db.get(versionKey(TAG_ROOT, meta.latest), ENC)
      if (rawRoot === undefined) throw new AidError('ERR_STORE_CORRUPT', `root of latest version ${meta.latest} is missing`, 'state store')
      latestRoot = decodeRoot(rawRoot)
    }
  } catch (err) {
    if (owned) await db.close()
    throw err
  }

  const cache = new NodeLru<TreeNode>(cacheNodes)
  const roots = new NodeLru<RootRef>(ROOT_CACHE)
  roots.set(String(meta.latest), latestRoot)
  type WriteSet = Map<string, { key: Uint8Array, value: Uint8Array | null }>
  let pending: WriteSet = new Map()
  /** Write sets handed to prepare() or commit() and not yet written, oldest first. */
  const inflight: WriteSet[] = []
  /** The version prepare() is computing or has computed, until commit() or discard() is called. */
  let prepared: { work: WriteSet, ready: Promise<Prepared> } | null = null
  /** Committed values read since the last commit started, by hex key (bounded): the value, true (present, too long to keep) or null (absent). */
  let hints = new Map<string, Uint8Array | true | null>()
  let closed = false
  let queue: Promise<unknown> = Promise.resolve()

  /** Runs prepares, commits, prunes and close one at a time. */
  function serial<T> (fn: () => Promise<T>): Promise<T> {
    const run = queue.then(fn)
    queue = run.catch(() => undefined)
    return run
  }

  function assertOpen (): void {
    if (closed) throw new AidError('ERR_STORE_CLOSED', undefined, 'state store')
  }

  function refuseIfPrepared (at: string): void {
    if (prepared !== null) throw new AidError('ERR_SMT_PREPARED', 'the next version is prepared: commit or discard it first', at)
  }

  function checkKey (key: Uint8Array, at: string): void {
    if (!(key instanceof Uint8Array)) throw new AidError('ERR_SMT_BAD_KEY', 'key must be a Uint8Array', at)
    if (key.length === 0 || key.length > maxKeyBytes) {
      throw new AidError('ERR_SMT_BAD_KEY', `key length ${key.length} not in [1, ${maxKeyBytes}]`, at)
    }
  }

  const source: NodeSource = {
    async load (ids: NodeId[]): Promise<TreeNode[]> {
      const out = new Array<TreeNode>(ids.length)
      const missIdx: number[] = []
      const missKeys: Uint8Array[] = []
      for (let i = 0; i < ids.length; i++) {
        const key = nodeKey(ids[i] as NodeId)
        const hit = cache.get(cacheKey(key))
        if (hit !== undefined) out[i] = hit
        else {
          missIdx.push(i)
          missKeys.push(key)
        }
      }
      if (missKeys.length > 0) {
        const raws = await db.getMany(missKeys, ENC)
        missIdx.forEach((i, j) => {
          const raw = raws[j]
          const id = ids[i] as NodeId
          if (raw === undefined) throw new AidError('ERR_STORE_NOT_FOUND', `tree node at version ${id.version}, depth ${id.depth} is missing`, 'state store')
          const node = decodeNode(raw)
          if (node.kind === 'internal') cache.set(cacheKey(missKeys[j] as Uint8Array), node)
          out[i] = node
        })
      }
      return out
    },
  }

  function checkVersion (version: number): void {
    if (!Number.isSafeInteger(version) || version < 0 || version > meta.latest) {
      throw new AidError('ERR_SMT_VERSION_UNKNOWN', `version ${version} is not committed (latest ${meta.latest})`, 'state store')
    }
    if (version < meta.oldest) {
      throw new AidError('ERR_SMT_VERSION_PRUNED', `version ${version} was pruned (oldest retained ${meta.oldest})`, 'state store')
    }
  }

  /** Runs a read of a committed version; a node pruned under it turns into the pruned error. */
  async function atVersion<T> (version: number, fn: (root: RootRef) => Promise<T>): Promise<T> {
    assertOpen()
    checkVersion(version)
    try {
      let root = roots.get(String(version))
      if (root === undefined) {
        const raw = await db.get(versionKey(TAG_ROOT, version), ENC)
        if (raw === undefined) throw new AidError('ERR_STORE_NOT_FOUND', `root of version ${version} is missing`, 'state store')
        root = decodeRoot(raw)
        roots.set(String(version), root)
      }
      return await fn(root)
    } catch (err) {
      if (isAidError(err, 'ERR_STORE_NOT_FOUND')) {
        checkVersion(version)
        throw new AidError('ERR_STORE_CORRUPT', err.message, 'state store')
      }
      throw err
    }
  }

  /** Deletes for stale nodes with since ≤ upTo and roots of versions < upTo, at most `max` stale entries. */
  async function pruneOps (upTo: number, max: number): Promise<{ ops: BatchOp[], ids: string[], done: boolean }> {
    const ops: BatchOp[] = []
    const ids: string[] = []
    // Whole stale records (one per version) until `max` node deletes are gathered.
    const it = db.iterator({ ...ENC, gte: versionKey(TAG_STALE, 0), lt: versionKey(TAG_STALE, upTo + 1) })
    let done = false
    try {
      let n = 0
      while (n < max) {
        const chunk = await it.nextv(1)
        const entry = chunk[0]
        if (entry === undefined) {
          done = true
          break
        }
        ops.push({ type: 'del', key: entry[0] })
        for (const nk of decodeStale(entry[1])) {
          ops.push({ type: 'del', key: nk })
          ids.push(cacheKey(nk))
          n++
        }
      }
    } finally {
      await it.close()
    }
    const rit = db.iterator({ ...ENC, gte: versionKey(TAG_ROOT, 0), lt: versionKey(TAG_ROOT, upTo) })
    try {
      for (;;) {
        const chunk = await rit.nextv(1000)
        if (chunk.length === 0) break
        for (const [k] of chunk) ops.push({ type: 'del', key: k })
      }
    } finally {
      await rit.close()
    }
    return { ops, ids, done }
  }

  function afterPrune (upTo: number, ids: string[]): void {
    for (const id of ids) cache.delete(id)
    for (let v = Math.max(0, upTo - ROOT_CACHE * 4); v < upTo; v++) roots.delete(String(v))
  }

  /** Takes the pending writes for the next prepare or commit; later writes start a new set. */
  function takePending (): WriteSet {
    const work = pending
    pending = new Map()
    inflight.push(work)
    return work
  }

  /**
   * Takes `work` off the in-flight list. `giveBack` (nothing was written): its writes go
   * to the next write set, under that set's own, so they are pending again. A set that
   * discard() already dropped is left alone.
   */
  function release (work: WriteSet, giveBack: boolean): void {
    const i = inflight.indexOf(work)
    if (i < 0) return
    if (giveBack) {
      const later = inflight[i + 1] ?? pending
      for (const [k, v] of work) if (!later.has(k)) later.set(k, v)
    }
    inflight.splice(i, 1)
  }

  /** Computes the next version from `work` over the latest commit; writes nothing. */
  async function doPrepare (work: WriteSet): Promise<Prepared> {
    const known = hints
    hints = new Map()
    try {
      const items: UpdateItem[] = []
      const changed: Array<{ key: Uint8Array, value: Uint8Array | null }> = []
      for (const [hex, { key, value }] of work) {
        const prior = known.get(hex)
        // A write of the value the key already has changes nothing: leave it out.
        if (prior !== undefined && (value === null ? prior === null : prior !== null && prior !== true && equalBytes(prior, value))) continue
        changed.push({ key, value })
        const keyHash = keyHashOf(key)
        items.push({ keyHash, key, value, valueHash: value === null ? null : valueHashOf(value), known: prior !== undefined && prior !== null })
      }
      items.sort(compareItems)
      const version = meta.latest + 1
      const res = await applyUpdates(source, latestRoot, version, items)
      const ops: BatchOp[] = []
      const written: Array<[string, TreeNode]> = []
      for (const w of res.writes) {
        const key = nodeKey(w.id)
        ops.push({ type: 'put', key, value: w.node.rec })
        if (w.node.kind === 'internal') written.push([cacheKey(key), w.node])
      }
      if (res.stale.length > 0) ops.push({ type: 'put', key: versionKey(TAG_STALE, version), value: encodeStale(res.stale) })
      for (const { key, value } of changed) {
        ops.push(value === null ? { type: 'del', key: valueKey(key) } : { type: 'put', key: valueKey(key), value })
      }
      ops.push({ type: 'put', key: versionKey(TAG_ROOT, version), value: encodeRoot(res.root) })
      let oldest = meta.oldest
      let pruned: string[] = []
      if (keepRecent !== undefined && version - keepRecent + 1 > 0) {
        // Auto-prune rides in the same batch; a backlog beyond one chunk is finished by later commits.
        const target = version - keepRecent + 1
        const p = await pruneOps(target, PRUNE_CHUNK)
        ops.push(...p.ops)
        pruned = p.ids
        oldest = Math.max(oldest, target)
      }
      return { version, root: res.root, ops, oldest, written, pruned }
    } catch (err) {
      // Nothing was computed for good: the writes are pending again, and nothing is prepared.
      if (prepared?.work === work) prepared = null
      release(work, true)
      throw err
    }
  }

  /** Writes a prepared version in one batch; only then does memory move to it. */
  async function doWrite (work: WriteSet, p: Prepared): Promise<{ version: number, rootHash: Uint8Array }> {
    try {
      // Commits and prepares run one at a time and a prepared version blocks the next prepare.
      if (p.version !== meta.latest + 1) throw new AidError('ERR_STORE_CORRUPT', `prepared version ${p.version} does not follow ${meta.latest}`, 'state store')
      // The meta record is made now, not at prepare: a prune() that ran in between may have
      // moved the watermark further, and it must not move back.
      const next: Meta = { latest: p.version, oldest: Math.max(meta.oldest, p.oldest) }
      p.ops.push({ type: 'put', key: META_KEY, value: encodeMeta(next) })
      await writeBatch(db, p.ops, sync)
      // The batch is durable: only now does memory move to the new version.
      release(work, false)
      meta = next
      latestRoot = p.root
      roots.set(String(p.version), p.root)
      afterPrune(next.oldest, p.pruned)
      for (const [k, node] of p.written) cache.set(k, node)
      return { version: p.version, rootHash: p.root.hash.slice() }
    } catch (err) {
      // Nothing was written: the writes are pending again.
      release(work, true)
      throw err
    }
  }

  async function doPrune (upTo: number): Promise<void> {
    if (!Number.isSafeInteger(upTo) || upTo < 0 || upTo > meta.latest) {
      throw new AidError('ERR_SMT_VERSION_UNKNOWN', `cannot prune up to ${upTo} (latest ${meta.latest})`, 'prune')
    }
    const target = Math.max(upTo, meta.oldest)
    for (;;) {
      const p = await pruneOps(target, PRUNE_CHUNK)
      const next: Meta = { latest: meta.latest, oldest: target }
      // The watermark moves in the first chunk, so reads of pruned versions fail from then on.
      p.ops.push({ type: 'put', key: META_KEY, value: encodeMeta(next) })
      await writeBatch(db, p.ops, sync)
      meta = next
      afterPrune(target, p.ids)
      if (p.done) return
    }
  }

  /**
   * Reads the latest committed value from the flat table and remembers it as a hint for
   * the next commit (see UpdateItem.known): the app reads nearly every key it writes, so a
   * commit then neither reads the leaves of updated keys nor touches unchanged ones. A
   * hint is kept only if no commit ran during the read, so it is about `latestRoot`.
   */
  async function readCommitted (key: Uint8Array): Promise<Uint8Array | null> {
    const before = meta.latest
    const quiet = inflight.length === 0
    const raw = await db.get(valueKey(key), ENC)
    const value = raw === undefined ? null : plain(raw)
    if (quiet && inflight.length === 0 && meta.latest === before && hints.size < MAX_HINTS) {
      hints.set(hexOf(key), value === null || value.length <= MAX_HINT_VALUE ? value : true)
    }
    return value
  }

  function lookupPending (key: Uint8Array): { value: Uint8Array | null } | undefined {
    const k = hexOf(key)
    const p = pending.get(k)
    if (p !== undefined) return p
    for (let i = inflight.length - 1; i >= 0; i--) {
      const e = (inflight[i] as WriteSet).get(k)
      if (e !== undefined) return e
    }
    return undefined
  }

  return {
    version: () => meta.latest,
    oldestVersion: () => meta.oldest,
    rootHash: (version) => atVersion(version ?? meta.latest, async (root) => root.hash.slice()),

    async get (key) {
      assertOpen()
      checkKey(key, 'get')
      const p = lookupPending(key)
      if (p !== undefined) return p.value === null ? null : p.value.slice()
      return await readCommitted(key)
    },

    async has (key) {
      assertOpen()
      checkKey(key, 'has')
      const p = lookupPending(key)
      if (p !== undefined) return p.value !== null
      return (await readCommitted(key)) !== null
    },

    set (key, value) {
      assertOpen()
      refuseIfPrepared('set')
      checkKey(key, 'set')
      if (!(value instanceof Uint8Array)) throw new AidError('ERR_SMT_BAD_VALUE', 'value must be a Uint8Array', 'set')
      if (value.length > maxValueBytes) throw new AidError('ERR_SMT_BAD_VALUE', `value length ${value.length} > ${maxValueBytes}`, 'set')
      pending.set(hexOf(key), { key: key.slice(), value: value.slice() })
    },

    delete (key) {
      assertOpen()
      refuseIfPrepared('delete')
      checkKey(key, 'delete')
      pending.set(hexOf(key), { key: key.slice(), value: null })
    },

    getAt: async (key, version) => {
      checkKey(key, 'getAt')
      return await atVersion(version, (root) => lookup(source, root, keyHashOf(key)))
    },

    /** Takes the pending writes at once; nothing is written, and writes are refused until commit() or discard(). */
    prepare: () => {
      assertOpen()
      refuseIfPrepared('prepare')
      const work = takePending()
      const ready = serial(() => doPrepare(work))
      prepared = { work, ready }
      return ready.then((p) => ({ version: p.version, rootHash: p.root.hash.slice() }))
    },

    /**
     * Writes the prepared version, or prepares and writes the pending writes when nothing
     * is prepared. Either way writes made after this call go to the next version.
     */
    commit: () => {
      assertOpen()
      const p = prepared
      if (p !== null) {
        prepared = null
        return serial(async () => await doWrite(p.work, await p.ready))
      }
      const work = takePending()
      return serial(async () => await doWrite(work, await doPrepare(work)))
    },

    /** Drops the pending writes and a prepared version (its batch is never written). */
    discard () {
      pending = new Map()
      if (prepared !== null) {
        release(prepared.work, false)
        prepared = null
      }
    },

    prove: async (key, version) => {
      checkKey(key, 'prove')
      const v = version ?? meta.latest
      return await atVersion(v, async (root) => {
        const { proof, value } = await proveKey(source, root, keyHashOf(key))
        return { key: key.slice(), version: v, rootHash: root.hash.slice(), value, proof, proofBytes: encodeProof(proof) }
      })
    },

    async iterate (prefix, o) {
      assertOpen()
      if (!(prefix instanceof Uint8Array) || prefix.length > maxKeyBytes) throw new AidError('ERR_SMT_BAD_KEY', 'prefix must be a Uint8Array no longer than a key', 'iterate')
      if (!Number.isSafeInteger(o.limit) || o.limit < 1) throw new AidError('ERR_SMT_BAD_OPTIONS', 'limit must be a positive integer', 'iterate')
      if (o.from !== undefined) checkKey(o.from, 'iterate.from')
      const overlays = o.pending === false ? [] : [pending, ...inflight.slice().reverse()]
      return await scanFlat(db, prefix, o, overlays)
    },
    prune: (upTo) => {
      assertOpen()
      return serial(() => doPrune(upTo))
    },

    stats: () => ({
      latest: meta.latest,
      oldest: meta.oldest,
      pendingKeys: pending.size,
      cachedNodes: cache.size,
      cacheCapacity: cache.capacity,
      cacheHits: cache.hits,
      cacheMisses: cache.misses,
    }),

    /** Refuses new work at once; queued commits and prunes finish first, then the db closes. */
    close: () => {
      if (closed) return queue.then(() => undefined)
      closed = true
      // A prepared version that commit() was not asked to write is dropped, never written.
      prepared = null
      return serial(async () => {
        cache.clear()
        pending = new Map()
        if (owned) await db.close()
      })
    },
  }
}
