/**
 * Public types of the authenticated state store (state/store): options, the narrow
 * database dependency, the store's interface and its results.
 */
import type { SmtProof } from './verify.ts'

export const ENC = { keyEncoding: 'view', valueEncoding: 'view' } as const

export type BatchOp = { type: 'put', key: Uint8Array, value: Uint8Array } | { type: 'del', key: Uint8Array }

/** A LevelDB chained batch: written atomically by `write`. */
export interface StoreBatch {
  put: (key: Uint8Array, value: Uint8Array) => unknown
  del: (key: Uint8Array) => unknown
  write: (opts: { sync: boolean }) => Promise<void>
  close: () => Promise<void>
}

/**
 * The narrow slice of classic-level the store uses. A ClassicLevel opened with
 * `{ keyEncoding: 'view', valueEncoding: 'view' }` fits it (batches use the defaults).
 */
export interface StoreDb {
  get: (key: Uint8Array, opts: typeof ENC) => Promise<Uint8Array | undefined>
  getMany: (keys: Uint8Array[], opts: typeof ENC) => Promise<Array<Uint8Array | undefined>>
  batch: () => StoreBatch
  iterator: (opts: typeof ENC & { gte?: Uint8Array, lt?: Uint8Array, lte?: Uint8Array, reverse?: boolean }) => {
    nextv: (size: number) => Promise<Array<[Uint8Array, Uint8Array]>>
    close: () => Promise<void>
  }
  close: () => Promise<void>
}

export interface StateStoreOptions {
  /** Directory of a LevelDB the store opens and owns (closes on close()). */
  path?: string
  /** An open database to use instead, for the store alone, with 'view' (or 'buffer') default encodings; the caller closes it. */
  db?: StoreDb
  /**
   * Internal nodes kept in memory (default 50,000). Each costs its record (5 + 40 bytes
   * per child, ≤ 645 B) plus ~200 B of objects: ≤ ~45 MB at the default.
   */
  cacheNodes?: number
  /** Versions to retain, latest included (≥ 1); older ones are pruned at commit. Default: keep all. */
  keepRecent?: number
  /** Default 256. */
  maxKeyBytes?: number
  /** Default 65,536. */
  maxValueBytes?: number
  /** fsync each commit batch (default true); kill -9 is safe either way, power loss only with it. */
  sync?: boolean
  /** LevelDB block cache when opening by path (default 8 MiB, LevelDB's default). */
  levelCacheBytes?: number
  /**
   * LevelDB's open-file limit when opening by path (default 64). LevelDB mmaps each open
   * table file and every page a read touches stays in the process's RSS until the table
   * is closed, so this, not the number of keys, bounds the file-backed RSS (~2 MiB per
   * table file).
   */
  levelMaxOpenFiles?: number
}

export interface Entry { key: Uint8Array, value: Uint8Array }

export interface IterateOptions {
  /** First key (inclusive) in scan direction: lower bound forward, upper bound reverse. */
  from?: Uint8Array
  limit: number
  reverse?: boolean
  /** Overlay the pending writes, prepared ones included (default true); false reads the latest commit only. */
  pending?: boolean
}

export interface StateProof {
  key: Uint8Array
  version: number
  rootHash: Uint8Array
  /** The value proven present, or null for a proof of absence. */
  value: Uint8Array | null
  proof: SmtProof
  /** `proof` in the canonical encoding (SmtProofSchema). */
  proofBytes: Uint8Array
}

export interface StoreStats {
  latest: number
  oldest: number
  pendingKeys: number
  cachedNodes: number
  cacheCapacity: number
  cacheHits: number
  cacheMisses: number
}

export interface StateStore {
  /** Last committed version (0 for a fresh store). */
  version: () => number
  /** Oldest version still readable. */
  oldestVersion: () => number
  /** Root hash (`app_hash`) of a committed version, latest by default. */
  rootHash: (version?: number) => Promise<Uint8Array>
  get: (key: Uint8Array) => Promise<Uint8Array | null>
  has: (key: Uint8Array) => Promise<boolean>
  set: (key: Uint8Array, value: Uint8Array) => void
  delete: (key: Uint8Array) => void
  getAt: (key: Uint8Array, version: number) => Promise<Uint8Array | null>
  /**
   * Computes the next version from the pending writes — its root and the batch that makes
   * it — and keeps the batch in memory; writes nothing. Until commit() or discard() is
   * called, set, delete and prepare throw ERR_SMT_PREPARED; committed reads stay at the
   * old version, pending reads see the prepared writes.
   */
  prepare: () => Promise<{ version: number, rootHash: Uint8Array }>
  /** Writes the prepared version in one batch, or prepares and writes the pending writes. */
  commit: () => Promise<{ version: number, rootHash: Uint8Array }>
  /** Drops the pending writes and the prepared version, if any. */
  discard: () => void
  prove: (key: Uint8Array, version?: number) => Promise<StateProof>
  iterate: (prefix: Uint8Array, opts: IterateOptions) => Promise<Entry[]>
  prune: (upToVersion: number) => Promise<void>
  stats: () => StoreStats
  close: () => Promise<void>
}

