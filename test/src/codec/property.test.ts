/**
 * Property tests for the canonical codec (DESIGN §7), seeded so every failure replays:
 *   1. decode(encode(x)) = x for random valid values of schemas covering every kind;
 *   2. for every accepted byte string b, encode(decode(b)) = b: candidates are made by
 *      mutating valid encodings (bit flips, truncation, insertion, deletion, trailing
 *      bytes) and by re-spelling one token in another legal msgpack form (uint8 where a
 *      fixint fits, uint64/int64/float32/float64 for integers, str8/str16 for short strings,
 *      bin16 for short bins, array16 for short arrays, maps, ext and timestamps);
 *   3. random bytes and truncated inputs never throw anything but AidError(ERR_CODEC_*).
 * Set CODEC_FUZZ_SEED to replay one seed; CODEC_FUZZ_SCALE to run more cases.
 */
import t, { type Test } from 'tap'
import * as C from '../../../src/codec/index.ts'
import type { Schema } from '../../../src/codec/index.ts'
import { AidError } from '../../../src/errors.ts'
import { VoteSchema, CommitSchema, ProposalSchema } from '../../../src/types/vote.ts'
import {
  type Arb, type Rng, allTokens, alternativeEncodings, boolA, byteMutants, bytesA, deepEqual, int64A, intA,
  listA, makeRng, oneOfA, optionalA, readToken, splice, strA, structA, uintA, unionA,
} from './fuzz-helpers.ts'

const SEED = process.env.CODEC_FUZZ_SEED !== undefined ? Number(process.env.CODEC_FUZZ_SEED) : 20240601
const SCALE = Number(process.env.CODEC_FUZZ_SCALE ?? '1')
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

const leafArbs: Record<string, Arb<any>> = {
  uint: uintA(),
  uintSmall: uintA({ max: 300 }),
  uintBounded: uintA({ min: 5, max: 70000 }),
  int: intA(),
  intPol: intA({ min: -1, max: 2 ** 31 - 1 }),
  int64: int64A(),
  bool: boolA,
  bytes32: bytesA({ len: 32 }),
  bytesMax: bytesA({ max: 300 }),
  str: strA(300),
  oneOf: oneOfA(['absent', 'commit', 'nil'] as const),
}

const kitchenSink = structA('Sink', {
  ...leafArbs,
  list: listA(structA('Item', { k: uintA({ max: 1000 }), v: optionalA(bytesA({ max: 40 })) }), 40),
  opt: optionalA(strA(40)),
  nested: structA('Nested', { deep: structA('Deep', { x: intA(), ys: listA(int64A(), 20) }) }),
  choice: unionA('Choice', { n: uintA(), s: strA(20), p: structA('P', { a: boolA, b: bytesA({ max: 8 }) }), l: listA(uintA(), 17) }),
})

/** Every kind as a top-level schema, plus the sink, plus union/list/optional at the top. */
const arbs: Array<[string, Arb<any>]> = [
  ...Object.entries(leafArbs),
  ['list<uint>', listA(uintA(), 40)],
  ['optional<int64>', optionalA(int64A())],
  ['union', unionA('Top', { a: uintA(), b: structA('B', { c: strA(10) }) })],
  ['sink', kitchenSink],
]

function assertCodecError (t: Test, err: unknown, label: string): boolean {
  if (err instanceof AidError && err.code.startsWith('ERR_CODEC_')) return true
  t.fail(`${label}: threw something other than AidError(ERR_CODEC_*): ${String(err)}`)
  return false
}

/** Tries b; if accepted it must be the canonical encoding of what it decodes to. */
function checkCandidate (t: Test, schema: Schema<any>, b: Uint8Array, label: string): 'accepted' | 'rejected' | 'bad' {
  let r
  try {
    r = C.tryDecode(schema, b, { maxBytes: 1 << 20 })
  } catch (err) {
    assertCodecError(t, err, label)
    return 'bad'
  }
  if (!r.ok) return assertCodecError(t, r.error, label) ? 'rejected' : 'bad'
  const again = C.encode(schema, r.value)
  if (hex(again) !== hex(b)) {
    t.fail(`${label}: accepted ${hex(b)} but it re-encodes as ${hex(again)}`)
    return 'bad'
  }
  return 'accepted'
}

t.test('decode(encode(x)) = x for random valid values', async (t) => {
  const rng = makeRng(SEED)
  let cases = 0
  for (let round = 0; round < 250 * SCALE; round++) {
    for (const [name, arb] of arbs) {
      const x = arb.gen(rng)
      const b = C.encode(arb.schema, x)
      const y = C.decode(arb.schema, b, { maxBytes: 1 << 20 })
      cases++
      if (!deepEqual(x, y)) {
        t.fail(`${name} round ${round} (seed ${SEED}): round trip changed the value: ${hex(b)}`)
        return
      }
    }
  }
  t.ok(cases >= 3000, `${cases} round trips`)
})

t.test('byte-level mutants of valid encodings: rejected with ERR_CODEC_* or exactly canonical', async (t) => {
  const rng = makeRng(SEED + 1)
  const tally = { accepted: 0, rejected: 0, bad: 0 }
  for (let round = 0; round < 60 * SCALE; round++) {
    for (const [name, arb] of arbs) {
      const b = C.encode(arb.schema, arb.gen(rng))
      for (const m of byteMutants(rng, b, 4)) tally[checkCandidate(t, arb.schema, m, `${name} seed ${SEED + 1} round ${round}`)]++
      if (tally.bad > 0) return
    }
  }
  t.equal(tally.bad, 0)
  t.ok(tally.accepted + tally.rejected >= 3000, `${tally.accepted + tally.rejected} mutants (${tally.accepted} accepted as canonical, ${tally.rejected} rejected)`)
})

t.test('re-spelling one token in another msgpack form: same value always rejected, look-alikes only if canonical', async (t) => {
  const rng = makeRng(SEED + 2)
  let tried = 0
  for (let round = 0; round < 15 * SCALE; round++) {
    for (const [name, arb] of arbs) {
      const b = C.encode(arb.schema, arb.gen(rng))
      const root = readToken(b)
      t.equal(root.end, b.length)
      for (const tok of allTokens(root)) {
        const { same, other } = alternativeEncodings(b, tok)
        for (const alt of [...same, ...other]) {
          const cand = splice(b, tok.start, tok.end, alt)
          if (hex(cand) === hex(b)) continue // the canonical spelling itself
          tried++
          const label = `${name} seed ${SEED + 2} round ${round}: ${hex(b.subarray(tok.start, tok.end)).slice(0, 40)} -> ${hex(alt).slice(0, 40)}`
          const r = checkCandidate(t, arb.schema, cand, label)
          if (r === 'accepted' && same.includes(alt)) t.fail(`${label}: a non-canonical spelling of the same value was accepted`)
          if (r === 'bad' || (r === 'accepted' && same.includes(alt))) return
        }
      }
    }
  }
  t.ok(tried >= 3000, `${tried} re-spellings checked`)
})

t.test('specific re-spellings give ERR_CODEC_NON_CANONICAL', async (t) => {
  const S = C.struct('S', { n: C.uint(), s: C.str({ max: 40 }), b: C.bytes({ max: 40 }), l: C.list(C.uint(), { max: 40 }) })
  const canonical = C.encode(S, { n: 5, s: 'hi', b: new Uint8Array([1]), l: [1] })
  t.equal(hex(canonical), '9405a26869c4010191' + '01')
  const cases: Array<[string, string]> = [
    ['uint8 for a fixint', '94cc05a26869c4010191' + '01'],
    ['uint64 for a fixint', '94cf0000000000000005a26869c4010191' + '01'],
    ['int8 for a fixint', '94d005a26869c4010191' + '01'],
    ['float64 for an integer', '94cb4014000000000000a26869c4010191' + '01'],
    ['float32 for an integer', '94ca40a00000a26869c4010191' + '01'],
    ['str8 for a short string', '9405d9026869c4010191' + '01'],
    ['bin16 for a short bin', '9405a26869c500010191' + '01'],
    ['array16 for a short list', '9405a26869c40101dc0001' + '01'],
    ['array16 for the struct', 'dc000405a26869c4010191' + '01'],
  ]
  for (const [what, h] of cases) {
    const r = C.tryDecode(S, new Uint8Array(Buffer.from(h, 'hex')))
    t.equal(r.ok ? 'accepted' : r.error.code, 'ERR_CODEC_NON_CANONICAL', what)
  }
  // a positive integer above 2^32 is int64 in this profile; uint64 is refused
  t.equal(C.tryDecode(C.uint(), new Uint8Array(Buffer.from('cf0000000100000000', 'hex'))).ok, false)
  t.equal(C.decode(C.uint(), new Uint8Array(Buffer.from('d30000000100000000', 'hex'))), 2 ** 32)
  // float64 -0 for a uint 0, and invalid UTF-8 (decoded to U+FFFD by msgpackr, then refused)
  t.equal(C.tryDecode(C.uint(), new Uint8Array(Buffer.from('cb8000000000000000', 'hex'))).ok, false)
  const badUtf8 = C.tryDecode(C.str({ max: 5 }), new Uint8Array(Buffer.from('a2c328', 'hex')))
  t.equal(badUtf8.ok ? 'accepted' : badUtf8.error.code, 'ERR_CODEC_NON_CANONICAL')
  const cesu = C.tryDecode(C.str({ max: 5 }), new Uint8Array(Buffer.from('a3eda080', 'hex')))
  t.equal(cesu.ok ? 'accepted' : cesu.error.code, 'ERR_CODEC_NON_CANONICAL', 'an encoded lone surrogate')
})

t.test('random bytes and truncated inputs only ever give AidError(ERR_CODEC_*)', async (t) => {
  const rng = makeRng(SEED + 3)
  const schemas: Array<Schema<any>> = [...arbs.map(([, a]) => a.schema), VoteSchema, CommitSchema, ProposalSchema]
  const prefixes = [[], [0x94], [0x98], [0xdc, 0x00, 0x10], [0x92, 0xa1, 0x6e], [0xc4], [0xd9], [0xdd, 0xff, 0xff, 0xff, 0xff]]
  let n = 0
  for (let i = 0; i < 3000 * SCALE; i++) {
    const schema = rng.pick(schemas)
    const body = rng.bytes(rng.range(0, 48))
    const b = new Uint8Array([...rng.pick(prefixes), ...body])
    const r = checkCandidate(t, schema, b, `random bytes ${hex(b)} (seed ${SEED + 3})`)
    if (r === 'bad') return
    n++
  }
  // every strict prefix of a valid encoding is rejected
  for (const [name, arb] of arbs) {
    const b = C.encode(arb.schema, arb.gen(rng))
    for (let k = 0; k < b.length; k++) {
      const r = C.tryDecode(arb.schema, b.subarray(0, k))
      if (r.ok) { t.fail(`${name}: prefix ${k}/${b.length} accepted`); return }
      if (!r.error.code.startsWith('ERR_CODEC_')) { t.fail(r.error.message); return }
      n++
    }
  }
  t.ok(n >= 3000, `${n} inputs`)
})

t.test('hostile shapes: deep nesting, huge declared lengths, unknown ext', async (t) => {
  const S = C.struct('S', { a: C.uint(), b: C.list(C.uint(), { max: 4 }) })
  const inputs: Array<[string, Uint8Array, string]> = [
    ['200k nested arrays', new Uint8Array(200_000).fill(0x91), 'ERR_CODEC_MALFORMED'],
    ['array32 claiming 2^32-1 items', new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff, 0x01]), 'ERR_CODEC_MALFORMED'],
    ['str32 claiming 2 GiB', new Uint8Array([0xdb, 0x7f, 0xff, 0xff, 0xff, 0x61]), 'ERR_CODEC_MALFORMED'],
    ['unknown fixext type 1', new Uint8Array([0xd4, 0x01, 0x00]), 'ERR_CODEC_MALFORMED'],
    ['reserved byte 0xc1', new Uint8Array([0xc1]), 'ERR_CODEC_WRONG_TYPE'],
    ['timestamp ext', new Uint8Array([0xd6, 0xff, 0, 0, 0, 0]), 'ERR_CODEC_WRONG_TYPE'],
    ['ext type 0 (msgpackr undefined)', new Uint8Array([0xd4, 0x00, 0x00]), 'ERR_CODEC_WRONG_TYPE'],
    ['map', new Uint8Array([0x82, 0xa1, 0x61, 0x01, 0xa1, 0x62, 0x90]), 'ERR_CODEC_WRONG_TYPE'],
    ['trailing byte', new Uint8Array([0x92, 0x01, 0x90, 0x00]), 'ERR_CODEC_TRAILING_BYTES'],
    ['empty', new Uint8Array(0), 'ERR_CODEC_MALFORMED'],
  ]
  for (const [what, b, code] of inputs) {
    const r = C.tryDecode(S, b)
    t.equal(r.ok ? 'accepted' : r.error.code, code, what)
  }
  // the decoder still works after all that
  t.same(C.decode(S, new Uint8Array([0x92, 0x01, 0x90])), { a: 1, b: [] })
  // the size ceiling is checked before parsing
  const big = C.tryDecode(C.bytes({ max: 10 }), new Uint8Array(101), { maxBytes: 100 })
  t.equal(big.ok ? 'accepted' : big.error.code, 'ERR_CODEC_TOO_LARGE')
  t.equal(C.tryDecode(C.uint(), 'x' as unknown as Uint8Array).ok, false, 'a non-byte input is refused')
})
