/**
 * WAL (consensus/wal.ts): CRC32-C vectors, round trip, torn-tail repair at every byte of
 * the last record, mid-file corruption, replay boundaries (CometBFT catchupReplay rules),
 * rotation and the size bound.
 */
import t from 'tap'
import { appendFile, readdir, readFile, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  crc32c, encodeWalFrame, openWal, type Wal, type WalOptions, type WalRecord,
} from '../../consensus/wal.ts'
import { isAidError } from '../../src/errors.ts'
import { createLogger, type Logger } from '../../src/log.ts'
import { makePartSet, type Part } from '../../src/types/index.ts'
import { sampleProposal, sampleVote, tempDir } from './shell-fixtures.ts'

function samplePart (h: number, size: number): Part {
  return makePartSet(new Uint8Array(size * 2).fill(h & 0xff), size).parts[0] as Part
}

function capture (): Logger & { lines: string[] } {
  const lines: string[] = []
  return Object.assign(createLogger({ write: (line) => { lines.push(line) } }), { lines })
}

async function open (dir: string, extra: Partial<WalOptions> = {}): Promise<{ wal: Wal, log: ReturnType<typeof capture> }> {
  const log = capture()
  const wal = await openWal({ dir, flushIntervalMs: 0, log, ...extra })
  return { wal, log }
}

function heightRecords (h: number): WalRecord[] {
  return [
    { type: 'received', value: { peer: 'peer-1', message: { type: 'proposal', value: sampleProposal({ height: h }) } } },
    { type: 'received', value: { peer: 'peer-2', message: { type: 'blockPart', value: { height: h, round: 0, part: samplePart(h, 300) } } } },
    { type: 'own', value: { message: { type: 'vote', value: sampleVote({ height: h, type: 'prevote' }) } } },
    { type: 'received', value: { peer: 'peer-3', message: { type: 'vote', value: sampleVote({ height: h, type: 'precommit', validatorIndex: 2 }) } } },
    { type: 'timeout', value: { height: h, round: 0, step: 'prevote' } },
    { type: 'own', value: { message: { type: 'vote', value: sampleVote({ height: h, type: 'precommit' }) } } },
  ]
}

t.test('crc32c: RFC 3720 B.4 vectors and the check value', async (t) => {
  const ascii = (s: string): Uint8Array => new TextEncoder().encode(s)
  t.equal(crc32c(ascii('123456789')), 0xe3069283)
  t.equal(crc32c(new Uint8Array(32)), 0x8a9136aa)
  t.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43)
  t.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e)
  t.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c)
  t.equal(crc32c(ascii('56789'), crc32c(ascii('1234'))), 0xe3069283, 'running CRC over pieces')
  t.equal(crc32c(new Uint8Array(0)), 0)
})

t.test('round trip: records come back in order after close and reopen', async (t) => {
  const dir = await tempDir(t)
  const { wal } = await open(dir)
  const recs = heightRecords(1)
  for (const r of recs) wal.append(r)
  await wal.close()
  const { wal: again, log } = await open(dir)
  t.strictSame(await again.replayFrom(1), { status: 'found', records: recs })
  t.same(log.lines, [], 'no warnings on a clean log')
  await again.close()
  t.rejects(async () => { again.append(recs[0] as WalRecord) }, { code: 'ERR_WAL_CLOSED' })
})

t.test('appendSync: the record is on disk before the promise resolves', async (t) => {
  const dir = await tempDir(t)
  const { wal } = await open(dir)
  const rec = heightRecords(1)[2] as WalRecord
  wal.append(heightRecords(1)[0] as WalRecord)
  const before = (await readFile(join(dir, 'wal.000000'))).length
  await wal.appendSync(rec)
  const after = await readFile(join(dir, 'wal.000000'))
  const frame = encodeWalFrame(rec)
  t.ok(after.length > before, 'buffered records were written')
  t.same(after.subarray(after.length - frame.length), frame, 'the synced record ends the file')
  await wal.close()
})

t.test('replay boundaries follow the end-of-height markers', async (t) => {
  const dir = await tempDir(t)
  const { wal } = await open(dir)
  t.strictSame(await wal.replayFrom(1), { status: 'found', records: [] }, 'a fresh WAL holds the marker for height 0')
  for (const r of heightRecords(1)) wal.append(r)
  await wal.writeEndHeight(1)
  const h2 = heightRecords(2)
  for (const r of h2) wal.append(r)
  t.strictSame(await wal.replayFrom(2), { status: 'found', records: h2 }, 'records after the marker of height 1')
  t.strictSame(await wal.replayFrom(1), { status: 'ahead', endHeight: 1 }, 'state behind the WAL')
  t.strictSame(await wal.replayFrom(3), { status: 'no-marker' }, 'crash between block save and marker')
  await wal.writeEndHeight(2)
  t.strictSame(await wal.replayFrom(3), { status: 'found', records: [] }, 'height 3 has nothing yet')
  await wal.close()

  const dir2 = await tempDir(t)
  const { wal: w2 } = await open(dir2, { initialHeight: 10 })
  const h10 = heightRecords(10)
  for (const r of h10) w2.append(r)
  t.strictSame(await w2.replayFrom(10), { status: 'found', records: h10 }, 'the initial height replays after marker 0')
  await w2.close()
})

/** A WAL whose head ends with `last`; returns the head file and where the last frame starts. */
async function walEndingWith (dir: string, last: WalRecord): Promise<{ file: string, start: number, bytes: Buffer }> {
  const { wal } = await open(dir)
  for (const r of heightRecords(1)) wal.append(r)
  wal.append(last)
  await wal.close()
  const file = join(dir, 'wal.000000')
  const bytes = await readFile(file)
  return { file, start: bytes.length - encodeWalFrame(last).length, bytes }
}

t.test('torn tail: every cut inside the last record is truncated and the WAL reopens clean', async (t) => {
  const dir = await tempDir(t, 'aid-wal-torn-', true) // 200 reopens: tmpfs spares the fsyncs, the logic is the same
  const last: WalRecord = { type: 'own', value: { message: { type: 'vote', value: sampleVote({ type: 'precommit', round: 3 }) } } }
  const { file, start, bytes } = await walEndingWith(dir, last)
  const expected = [...heightRecords(1)]
  let repaired = 0
  for (let cut = start + 1; cut < bytes.length; cut++) {
    await writeFile(file, bytes.subarray(0, cut))
    const { wal, log } = await open(dir)
    const replay = await wal.replayFrom(1)
    await wal.close()
    if (!(replay.status === 'found' && (await readFile(file)).length === start && log.lines.length === 1)) {
      t.fail(`cut at ${cut}: not repaired (${replay.status}, ${log.lines.join('; ')})`)
      continue
    }
    t.strictSame(replay.records, expected, `cut at ${cut}`)
    repaired++
  }
  t.equal(repaired, bytes.length - start - 1, `all ${bytes.length - start - 1} cuts repaired`)

  // the repaired WAL accepts appends and replays them
  const { wal } = await open(dir)
  await wal.appendSync(last)
  await wal.close()
  const { wal: w2, log } = await open(dir)
  t.strictSame(await w2.replayFrom(1), { status: 'found', records: [...expected, last] })
  t.same(log.lines, [])
  await w2.close()
})

t.test('torn tail: CRC mismatch in the last record and a zero-filled tail are truncated', async (t) => {
  const dir = await tempDir(t, 'aid-wal-torn-', true)
  const last: WalRecord = { type: 'timeout', value: { height: 1, round: 2, step: 'precommit' } }
  const { file, start, bytes } = await walEndingWith(dir, last)
  // every byte of the CRC and payload (the length field is below: damage there is not a CRC mismatch)
  for (let i = start + 4; i < bytes.length; i++) {
    const bad = Buffer.from(bytes)
    bad[i] = (bad[i] as number) ^ 0x10
    await writeFile(file, bad)
    const { wal, log } = await open(dir)
    const replay = await wal.replayFrom(1)
    await wal.close()
    t.equal((await readFile(file)).length, start, `flip at ${i} truncated`)
    t.equal(replay.status, 'found')
    t.equal(log.lines.length, 1, 'one warning')
  }
  // a length reaching past EOF is a torn tail; a length above the record limit is corruption
  const longer = Buffer.from(bytes)
  longer.writeUInt32BE(longer.readUInt32BE(start) + 1, start)
  await writeFile(file, longer)
  const { wal: w1, log: l1 } = await open(dir)
  t.match(l1.lines[0], /past the end of the file/)
  t.equal((await readFile(file)).length, start)
  await w1.close()
  const huge = Buffer.from(bytes)
  huge.writeUInt32BE(0x10000000, start)
  await writeFile(file, huge)
  await t.rejects(openWal({ dir, flushIntervalMs: 0, log: capture() }), { code: 'ERR_WAL_CORRUPT', message: /exceeds/ })

  await writeFile(file, bytes)
  await appendFile(file, new Uint8Array(4096))
  const { wal, log } = await open(dir)
  t.match(log.lines[0], /zero-filled tail/)
  t.strictSame(await wal.replayFrom(1), { status: 'found', records: [...heightRecords(1), last] })
  await wal.close()
})

t.test('mid-file corruption stops with ERR_WAL_CORRUPT naming file and offset', async (t) => {
  const dir = await tempDir(t)
  const { wal } = await open(dir)
  const recs = heightRecords(1)
  for (const r of recs) wal.append(r)
  await wal.close()
  const file = join(dir, 'wal.000000')
  const bytes = await readFile(file)
  // offset of the 3rd record of height 1 (after the height-0 marker and two records)
  const frames = [{ type: 'endHeight', value: { height: 0 } } as WalRecord, ...recs].map((r) => encodeWalFrame(r))
  const third = (frames[0] as Buffer).length + (frames[1] as Buffer).length + (frames[2] as Buffer).length

  const expectCorrupt = async (buf: Uint8Array, offset: number, why: RegExp, label: string): Promise<void> => {
    await writeFile(file, buf)
    try {
      await openWal({ dir, flushIntervalMs: 0, log: capture() })
      t.fail(`${label}: opened`)
    } catch (err) {
      t.ok(isAidError(err, 'ERR_WAL_CORRUPT'), `${label}: code`)
      t.match((err as Error).message, why, `${label}: reason`)
      t.match((err as Error).message, `offset ${offset}`, `${label}: offset`)
      t.equal((err as { at?: string }).at, file, `${label}: file`)
    }
    t.same(await readFile(file), buf, `${label}: nothing truncated`)
  }

  const flipped = Buffer.from(bytes)
  flipped[third + 20] = (flipped[third + 20] as number) ^ 1
  await expectCorrupt(flipped, third, /CRC mismatch/, 'payload bit flip')

  const crcFlip = Buffer.from(bytes)
  crcFlip[third + 5] = (crcFlip[third + 5] as number) ^ 0x80
  await expectCorrupt(crcFlip, third, /CRC mismatch/, 'CRC bit flip')

  const longLen = Buffer.from(bytes)
  longLen.writeUInt32BE(0x7fffffff, third)
  await expectCorrupt(longLen, third, /exceeds/, 'length above the limit')

  // a frame with a valid CRC around a payload that is not a WalRecord
  const junk = Buffer.from([0x92, 0xa3, 0x66, 0x6f, 0x6f, 0xc0]) // ["foo", nil]
  const jf = Buffer.alloc(8 + junk.length)
  jf.writeUInt32BE(junk.length, 0)
  jf.writeUInt32BE(crc32c(junk, crc32c(jf.subarray(0, 4))), 4)
  jf.set(junk, 8)
  const withJunk = Buffer.concat([bytes.subarray(0, third), jf, bytes.subarray(third)])
  await expectCorrupt(withJunk, third, /undecodable/, 'undecodable record in the middle')
  await expectCorrupt(Buffer.concat([bytes, jf]), bytes.length, /undecodable/, 'undecodable last record (valid CRC: not a torn write)')

  // a known tag around a body that fails the strict decode: found when replay decodes it
  const own = encodeWalFrame(recs[2] as WalRecord) // an own vote
  const badOwn = Buffer.from(own)
  t.equal(badOwn[8 + 12], 0x98, 'payload[12] is the vote\'s fixarray(8) header')
  badOwn[8 + 12] = 0x97 // a vote of 7 fields: the strict decode refuses it
  badOwn.writeUInt32BE(crc32c(badOwn.subarray(8), crc32c(badOwn.subarray(0, 4))), 4)
  await writeFile(file, Buffer.concat([bytes.subarray(0, third), badOwn, bytes.subarray(third)]))
  const { wal: w, log } = await open(dir)
  t.same(log.lines, [], 'opens: framing, CRC and tag are fine')
  await t.rejects(w.replayFrom(1), { code: 'ERR_WAL_CORRUPT', message: new RegExp(`undecodable record .* at offset ${third}`) })
  await w.close()
})

t.test('damage in a segment other than the newest is corruption, not a torn tail', async (t) => {
  const dir = await tempDir(t)
  const { wal } = await open(dir, { maxFileBytes: 1024 })
  for (let h = 1; h <= 3; h++) for (const r of heightRecords(h)) wal.append(r)
  await wal.close()
  const files = (await readdir(dir)).sort()
  t.ok(files.length >= 2, `rotated into ${files.length} segments`)
  const first = join(dir, files[0] as string)
  const size = (await readFile(first)).length
  await truncate(first, size - 3)
  await t.rejects(openWal({ dir, flushIntervalMs: 0, log: capture() }), { code: 'ERR_WAL_CORRUPT', message: /not the newest/ })
})

t.test('rotation: segments roll over, replay spans them, old ones are pruned to the bound', async (t) => {
  const dir = await tempDir(t)
  const opts = { maxFileBytes: 2048, maxTotalBytes: 8192 }
  const { wal } = await open(dir, opts)
  for (let h = 1; h <= 40; h++) {
    for (const r of heightRecords(h)) wal.append(r)
    await wal.writeEndHeight(h)
    const total = wal.segments().reduce((n, s) => n + s.bytes, 0)
    if (total > opts.maxTotalBytes + opts.maxFileBytes + 2048) t.fail(`height ${h}: total ${total} above the bound`)
  }
  const segs = wal.segments()
  t.ok(segs.length >= 3, `${segs.length} segments kept`)
  t.ok(segs.every((s, i) => i === segs.length - 1 || s.bytes >= opts.maxFileBytes), 'only the head is below the rotation size')
  t.ok(!(await readdir(dir)).includes('wal.000000'), 'the oldest segments were deleted')

  // a long height that spans many segments is never pruned, even above the total bound
  const long: WalRecord[] = []
  for (let i = 0; i < 30; i++) long.push(...heightRecords(41))
  for (const r of long) await wal.appendSync(r)
  const total = wal.segments().reduce((n, s) => n + s.bytes, 0)
  t.ok(total > opts.maxTotalBytes, `total ${total} exceeds the bound while height 41 is open`)
  await wal.close()

  const { wal: again, log } = await open(dir, opts)
  t.strictSame(await again.replayFrom(41), { status: 'found', records: long }, 'replay across segments')
  t.strictSame(await again.replayFrom(40), { status: 'ahead', endHeight: 40 })
  t.same(log.lines, [])
  await again.writeEndHeight(41)
  const after = again.segments().reduce((n, s) => n + s.bytes, 0)
  t.ok(after <= opts.maxTotalBytes + opts.maxFileBytes, `pruned back to ${after} once height 41 ended`)
  t.strictSame(await again.replayFrom(42), { status: 'found', records: [] })
  await again.close()
})

t.test('a record above the size limit is refused and the WAL stays usable', async (t) => {
  const dir = await tempDir(t)
  const { wal } = await open(dir, { maxRecordBytes: 512 })
  const big: WalRecord = { type: 'received', value: { peer: 'p', message: { type: 'blockPart', value: { height: 1, round: 0, part: samplePart(1, 600) } } } }
  t.throws(() => { wal.append(big) }, { code: 'ERR_WAL_RECORD_TOO_LARGE' })
  const small = heightRecords(1)[4] as WalRecord
  await wal.appendSync(small)
  t.strictSame(await wal.replayFrom(1), { status: 'found', records: [small] })
  await wal.close()
})

t.test('buffered records are written when the flush timer fires (Timers injected)', async (t) => {
  const dir = await tempDir(t)
  const due: Array<{ ms: number, fn: () => void, cancelled: boolean }> = []
  const timers = {
    schedule: (ms: number, fn: () => void) => {
      const job = { ms, fn, cancelled: false }
      due.push(job)
      return () => { job.cancelled = true }
    },
  }
  const { wal } = await open(dir, { flushIntervalMs: 500, timers })
  const file = join(dir, 'wal.000000')
  const size0 = (await readFile(file)).length
  const rec = heightRecords(1)[3] as WalRecord
  const live = (): typeof due => due.filter((j) => !j.cancelled)
  t.equal(live().length, 0, 'no timer while nothing waits')
  wal.append(rec)
  wal.append(rec)
  t.equal(live().length, 1, 'one timer for a batch of appends')
  t.equal(live()[0]?.ms, 500)
  t.equal((await readFile(file)).length, size0, 'nothing written yet')
  live()[0]?.fn()
  await wal.flush() // queued behind the timer's write
  t.equal((await readFile(file)).length, size0 + 2 * encodeWalFrame(rec).length, 'the timer wrote both')
  wal.append(rec)
  const job = live()[live().length - 1]
  await wal.flushAndSync()
  t.ok(job?.cancelled, 'an explicit flush cancels the pending timer')
  await wal.close()
})
