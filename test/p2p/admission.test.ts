/**
 * Peer admission and misbehaviour over real libp2p on 127.0.0.1: the allow-list gate, bad
 * frames (oversize, garbage) disconnecting and scoring the sender, bans and their expiry
 * (with an injected clock), reportMisbehavior, and reconnecting to a restarted peer.
 */
import t from 'tap'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { protocolFor } from '../../p2p/channel.ts'
import { encodeUvarint } from '../../p2p/frame.ts'
import type { Libp2p } from 'libp2p'
import { bytes, idOf, payload, rawHost, startNode, text, waitFor, type TestNode } from './helpers.ts'

/**
 * Dials v from a raw host and waits until v's gater has refused it. The dial itself may
 * resolve: the dialer finishes its upgrade before the listener's post-handshake gate drops
 * the connection (observed with libp2p 3.3).
 */
async function expectRefused (v: TestNode, raw: Libp2p): Promise<void> {
  const before = v.t.stats().refusedInbound
  await raw.dial(multiaddr(`/ip4/127.0.0.1/tcp/${v.port}/p2p/${v.id}`)).catch(() => undefined)
  await waitFor(() => v.t.stats().refusedInbound === before + 1 && raw.getConnections().length === 0, 'refused')
  if (v.t.peers().includes(raw.peerId.toString())) throw new Error('refused peer is listed as up')
}

t.test('only allow-listed peers get in; the allowed ones still work', async (t) => {
  const v = await startNode('gate-v', { allowedPeers: [idOf('gate-a')] })
  const a = await startNode('gate-a', { persistentPeers: [v.addr] })
  // A stranger that knows v's address and lists it as a persistent peer.
  const s = await startNode('gate-stranger', { persistentPeers: [v.addr] })
  const raw = await rawHost('gate-raw')
  t.teardown(async () => { await a.t.stop(); await s.t.stop(); await v.t.stop(); await raw.stop() })

  await waitFor(() => v.t.peers().length === 1 && v.t.stats().refusedInbound >= 2, 'a admitted, stranger refused twice')
  t.same(v.t.peers(), [a.id], 'only a is connected')
  t.same(s.t.peers(), [], 'stranger has no peers')
  t.same(s.rec.events, [], 'the stranger never saw v as up (its dial "succeeds" until v\'s gater drops it)')
  t.ok((s.t.stats().perPeer[v.id]?.dials ?? 0) >= 2, 'the stranger keeps trying, with backoff')
  t.notOk(v.rec.up.has(s.id), 'no onPeerUp for the stranger')
  await expectRefused(v, raw)
  t.pass('a raw libp2p host with an unlisted key is refused too')

  t.equal(a.t.send(v.id, 'consensus', payload('hello', 0)), true)
  await waitFor(() => v.rec.messages.length === 1, 'message from a')
  t.equal(text(v.rec.messages[0]?.data ?? bytes()), 'hello:0')

  // Taking a off the allow-list disconnects it; putting it back lets it redial.
  v.t.setAllowedPeers([])
  await waitFor(() => v.t.peers().length === 0 && a.t.peers().length === 0, 'a dropped')
  v.t.setAllowedPeers([a.id])
  await waitFor(() => v.t.peers().length === 1, 'a back')
})

t.test('oversize frame: sender disconnected and scored; a repeat bans it; unban lets it back', async (t) => {
  // a believes votes may be 8 KiB; v enforces the real 4 KiB cap.
  const v = await startNode('big-v', { allowedPeers: [idOf('big-a')] })
  const a = await startNode('big-a', { persistentPeers: [v.addr], channelMaxBytes: { votes: 8192 } })
  t.teardown(async () => { await a.t.stop(); await v.t.stop() })
  await waitFor(() => v.t.peers().length === 1 && a.t.peers().length === 1, 'connected')

  t.equal(a.t.send(v.id, 'votes', payload('ok', 0)), true)
  t.equal(a.t.send(v.id, 'votes', payload('big', 1, 5000)), true)
  t.equal(a.t.send(v.id, 'votes', payload('after', 2)), true)
  await waitFor(() => v.t.stats().misbehaviorDisconnects === 1 && v.rec.events.length === 2, 'disconnected')
  t.same(v.rec.messages.map((m) => text(m.data)), ['ok:0'], 'nothing at or after the oversize frame is delivered')
  t.same(v.rec.events, [`up:${a.id}`, `down:${a.id}`])
  const st = v.t.stats().perPeer[a.id]
  t.equal(st?.score, 50, 'scored down')
  t.equal(st?.bannedUntil, null, 'not banned after one offense')

  await waitFor(() => v.t.peers().length === 1 && a.t.peers().length === 1, 'a redials and is let back in')
  t.equal(a.t.send(v.id, 'votes', payload('big', 3, 5000)), true)
  await waitFor(() => v.t.isBanned(a.id) && v.t.peers().length === 0, 'banned')
  t.equal(v.t.stats().bans, 1)
  const refused = v.t.stats().refusedInbound
  await waitFor(() => v.t.stats().refusedInbound >= refused + 2, 'redials refused while banned')
  t.same(v.t.peers(), [])

  v.t.unban(a.id)
  await waitFor(() => v.t.peers().length === 1, 'back after unban')
  t.equal(v.t.stats().perPeer[a.id]?.score, 0)
})

t.test('garbage on a channel stream: disconnect, repeat: ban, ban expires', async (t) => {
  let clock = 1_000_000
  const v = await startNode('junk-v', { allowedPeers: [idOf('junk-r')], scoring: { banMs: 60_000 } }, () => clock)
  const r = await rawHost('junk-r')
  t.teardown(async () => { await r.stop(); await v.t.stop() })
  const vAddr = multiaddr(`/ip4/127.0.0.1/tcp/${v.port}/p2p/${v.id}`)

  const writeJunk = async (junk: Uint8Array): Promise<void> => {
    const stream = await r.dialProtocol(vAddr, protocolFor('votes'))
    stream.send(junk)
    await waitFor(() => r.getConnections().length === 0, 'r disconnected by v')
  }
  // 1: a non-minimal length prefix (0x80 0x00 encodes 0 in two bytes).
  await writeJunk(bytes(0x80, 0x00, 1, 2, 3))
  t.equal(v.t.stats().perPeer[r.peerId.toString()]?.score, 50)
  t.equal(v.t.isBanned(r.peerId.toString()), false)
  // 2: random-looking junk whose "prefix" claims far more than the cap: a ban.
  await writeJunk(bytes(0xff, 0xff, 0xff, 0x7f, 0xde, 0xad, 0xbe, 0xef))
  t.equal(v.t.isBanned(r.peerId.toString()), true, 'repeat offender banned')
  t.equal(v.t.stats().misbehaviorDisconnects, 2)
  await expectRefused(v, r)
  t.pass('refused while banned')
  clock += 59_999
  await expectRefused(v, r)
  t.pass('still refused 1 ms before the ban ends')
  clock += 1
  const conn = await r.dial(vAddr)
  t.equal(conn.status, 'open', 'admitted once the ban has expired')
  await waitFor(() => v.t.peers().length === 1, 'up again')
  // A well-framed message still gets through on a fresh stream.
  const stream = await r.dialProtocol(vAddr, protocolFor('mempool'))
  stream.send(encodeUvarint(3))
  stream.send(bytes(7, 8, 9))
  await waitFor(() => v.rec.messages.length === 1, 'frame delivered')
  t.same([...(v.rec.messages[0]?.data ?? [])], [7, 8, 9])
})

t.test('a peer writing on our outbound stream is disconnected', async (t) => {
  const v = await startNode('back-v', { allowedPeers: [idOf('back-r')] })
  const inbound: Stream[] = []
  const r = await rawHost('back-r', (channel, stream) => { if (channel === 'votes') inbound.push(stream) })
  t.teardown(async () => { await r.stop(); await v.t.stop() })
  await r.dial(multiaddr(`/ip4/127.0.0.1/tcp/${v.port}/p2p/${v.id}`))
  await waitFor(() => inbound.length === 1, 'v opened its votes stream to r')
  inbound[0]?.send(bytes(1, 42))
  await waitFor(() => r.getConnections().length === 0, 'r dropped')
  t.equal(v.t.stats().perPeer[r.peerId.toString()]?.score, 50)
})

t.test('reportMisbehavior scores the peer; enough of it disconnects', async (t) => {
  const b = await startNode('rep-b', { allowedPeers: [idOf('rep-a')] })
  const a = await startNode('rep-a', { persistentPeers: [b.addr] })
  t.teardown(async () => { await a.t.stop(); await b.t.stop() })
  // b's application "decodes" mempool messages and reports the bad ones.
  b.t.subscribe({
    onMessage: (peer, channel, data) => {
      if (channel === 'mempool' && text(data).startsWith('bad')) b.t.reportMisbehavior(peer, 'spam', 'bad tx')
      if (channel === 'votes' && text(data).startsWith('forged')) b.t.reportMisbehavior(peer, 'invalid-signature', 'bad vote')
    },
    onPeerUp: () => {},
    onPeerDown: () => {},
  })
  await waitFor(() => b.t.peers().length === 1 && a.t.peers().length === 1, 'connected')
  for (let i = 0; i < 4; i++) a.t.send(b.id, 'mempool', payload('bad', i))
  await waitFor(() => b.rec.from(a.id, 'mempool').length === 4, 'bad txs arrive')
  t.equal(b.t.stats().perPeer[a.id]?.score, 40)
  t.equal(b.t.peers().length, 1, '4 × spam (40) < disconnect threshold (50)')
  a.t.send(b.id, 'votes', payload('forged', 0))
  await waitFor(() => b.t.stats().misbehaviorDisconnects === 1, 'disconnected')
  t.equal(b.t.isBanned(a.id), false, '90 points: not banned')
  await waitFor(() => b.t.peers().length === 1, 'a reconnects')
  b.t.reportMisbehavior(idOf('rep-unknown'), 'spam', 'ignored')
  t.notOk(b.t.stats().perPeer[idOf('rep-unknown')], 'unknown peers are not tracked')
})

t.test('reconnects to a persistent peer after it restarts', async (t) => {
  const b1 = await startNode('restart-b', { allowedPeers: [idOf('restart-a')] })
  const a = await startNode('restart-a', { persistentPeers: [b1.addr] })
  t.teardown(async () => { await a.t.stop() })
  await waitFor(() => a.t.peers().length === 1, 'connected')
  a.t.send(b1.id, 'consensus', payload('before', 0))
  await waitFor(() => b1.rec.messages.length === 1, 'delivered before')
  await b1.t.stop()
  await waitFor(() => a.t.peers().length === 0, 'a sees b go')
  // Let a fail at least one redial against the closed port before b comes back.
  await waitFor(() => (a.t.stats().perPeer[b1.id]?.dialFailures ?? 0) >= 1, 'a redial failed')
  const b2 = await startNode('restart-b', { allowedPeers: [idOf('restart-a')], listen: [`/ip4/127.0.0.1/tcp/${b1.port}`] })
  t.teardown(async () => { await b2.t.stop() })
  t.equal(b2.id, b1.id, 'same node key, same id')
  await waitFor(() => a.t.peers().length === 1 && b2.t.peers().length === 1, 'reconnected')
  t.same(a.rec.events, [`up:${b1.id}`, `down:${b1.id}`, `up:${b1.id}`])
  a.t.send(b2.id, 'consensus', payload('after', 0))
  await waitFor(() => b2.rec.messages.length === 1, 'delivered after')
  t.equal(text(b2.rec.messages[0]?.data ?? bytes()), 'after:0')
})
