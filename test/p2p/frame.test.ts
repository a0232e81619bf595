/**
 * Channel framing (p2p/frame.ts): uvarint prefix vectors, the strict decoder's verdicts
 * (table-driven), chunking at every split point, and a cross-check against it-length-prefixed
 * (the libp2p ecosystem's encoder for the same format).
 */
import t from 'tap'
import * as lp from 'it-length-prefixed'
import { Uint8ArrayList } from 'uint8arraylist'
import { encodeFrame, encodeUvarint, FrameDecoder, uvarintLength, type FrameError } from '../../p2p/frame.ts'

const hex = (b: Uint8Array | Uint8ArrayList): string => Buffer.from(b instanceof Uint8ArrayList ? b.subarray() : b).toString('hex')

t.test('uvarint vectors (multiformats unsigned-varint spec)', async (t) => {
  const vectors: Array<[number, string]> = [
    [1, '01'], [127, '7f'], [128, '8001'], [255, 'ff01'], [300, 'ac02'], [16384, '808001'],
    [4096, '8020'], [10 * 1024 * 1024, '808080' + '05'], [2 ** 28 - 1, 'ffffff7f'], [2 ** 32, '8080808010'],
  ]
  for (const [n, h] of vectors) {
    t.equal(hex(encodeUvarint(n)), h, `${n}`)
    t.equal(uvarintLength(n), h.length / 2)
  }
  t.throws(() => encodeUvarint(-1))
  t.throws(() => encodeUvarint(1.5))
})

function decodeAll (max: number, input: Uint8Array, chunk = input.length): { frames: string[], error: FrameError | undefined } {
  const d = new FrameDecoder(max)
  const frames: string[] = []
  let error: FrameError | undefined
  for (let i = 0; i < input.length && error === undefined; i += chunk) {
    error = d.push(input.subarray(i, i + chunk), (f) => frames.push(hex(f)))
  }
  return { frames, error }
}

t.test('decoder verdicts', async (t) => {
  const cases: Array<{ name: string, max: number, input: string, frames: string[], error?: Partial<FrameError> }> = [
    { name: 'one frame', max: 16, input: '03aabbcc', frames: ['aabbcc'] },
    { name: 'two frames', max: 16, input: '01aa02bbcc', frames: ['aa', 'bbcc'] },
    { name: 'frame at the cap', max: 3, input: '03aabbcc', frames: ['aabbcc'] },
    { name: 'incomplete body waits', max: 16, input: '03aabb', frames: [] },
    { name: 'incomplete prefix waits', max: 1000, input: '80', frames: [] },
    { name: 'one over the cap', max: 3, input: '04aabbccdd', frames: [], error: { kind: 'oversize', length: 4, max: 3 } as Partial<FrameError> },
    { name: 'oversize detected from the prefix alone', max: 4096, input: '808001', frames: [], error: { kind: 'oversize', length: 16384 } as Partial<FrameError> },
    { name: 'oversize from a partial prefix', max: 100, input: 'ff', frames: [], error: { kind: 'oversize' } },
    { name: 'empty frame', max: 16, input: '00', frames: [], error: { kind: 'malformed', detail: 'empty frame' } as Partial<FrameError> },
    { name: 'non-minimal prefix', max: 16, input: '8100aa', frames: [], error: { kind: 'malformed', detail: 'non-minimal length prefix' } as Partial<FrameError> },
    { name: 'non-minimal zero', max: 16, input: '8000', frames: [], error: { kind: 'malformed' } },
    { name: 'six-byte prefix', max: 2 ** 40, input: '808080808001', frames: [], error: { kind: 'malformed' } },
    { name: 'good frames then a bad one', max: 4, input: '01aa01bb05', frames: ['aa', 'bb'], error: { kind: 'oversize' } },
  ]
  for (const c of cases) {
    const input = Buffer.from(c.input, 'hex')
    for (const chunk of [input.length || 1, 1, 2]) {
      const got = decodeAll(c.max, input, chunk)
      t.same(got.frames, c.frames, `${c.name} (chunk ${chunk}): frames`)
      if (c.error === undefined) t.equal(got.error, undefined, `${c.name}: no error`)
      else t.match(got.error, c.error, `${c.name} (chunk ${chunk}): error`)
    }
  }
})

t.test('a failed decoder stays failed and holds nothing', async (t) => {
  const d = new FrameDecoder(4)
  const frames: Uint8Array[] = []
  t.match(d.push(Buffer.from('05', 'hex'), (f) => frames.push(f)), { kind: 'oversize' })
  t.equal(d.buffered, 0)
  t.match(d.push(Buffer.from('01aa', 'hex'), (f) => frames.push(f)), { kind: 'oversize' }, 'later good bytes are ignored')
  t.equal(frames.length, 0)
})

t.test('oversize is refused without buffering the body', async (t) => {
  const d = new FrameDecoder(1024)
  const claim = encodeUvarint(10 * 1024 * 1024)
  t.match(d.push(claim, () => t.fail('no frame')), { kind: 'oversize', length: 10 * 1024 * 1024 })
  t.equal(d.buffered, 0)
})

t.test('every split point of a multi-frame stream gives the same frames', async (t) => {
  const payloads = [1, 127, 128, 300, 5000].map((n, k) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + k) & 0xff))
  const wire = new Uint8ArrayList(...payloads.map((p) => encodeFrame(p))).subarray()
  const want = payloads.map(hex)
  for (let split = 0; split <= wire.length; split += 37) {
    const d = new FrameDecoder(8192)
    const got: string[] = []
    t.equal(d.push(wire.subarray(0, split), (f) => got.push(hex(f))), undefined)
    t.equal(d.push(wire.subarray(split), (f) => got.push(hex(f))), undefined)
    if (got.join() !== want.join()) t.fail(`split at ${split}`)
  }
  t.pass('all splits agree')
})

t.test('frames are fresh copies the callee owns', async (t) => {
  const wire = new Uint8Array([2, 1, 2, 2, 3, 4])
  const d = new FrameDecoder(16)
  const frames: Uint8Array[] = []
  d.push(wire, (f) => frames.push(f))
  wire.fill(0)
  t.same(frames.map((f) => [...f]), [[1, 2], [3, 4]])
})

t.test('cross-check with it-length-prefixed', async (t) => {
  const payloads = [1, 2, 127, 128, 16383, 16384, 70000].map((n) => new Uint8Array(n).fill(n & 0xff))
  for (const p of payloads) {
    t.equal(hex(encodeFrame(p)), hex(lp.encode.single(p)), `encode ${p.length}`)
  }
  const wire = new Uint8ArrayList(...payloads.map((p) => lp.encode.single(p)))
  const got: number[] = []
  const d = new FrameDecoder(100_000)
  t.equal(d.push(wire, (f) => got.push(f.length)), undefined)
  t.same(got, payloads.map((p) => p.length), 'we decode what it encodes')
  const ours = new Uint8ArrayList(...payloads.map((p) => encodeFrame(p)))
  const decoded = [...lp.decode([ours.subarray()])]
  t.same(decoded.map((f) => f.byteLength), payloads.map((p) => p.length), 'it decodes what we encode')
})
