/**
 * The simulator's world and network (test/sim/world.ts, network.ts): event order, timers
 * and their disposal on a crash, the run loop's settle/afterEvent/done contract, and the
 * simulated network's drop/duplicate/delay/FIFO/partition/crash behaviour, all seeded.
 */
import t from 'tap'
import type { ChannelId, PeerId, Transport } from '../../src/transport.ts'
import { EventQueue, SimWorld, type SimEvent } from './world.ts'
import { CALM_LINK, SimNetwork, type LinkProfile, type NetworkOptions } from './network.ts'
import { rngFor, streamSeed } from './rng.ts'

function ev (time: number, seq: number): SimEvent {
  return { time, seq, kind: 'x', target: null, cancelled: false, run: () => {} }
}

t.test('event queue pops by (time, seq)', async (t) => {
  const q = new EventQueue()
  const rng = rngFor(1, 'q')
  const evs: SimEvent[] = []
  for (let i = 0; i < 500; i++) evs.push(ev(rng.int(50), i))
  for (const e of rng.shuffle(evs)) q.push(e)
  const out: SimEvent[] = []
  for (let e = q.pop(); e !== undefined; e = q.pop()) out.push(e)
  const sorted = [...evs].sort((a, b) => a.time - b.time || a.seq - b.seq)
  t.strictSame(out.map((e) => e.seq), sorted.map((e) => e.seq))
})

t.test('timers fire in simulated time, cancel and dispose', async (t) => {
  const w = new SimWorld({ epochMs: 1_000_000 })
  const fired: string[] = []
  const timers = w.timers('a')
  const clock = w.clock(-5)
  timers.schedule(30, () => fired.push(`a30@${w.now}`))
  const cancel = timers.schedule(10, () => fired.push('cancelled'))
  timers.schedule(20, () => fired.push(`a20@${w.now}:${clock.now()}`))
  cancel()
  const other = w.timers('b')
  other.schedule(25, () => {
    fired.push(`b25@${w.now}`)
    timers.dispose() // a crash of 'a' at t=25: its 30 ms timer never fires
  })
  t.equal(timers.pending(), 2)
  const r = await w.run({ untilMs: 1_000 })
  t.equal(r.reason, 'empty')
  t.strictSame(fired, ['a20@20:1000015', 'b25@25'])
  t.equal(timers.pending(), 0)
  timers.schedule(1, () => fired.push('after dispose'))
  await w.run({ untilMs: 2_000 })
  t.equal(fired.length, 2, 'a disposed incarnation schedules nothing')
})

t.test('run loop: settle after each targeted event, afterEvent, done, untilMs', async (t) => {
  const w = new SimWorld({ epochMs: 0 })
  const log: string[] = []
  w.schedule(5, 'x', 'n1', async () => { log.push('run1') })
  w.schedule(5, 'x', null, () => { log.push('run2') })
  w.schedule(50, 'x', null, () => { log.push('late') })
  const r = await w.run({
    untilMs: 10,
    settle: async (n) => { log.push(`settle ${n}`) },
    afterEvent: (e) => { log.push(`after ${e.seq}`) },
  })
  t.equal(r.reason, 'time')
  t.equal(w.now, 10)
  t.strictSame(log, ['run1', 'settle n1', 'after 0', 'run2', 'after 1'])
  let n = 0
  for (let i = 0; i < 10; i++) w.schedule(1, 'x', null, () => { n++ })
  const r2 = await w.run({ untilMs: 100, done: () => n >= 3 })
  t.equal(r2.reason, 'done')
  t.equal(n, 3)
})

t.test('rng streams are independent and stable', async (t) => {
  t.not(streamSeed(1, 'network'), streamSeed(1, 'scenario'))
  t.not(streamSeed(1, 'network'), streamSeed(2, 'network'))
  t.equal(streamSeed(7, 'x'), streamSeed(7, 'x'))
  t.strictSame([rngFor(3, 'a').u32(), rngFor(3, 'a').u32()], [rngFor(3, 'a').u32(), rngFor(3, 'a').u32()])
})

interface Received { at: number, from: PeerId, to: PeerId, channel: ChannelId, data: string }

function setup (opts: Partial<NetworkOptions> = {}, seed = 1): { w: SimWorld, net: SimNetwork, tr: Map<string, Transport>, got: Received[], events: string[] } {
  const w = new SimWorld({ epochMs: 0 })
  const net = new SimNetwork(w, rngFor(seed, 'net'), { preGst: CALM_LINK, postGst: CALM_LINK, gstMs: 0, fifo: true, ...opts })
  const got: Received[] = []
  const events: string[] = []
  const tr = new Map<string, Transport>()
  for (const id of ['a', 'b', 'c', 'd']) net.addNode(id)
  for (const id of ['a', 'b', 'c', 'd']) {
    const x = net.attach(id)
    x.subscribe({
      onMessage: (from, channel, data) => got.push({ at: w.now, from, to: id, channel, data: Buffer.from(data).toString() }),
      onPeerUp: (p) => events.push(`${id}+${p}`),
      onPeerDown: (p) => events.push(`${id}-${p}`),
    })
    tr.set(id, x)
  }
  return { w, net, tr, got, events }
}

/** Lets the start-up peer-up notifications through, then forgets them. */
async function settled (s: ReturnType<typeof setup>): Promise<ReturnType<typeof setup>> {
  await s.w.run({ untilMs: s.w.now })
  s.events.length = 0
  return s
}

const msg = (s: string): Uint8Array => new TextEncoder().encode(s)

t.test('network: start-up peer-up notifications (earlier nodes hear of later ones; all with announcePeers)', async (t) => {
  const plain = setup()
  await plain.w.run({ untilMs: 0 })
  t.strictSame(plain.events.sort(), ['a+b', 'a+c', 'a+d', 'b+c', 'b+d', 'c+d'])
  const all = setup({ announcePeers: true })
  await all.w.run({ untilMs: 0 })
  t.equal(all.events.length, 12)
})

t.test('network: broadcast, delays within the profile, peers()', async (t) => {
  const link: LinkProfile = { minDelayMs: 5, maxDelayMs: 9, tailProb: 0, tailMs: 0, dropProb: 0, dupProb: 0 }
  const { w, tr, got } = setup({ preGst: link, postGst: link })
  const a = tr.get('a') as Transport
  t.strictSame(a.peers(), ['b', 'c', 'd'])
  a.broadcast('votes', msg('hi'), 'c')
  await w.run({ untilMs: 100 })
  t.strictSame(got.map((g) => g.to).sort(), ['b', 'd'])
  for (const g of got) t.ok(g.at >= 5 && g.at <= 9, `delay ${g.at} in [5, 9]`)
  t.equal(a.send('a', 'votes', msg('self')), false, 'no link to itself')
})

t.test('network: drop and duplicate rates, FIFO per channel', async (t) => {
  const link: LinkProfile = { minDelayMs: 1, maxDelayMs: 100, tailProb: 0.2, tailMs: 500, dropProb: 0.2, dupProb: 0.1 }
  const { w, net, tr, got } = setup({ preGst: link, postGst: link, fifo: true })
  const a = tr.get('a') as Transport
  for (let i = 0; i < 1000; i++) a.send('b', 'votes', msg(String(i)))
  await w.run({ untilMs: 10_000 })
  t.ok(net.stats.dropped > 120 && net.stats.dropped < 280, `dropped ${net.stats.dropped} ≈ 200`)
  t.ok(net.stats.duplicated > 40 && net.stats.duplicated < 140, `duplicated ${net.stats.duplicated} ≈ 80`)
  const seq = got.map((g) => Number(g.data))
  t.ok(seq.every((v, i) => i === 0 || v >= (seq[i - 1] as number)), 'FIFO: never an older message after a newer one')
})

t.test('network: without FIFO, delays reorder', async (t) => {
  const link: LinkProfile = { minDelayMs: 1, maxDelayMs: 100, tailProb: 0, tailMs: 0, dropProb: 0, dupProb: 0 }
  const { w, tr, got } = setup({ preGst: link, postGst: link, fifo: false })
  const a = tr.get('a') as Transport
  for (let i = 0; i < 100; i++) a.send('b', 'votes', msg(String(i)))
  await w.run({ untilMs: 10_000 })
  const seq = got.map((g) => Number(g.data))
  t.equal(seq.length, 100)
  t.ok(seq.some((v, i) => i > 0 && v < (seq[i - 1] as number)), 'some message overtakes another')
})

t.test('network: GST switches profiles', async (t) => {
  const lossy: LinkProfile = { ...CALM_LINK, dropProb: 1 }
  const { w, tr, got } = setup({ preGst: lossy, postGst: CALM_LINK, gstMs: 100 })
  const a = tr.get('a') as Transport
  a.send('b', 'votes', msg('before'))
  w.schedule(100, 'x', null, () => { a.send('b', 'votes', msg('after')) })
  await w.run({ untilMs: 1_000 })
  t.strictSame(got.map((g) => g.data), ['after'])
})

t.test('network: partitions cut links, lose in-flight messages, notify both ends, heal', async (t) => {
  const link: LinkProfile = { ...CALM_LINK, minDelayMs: 10, maxDelayMs: 10 }
  const { w, net, tr, got, events } = await settled(setup({ preGst: link, postGst: link }))
  const a = tr.get('a') as Transport
  a.send('c', 'votes', msg('in flight'))
  w.schedule(5, 'p', null, () => { net.setPartition([['a', 'b'], ['c', 'd']]) })
  await w.run({ untilMs: 50 })
  t.strictSame(got, [], 'the message in flight across the cut is lost')
  t.strictSame(a.peers(), ['b'])
  t.equal(a.send('c', 'votes', msg('x')), false)
  t.strictSame(events.sort(), ['a-c', 'a-d', 'b-c', 'b-d', 'c-a', 'c-b', 'd-a', 'd-b'])
  events.length = 0
  net.setPartition(null)
  await w.run({ untilMs: 100 })
  t.strictSame(events.sort(), ['a+c', 'a+d', 'b+c', 'b+d', 'c+a', 'c+b', 'd+a', 'd+b'])
  t.equal(a.send('c', 'votes', msg('again')), true)
  await w.run({ untilMs: 200 })
  t.strictSame(got.map((g) => g.data), ['again'])
})

t.test('network: a crashed node gets nothing, sends nothing, and comes back with a new transport', async (t) => {
  const link: LinkProfile = { ...CALM_LINK, minDelayMs: 10, maxDelayMs: 10 }
  const { w, net, tr, got, events } = await settled(setup({ preGst: link, postGst: link }))
  const a = tr.get('a') as Transport
  const b = tr.get('b') as Transport
  a.send('b', 'votes', msg('lost'))
  net.detach('b')
  t.equal(b.send('a', 'votes', msg('from the dead')), false)
  t.strictSame(b.peers(), [])
  await w.run({ untilMs: 50 })
  t.strictSame(got, [])
  t.strictSame(events.sort(), ['a-b', 'c-b', 'd-b'])
  events.length = 0
  const b2 = net.attach('b')
  b2.subscribe({ onMessage: (from, channel, data) => got.push({ at: w.now, from, to: 'b2', channel, data: Buffer.from(data).toString() }), onPeerUp: () => {}, onPeerDown: () => {} })
  a.send('b', 'votes', msg('welcome back'))
  t.equal(b.send('a', 'votes', msg('old incarnation')), false, 'the old transport stays dead')
  await w.run({ untilMs: 100 })
  t.strictSame(got.map((g) => `${g.to}:${g.data}`), ['b2:welcome back'])
  t.strictSame(events.sort(), ['a+b', 'c+b', 'd+b'])
})

t.test('network: same seed, same deliveries', async (t) => {
  const link: LinkProfile = { minDelayMs: 1, maxDelayMs: 50, tailProb: 0.1, tailMs: 200, dropProb: 0.1, dupProb: 0.1 }
  const runOnce = async (seed: number): Promise<string> => {
    const { w, tr, got } = setup({ preGst: link, postGst: link, fifo: false }, seed)
    for (const [id, x] of tr) for (let i = 0; i < 30; i++) x.broadcast('votes', msg(`${id}${i}`))
    await w.run({ untilMs: 10_000 })
    return got.map((g) => `${g.at}:${g.from}>${g.to}:${g.data}`).join(',')
  }
  t.equal(await runOnce(5), await runOnce(5))
  t.not(await runOnce(5), await runOnce(6))
})
