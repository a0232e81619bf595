/**
 * Error codes and field paths of the codec, on both the decode and the encode side: a wrong
 * type gives ERR_CODEC_WRONG_TYPE with the path of the field (struct fields joined by '.',
 * list items as [i], union payloads under the tag), and every other bound has its own code.
 */
import t from 'tap'
import { Packr } from 'msgpackr'
import * as C from '../../../src/codec/index.ts'
import type { Schema } from '../../../src/codec/index.ts'
import { AidError, type ErrorCode } from '../../../src/errors.ts'

// A raw packer with the codec's settings, to build wire trees the schemas never would.
const raw = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false, variableMapSize: true, int64AsType: 'bigint' })
const pack = (v: unknown): Uint8Array => new Uint8Array(raw.pack(v))

const Inner = C.struct('Inner', { n: C.uint({ max: 1000 }), tag: C.oneOf(['a', 'b']), h: C.bytes({ len: 4 }) })
const Outer = C.struct('Outer', {
  id: C.str({ max: 8, pattern: /^[a-z]+$/ }),
  inner: Inner,
  items: C.list(Inner, { max: 3 }),
  maybe: C.optional(Inner),
  pick: C.union('Pick', { one: Inner, two: C.int({ min: -1, max: 5 }) }),
  big: C.int64(),
  flag: C.bool,
})
const goodInner = [1, 'a', new Uint8Array(4)]
const goodWire = (): unknown[] => ['abc', [...goodInner], [[...goodInner]], null, ['two', 3], 7, true]

function decodeErr (schema: Schema<any>, b: Uint8Array): AidError | undefined {
  const r = C.tryDecode(schema, b)
  return r.ok ? undefined : r.error
}

function withWire (mutate: (w: any[]) => void): Uint8Array {
  const w = goodWire()
  mutate(w)
  return pack(w)
}

t.test('the unmutated wire decodes', async (t) => {
  const v = C.decode(Outer, pack(goodWire()))
  t.equal(v.inner.tag, 'a')
  t.same(v.pick, { type: 'two', value: 3 })
  t.equal(v.big, 7n)
})

t.test('decode: wrong types name the field path', async (t) => {
  const cases: Array<[string, (w: any[]) => void, string]> = [
    ['top-level string field', (w) => { w[0] = 5 }, 'id'],
    ['nested uint', (w) => { w[1][0] = 'x' }, 'inner.n'],
    ['nested uint as float', (w) => { w[1][0] = 1.5 }, 'inner.n'],
    ['nested bytes given as a string', (w) => { w[1][2] = 'abcd' }, 'inner.h'],
    ['nested oneOf given a number', (w) => { w[1][1] = 1 }, 'inner.tag'],
    ['struct given a map', (w) => { w[1] = new Map([['n', 1]]) }, 'inner'],
    ['struct given bytes', (w) => { w[1] = new Uint8Array(3) }, 'inner'],
    ['list item field', (w) => { w[2] = [[...goodInner], [true, 'a', new Uint8Array(4)]] }, 'items[1].n'],
    ['list given a string', (w) => { w[2] = 'nope' }, 'items'],
    ['optional inner field', (w) => { w[3] = [1, 'a', 5] }, 'maybe.h'],
    ['union payload', (w) => { w[4] = ['one', [1, 'a', null]] }, 'pick.one.h'],
    ['union tag', (w) => { w[4] = [7, 1] }, 'pick.type'],
    ['int64 given a string', (w) => { w[5] = '7' }, 'big'],
    ['bool given 1', (w) => { w[6] = 1 }, 'flag'],
  ]
  for (const [what, mutate, path] of cases) {
    const err = decodeErr(Outer, withWire(mutate))
    t.equal(err?.code, 'ERR_CODEC_WRONG_TYPE', what)
    t.equal(err?.at, path, `${what}: at`)
    t.match(err?.message ?? '', `${path}: expected`, `${what}: message names ${path}`)
  }
})

t.test('decode: every other bound has its own code and path', async (t) => {
  const cases: Array<[string, (w: any[]) => void, ErrorCode, string]> = [
    ['uint above max', (w) => { w[1][0] = 1001 }, 'ERR_CODEC_OUT_OF_RANGE', 'inner.n'],
    ['uint negative', (w) => { w[1][0] = -1 }, 'ERR_CODEC_OUT_OF_RANGE', 'inner.n'],
    ['int below min', (w) => { w[4] = ['two', -2] }, 'ERR_CODEC_OUT_OF_RANGE', 'pick.two'],
    ['uint beyond 2^53', (w) => { w[1][0] = 2n ** 60n }, 'ERR_CODEC_OUT_OF_RANGE', 'inner.n'],
    ['bytes wrong length', (w) => { w[1][2] = new Uint8Array(5) }, 'ERR_CODEC_WRONG_LENGTH', 'inner.h'],
    ['string too long', (w) => { w[0] = 'abcdefghi' }, 'ERR_CODEC_TOO_LONG', 'id'],
    ['string off pattern', (w) => { w[0] = 'ABC' }, 'ERR_CODEC_BAD_VALUE', 'id'],
    ['oneOf unknown value', (w) => { w[1][1] = 'c' }, 'ERR_CODEC_BAD_VALUE', 'inner.tag'],
    ['list too long', (w) => { w[2] = [goodInner, goodInner, goodInner, goodInner] }, 'ERR_CODEC_TOO_LONG', 'items'],
    ['struct with an extra field', (w) => { w[1] = [...goodInner, 0] }, 'ERR_CODEC_UNKNOWN_FIELD', 'inner'],
    ['struct missing a field', (w) => { w[1] = [1, 'a'] }, 'ERR_CODEC_MISSING_FIELD', 'inner'],
    ['top-level struct missing a field', (w) => { w.pop() }, 'ERR_CODEC_MISSING_FIELD', ''],
    ['union unknown tag', (w) => { w[4] = ['three', 1] }, 'ERR_CODEC_BAD_VALUE', 'pick.type'],
    ['union with three elements', (w) => { w[4] = ['two', 1, 2] }, 'ERR_CODEC_UNKNOWN_FIELD', 'pick'],
    ['union with one element', (w) => { w[4] = ['two'] }, 'ERR_CODEC_MISSING_FIELD', 'pick'],
    ['union tag from the prototype', (w) => { w[4] = ['toString', 1] }, 'ERR_CODEC_BAD_VALUE', 'pick.type'],
  ]
  for (const [what, mutate, code, path] of cases) {
    const err = decodeErr(Outer, withWire(mutate))
    t.equal(err?.code, code, what)
    t.equal(err?.at ?? '', path, `${what}: at`)
  }
  t.match(decodeErr(Outer, withWire((w) => { w[1] = [1, 'a'] }))?.message, /Inner\.h is missing/)
})

t.test('encode: invalid values are refused with the same codes and paths', async (t) => {
  const good = () => ({
    id: 'abc', inner: { n: 1, tag: 'a' as const, h: new Uint8Array(4) }, items: [], maybe: null, pick: { type: 'two' as const, value: 3 }, big: 7n, flag: true,
  })
  const cases: Array<[string, (v: any) => void, ErrorCode, string]> = [
    ['float for uint', (v) => { v.inner.n = 1.5 }, 'ERR_CODEC_WRONG_TYPE', 'inner.n'],
    ['NaN for uint', (v) => { v.inner.n = NaN }, 'ERR_CODEC_WRONG_TYPE', 'inner.n'],
    ['unsafe integer', (v) => { v.inner.n = 2 ** 53 }, 'ERR_CODEC_WRONG_TYPE', 'inner.n'],
    ['bigint for uint', (v) => { v.inner.n = 1n }, 'ERR_CODEC_WRONG_TYPE', 'inner.n'],
    ['number for int64', (v) => { v.big = 7 }, 'ERR_CODEC_WRONG_TYPE', 'big'],
    ['int64 overflow', (v) => { v.big = 2n ** 63n }, 'ERR_CODEC_OUT_OF_RANGE', 'big'],
    ['array for bytes', (v) => { v.inner.h = [0, 0, 0, 0] }, 'ERR_CODEC_WRONG_TYPE', 'inner.h'],
    ['extra key on a struct', (v) => { v.inner.extra = 1 }, 'ERR_CODEC_UNKNOWN_FIELD', 'inner'],
    ['missing key on a struct', (v) => { delete v.inner.tag }, 'ERR_CODEC_MISSING_FIELD', 'inner.tag'],
    ['undefined field', (v) => { v.maybe = undefined }, 'ERR_CODEC_MISSING_FIELD', 'maybe'],
    ['list item', (v) => { v.items = [{ n: 1, tag: 'z', h: new Uint8Array(4) }] }, 'ERR_CODEC_BAD_VALUE', 'items[0].tag'],
    ['union with extra key', (v) => { v.pick = { type: 'two', value: 1, x: 1 } }, 'ERR_CODEC_UNKNOWN_FIELD', 'pick'],
    ['union unknown tag', (v) => { v.pick = { type: 'three', value: 1 } }, 'ERR_CODEC_BAD_VALUE', 'pick.type'],
    ['union payload', (v) => { v.pick = { type: 'two', value: 9 } }, 'ERR_CODEC_OUT_OF_RANGE', 'pick.two'],
    ['lone surrogate in a string', (v) => { v.id = 'ab\ud800' }, 'ERR_CODEC_BAD_VALUE', 'id'],
  ]
  for (const [what, mutate, code, path] of cases) {
    const v = good()
    mutate(v)
    try {
      C.encode(Outer, v as never)
      t.fail(`${what}: encoded`)
    } catch (err) {
      t.ok(err instanceof AidError, what)
      t.equal((err as AidError).code, code, what)
      t.equal((err as AidError).at, path, `${what}: at`)
    }
  }
  t.equal(C.encode(Outer, good()).length > 0, true)
})

t.test('strings: only well-formed UTF-16 is encodable, so every encodable string decodes back', async (t) => {
  const s = C.str({ max: 10 })
  for (const bad of ['\ud800', '\udc00', 'a\udbffb', '\udc00\ud800']) {
    t.throws(() => C.encode(s, bad), { code: 'ERR_CODEC_BAD_VALUE' }, JSON.stringify(bad))
  }
  for (const good of ['', '\ud83d\ude00', 'é中', '\u0000']) t.equal(C.decode(s, C.encode(s, good)), good)
})
