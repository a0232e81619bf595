/**
 * The narrow view of the authenticated store (state/store/, DESIGN §6) this application
 * needs, defined here so the dependency points one way: the store implements it, the app
 * and its tests consume it. Methods may answer synchronously or with a promise; the app
 * always awaits. Keys and values are byte strings; absent values come back null or
 * undefined.
 *
 * The app writes to the store only at the end of finalizeBlock (sorted by key), then
 * prepares: the prepared root is the block's app_hash. The version becomes durable only in
 * the app's commit(), after the consensus engine has saved the block's finalize response
 * and its chain state, so a crash in between leaves the store one block behind and the
 * engine replays the block (state/app.ts). Version v of the store is the state after one
 * more block than version v-1 (one commit per block, plus one for genesis).
 */

export type MaybePromise<T> = T | Promise<T>

export interface StoreEntry { key: Uint8Array, value: Uint8Array }

export interface IterateOptions {
  /** First key to return (inclusive), within the prefix. */
  from?: Uint8Array
  limit: number
  reverse?: boolean
  /** Overlay the pending and prepared writes (default true); false reads the latest commit only. */
  pending?: boolean
}

export interface AppStore {
  /** Latest committed version (0 before the first commit). */
  version: () => MaybePromise<number>
  rootHash: (version?: number) => MaybePromise<Uint8Array>
  /** Reads the pending version (which sees pending writes). */
  get: (key: Uint8Array) => MaybePromise<Uint8Array | null | undefined>
  getAt: (key: Uint8Array, version: number) => MaybePromise<Uint8Array | null | undefined>
  set: (key: Uint8Array, value: Uint8Array) => MaybePromise<void>
  delete: (key: Uint8Array) => MaybePromise<void>
  /**
   * Computes the next version (its root) from the pending writes without making it
   * durable. Until commit() or discard(), writes and another prepare are refused
   * (ERR_SMT_PREPARED); committed reads (version, rootHash, getAt, prove) stay at the old
   * version; get and iterate see the prepared writes.
   */
  prepare: () => MaybePromise<{ version: number, rootHash: Uint8Array }>
  /** Makes the prepared version durable, or prepares and commits the pending writes. */
  commit: () => MaybePromise<{ version: number, rootHash: Uint8Array }>
  /** Drops the pending writes and the prepared version. */
  discard: () => MaybePromise<void>
  /** An encoded membership or non-membership proof for key at a committed version. */
  prove: (key: Uint8Array, version: number) => MaybePromise<Uint8Array>
  iterate: (prefix: Uint8Array, opts: IterateOptions) => MaybePromise<Iterable<StoreEntry> | AsyncIterable<StoreEntry>>
  close: () => MaybePromise<void>
}

/** Pure proof check, exported by the store module next to its `prove`. */
export type ProofVerifier = (rootHash: Uint8Array, key: Uint8Array, valueOrNull: Uint8Array | null, proof: Uint8Array) => boolean

export async function collectEntries (it: Iterable<StoreEntry> | AsyncIterable<StoreEntry>): Promise<StoreEntry[]> {
  const out: StoreEntry[] = []
  for await (const e of it) out.push(e)
  return out
}

/**
 * The entries under `prefix`, in key order, up to `max`, stopping before the first one
 * `take` refuses: the same entries as iterating `max` and cutting at the first refusal,
 * but read in growing pages (64, 256, … 4,096), so a due-index scan that finds nothing
 * due reads one small page instead of `max` entries. Measured (bench/state.ts, 10^4
 * subjects, ~35k live replay entries): the replay prune read 10,000 entries every block
 * to find none expired, 56–99 ms of CPU and up to ~0.7 s of wall time a block.
 */
export async function scanWhile (
  store: AppStore, prefix: Uint8Array, max: number, take: (key: Uint8Array) => boolean,
): Promise<StoreEntry[]> {
  const out: StoreEntry[] = []
  let from: Uint8Array | undefined
  let page = 64
  while (out.length < max) {
    const limit = Math.min(page, max - out.length)
    const entries = await collectEntries(await store.iterate(prefix, from === undefined ? { limit } : { from, limit }))
    for (const e of entries) {
      if (!take(e.key)) return out
      out.push(e)
    }
    if (entries.length < limit) return out
    const last = (entries[entries.length - 1] as StoreEntry).key
    // The next key after `last` in byte order: `last` followed by a zero byte.
    from = new Uint8Array(last.length + 1)
    from.set(last)
    page = Math.min(page * 4, 4096)
  }
  return out
}
