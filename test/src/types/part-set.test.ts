/**
 * Part sets: splitting, the header's Merkle root, assembling in any order, and byzantine
 * parts (out of range, bad proofs, wrong sizes, oversize sets) returned as data.
 */
import t from 'tap'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { toHex } from '../../../src/bytes.ts'
import { decode, encode } from '../../../src/codec/index.ts'
import {
  BLOCK_PART_SIZE, type Part, PartSchema, makePartSet, newPartSetAssembler, partSetBytes,
} from '../../../src/types/index.ts'
import { deepEqual, makeRng } from '../codec/fuzz-helpers.ts'

const rng = makeRng(7)

/** RFC 6962 root computed independently with @noble/hashes (recursive definition). */
function nobleRoot (items: Uint8Array[]): Uint8Array {
  if (items.length === 0) return nobleSha256(new Uint8Array(0))
  if (items.length === 1) return nobleSha256(new Uint8Array([0, ...(items[0] as Uint8Array)]))
  let k = 1
  while (k * 2 < items.length) k *= 2
  return nobleSha256(new Uint8Array([1, ...nobleRoot(items.slice(0, k)), ...nobleRoot(items.slice(k))]))
}

t.test('splitting: sizes, count, and the root over the parts', async (t) => {
  for (const n of [1, BLOCK_PART_SIZE - 1, BLOCK_PART_SIZE, BLOCK_PART_SIZE + 1, 3 * BLOCK_PART_SIZE + 17]) {
    const data = rng.bytes(n)
    const set = makePartSet(data)
    t.equal(set.header.total, Math.ceil(n / BLOCK_PART_SIZE), `${n} bytes: part count`)
    t.ok(set.parts.slice(0, -1).every((p) => p.bytes.length === BLOCK_PART_SIZE), `${n} bytes: full parts`)
    t.equal(toHex(partSetBytes(set)), toHex(data), `${n} bytes: parts concatenate back`)
    t.equal(toHex(set.header.hash), toHex(nobleRoot(set.parts.map((p) => p.bytes))), `${n} bytes: root matches @noble/hashes`)
  }
  t.throws(() => makePartSet(new Uint8Array(0)), { code: 'ERR_TYPES_INVALID' })
  t.throws(() => makePartSet(new Uint8Array(5), 0), { code: 'ERR_TYPES_INVALID' })
})

t.test('parts round-trip through the canonical codec', async (t) => {
  const set = makePartSet(rng.bytes(BLOCK_PART_SIZE * 2 + 5))
  for (const p of set.parts) {
    const b = encode(PartSchema, p)
    t.ok(b.length <= 80 * 1024, 'fits the block-parts channel cap')
    t.ok(deepEqual(decode(PartSchema, b), p), `part ${p.index}`)
  }
})

t.test('assembling in any order yields the bytes; duplicates are ignored', async (t) => {
  for (let trial = 0; trial < 20; trial++) {
    const partSize = rng.range(1, 64)
    const data = rng.bytes(rng.range(1, 40 * partSize))
    const set = makePartSet(data, partSize)
    const a = newPartSetAssembler(set.header, { partSize })
    if (!a.ok) { t.fail(a.error.message); return }
    const asm = a.value
    const order = rng.shuffle(set.parts)
    const outcomes: string[] = []
    for (const [i, p] of order.entries()) {
      const r = asm.addPart(p)
      if (!r.ok) { t.fail(r.error.message); return }
      outcomes.push(r.value)
      if (i < order.length - 1) t.equal(asm.bytes(), undefined)
      // redeliver an earlier part now and then
      if (rng.bool()) {
        const again = asm.addPart(order[rng.int(i + 1)] as Part)
        t.same(again, { ok: true, value: 'duplicate' })
      }
    }
    t.equal(outcomes.at(-1), 'complete')
    t.ok(outcomes.slice(0, -1).every((o) => o === 'added'))
    t.equal(asm.count, set.header.total)
    t.ok(asm.isComplete())
    t.equal(toHex(asm.bytes()!), toHex(data))
    t.same(asm.partSet()!.parts.map((p) => p.index), set.parts.map((p) => p.index))
    t.ok(asm.hasPart(0) && asm.getPart(0) !== undefined)
  }
})

t.test('byzantine parts come back as data', async (t) => {
  const partSize = 16
  const set = makePartSet(rng.bytes(16 * 5 + 3), partSize)
  const other = makePartSet(rng.bytes(16 * 5 + 3), partSize)
  const fresh = () => {
    const a = newPartSetAssembler(set.header, { partSize })
    if (!a.ok) throw a.error
    return a.value
  }
  const p1 = set.parts[1] as Part
  const cases: Array<[string, Part, string, RegExp]> = [
    ['index past the end', { ...p1, index: 6 }, 'part[6].index', /outside \[0, 6\)/],
    ['negative index', { ...p1, index: -1 }, 'part[-1].index', /outside/],
    ['flipped byte', { ...p1, bytes: p1.bytes.map((b, i) => (i === 3 ? b ^ 1 : b)) }, 'part[1].proof', /does not lead/],
    ['part from another set', other.parts[1] as Part, 'part[1].proof', /does not lead/],
    ['proof of another index', { ...p1, proof: (set.parts[2] as Part).proof }, 'part[1].proof', /not for part 1 of 6/],
    ['proof claiming a different total', { ...p1, proof: { ...p1.proof, total: 7 } }, 'part[1].proof', /not for part 1 of 6/],
    ['proof with a tampered aunt', { ...p1, proof: { ...p1.proof, aunts: p1.proof.aunts.map((a, i) => (i === 0 ? new Uint8Array(32) : a)) } }, 'part[1].proof', /does not lead/],
    ['proof with a missing aunt', { ...p1, proof: { ...p1.proof, aunts: p1.proof.aunts.slice(1) } }, 'part[1].proof', /does not lead/],
    ['short middle part', { ...p1, bytes: p1.bytes.slice(0, 8) }, 'part[1].bytes', /every part but the last must be 16 bytes/],
    ['empty part', { ...p1, bytes: new Uint8Array(0) }, 'part[1].bytes', /1\.\.16 bytes/],
    ['oversize part', { ...p1, bytes: new Uint8Array(17) }, 'part[1].bytes', /1\.\.16 bytes/],
  ]
  for (const [what, part, at, msg] of cases) {
    const asm = fresh()
    const r = asm.addPart(part)
    t.equal(r.ok, false, what)
    if (!r.ok) {
      t.equal(r.error.code, 'ERR_TYPES_INVALID', what)
      t.equal(r.error.at, at, `${what}: at`)
      t.match(r.error.message, msg, `${what}: message`)
    }
    t.equal(asm.count, 0, `${what}: nothing kept`)
    t.ok(asm.addPart(p1).ok, `${what}: the genuine part is still accepted`)
  }
  const notObject = fresh().addPart(null as unknown as Part)
  t.equal(notObject.ok, false)
})

t.test('impossible headers are refused up front', async (t) => {
  const hash = new Uint8Array(32)
  const rows: Array<[string, { total: number, hash: Uint8Array }, object, string]> = [
    ['zero parts', { total: 0, hash }, {}, 'partSetHeader.total'],
    ['more parts than a max-size block', { total: 129, hash }, {}, 'partSetHeader.total'],
    ['more parts than consensus params allow', { total: 3, hash }, { maxBytes: 2 * BLOCK_PART_SIZE }, 'partSetHeader.total'],
    ['short hash', { total: 1, hash: new Uint8Array(31) }, {}, 'partSetHeader.hash'],
  ]
  for (const [what, header, opts, at] of rows) {
    const r = newPartSetAssembler(header, opts)
    t.equal(r.ok ? '' : r.error.at, at, what)
  }
  t.ok(newPartSetAssembler({ total: 128, hash }).ok, '128 parts of 64 KiB = the 8 MiB default')
})

t.test('the byte ceiling holds even when the header fits', async (t) => {
  const partSize = 10
  const set = makePartSet(rng.bytes(30), partSize) // 3 full parts = 30 bytes
  const a = newPartSetAssembler(set.header, { partSize, maxBytes: 25 }) // ceil(25/10) = 3 parts allowed
  if (!a.ok) { t.fail(a.error.message); return }
  t.ok(a.value.addPart(set.parts[0] as Part).ok)
  t.ok(a.value.addPart(set.parts[1] as Part).ok)
  const r = a.value.addPart(set.parts[2] as Part)
  t.equal(r.ok ? '' : r.error.at, 'part[2].bytes')
  t.match(r.ok ? '' : r.error.message, /exceed 25 bytes/)
})
