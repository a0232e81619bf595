/**
 * Pure parts of peer management: misbehaviour scores, decay and bans (p2p/scoring.ts) over
 * a fake clock, the send queue's bounds (p2p/channel.ts), and the dialer's backoff schedule
 * (p2p/dialer.ts).
 */
import t from 'tap'
import { DEFAULT_SCORING, PeerScores } from '../../p2p/scoring.ts'
import { SendQueue } from '../../p2p/channel.ts'
import { backoffDelay, DEFAULT_BACKOFF, deterministicFraction } from '../../p2p/dialer.ts'

t.test('scores: one bad frame disconnects, a second bans, the ban expires', async (t) => {
  let now = 0
  const s = new PeerScores(DEFAULT_SCORING, () => now)
  t.same(s.penalize('p', 'malformed'), { score: 50, disconnect: true, ban: false })
  t.equal(s.isBanned('p'), false)
  now += 59_999
  t.same(s.penalize('p', 'oversize'), { score: 100, disconnect: true, ban: true }, 'no decay step yet')
  t.equal(s.isBanned('p'), true)
  t.equal(s.bannedUntil('p'), now + DEFAULT_SCORING.banMs)
  t.equal(s.bans, 1)
  t.same(s.snapshot('p'), { score: 0, offenses: 2, bannedUntil: now + DEFAULT_SCORING.banMs })
  now += DEFAULT_SCORING.banMs - 1
  t.equal(s.isBanned('p'), true)
  now += 1
  t.equal(s.isBanned('p'), false, 'ban over')
  t.equal(s.bannedUntil('p'), undefined)
  t.equal(s.isBanned('other'), false)
})

t.test('scores decay in whole steps, never below zero', async (t) => {
  let now = 0
  const s = new PeerScores(DEFAULT_SCORING, () => now)
  t.same(s.penalize('p', 'spam'), { score: 10, disconnect: false, ban: false })
  t.same(s.penalize('p', 'spam'), { score: 20, disconnect: false, ban: false })
  now += 60_000
  t.equal(s.snapshot('p').score, 10)
  now += 59_999
  t.equal(s.snapshot('p').score, 10, 'partial step does not count')
  now += 1
  t.equal(s.snapshot('p').score, 0)
  now += 10 * 60_000
  t.equal(s.snapshot('p').score, 0)
  t.same(s.penalize('p', 'malformed'), { score: 50, disconnect: true, ban: false }, 'decayed history: one offense')
  now += 2 * 60_000
  t.same(s.penalize('p', 'malformed'), { score: 80, disconnect: true, ban: false }, '50 - 20 + 50')
  t.same(s.penalize('p', 'spam'), { score: 90, disconnect: true, ban: false })
  t.same(s.penalize('p', 'spam'), { score: 100, disconnect: true, ban: true })
})

t.test('unban clears the record; bad options are refused', async (t) => {
  const s = new PeerScores({ ...DEFAULT_SCORING, banAt: 50 }, () => 0)
  t.equal(s.penalize('p', 'protocol').ban, true)
  s.unban('p')
  t.equal(s.isBanned('p'), false)
  t.same(s.snapshot('p'), { score: 0, offenses: 0, bannedUntil: null })
  t.throws(() => new PeerScores({ ...DEFAULT_SCORING, decayIntervalMs: 0 }, () => 0))
  t.throws(() => new PeerScores({ ...DEFAULT_SCORING, banMs: -1 }, () => 0))
  t.throws(() => new PeerScores({ ...DEFAULT_SCORING, penalties: { ...DEFAULT_SCORING.penalties, spam: 0.5 } }, () => 0))
})

t.test('send queue: message bound, byte bound, FIFO, clear', async (t) => {
  const q = new SendQueue(3, 10)
  const m = (n: number): Uint8Array => new Uint8Array(n)
  t.equal(q.push(m(4)), true)
  t.equal(q.push(m(4)), true)
  t.equal(q.push(m(4)), false, '12 bytes > 10')
  t.equal(q.push(m(2)), true)
  t.equal(q.push(m(1)), false, '4 messages > 3')
  t.equal(q.length, 3)
  t.equal(q.byteLength, 10)
  t.equal(q.shift()?.length, 4)
  t.equal(q.byteLength, 6)
  t.equal(q.peekLength(), 4)
  t.equal(q.clear(), 2)
  t.equal(q.length, 0)
  t.equal(q.shift(), undefined)
  const big = new SendQueue(3, 10)
  t.equal(big.push(m(100)), true, 'one message over the byte bound is admitted to an empty queue')
  t.equal(big.push(m(1)), false)
  // Long runs compact without losing order.
  const long = new SendQueue(5000, 1 << 20)
  for (let i = 0; i < 4000; i++) long.push(Uint8Array.of(i & 0xff, i >> 8))
  const out: number[] = []
  for (let i = 0; i < 3000; i++) { const x = long.shift() as Uint8Array; out.push((x[0] as number) | ((x[1] as number) << 8)) }
  for (let i = 4000; i < 5000; i++) long.push(Uint8Array.of(i & 0xff, i >> 8))
  for (let x = long.shift(); x !== undefined; x = long.shift()) out.push((x[0] as number) | ((x[1] as number) << 8))
  t.same(out, Array.from({ length: 5000 }, (_, i) => i))
})

t.test('backoff: doubling, capped, deterministic jitter', async (t) => {
  const none = { ...DEFAULT_BACKOFF, jitter: 0 }
  t.same([0, 1, 2, 3, 4, 5, 6, 7, 8, 50, 5000].map((n) => backoffDelay(n, none, 'x')),
    [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000])
  const a = [0, 1, 2, 3, 10].map((n) => backoffDelay(n, DEFAULT_BACKOFF, 'A>B'))
  t.same(a, [0, 1, 2, 3, 10].map((n) => backoffDelay(n, DEFAULT_BACKOFF, 'A>B')), 'same pair, same schedule')
  t.not(a.join(), [0, 1, 2, 3, 10].map((n) => backoffDelay(n, DEFAULT_BACKOFF, 'B>A')).join(), 'the other direction differs')
  for (const [n, d] of a.entries()) {
    const base = [500, 1000, 2000, 4000, 30000][n] as number
    t.ok(d >= base && d <= base * 1.2, `attempt ${n}: ${d} within [${base}, ${base * 1.2}]`)
  }
  const f = deterministicFraction('12D3KooWabc>12D3KooWdef#3')
  t.ok(f >= 0 && f < 1)
  t.equal(f, deterministicFraction('12D3KooWabc>12D3KooWdef#3'))
})
