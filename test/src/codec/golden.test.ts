/**
 * Golden byte vectors for every schema kind of the canonical msgpack profile (DESIGN §7).
 *
 * The hex strings were written by hand from the msgpack spec (github.com/msgpack/msgpack,
 * spec.md), not captured from msgpackr, so they check msgpackr and the schema layer against
 * an independent reading of the format: shortest integer form, bin for bytes, the smallest
 * str/array header, nil for null, structs as arrays in declaration order, unions as
 * [tag, payload]. One profile decision is pinned here on purpose: integers outside
 * [-2^31, 2^32) are written as int64 (0xd3), also when positive (msgpackr writes BigInt as
 * int64 when it fits; uint64 0xcf is never produced and is rejected as non-canonical).
 */
import t from 'tap'
import * as C from '../../../src/codec/index.ts'
import type { Schema } from '../../../src/codec/index.ts'
import { deepEqual, readToken } from './fuzz-helpers.ts'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'))
const rep = (byte: string, n: number): string => byte.repeat(n)

interface Vector { name: string, schema: Schema<any>, value: unknown, hex: string }

const u = C.uint()
const i = C.int()
const i64 = C.int64()

const vectors: Vector[] = [
  // uint: positive fixint, uint8, uint16, uint32, then int64 above 32 bits
  { name: 'uint 0', schema: u, value: 0, hex: '00' },
  { name: 'uint 1', schema: u, value: 1, hex: '01' },
  { name: 'uint 127 (largest fixint)', schema: u, value: 127, hex: '7f' },
  { name: 'uint 128', schema: u, value: 128, hex: 'cc80' },
  { name: 'uint 255', schema: u, value: 255, hex: 'ccff' },
  { name: 'uint 256', schema: u, value: 256, hex: 'cd0100' },
  { name: 'uint 65535', schema: u, value: 65535, hex: 'cdffff' },
  { name: 'uint 65536', schema: u, value: 65536, hex: 'ce00010000' },
  { name: 'uint 2^32-1', schema: u, value: 2 ** 32 - 1, hex: 'ceffffffff' },
  { name: 'uint 2^32', schema: u, value: 2 ** 32, hex: 'd30000000100000000' },
  { name: 'uint 1.7e12 (a time in ms)', schema: u, value: 1_700_000_000_000, hex: 'd30000018bcfe56800' },
  { name: 'uint 2^53-1', schema: u, value: 2 ** 53 - 1, hex: 'd3001fffffffffffff' },
  // int: negative fixint, int8, int16, int32, int64
  { name: 'int -1', schema: i, value: -1, hex: 'ff' },
  { name: 'int -32 (smallest negative fixint)', schema: i, value: -32, hex: 'e0' },
  { name: 'int -33', schema: i, value: -33, hex: 'd0df' },
  { name: 'int -128', schema: i, value: -128, hex: 'd080' },
  { name: 'int -129', schema: i, value: -129, hex: 'd1ff7f' },
  { name: 'int -32768', schema: i, value: -32768, hex: 'd18000' },
  { name: 'int -32769', schema: i, value: -32769, hex: 'd2ffff7fff' },
  { name: 'int -2^31', schema: i, value: -(2 ** 31), hex: 'd280000000' },
  { name: 'int -2^31-1', schema: i, value: -(2 ** 31) - 1, hex: 'd3ffffffff7fffffff' },
  { name: 'int -(2^53-1)', schema: i, value: -(2 ** 53 - 1), hex: 'd3ffe0000000000001' },
  { name: 'int 5', schema: i, value: 5, hex: '05' },
  { name: 'int 2^31', schema: i, value: 2 ** 31, hex: 'ce80000000' },
  // int64 (bigint)
  { name: 'int64 0', schema: i64, value: 0n, hex: '00' },
  { name: 'int64 -1', schema: i64, value: -1n, hex: 'ff' },
  { name: 'int64 300', schema: i64, value: 300n, hex: 'cd012c' },
  { name: 'int64 -300', schema: i64, value: -300n, hex: 'd1fed4' },
  { name: 'int64 2^32', schema: i64, value: 2n ** 32n, hex: 'd30000000100000000' },
  { name: 'int64 max', schema: i64, value: 2n ** 63n - 1n, hex: 'd37fffffffffffffff' },
  { name: 'int64 min', schema: i64, value: -(2n ** 63n), hex: 'd38000000000000000' },
  // bool
  { name: 'bool false', schema: C.bool, value: false, hex: 'c2' },
  { name: 'bool true', schema: C.bool, value: true, hex: 'c3' },
  // bytes: always bin, never str
  { name: 'bytes empty', schema: C.bytes({ max: 4 }), value: new Uint8Array(0), hex: 'c400' },
  { name: 'bytes 3', schema: C.bytes({ len: 3 }), value: unhex('010203'), hex: 'c403010203' },
  { name: 'bytes 255 (bin8)', schema: C.bytes({ max: 70000 }), value: new Uint8Array(255).fill(7), hex: 'c4ff' + rep('07', 255) },
  { name: 'bytes 256 (bin16)', schema: C.bytes({ max: 70000 }), value: new Uint8Array(256).fill(7), hex: 'c50100' + rep('07', 256) },
  { name: 'bytes 65536 (bin32)', schema: C.bytes({ max: 70000 }), value: new Uint8Array(65536), hex: 'c600010000' + rep('00', 65536) },
  // str: fixstr, str8, str16; UTF-8
  { name: 'str empty', schema: C.str({ max: 10 }), value: '', hex: 'a0' },
  { name: 'str "a"', schema: C.str({ max: 10 }), value: 'a', hex: 'a161' },
  { name: 'str 31 (largest fixstr)', schema: C.str({ max: 300 }), value: 'x'.repeat(31), hex: 'bf' + rep('78', 31) },
  { name: 'str 32 (str8)', schema: C.str({ max: 300 }), value: 'x'.repeat(32), hex: 'd920' + rep('78', 32) },
  { name: 'str 256 (str16)', schema: C.str({ max: 300 }), value: 'x'.repeat(256), hex: 'da0100' + rep('78', 256) },
  { name: 'str "é中😀" (UTF-8)', schema: C.str({ max: 10 }), value: 'é中😀', hex: 'a9c3a9e4b8adf09f9880' },
  { name: 'oneOf', schema: C.oneOf(['prevote', 'precommit']), value: 'precommit', hex: 'a9707265636f6d6d6974' },
  // list: fixarray, array16
  { name: 'list empty', schema: C.list(u, { max: 20 }), value: [], hex: '90' },
  { name: 'list 15 (largest fixarray)', schema: C.list(u, { max: 20 }), value: Array(15).fill(1), hex: '9f' + rep('01', 15) },
  { name: 'list 16 (array16)', schema: C.list(u, { max: 20 }), value: Array(16).fill(1), hex: 'dc0010' + rep('01', 16) },
  { name: 'list of bytes', schema: C.list(C.bytes({ max: 2 }), { max: 2 }), value: [unhex('ab'), unhex('')], hex: '92c401abc400' },
  // optional
  { name: 'optional null', schema: C.optional(u), value: null, hex: 'c0' },
  { name: 'optional 7', schema: C.optional(u), value: 7, hex: '07' },
  // struct: array in declaration order, no keys
  { name: 'struct', schema: C.struct('S', { b: u, a: C.str({ max: 4 }) }), value: { b: 1, a: 'x' }, hex: '9201a178' },
  {
    name: 'nested struct',
    schema: C.struct('Outer', { n: i, inner: C.struct('Inner', { ok: C.bool, h: C.bytes({ len: 2 }) }), tail: C.optional(u) }),
    value: { n: -2, inner: { ok: true, h: unhex('beef') }, tail: null },
    hex: '93fe92c3c402beefc0',
  },
  // union: [tag, payload]
  { name: 'union', schema: C.union('U', { num: u, txt: C.str({ max: 4 }) }), value: { type: 'num', value: 5 }, hex: '92a36e756d05' },
  { name: 'union with struct payload', schema: C.union('U', { p: C.struct('P', { x: u }) }), value: { type: 'p', value: { x: 300 } }, hex: '92a17091cd012c' },
]

t.test('golden encodings for every schema kind', async (t) => {
  for (const v of vectors) {
    const enc = C.encode(v.schema, v.value as never)
    t.equal(hex(enc), v.hex, `encode ${v.name}`)
    t.ok(deepEqual(C.decode(v.schema, unhex(v.hex), { maxBytes: 1 << 20 }), v.value), `decode ${v.name}`)
  }
})

t.test('the golden encodings of integers agree with the spec-level token reader', async (t) => {
  for (const v of vectors) {
    if (typeof v.value !== 'number' && typeof v.value !== 'bigint') continue
    const tok = readToken(unhex(v.hex))
    t.equal(tok.kind, 'int', v.name)
    if (tok.kind === 'int') t.equal(tok.value, BigInt(v.value), v.name)
  }
})

t.test('encode returns a fresh copy, never a view into the packer buffer', async (t) => {
  const a = C.encode(u, 1)
  const b = C.encode(u, 2)
  t.equal(hex(a), '01')
  t.equal(hex(b), '02')
  t.equal(a.byteOffset, 0)
  t.equal(a.buffer.byteLength, 1)
})

t.test('decoded byte strings do not alias the input', async (t) => {
  const input = unhex('c403010203')
  const out = C.decode(C.bytes({ len: 3 }), input)
  input[2] = 0xff
  t.equal(hex(out), '010203')
})
