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

/** Reads the store's latest state (the app never leaves pending writes in it between blocks). */
export function storeReader (store: AppStore): KvReader {
  return {
    get: async (key) => (await store.get(key)) ?? null,
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

export async function getRec<T> (kv: KvReader, schema: Schema<T>, key: Uint8Array): Promise<T | null> {
  const raw = await kv.get(key)
  return raw === null ? null : decode(schema, raw)
}

export function putRec<T> (kv: Kv, schema: Schema<T>, key: Uint8Array, value: T): void {
  kv.set(key, encode(schema, value))
}
