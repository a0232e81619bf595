/**
 * p2p throughput between two transports on 127.0.0.1 (TCP + Noise + Yamux, one process, so
 * both ends share one core's event loop: a lower bound for two machines).
 *
 * Cases: small messages (vote-sized, 200 B) for messages/s; 64 KiB (block-part-sized) and
 * 1 MiB (blocksync) for MB/s; and, for comparison, the design not taken: a fresh libp2p
 * stream per message (multistream-select per message) instead of one long-lived stream per
 * (peer, channel); and the round-trip latency of one vote-sized message. The sender keeps at most `window` messages in flight (the send queue
 * bound), so the numbers include the queue and its backpressure.
 *
 * Run: node --import ./src/register.js bench/p2p.ts [--quick]
 */
import { performance } from 'node:perf_hooks'
import { createHash } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { ChannelId } from '../src/transport.ts'
import { createP2PTransport, type P2PTransport } from '../p2p/transport.ts'
import { libp2pPrivateKeyFromSeed, peerIdFromSeed } from '../p2p/identity.ts'
import { encodeFrame } from '../p2p/frame.ts'

const quick = process.argv.includes('--quick')
const seed = (s: string): Uint8Array => new Uint8Array(createHash('sha256').update(`bench-p2p:${s}`).digest())

async function until (cond: () => boolean, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error('bench timed out')
    await new Promise((resolve) => setImmediate(resolve))
  }
}

async function pair (): Promise<{ a: P2PTransport, b: P2PTransport, received: () => number, bytes: () => number }> {
  const b = createP2PTransport({ nodeKeySeed: seed('b'), listen: ['/ip4/127.0.0.1/tcp/0'], allowedPeers: [peerIdFromSeed(seed('a'))] })
  await b.start()
  const port = /\/tcp\/(\d+)\//.exec(b.listenAddresses()[0] ?? '')?.[1]
  const a = createP2PTransport({ nodeKeySeed: seed('a'), listen: ['/ip4/127.0.0.1/tcp/0'], persistentPeers: [`${b.localPeerId}@127.0.0.1:${port}`] })
  await a.start()
  let n = 0
  let bytes = 0
  b.subscribe({ onMessage: (_p, _c, d) => { n++; bytes += d.byteLength }, onPeerUp: () => {}, onPeerDown: () => {} })
  await until(() => a.peers().length === 1 && b.peers().length === 1, 10_000)
  return { a, b, received: () => n, bytes: () => bytes }
}

interface Row { case: string, messages: number, size: number, seconds: number, msgsPerSec: number, mbPerSec: number }

async function run (name: string, channel: ChannelId, size: number, count: number, window: number): Promise<Row> {
  const { a, b, received } = await pair()
  const msg = new Uint8Array(size).fill(7)
  const peer = b.localPeerId
  // warm-up
  for (let i = 0; i < Math.min(window, 100); i++) a.send(peer, channel, msg)
  await until(() => received() >= Math.min(window, 100))
  const base = received()
  const t0 = performance.now()
  let sent = 0
  while (sent < count) {
    while (sent < count && sent - (received() - base) < window && a.send(peer, channel, msg)) sent++
    await new Promise((resolve) => setImmediate(resolve))
  }
  await until(() => received() - base >= count)
  const seconds = (performance.now() - t0) / 1000
  await a.stop()
  await b.stop()
  return { case: name, messages: count, size, seconds: +seconds.toFixed(3), msgsPerSec: Math.round(count / seconds), mbPerSec: +((count * size) / seconds / 1e6).toFixed(1) }
}

/** Round-trip latency: a sends a vote-sized message, b echoes it on the same channel. */
async function pingPong (count: number): Promise<{ p50: number, p99: number }> {
  const { a, b } = await pair()
  b.subscribe({ onMessage: (p, c, d) => { b.send(p, c, d) }, onPeerUp: () => {}, onPeerDown: () => {} })
  let wake: (() => void) | undefined
  a.subscribe({ onMessage: () => { wake?.() }, onPeerUp: () => {}, onPeerDown: () => {} })
  const msg = new Uint8Array(200)
  const rtts: number[] = []
  for (let i = 0; i < count; i++) {
    const t0 = performance.now()
    await new Promise<void>((resolve) => { wake = resolve; a.send(b.localPeerId, 'votes', msg) })
    rtts.push(performance.now() - t0)
  }
  rtts.sort((x, y) => x - y)
  await a.stop()
  await b.stop()
  const at = (q: number): number => +(rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))] ?? NaN).toFixed(3)
  return { p50: at(0.5), p99: at(0.99) }
}

/** The alternative design: one new stream (and multistream-select round trip) per message. */
async function streamPerMessage (size: number, count: number, parallel: number): Promise<Row> {
  const mk = async (s: string): Promise<Awaited<ReturnType<typeof createLibp2p>>> => await createLibp2p({
    privateKey: await libp2pPrivateKeyFromSeed(seed(s)),
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
  })
  const a = await mk('spm-a')
  const b = await mk('spm-b')
  let got = 0
  await b.handle('/bench/one/1.0.0', (stream) => {
    stream.addEventListener('message', () => {})
    stream.addEventListener('remoteCloseWrite', () => { got++; stream.close().catch(() => {}) })
  }, { maxInboundStreams: parallel * 2 })
  const addr = multiaddr(b.getMultiaddrs()[0]?.toString() ?? '')
  await a.dial(addr)
  const frame = encodeFrame(new Uint8Array(size).fill(7))
  const one = async (): Promise<void> => {
    const s = await a.dialProtocol(addr, '/bench/one/1.0.0', { maxOutboundStreams: parallel * 2 } as never)
    s.send(frame)
    s.close().catch(() => {})
  }
  const t0 = performance.now()
  let next = 0
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      next++
      await one()
    }
  }))
  await until(() => got >= count)
  const seconds = (performance.now() - t0) / 1000
  await a.stop()
  await b.stop()
  return { case: `stream per message (${parallel} in parallel)`, messages: count, size, seconds: +seconds.toFixed(3), msgsPerSec: Math.round(count / seconds), mbPerSec: +((count * size) / seconds / 1e6).toFixed(1) }
}

const k = quick ? 0.1 : 1
const rows: Row[] = []
rows.push(await run('votes, 200 B', 'votes', 200, Math.round(200_000 * k), 4096))
rows.push(await run('mempool, 1 KiB', 'mempool', 1024, Math.round(100_000 * k), 2048))
rows.push(await run('block-parts, 64 KiB', 'block-parts', 64 * 1024, Math.round(4_000 * k), 256))
rows.push(await run('blocksync, 1 MiB', 'blocksync', 1024 * 1024, Math.round(300 * k), 16))
rows.push(await streamPerMessage(200, Math.round(5_000 * k), 1))
rows.push(await streamPerMessage(200, Math.round(5_000 * k), 8))
console.table(rows)
const rtt = await pingPong(Math.round(5_000 * k))
console.log(`votes round trip (200 B, echo): p50 ${rtt.p50} ms, p99 ${rtt.p99} ms`)
