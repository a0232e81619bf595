/**
 * Test helpers for the codec: value generators paired with schemas, a deep
 * equality that sees -0, BigInt and byte arrays, and a small independent msgpack token
 * reader/writer used to re-encode one token of a valid encoding in another legal msgpack
 * form (uint8 where a fixint fits, float64 for an integer, str8 for a short string, ...).
 *
 * The token reader is written from the msgpack spec, not from msgpackr, so that it is a
 * second implementation the codec is checked against.
 */
import * as C from '../../../src/codec/index.ts'
import type { Schema } from '../../../src/codec/index.ts'
import { createPrng, type Prng } from '../../helpers/prng.ts'

// ---------------------------------------------------------------------------------------
// PRNG: the shared seeded sfc32 (test/helpers/prng.ts), carrying its seed for failure messages.

export interface Rng extends Prng {
  readonly seed: number
}

export function makeRng (seed: number): Rng {
  return { ...createPrng(seed), seed }
}

// ---------------------------------------------------------------------------------------
// Arbitraries: a schema together with a generator of valid values for it.

export interface Arb<T> {
  schema: Schema<T>
  gen: (rng: Rng) => T
}

const UINT_EDGES = [0, 1, 31, 127, 128, 255, 256, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]
const INT_EDGES = [-1, -31, -32, -33, -127, -128, -129, -32767, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53 - 1)]

function clampedEdge (rng: Rng, edges: number[], min: number, max: number): number {
  const inRange = edges.filter((e) => e >= min && e <= max)
  const r = rng.int(4)
  if (r === 0 && inRange.length > 0) return rng.pick(inRange)
  if (r === 1) return rng.pick([min, max])
  // log-uniform magnitude so that every msgpack width gets exercised
  const bits = rng.range(0, 53)
  const span = Math.min(max - min, 2 ** bits - 1)
  return min + rng.range(0, span)
}

export function uintA (opts: C.IntOptions = {}): Arb<number> {
  const min = opts.min ?? 0
  const max = opts.max ?? Number.MAX_SAFE_INTEGER
  return { schema: C.uint(opts), gen: (rng) => clampedEdge(rng, UINT_EDGES, min, max) }
}

export function intA (opts: C.IntOptions = {}): Arb<number> {
  const min = opts.min ?? -Number.MAX_SAFE_INTEGER
  const max = opts.max ?? Number.MAX_SAFE_INTEGER
  return {
    schema: C.int(opts),
    gen: (rng) => {
      if (rng.bool() && min < 0) return clampedEdge(rng, INT_EDGES, min, Math.min(max, -1))
      return clampedEdge(rng, UINT_EDGES, Math.max(min, 0), max)
    },
  }
}

export function int64A (): Arb<bigint> {
  const edges = [0n, 1n, -1n, -32n, -33n, 127n, 128n, 2n ** 32n - 1n, 2n ** 32n, -(2n ** 31n), -(2n ** 31n) - 1n, 2n ** 63n - 1n, -(2n ** 63n)]
  return {
    schema: C.int64(),
    gen: (rng) => {
      if (rng.bool()) return rng.pick(edges)
      const bits = BigInt(rng.range(0, 63))
      const mag = BigInt(rng.range(0, 2 ** 31)) * BigInt(rng.range(0, 2 ** 31)) * BigInt(rng.range(0, 3))
      const v = mag % (1n << bits)
      return rng.bool() ? v : -v - (rng.bool() ? 1n : 0n)
    },
  }
}

export const boolA: Arb<boolean> = { schema: C.bool, gen: (rng) => rng.bool() }

export function bytesA (opts: C.BytesOptions): Arb<Uint8Array> {
  return {
    schema: C.bytes(opts),
    gen: (rng) => {
      if (opts.len !== undefined) return rng.bytes(opts.len)
      const max = opts.max ?? 0
      const edges = [0, 1, 31, 32, 255, 256, 65535, 65536].filter((n) => n <= max)
      return rng.bytes(rng.bool() ? rng.pick(edges) : rng.range(0, Math.min(max, 300)))
    },
  }
}

const CHARS = ['a', 'Z', '0', '-', ' ', '\u0000', '\u007f', 'é', 'ß', '中', '文', '\u2028', '\ud83d\ude00', '\ud800\udc00', '\uffff']

/** Well-formed strings of up to `max` UTF-16 units, with lengths around the fixstr/str8 limits. */
export function strA (max: number): Arb<string> {
  return {
    schema: C.str({ max }),
    gen: (rng) => {
      const target = rng.bool() ? rng.pick([0, 1, 31, 32, 33, 255, 256, max].filter((n) => n <= max)) : rng.range(0, max)
      const ascii = rng.bool()
      let s = ''
      while (s.length < target) {
        const c = ascii ? 'abcxyz019-_.'.charAt(rng.int(12)) : rng.pick(CHARS)
        if (s.length + c.length > target) break
        s += c
      }
      return s
    },
  }
}

export function oneOfA<const V extends readonly string[]> (values: V): Arb<V[number]> {
  return { schema: C.oneOf(values), gen: (rng) => rng.pick(values) }
}

export function listA<T> (item: Arb<T>, max: number): Arb<T[]> {
  return {
    schema: C.list(item.schema, { max }),
    gen: (rng) => {
      const n = rng.bool() ? rng.pick([0, 1, 15, 16, max].filter((k) => k <= max)) : rng.range(0, Math.min(max, 20))
      return Array.from({ length: n }, () => item.gen(rng))
    },
  }
}

export function optionalA<T> (inner: Arb<T>): Arb<T | null> {
  return { schema: C.optional(inner.schema), gen: (rng) => (rng.int(3) === 0 ? null : inner.gen(rng)) }
}

export function structA<F extends Record<string, Arb<any>>> (
  name: string, fields: F,
): Arb<{ [K in keyof F]: F[K] extends Arb<infer T> ? T : never }> {
  const schemas: Record<string, Schema<unknown>> = {}
  for (const [k, a] of Object.entries(fields)) schemas[k] = a.schema
  return {
    schema: C.struct(name, schemas) as unknown as Schema<any>,
    gen: (rng) => {
      const out: Record<string, unknown> = {}
      for (const [k, a] of Object.entries(fields)) out[k] = a.gen(rng)
      return out as any
    },
  }
}

export function unionA (name: string, variants: Record<string, Arb<any>>): Arb<{ type: string, value: any }> {
  const schemas: Record<string, Schema<unknown>> = {}
  for (const [k, a] of Object.entries(variants)) schemas[k] = a.schema
  const tags = Object.keys(variants)
  return {
    schema: C.union(name, schemas) as unknown as Schema<{ type: string, value: any }>,
    gen: (rng) => {
      const type = rng.pick(tags)
      return { type, value: (variants[type] as Arb<unknown>).gen(rng) }
    },
  }
}

// ---------------------------------------------------------------------------------------
// Deep equality that distinguishes -0 from 0, bigint from number, and compares bytes.

export function deepEqual (a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && a.length === b.length && Buffer.compare(a, b) === 0
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]))
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ka = Object.keys(a).sort()
    const kb = Object.keys(b).sort()
    return deepEqual(ka, kb) && ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  }
  return Object.is(a, b)
}

// ---------------------------------------------------------------------------------------
// An independent msgpack token reader (spec-level), and alternative encodings of one token.

export type Token =
  | { kind: 'int', value: bigint, start: number, end: number }
  | { kind: 'str', value: Uint8Array, start: number, end: number }
  | { kind: 'bin', value: Uint8Array, start: number, end: number }
  | { kind: 'array', items: Token[], start: number, end: number }
  | { kind: 'other', start: number, end: number }

/** Parses one msgpack value from `b` at `pos` (nil, bool, int, str, bin, array; maps, floats and ext as `other`). */
export function readToken (b: Uint8Array, pos = 0): Token {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const need = (n: number): void => { if (pos + n > b.length) throw new Error('truncated') }
  const start = pos
  need(1)
  const t = b[pos++] as number
  const intTok = (value: bigint): Token => ({ kind: 'int', value, start, end: pos })
  const blob = (kind: 'str' | 'bin', n: number): Token => {
    need(n)
    const value = b.subarray(pos, pos + n)
    pos += n
    return { kind, value, start, end: pos }
  }
  const arr = (n: number): Token => {
    const items: Token[] = []
    for (let i = 0; i < n; i++) {
      const it = readToken(b, pos)
      items.push(it)
      pos = it.end
    }
    return { kind: 'array', items, start, end: pos }
  }
  const skip = (n: number): Token => { need(n); pos += n; return { kind: 'other', start, end: pos } }
  if (t <= 0x7f) return intTok(BigInt(t))
  if (t >= 0xe0) return intTok(BigInt(t - 0x100))
  if (t >= 0xa0 && t <= 0xbf) return blob('str', t & 0x1f)
  if (t >= 0x90 && t <= 0x9f) return arr(t & 0x0f)
  if (t >= 0x80 && t <= 0x8f) {
    const n = t & 0x0f
    for (let i = 0; i < 2 * n; i++) pos = readToken(b, pos).end
    return { kind: 'other', start, end: pos }
  }
  switch (t) {
    case 0xc0: case 0xc2: case 0xc3: return { kind: 'other', start, end: pos }
    case 0xcc: need(1); pos += 1; return intTok(BigInt(view.getUint8(pos - 1)))
    case 0xcd: need(2); pos += 2; return intTok(BigInt(view.getUint16(pos - 2)))
    case 0xce: need(4); pos += 4; return intTok(BigInt(view.getUint32(pos - 4)))
    case 0xcf: need(8); pos += 8; return intTok(view.getBigUint64(pos - 8))
    case 0xd0: need(1); pos += 1; return intTok(BigInt(view.getInt8(pos - 1)))
    case 0xd1: need(2); pos += 2; return intTok(BigInt(view.getInt16(pos - 2)))
    case 0xd2: need(4); pos += 4; return intTok(BigInt(view.getInt32(pos - 4)))
    case 0xd3: need(8); pos += 8; return intTok(view.getBigInt64(pos - 8))
    case 0xca: return skip(4)
    case 0xcb: return skip(8)
    case 0xd9: need(1); pos += 1; return blob('str', view.getUint8(pos - 1))
    case 0xda: need(2); pos += 2; return blob('str', view.getUint16(pos - 2))
    case 0xdb: need(4); pos += 4; return blob('str', view.getUint32(pos - 4))
    case 0xc4: need(1); pos += 1; return blob('bin', view.getUint8(pos - 1))
    case 0xc5: need(2); pos += 2; return blob('bin', view.getUint16(pos - 2))
    case 0xc6: need(4); pos += 4; return blob('bin', view.getUint32(pos - 4))
    case 0xdc: need(2); pos += 2; return arr(view.getUint16(pos - 2))
    case 0xdd: need(4); pos += 4; return arr(view.getUint32(pos - 4))
    default: throw new Error(`token 0x${t.toString(16)} not handled by the test reader`)
  }
}

/** Flattens a token tree (pre-order). */
export function allTokens (tok: Token): Token[] {
  return tok.kind === 'array' ? [tok, ...tok.items.flatMap(allTokens)] : [tok]
}

function be (n: bigint, width: number): number[] {
  const out: number[] = []
  for (let i = width - 1; i >= 0; i--) out.push(Number((BigInt.asUintN(width * 8, n) >> BigInt(8 * i)) & 0xffn))
  return out
}

function f64 (x: number): number[] { const d = new DataView(new ArrayBuffer(8)); d.setFloat64(0, x); return [...new Uint8Array(d.buffer)] }
function f32 (x: number): number[] { const d = new DataView(new ArrayBuffer(4)); d.setFloat32(0, x); return [...new Uint8Array(d.buffer)] }

/**
 * Replacement byte strings for the span [tok.start, tok.end): `same` holds every legal
 * msgpack spelling of the same logical value (other integer widths, a float holding the
 * integer, longer str/bin/array headers, a map keyed 0..n-1 for an array), which a strict
 * decoder must refuse unless it is the canonical spelling; `other` holds look-alikes of a
 * different type (nil or bool for 0/1, str for bin, ext, timestamps) that may legitimately
 * decode to a different value and must then be canonical.
 */
export function alternativeEncodings (b: Uint8Array, tok: Token): { same: Uint8Array[], other: Uint8Array[] } {
  const out: number[][] = []
  const other: number[][] = []
  const body = (t: Token & { kind: 'array' }): number[] => [...b.subarray(t.items[0]?.start ?? t.end, t.end)]
  switch (tok.kind) {
    case 'int': {
      const v = tok.value
      if (v >= 0n && v <= 0x7fn) out.push([Number(v)])
      if (v >= -32n && v < 0n) out.push([Number(v) & 0xff])
      if (v >= 0n && v <= 0xffn) out.push([0xcc, ...be(v, 1)])
      if (v >= 0n && v <= 0xffffn) out.push([0xcd, ...be(v, 2)])
      if (v >= 0n && v <= 0xffffffffn) out.push([0xce, ...be(v, 4)])
      if (v >= 0n) out.push([0xcf, ...be(v, 8)])
      if (v >= -128n && v <= 127n) out.push([0xd0, ...be(v, 1)])
      if (v >= -32768n && v <= 32767n) out.push([0xd1, ...be(v, 2)])
      if (v >= -(2n ** 31n) && v < 2n ** 31n) out.push([0xd2, ...be(v, 4)])
      if (v < 2n ** 63n) out.push([0xd3, ...be(v, 8)])
      out.push([0xcb, ...f64(Number(v))])
      if (Number(v) === Math.fround(Number(v))) out.push([0xca, ...f32(Number(v))])
      if (v === 0n) out.push([0xcb, ...f64(-0)])
      if (v === 0n) other.push([0xc2], [0xc0])
      if (v === 1n) other.push([0xc3])
      break
    }
    case 'str': case 'bin': {
      const n = tok.value.length
      const data = [...tok.value]
      if (tok.kind === 'str') {
        if (n < 32) out.push([0xa0 | n, ...data])
        if (n < 256) out.push([0xd9, n, ...data])
        if (n < 65536) out.push([0xda, ...be(BigInt(n), 2), ...data])
        out.push([0xdb, ...be(BigInt(n), 4), ...data])
        if (n < 256) other.push([0xc4, n, ...data]) // bin where str was
      } else {
        if (n < 256) out.push([0xc4, n, ...data])
        if (n < 65536) out.push([0xc5, ...be(BigInt(n), 2), ...data])
        out.push([0xc6, ...be(BigInt(n), 4), ...data])
        if (n < 32) other.push([0xa0 | n, ...data]) // str where bin was
        if (n > 0 && n <= 16 && [1, 2, 4, 8, 16].includes(n)) other.push([[0xd4, 0xd5, 0xd6, 0xd7, 0xd8][Math.log2(n)] as number, 0x01, ...data]) // fixext
        other.push([0xc7, n & 0xff, 0x05, ...data.slice(0, n & 0xff)]) // ext8
        other.push([0x90 | Math.min(n, 15), ...data.slice(0, Math.min(n, 15)).map((x) => x & 0x7f)]) // array of small ints
      }
      break
    }
    case 'array': {
      const n = tok.items.length
      const items = body(tok)
      if (n < 16) out.push([0x90 | n, ...items])
      if (n < 65536) out.push([0xdc, ...be(BigInt(n), 2), ...items])
      out.push([0xdd, ...be(BigInt(n), 4), ...items])
      // a map with integer keys 0..n-1 holding the items, and an ext wrapping the body
      if (n < 16) {
        const pairs: number[] = []
        tok.items.forEach((it, i) => pairs.push(i, ...b.subarray(it.start, it.end)))
        out.push([0x80 | n, ...pairs])
      }
      other.push([0xc7, items.length & 0xff, 0x01, ...items.slice(0, items.length & 0xff)])
      other.push([0xd6, 0xff, 0, 0, 0, 0]) // timestamp 32
      break
    }
    case 'other': break
  }
  return { same: out.map((x) => new Uint8Array(x)), other: other.map((x) => new Uint8Array(x)) }
}

export function splice (b: Uint8Array, start: number, end: number, replacement: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length - (end - start) + replacement.length)
  out.set(b.subarray(0, start), 0)
  out.set(replacement, start)
  out.set(b.subarray(end), start + replacement.length)
  return out
}

/** Byte-level mutants of `b`: bit flips, truncations, insertions, deletions, trailing bytes. */
export function byteMutants (rng: Rng, b: Uint8Array, n: number): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let i = 0; i < n; i++) {
    const kind = rng.int(5)
    const pos = rng.int(b.length + 1)
    if (kind === 0 && b.length > 0) {
      const m = new Uint8Array(b)
      const p = rng.int(b.length)
      m[p] = (m[p] as number) ^ (1 << rng.int(8))
      out.push(m)
    } else if (kind === 1) {
      out.push(b.slice(0, rng.int(b.length)))
    } else if (kind === 2) {
      out.push(splice(b, pos, pos, rng.bytes(rng.range(1, 3))))
    } else if (kind === 3 && b.length > 0) {
      const p = rng.int(b.length)
      out.push(splice(b, p, p + 1, new Uint8Array(0)))
    } else {
      out.push(splice(b, b.length, b.length, rng.bytes(rng.range(1, 2))))
    }
  }
  return out
}
