/**
 * p2p transport over real libp2p on 127.0.0.1: delivery on every channel in order, two and
 * three nodes, broadcast with `except`, the send queue bound, stats, and stop() leaving no
 * handles behind (tap fails a test file whose process does not exit).
 */
import t from 'tap'
import { CHANNELS, CHANNEL_MAX_BYTES } from '../../src/transport.ts'
import { idOf, payload, startNode, text, waitFor, type TestNode } from './helpers.ts'

const N = 50

t.test('two transports exchange messages on every channel, in order, both ways', async (t) => {
  const b = await startNode('two-b', { allowedPeers: [idOf('two-a')] })
  const a = await startNode('two-a', { persistentPeers: [b.addr] })
  t.teardown(async () => { await a.t.stop(); await b.t.stop() })
  await waitFor(() => a.t.peers().length === 1 && b.t.peers().length === 1, 'connected')
  t.same(a.t.peers(), [b.id])
  t.same(b.t.peers(), [a.id])
  t.same(a.rec.events, [`up:${b.id}`])

  for (const ch of CHANNELS) {
    for (let i = 0; i < N; i++) {
      t.equal(a.t.send(b.id, ch, payload(ch, i)), true)
      t.equal(b.t.send(a.id, ch, payload(`${ch}-back`, i)), true)
    }
  }
  // One message at the cap of each channel, last, to show the cap itself is accepted.
  for (const ch of CHANNELS) t.equal(a.t.send(b.id, ch, payload(`${ch}-max`, 0, CHANNEL_MAX_BYTES[ch])), true)
  await waitFor(() => b.rec.messages.length === CHANNELS.length * (N + 1) && a.rec.messages.length === CHANNELS.length * N, 'all delivered')
  for (const ch of CHANNELS) {
    const got = b.rec.from(a.id, ch).map((m) => text(m.data))
    t.same(got, [...Array.from({ length: N }, (_, i) => `${ch}:${i}`), `${ch}-max:0`], `${ch} a→b in order`)
    t.equal(b.rec.from(a.id, ch).at(-1)?.data.byteLength, CHANNEL_MAX_BYTES[ch])
    t.same(a.rec.from(b.id, ch).map((m) => text(m.data)), Array.from({ length: N }, (_, i) => `${ch}-back:${i}`), `${ch} b→a in order`)
  }

  const sa = a.t.stats()
  const sb = b.t.stats()
  t.equal(sa.peers, 1)
  t.equal(sa.channels.votes.messagesSent, N + 1)
  t.equal(sb.channels.votes.messagesReceived, N + 1)
  t.equal(sa.channels.votes.bytesSent, sb.channels.votes.bytesReceived, 'bytes sent = bytes received')
  t.equal(sb.perPeer[a.id]?.channels.mempool.messagesReceived, N + 1)
  t.equal(sb.perPeer[a.id]?.connected, true)
  t.equal(sa.misbehaviorDisconnects + sb.misbehaviorDisconnects, 0)
})

t.test('mutual persistent peers (both dial at once) settle and deliver in order', async (t) => {
  // Both must know each other's port before starting: reserve two free ports first.
  const { createServer } = await import('node:net')
  const freePort = async (): Promise<number> => await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port
      srv.close(() => { resolve(port) })
    })
  })
  const [pa, pb] = [await freePort(), await freePort()]
  const [a, b] = await Promise.all([
    startNode('mutual-a', { listen: [`/ip4/127.0.0.1/tcp/${pa}`], persistentPeers: [`${idOf('mutual-b')}@127.0.0.1:${pb}`] }),
    startNode('mutual-b', { listen: [`/ip4/127.0.0.1/tcp/${pb}`], persistentPeers: [`${idOf('mutual-a')}@127.0.0.1:${pa}`] }),
  ])
  t.teardown(async () => { await a.t.stop(); await b.t.stop() })
  await waitFor(() => a.t.peers().length === 1 && b.t.peers().length === 1, 'connected')
  for (let i = 0; i < N; i++) {
    a.t.send(b.id, 'votes', payload('ab', i))
    b.t.send(a.id, 'votes', payload('ba', i))
  }
  await waitFor(() => b.rec.from(a.id, 'votes').length === N && a.rec.from(b.id, 'votes').length === N, 'delivered')
  t.same(b.rec.from(a.id, 'votes').map((m) => text(m.data)), Array.from({ length: N }, (_, i) => `ab:${i}`))
  t.same(a.rec.from(b.id, 'votes').map((m) => text(m.data)), Array.from({ length: N }, (_, i) => `ba:${i}`))
  t.same(a.rec.events, [`up:${b.id}`], 'one onPeerUp, however many connections')
  t.same(b.rec.events, [`up:${a.id}`])
})

t.test('send refuses what cannot be sent', async (t) => {
  const b = await startNode('refuse-b', { allowedPeers: [idOf('refuse-a')] })
  const a = await startNode('refuse-a', { persistentPeers: [b.addr] })
  t.teardown(async () => { await a.t.stop(); await b.t.stop() })
  await waitFor(() => a.t.peers().length === 1, 'connected')
  t.equal(a.t.send(idOf('nobody'), 'votes', payload('x', 0)), false, 'unknown peer')
  t.equal(a.t.send(b.id, 'votes', new Uint8Array(0)), false, 'empty message')
  t.equal(a.t.send(b.id, 'votes', new Uint8Array(CHANNEL_MAX_BYTES.votes + 1)), false, 'over the cap')
  t.equal(a.t.stats().channels.votes.drops, 2)
})

t.test('three transports: full mesh, broadcast with except', async (t) => {
  const names = ['mesh-0', 'mesh-1', 'mesh-2']
  const ids = names.map(idOf)
  const nodes: TestNode[] = []
  // Each dials the ones started before it and allows the later ones in.
  for (let i = 0; i < names.length; i++) {
    nodes.push(await startNode(names[i] as string, {
      persistentPeers: nodes.map((n) => n.addr),
      allowedPeers: ids.slice(i + 1),
    }))
  }
  t.teardown(async () => { for (const n of nodes) await n.t.stop() })
  await waitFor(() => nodes.every((n) => n.t.peers().length === 2), 'full mesh')
  const [n0, n1, n2] = nodes as [TestNode, TestNode, TestNode]
  t.same(n0.t.peers(), [n1.id, n2.id].sort(), 'peers() is sorted')

  for (let i = 0; i < N; i++) n0.t.broadcast('consensus', payload('all', i))
  for (let i = 0; i < N; i++) n0.t.broadcast('mempool', payload('not-1', i), n1.id)
  n2.t.broadcast('evidence', payload('from-2', 0))
  await waitFor(() => n1.rec.from(n0.id, 'consensus').length === N && n2.rec.from(n0.id, 'consensus').length === N &&
    n2.rec.from(n0.id, 'mempool').length === N && n0.rec.from(n2.id).length === 1 && n1.rec.from(n2.id).length === 1, 'broadcasts delivered')
  const expectAll = Array.from({ length: N }, (_, i) => `all:${i}`)
  t.same(n1.rec.from(n0.id, 'consensus').map((m) => text(m.data)), expectAll)
  t.same(n2.rec.from(n0.id, 'consensus').map((m) => text(m.data)), expectAll)
  t.same(n2.rec.from(n0.id, 'mempool').map((m) => text(m.data)), Array.from({ length: N }, (_, i) => `not-1:${i}`))
  // n1 must not get the excepted broadcast: send a marker after it on the same channel and
  // wait for that; channel order means anything excepted-but-sent would have come first.
  t.equal(n0.t.send(n1.id, 'mempool', payload('marker', 0)), true)
  await waitFor(() => n1.rec.from(n0.id, 'mempool').length >= 1, 'marker')
  t.same(n1.rec.from(n0.id, 'mempool').map((m) => text(m.data)), ['marker:0'], 'excepted peer got nothing but the marker')
  t.equal(n0.t.stats().peers, 2)
})

t.test('send queue is bounded: drops are refused and counted, the rest arrive in order', async (t) => {
  const b = await startNode('queue-b', { allowedPeers: [idOf('queue-a')] })
  const a = await startNode('queue-a', { persistentPeers: [b.addr], sendQueueMessages: { votes: 8 } })
  t.teardown(async () => { await a.t.stop(); await b.t.stop() })
  await waitFor(() => a.t.peers().length === 1, 'connected')
  // send() never writes synchronously: within one tick the queue is the only buffer.
  const results = Array.from({ length: 20 }, (_, i) => a.t.send(b.id, 'votes', payload('q', i)))
  t.same(results, [...Array(8).fill(true), ...Array(12).fill(false)])
  t.equal(a.t.stats().perPeer[b.id]?.channels.votes.queued, 8)
  t.equal(a.t.stats().perPeer[b.id]?.channels.votes.drops, 12)
  await waitFor(() => b.rec.messages.length === 8, 'queued ones delivered')
  t.same(b.rec.messages.map((m) => text(m.data)), Array.from({ length: 8 }, (_, i) => `q:${i}`))
  // Once drained, the queue takes messages again.
  await waitFor(() => a.t.stats().perPeer[b.id]?.channels.votes.queued === 0, 'drained')
  t.equal(a.t.send(b.id, 'votes', payload('q', 99)), true)
  await waitFor(() => b.rec.messages.length === 9, 'after drain')

  // Byte bound: a slow reader cannot make us buffer more than sendQueueBytes.
  t.equal(a.t.stats().channels.votes.drops, 12)
})

t.test('byte-bounded queue and a large blocksync message', async (t) => {
  const b = await startNode('bytes-b', { allowedPeers: [idOf('bytes-a')] })
  const a = await startNode('bytes-a', { persistentPeers: [b.addr], sendQueueBytes: 3 * 1024 * 1024 })
  t.teardown(async () => { await a.t.stop(); await b.t.stop() })
  await waitFor(() => a.t.peers().length === 1, 'connected')
  const big = payload('big', 0, 2 * 1024 * 1024)
  t.equal(a.t.send(b.id, 'blocksync', big), true, 'first admitted')
  t.equal(a.t.send(b.id, 'blocksync', big), false, 'second would exceed the byte bound')
  t.equal(a.t.send(b.id, 'blocksync', payload('small', 1, 512 * 1024)), true, 'a smaller one still fits')
  await waitFor(() => b.rec.messages.length === 2, 'delivered')
  t.equal(b.rec.messages[0]?.data.byteLength, big.byteLength)
  t.ok(Buffer.from(b.rec.messages[0]?.data ?? []).equals(big), 'content intact')
  t.equal(text(b.rec.messages[1]?.data ?? new Uint8Array()), 'small:1')
})

t.test('stop() closes connections, notifies peer down, and is idempotent', async (t) => {
  const b = await startNode('stop-b', { allowedPeers: [idOf('stop-a')] })
  const a = await startNode('stop-a', { persistentPeers: [b.addr] })
  await waitFor(() => a.t.peers().length === 1 && b.t.peers().length === 1, 'connected')
  await a.t.stop()
  t.same(a.t.peers(), [])
  t.same(a.rec.events, [`up:${b.id}`, `down:${b.id}`])
  t.equal(a.t.send(b.id, 'votes', payload('late', 0)), false, 'send after stop')
  await waitFor(() => b.t.peers().length === 0, 'b sees a go')
  t.same(b.rec.events, [`up:${a.id}`, `down:${a.id}`])
  await a.t.stop()
  await b.t.stop()
  await t.rejects(a.t.start(), /ERR_P2P_INVALID_OPTIONS/, 'a stopped transport is not restarted; make a new one')
})

t.test('after stop() the process exits by itself (no dangling handles)', async (t) => {
  const { spawn } = await import('node:child_process')
  const child = spawn(process.execPath, ['--import', './src/register.js', 'test/p2p/exit-child.ts'], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, 30_000)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => { resolve([c, s]) }))
  clearTimeout(timer)
  t.equal(signal, null, 'exited on its own, not killed after 30 s')
  t.equal(code, 0)
  const report = JSON.parse(out.trim()) as { received: number[], peers: number[] }
  t.ok(report.received.every((n) => n >= 2 * CHANNELS.length), 'every node got every channel')
  t.same(report.peers, [0, 0, 0])
})

t.test('stop() during start() leaves nothing running', async (t) => {
  const { createP2PTransport } = await import('../../p2p/transport.ts')
  const { seedOf } = await import('./helpers.ts')
  const x = createP2PTransport({ nodeKeySeed: seedOf('early-stop'), listen: ['/ip4/127.0.0.1/tcp/0'] })
  const starting = x.start()
  await x.stop()
  await starting
  t.same(x.peers(), [])
  t.same(x.listenAddresses(), [], 'not listening')
})
