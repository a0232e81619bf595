/**
 * The canonical msgpack profile (DESIGN §7) on msgpackr.
 *
 * Encoding: a schema turns the value into a plain tree (arrays, safe integers or BigInt,
 * bin, str, bool, nil); msgpackr packs it with records, structures and extensions off, so
 * every integer takes its shortest form and every byte string is `bin`.
 *
 * Decoding is strict: the input must parse as exactly one msgpack value, the value must
 * fit the schema, and re-encoding it must give back the very same bytes. The last check
 * is what rules out malleability (a longer integer form, a float standing in for an
 * integer, str8 where fixstr fits, an invalid UTF-8 sequence): for every accepted byte
 * string b, encode(decode(b)) = b.
 */
import { Packr, Unpackr } from 'msgpackr'
import { AidError, type Result, fail, isAidError, ok } from '../errors.ts'
import type { Schema } from './schema.ts'

const packr = new Packr({
  useRecords: false,
  moreTypes: false,
  bundleStrings: false,
  variableMapSize: true,
  int64AsType: 'bigint',
})

const unpackr = new Unpackr({
  useRecords: false,
  moreTypes: false,
  bundleStrings: false,
  mapsAsObjects: false,
  int64AsType: 'bigint',
})

/** Default ceiling on any single decoded input; callers with larger objects pass their own. */
export const DEFAULT_MAX_DECODE_BYTES = 4 * 1024 * 1024

export function encode<T> (schema: Schema<T>, value: T): Uint8Array {
  const wire = schema.toWire(value, '')
  const packed = packr.pack(wire)
  // Copy: msgpackr may hand back a view into its reusable buffer.
  return new Uint8Array(packed.buffer.slice(packed.byteOffset, packed.byteOffset + packed.byteLength))
}

function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0
}

function parseOne (input: Uint8Array, label: string): unknown {
  try {
    return unpackr.unpack(Buffer.from(input.buffer, input.byteOffset, input.byteLength))
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err)
    if (/end of buffer not reached/i.test(msg)) throw new AidError('ERR_CODEC_TRAILING_BYTES', undefined, label)
    throw new AidError('ERR_CODEC_MALFORMED', msg, label)
  }
}

export interface DecodeOptions {
  /** Reject inputs longer than this before parsing (default 4 MiB). */
  maxBytes?: number
}

/** Decodes `input` as `schema`; throws AidError with a stable ERR_CODEC_* code. */
export function decode<T> (schema: Schema<T>, input: Uint8Array, opts: DecodeOptions = {}): T {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_DECODE_BYTES
  if (!(input instanceof Uint8Array)) throw new AidError('ERR_CODEC_WRONG_TYPE', 'input is not a byte array', schema.label)
  if (input.length > maxBytes) throw new AidError('ERR_CODEC_TOO_LARGE', `${input.length} bytes > ${maxBytes}`, schema.label)
  if (input.length === 0) throw new AidError('ERR_CODEC_MALFORMED', 'empty input', schema.label)
  const wire = parseOne(input, schema.label)
  const value = schema.fromWire(wire, '')
  if (!equalBytes(encode(schema, value), input)) {
    throw new AidError('ERR_CODEC_NON_CANONICAL', `bytes are not the canonical encoding of this ${schema.label}`, schema.label)
  }
  return value
}

/** Like decode, but byzantine input comes back as data. Non-codec exceptions still throw. */
export function tryDecode<T> (schema: Schema<T>, input: Uint8Array, opts: DecodeOptions = {}): Result<T> {
  try {
    return ok(decode(schema, input, opts))
  } catch (err) {
    if (isAidError(err)) return fail(err)
    throw err
  }
}
