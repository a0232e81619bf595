/**
 * Schemas for the canonical msgpack profile (DESIGN §7).
 *
 * A schema maps a TypeScript value to its wire tree and back, checking everything on both
 * ways: a struct is a msgpack array of its fields in declaration order (no keys on the
 * wire, so no key-order ambiguity), integers are safe integers, byte strings are `bin`,
 * strings are bounded UTF-8, optional values are `nil`, tagged unions are `[tag, payload]`.
 * Every length is bounded so a hostile input cannot make the decoder allocate without end.
 *
 * `codec.ts` adds the byte-level half: packing, and the re-encode-and-compare check that
 * makes decoding strict (one value, one byte string).
 */
import { AidError } from '../errors.ts'

export interface Schema<T> {
  /** Human label used in error messages, e.g. `Vote` or `uint`. */
  readonly label: string
  /** Validates `value` and returns the tree msgpackr packs. Throws AidError at `path`. */
  toWire: (value: T, path: string) => unknown
  /** Validates a decoded msgpack tree and returns the value. Throws AidError at `path`. */
  fromWire: (wire: unknown, path: string) => T
}

export type Infer<S> = S extends Schema<infer T> ? T : never

const MAX_SAFE = Number.MAX_SAFE_INTEGER
const INT32_MIN = -0x80000000
const UINT32_MAX = 0xffffffff

function describe (wire: unknown): string {
  if (wire === null) return 'nil'
  if (wire instanceof Uint8Array) return `bytes(${wire.length})`
  if (Array.isArray(wire)) return `array(${wire.length})`
  return typeof wire
}

function wrongType (path: string, expected: string, wire: unknown): AidError {
  return new AidError('ERR_CODEC_WRONG_TYPE', `expected ${expected}, got ${describe(wire)}`, path)
}

/** msgpackr writes integers outside 32 bits as float64 unless given a BigInt. */
function intToWire (n: number): number | bigint {
  return n >= INT32_MIN && n <= UINT32_MAX ? n : BigInt(n)
}

function intFromWire (wire: unknown, path: string, label: string): number {
  if (typeof wire === 'bigint') {
    if (wire > BigInt(MAX_SAFE) || wire < BigInt(-MAX_SAFE)) {
      throw new AidError('ERR_CODEC_OUT_OF_RANGE', `${label} beyond 2^53-1`, path)
    }
    return Number(wire)
  }
  if (typeof wire === 'number' && Number.isSafeInteger(wire)) return wire
  throw wrongType(path, label, wire)
}

export interface IntOptions { min?: number, max?: number }

function integer (label: string, defaultMin: number, opts: IntOptions): Schema<number> {
  const min = opts.min ?? defaultMin
  const max = opts.max ?? MAX_SAFE
  const check = (n: unknown, path: string): number => {
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw wrongType(path, label, n)
    if (n < min || n > max) throw new AidError('ERR_CODEC_OUT_OF_RANGE', `${n} not in [${min}, ${max}]`, path)
    return n
  }
  return {
    label,
    toWire: (v, path) => intToWire(check(v, path)),
    fromWire: (w, path) => check(intFromWire(w, path, label), path),
  }
}

/** A non-negative safe integer (heights, amounts in fen, counts). */
export function uint (opts: IntOptions = {}): Schema<number> {
  return integer('uint', 0, opts)
}

/** A signed safe integer (rounds use -1 for "none", proposer priorities). */
export function int (opts: IntOptions = {}): Schema<number> {
  return integer('int', -MAX_SAFE, opts)
}

/** A signed 64-bit integer carried as bigint (proposer priorities, which CometBFT keeps in int64). */
export function int64 (): Schema<bigint> {
  const lo = -(1n << 63n)
  const hi = (1n << 63n) - 1n
  const check = (v: unknown, path: string): bigint => {
    if (typeof v !== 'bigint') throw wrongType(path, 'int64', v)
    if (v < lo || v > hi) throw new AidError('ERR_CODEC_OUT_OF_RANGE', 'outside int64', path)
    return v
  }
  return {
    label: 'int64',
    // Small values go out as plain numbers so the packer picks the shortest form.
    toWire: (v, path) => {
      const n = check(v, path)
      return n >= BigInt(INT32_MIN) && n <= BigInt(UINT32_MAX) ? Number(n) : n
    },
    fromWire: (w, path) => {
      if (typeof w === 'number' && Number.isSafeInteger(w)) return BigInt(w)
      return check(w, path)
    },
  }
}

export const bool: Schema<boolean> = {
  label: 'bool',
  toWire: (v, path) => {
    if (typeof v !== 'boolean') throw wrongType(path, 'bool', v)
    return v
  },
  fromWire: (w, path) => {
    if (typeof w !== 'boolean') throw wrongType(path, 'bool', w)
    return w
  },
}

export interface BytesOptions {
  /** Exact length; mutually exclusive with max. */
  len?: number
  /** Maximum length (required when len is absent, so nothing is unbounded). */
  max?: number
}

export function bytes (opts: BytesOptions): Schema<Uint8Array> {
  const { len, max } = opts
  if (len === undefined && max === undefined) throw new Error('bytes() needs len or max')
  const label = len !== undefined ? `bytes[${len}]` : `bytes[<=${max}]`
  const check = (v: unknown, path: string): Uint8Array => {
    if (!(v instanceof Uint8Array)) throw wrongType(path, label, v)
    if (len !== undefined && v.length !== len) {
      throw new AidError('ERR_CODEC_WRONG_LENGTH', `expected ${len} bytes, got ${v.length}`, path)
    }
    if (max !== undefined && v.length > max) {
      throw new AidError('ERR_CODEC_TOO_LONG', `${v.length} bytes > max ${max}`, path)
    }
    return v
  }
  return {
    label,
    toWire: (v, path) => check(v, path),
    // Copy out of the input buffer: decoded values must not alias network buffers.
    fromWire: (w, path) => new Uint8Array(check(w, path)),
  }
}

export interface StrOptions {
  /** Maximum length in UTF-16 code units (the decoder has already bounded bytes). */
  max: number
  /** Optional whole-string pattern, e.g. /^[a-z0-9-]+$/. */
  pattern?: RegExp
}

/** In a `u` regex a surrogate class matches only unpaired surrogates (pairs are one code point). */
const LONE_SURROGATE = /[\ud800-\udfff]/u

export function str (opts: StrOptions): Schema<string> {
  const label = `string[<=${opts.max}]`
  const check = (v: unknown, path: string): string => {
    if (typeof v !== 'string') throw wrongType(path, label, v)
    if (v.length > opts.max) throw new AidError('ERR_CODEC_TOO_LONG', `${v.length} chars > max ${opts.max}`, path)
    // Not UTF-8-encodable: msgpackr would write CESU bytes that no decoder gives back.
    if (LONE_SURROGATE.test(v)) throw new AidError('ERR_CODEC_BAD_VALUE', 'string has an unpaired UTF-16 surrogate', path)
    if (opts.pattern !== undefined && !opts.pattern.test(v)) {
      throw new AidError('ERR_CODEC_BAD_VALUE', `${JSON.stringify(v.slice(0, 40))} does not match ${opts.pattern}`, path)
    }
    return v
  }
  return { label, toWire: check, fromWire: check }
}

/** One of a fixed set of strings (the project uses string unions, never enums). */
export function oneOf<const V extends readonly string[]> (values: V): Schema<V[number]> {
  const allowed = new Set<string>(values)
  const label = `oneOf(${values.join('|')})`
  const check = (v: unknown, path: string): V[number] => {
    if (typeof v !== 'string') throw wrongType(path, label, v)
    if (!allowed.has(v)) throw new AidError('ERR_CODEC_BAD_VALUE', `${JSON.stringify(v.slice(0, 40))} is not one of ${values.join(', ')}`, path)
    return v
  }
  return { label, toWire: check, fromWire: check }
}

export function list<T> (item: Schema<T>, opts: { max: number }): Schema<T[]> {
  const label = `list<${item.label}>[<=${opts.max}]`
  const checkLen = (v: unknown, path: string): unknown[] => {
    if (!Array.isArray(v)) throw wrongType(path, label, v)
    if (v.length > opts.max) throw new AidError('ERR_CODEC_TOO_LONG', `${v.length} items > max ${opts.max}`, path)
    return v
  }
  return {
    label,
    toWire: (v, path) => checkLen(v, path).map((x, i) => item.toWire(x as T, `${path}[${i}]`)),
    fromWire: (w, path) => checkLen(w, path).map((x, i) => item.fromWire(x, `${path}[${i}]`)),
  }
}

/** `T | null`, with null as msgpack nil. */
export function optional<T> (inner: Schema<T>): Schema<T | null> {
  return {
    label: `optional<${inner.label}>`,
    toWire: (v, path) => (v === null ? null : inner.toWire(v, path)),
    fromWire: (w, path) => (w === null ? null : inner.fromWire(w, path)),
  }
}

type Fields = Record<string, Schema<any>>
export type StructOf<F extends Fields> = { [K in keyof F]: Infer<F[K]> }

export interface StructSchema<F extends Fields> extends Schema<StructOf<F>> {
  readonly fields: F
}

/**
 * A record encoded as an array of its fields in declaration order. Decoding rejects extra
 * elements (ERR_CODEC_UNKNOWN_FIELD) and missing ones (ERR_CODEC_MISSING_FIELD); encoding
 * rejects objects with keys outside the schema, so nothing unlisted can ride along.
 */
export function struct<F extends Fields> (name: string, fields: F): StructSchema<F> {
  const names = Object.keys(fields)
  const entries = names.map((k) => [k, fields[k] as Schema<unknown>] as const)
  const known = new Set(names)
  return {
    label: name,
    fields,
    toWire: (v, path) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) {
        throw wrongType(path, name, v)
      }
      for (const k of Object.keys(v)) {
        if (!known.has(k)) throw new AidError('ERR_CODEC_UNKNOWN_FIELD', `${name} has no field '${k}'`, path)
      }
      const rec = v as Record<string, unknown>
      return entries.map(([k, s]) => {
        const at = path === '' ? k : `${path}.${k}`
        if (!(k in rec) || rec[k] === undefined) throw new AidError('ERR_CODEC_MISSING_FIELD', `${name}.${k} is missing`, at)
        return s.toWire(rec[k], at)
      })
    },
    fromWire: (w, path) => {
      if (!Array.isArray(w)) throw wrongType(path, name, w)
      if (w.length > entries.length) {
        throw new AidError('ERR_CODEC_UNKNOWN_FIELD', `${name} has ${entries.length} fields, got ${w.length}`, path)
      }
      if (w.length < entries.length) {
        const missing = entries[w.length]?.[0] ?? '?'
        throw new AidError('ERR_CODEC_MISSING_FIELD', `${name}.${missing} is missing`, path)
      }
      const out: Record<string, unknown> = {}
      entries.forEach(([k, s], i) => {
        out[k] = s.fromWire(w[i], path === '' ? k : `${path}.${k}`)
      })
      return out as StructOf<F>
    },
  }
}

type Variants = Record<string, Schema<any>>
export type UnionOf<V extends Variants> = { [K in keyof V]: { type: K, value: Infer<V[K]> } }[keyof V]

/**
 * A tagged union `{ type, value }` encoded as `[type, payload]`. The tag is a string so
 * the wire is self-describing in logs; unknown tags are rejected.
 */
export function union<V extends Variants> (name: string, variants: V): Schema<UnionOf<V>> & { readonly variants: V } {
  const tags = Object.keys(variants)
  const lookup = (tag: unknown, path: string): Schema<unknown> => {
    if (typeof tag !== 'string') throw wrongType(`${path}.type`, `${name} tag`, tag)
    const s = Object.prototype.hasOwnProperty.call(variants, tag) ? variants[tag] : undefined
    if (s === undefined) throw new AidError('ERR_CODEC_BAD_VALUE', `${name} has no variant '${tag.slice(0, 40)}' (known: ${tags.join(', ')})`, `${path}.type`)
    return s
  }
  return {
    label: name,
    variants,
    toWire: (v, path) => {
      if (typeof v !== 'object' || v === null) throw wrongType(path, name, v)
      const keys = Object.keys(v)
      if (keys.length !== 2 || !('type' in v) || !('value' in v)) {
        throw new AidError('ERR_CODEC_UNKNOWN_FIELD', `${name} must be exactly { type, value }`, path)
      }
      const tag = (v as { type: unknown }).type
      return [tag, lookup(tag, path).toWire((v as { value: unknown }).value, `${path}.${String(tag)}`)]
    },
    fromWire: (w, path) => {
      if (!Array.isArray(w)) throw wrongType(path, name, w)
      if (w.length !== 2) throw new AidError(w.length > 2 ? 'ERR_CODEC_UNKNOWN_FIELD' : 'ERR_CODEC_MISSING_FIELD', `${name} is [type, value]`, path)
      const tag = w[0] as string
      const value = lookup(tag, path).fromWire(w[1], `${path}.${tag}`)
      return { type: tag, value } as UnionOf<V>
    },
  }
}
