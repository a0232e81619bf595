/**
 * The narrow view of the authenticated store (state/store/, DESIGN §6) this application
 * needs, defined here so the dependency points one way: the store implements it, the app
 * and its tests consume it. Methods may answer synchronously or with a promise; the app
 * always awaits. Keys and values are byte strings; absent values come back null or
 * undefined.
 *
 * The app writes to the store only at the end of finalizeBlock (sorted by key), then
 * commits: the returned root is the block's app_hash, and version v of the store is the
 * state after one more block than version v-1 (one commit per block, plus one for genesis).
 */

export type MaybePromise<T> = T | Promise<T>

export interface StoreEntry { key: Uint8Array, value: Uint8Array }

export interface IterateOptions {
  /** First key to return (inclusive), within the prefix. */
  from?: Uint8Array
  limit: number
  reverse?: boolean
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
  commit: () => MaybePromise<{ version: number, rootHash: Uint8Array }>
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
