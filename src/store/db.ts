/**
 * The database layer shared by the block store and the consensus state store (CometBFT
 * uses cometbft-db; here classic-level 3 / LevelDB): opening by path or adopting an open
 * database, binary keys with one-byte tags and big-endian heights (so LevelDB's byte order
 * is height order), canonical-codec values, ERR_STORE_CORRUPT naming the key of any record
 * that does not decode, and writes serialized one at a time.
 *
 * Atomicity: every logical write (one height) is one LevelDB write batch, which LevelDB
 * appends to its log as a single record; after a crash, recovery replays whole records and
 * drops a torn last one, so a reopened store sees all of a batch or none of it.
 */
import { ClassicLevel } from 'classic-level'
import { toHex } from '../bytes.ts'
import { type Schema, encode, tryDecode } from '../codec/index.ts'
import { AidError, isAidError } from '../errors.ts'

const ENC = { keyEncoding: 'view', valueEncoding: 'view' } as const

/** The slice of abstract-level the stores use; a ClassicLevel (or a sublevel of one) fits. */
export interface StoreDb {
  get: (key: Uint8Array, opts: typeof ENC) => Promise<Uint8Array | undefined>
  getMany: (keys: Uint8Array[], opts: typeof ENC) => Promise<Array<Uint8Array | undefined>>
  batch: (ops: BatchOp[], opts: typeof ENC & { sync: boolean }) => Promise<void>
  close: () => Promise<void>
}

export type BatchOp = { type: 'put', key: Uint8Array, value: Uint8Array } | { type: 'del', key: Uint8Array }

export interface DbOptions {
  /** Directory of a LevelDB the store opens and owns (closed by close()). */
  path?: string
  /** An open database to use instead; the caller owns it and closes it after the store. */
  db?: StoreDb
  /** fsync every write batch (CometBFT's WriteSync). Default true. */
  sync?: boolean
}

/** A key tag, used in the human-readable key names of error messages. */
export interface KeyName { name: string, key: Uint8Array }

function ioError (err: unknown, what: string): AidError {
  if (isAidError(err)) return err
  const e = new AidError('ERR_STORE_IO', `${what}: ${err instanceof Error ? err.message : String(err)}`)
  ;(e as { cause?: unknown }).cause = err
  return e
}

export interface Db {
  get: (k: KeyName) => Promise<Uint8Array | undefined>
  getMany: (ks: KeyName[]) => Promise<Array<Uint8Array | undefined>>
  /** Reads and decodes; undefined when absent; ERR_STORE_CORRUPT naming the key when not decodable. */
  read: <T>(k: KeyName, schema: Schema<T>, maxBytes?: number) => Promise<T | undefined>
  /** Runs `fn` after every earlier write has finished (one writer at a time). */
  serial: <T>(fn: () => Promise<T>) => Promise<T>
  write: (ops: BatchOp[]) => Promise<void>
  assertOpen: () => void
  close: () => Promise<void>
}

export async function openDb (opts: DbOptions, label: string): Promise<Db> {
  if ((opts.db === undefined) === (opts.path === undefined)) {
    throw new AidError('ERR_STORE_IO', 'give exactly one of path and db', label)
  }
  const sync = opts.sync ?? true
  let db: StoreDb
  const owned = opts.db === undefined
  if (opts.db !== undefined) {
    db = opts.db
  } else {
    const level = new ClassicLevel<Uint8Array, Uint8Array>(opts.path as string, ENC)
    try {
      await level.open()
    } catch (err) {
      throw ioError(err, `cannot open ${opts.path as string}`)
    }
    db = level as unknown as StoreDb
  }
  let closed = false
  let queue: Promise<unknown> = Promise.resolve()

  const assertOpen = (): void => {
    if (closed) throw new AidError('ERR_STORE_CLOSED', undefined, label)
  }
  const get = async (k: KeyName): Promise<Uint8Array | undefined> => {
    assertOpen()
    try {
      return await db.get(k.key, ENC)
    } catch (err) {
      throw ioError(err, `read ${k.name}`)
    }
  }
  return {
    get,
    getMany: async (ks) => {
      assertOpen()
      if (ks.length === 0) return []
      try {
        return await db.getMany(ks.map((k) => k.key), ENC)
      } catch (err) {
        throw ioError(err, `read ${ks[0]?.name ?? ''}…`)
      }
    },
    read: async (k, schema, maxBytes) => {
      const raw = await get(k)
      return raw === undefined ? undefined : decodeRecord(k.name, schema, raw, maxBytes)
    },
    serial: (fn) => {
      const run = queue.then(fn, fn)
      queue = run.catch(() => undefined)
      return run
    },
    write: async (ops) => {
      assertOpen()
      try {
        await db.batch(ops, { ...ENC, sync })
      } catch (err) {
        throw ioError(err, `write ${ops.length} records`)
      }
    },
    assertOpen,
    close: async () => {
      if (closed) return
      await queue
      closed = true
      if (owned) await db.close()
    },
  }
}

/** Decodes a stored value; any codec failure is ERR_STORE_CORRUPT at `name` (the key's name). */
export function decodeRecord<T> (name: string, schema: Schema<T>, raw: Uint8Array, maxBytes?: number): T {
  const r = tryDecode(schema, raw, maxBytes === undefined ? {} : { maxBytes })
  if (r.ok) return r.value
  throw new AidError('ERR_STORE_CORRUPT', `${schema.label} record does not decode (${r.error.message})`, name)
}

export function put<T> (k: KeyName, schema: Schema<T>, value: T): BatchOp {
  return { type: 'put', key: k.key, value: encode(schema, value) }
}

export function del (k: KeyName): BatchOp {
  return { type: 'del', key: k.key }
}

// ---------------------------------------------------------------------------------------
// Keys: a one-byte tag, then big-endian fields. Tags are unique across both stores, so
// they may share one database.

export const TAGS = {
  blockStoreState: 0x01,
  blockMeta: 0x02,
  part: 0x03,
  commit: 0x04,
  seenCommit: 0x05,
  blockHash: 0x06,
  chainState: 0x10,
  validators: 0x11,
  consensusParams: 0x12,
} as const
export type Tag = keyof typeof TAGS

function writeU64 (out: Uint8Array, off: number, n: number): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength)
  view.setUint32(off, Math.floor(n / 2 ** 32))
  view.setUint32(off + 4, n >>> 0)
}

/** A singleton record's key. */
export function singletonKey (tag: Tag): KeyName {
  return { name: tag, key: new Uint8Array([TAGS[tag]]) }
}

/** `tag || u64be(height)`. */
export function heightKey (tag: Tag, height: number): KeyName {
  const key = new Uint8Array(9)
  key[0] = TAGS[tag]
  writeU64(key, 1, height)
  return { name: `${tag}/${height}`, key }
}

/** `part || u64be(height) || u32be(index)`. */
export function partKey (height: number, index: number): KeyName {
  const key = new Uint8Array(13)
  key[0] = TAGS.part
  writeU64(key, 1, height)
  new DataView(key.buffer).setUint32(9, index)
  return { name: `part/${height}/${index}`, key }
}

/** `blockHash || hash`. */
export function hashKey (hash: Uint8Array): KeyName {
  const key = new Uint8Array(1 + hash.length)
  key[0] = TAGS.blockHash
  key.set(hash, 1)
  return { name: `blockHash/${toHex(hash)}`, key }
}
