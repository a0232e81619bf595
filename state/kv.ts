/**
 * Write buffers over the store. Execution never writes to the store directly:
 *
 *   store (committed) ← block overlay ← tx overlay      (finalizeBlock)
 *   store (committed) ← check overlay ← tx overlay      (checkTx; reset after commit)
 *   store (committed) ← proposal overlay ← tx overlay   (prepare/processProposal)
 *
 * A tx's writes land in its own overlay and are merged into the parent only when the tx
 * succeeds, so a rejected tx leaves no trace. `flushTo` writes in ascending key order, so
 * the store sees the same write sequence on every node whatever the execution order of
 * writes inside a block (Map insertion order is deterministic anyway, but sorting makes
 * the store's input independent of it).
 */
import { decode, encode, type Schema } from '../src/codec/index.ts'
import type { AppStore } from './store-api.ts'

export interface KvReader {
  get: (key: Uint8Array) => Promise<Uint8Array | null>
}

export interface Kv extends KvReader {
  set: (key: Uint8Array, value: Uint8Array) => void
  delete: (key: Uint8Array) => void
}

const toStr = (k: Uint8Array): string => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('latin1')

/**
 * Reads the store's latest state: the last commit, or between finalizeBlock and commit the
 * finalized block's prepared writes (the app leaves no other pending writes in it).
 */
export function storeReader (store: AppStore): KvReader {
  return {
    get: async (key) => (await store.get(key)) ?? null,
  }
}

/**
 * Memoizes reads of the committed state for one block (finalizeBlock, or a proposal
 * check). The app writes to the store only when a block is done, so while a block runs
 * every key reads the same value: each is read once, and `prefetch` reads many at once
 * (state/prefetch.ts) instead of one awaited read after another. Measured by
 * bench/state.ts (10^4 subjects, a 1,000-tx mixed block): 7,870 store reads of 4,534
 * distinct keys; offices, their key index, programs and standards were read ~3,000 times
 * for 23 keys. Memory: the distinct keys of one block, dropped with it.
 */
export class ReadCache implements KvReader {
  private readonly reads = new Map<string, Promise<Uint8Array | null>>()
  private readonly settled = new Map<string, Uint8Array | null>()
  constructor (private readonly parent: KvReader) {}

  private read (key: Uint8Array, k: string): Promise<Uint8Array | null> {
    const p = this.parent.get(key).then((v) => {
      this.settled.set(k, v)
      return v
    })
    this.reads.set(k, p)
    return p
  }

  get (key: Uint8Array): Promise<Uint8Array | null> {
    const k = toStr(key)
    return this.reads.get(k) ?? this.read(key, k)
  }

  /** The value of a key already read: bytes, null when absent, undefined when not (yet) read. */
  peek (key: Uint8Array): Uint8Array | null | undefined {
    return this.settled.get(toStr(key))
  }

  /** Reads every key not read yet, concurrently; resolves when all are in. */
  async prefetch (keys: Iterable<Uint8Array>): Promise<void> {
    const pending: Array<Promise<Uint8Array | null>> = []
    for (const key of keys) {
      const k = toStr(key)
      if (!this.reads.has(k)) pending.push(this.read(key, k))
    }
    await Promise.all(pending)
  }

  get size (): number {
    return this.reads.size
  }
}

export class Overlay implements Kv {
  private readonly writes = new Map<string, { key: Uint8Array, value: Uint8Array | null }>()
  constructor (private readonly parent: KvReader) {}

  async get (key: Uint8Array): Promise<Uint8Array | null> {
    const w = this.writes.get(toStr(key))
    if (w !== undefined) return w.value
    return await this.parent.get(key)
  }

  set (key: Uint8Array, value: Uint8Array): void {
    this.writes.set(toStr(key), { key, value })
  }

  delete (key: Uint8Array): void {
    this.writes.set(toStr(key), { key, value: null })
  }

  get size (): number {
    return this.writes.size
  }

  /** Writes in ascending byte order of keys (latin1 string order is byte order). */
  sorted (): Array<{ key: Uint8Array, value: Uint8Array | null }> {
    return [...this.writes.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([, w]) => w)
  }

  /** Merges into a parent overlay (tx success). */
  mergeInto (parent: Kv): void {
    for (const w of this.sorted()) {
      if (w.value === null) parent.delete(w.key)
      else parent.set(w.key, w.value)
    }
  }

  async flushTo (store: AppStore): Promise<void> {
    for (const w of this.sorted()) {
      if (w.value === null) await store.delete(w.key)
      else await store.set(w.key, w.value)
    }
  }
}

/**
 * Decoded records by the byte array they were decoded from. A block's ReadCache hands out
 * one array per key, so a record read by several txs of a block (an office, a program,
 * a household) or first by the read-ahead and then by its handler is decoded once; the
 * entry goes with the array. Decoding is strict (canonical re-encode check), so this
 * saves an encode too. Measured (bench/state.ts, 10^4 subjects): decode was ~9 % of a
 * 1,000-tx block's profile, half of it the read-ahead decoding what handlers decode again.
 */
const decoded = new WeakMap<Uint8Array, { schema: Schema<unknown>, value: unknown }>()

/**
 * The record in `raw`. Records are shared between the callers that read the same bytes:
 * treat them as immutable (handlers build changed copies with spreads, never assign).
 */
export function decodeRec<T> (schema: Schema<T>, raw: Uint8Array): T {
  const m = decoded.get(raw)
  if (m !== undefined && m.schema === schema) return m.value as T
  const value = decode(schema, raw)
  decoded.set(raw, { schema: schema as Schema<unknown>, value })
  return value
}

export async function getRec<T> (kv: KvReader, schema: Schema<T>, key: Uint8Array): Promise<T | null> {
  const raw = await kv.get(key)
  return raw === null ? null : decodeRec(schema, raw)
}

export function putRec<T> (kv: Kv, schema: Schema<T>, key: Uint8Array, value: T): void {
  kv.set(key, encode(schema, value))
}
