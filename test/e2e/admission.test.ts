/**
 * e2e (d, e): peer admission on a running 4-validator testnet (DESIGN §8).
 * (d) A fifth node with its own key, listing the validators as persistent peers, is not in
 *     their allow-list: it keeps dialing, is refused, never has a peer, never syncs a block;
 *     the validators keep committing.
 * (e) An allowed peer identity (a raw libp2p host whose id the validators allow, as a
 *     configured full node would be) opens the consensus protocol stream and writes junk: a
 *     malformed frame, then a well-framed undecodable message. Each time the node scores it,
 *     drops the connection (the second offense bans it), and keeps committing with its
 *     validator peers. A second allowed identity sends a well-formed vote in a validator's
 *     name with a forged signature: scored and dropped too.
 */
import t from 'tap'
import { encodeUvarint } from '../../p2p/frame.ts'
import { encodeVoteMessage } from '../../consensus/messages.ts'
import { fromHex } from '../../src/bytes.ts'
import { nilBlockId } from '../../src/types/block-id.ts'
import { compareStores, createTestnet, waitFor } from './harness.ts'
import { addStranger, rawPeerKey, startRawPeer } from './peers.ts'
import { rpcGet } from './probes.ts'

// Process start-up alone can take tens of seconds on a loaded machine; every wait inside is bounded.
t.setTimeout(600_000)

t.test('admission: strangers are refused, junk senders dropped, the chain goes on', async (t) => {
  const started = Date.now()
  const junkKey = rawPeerKey()
  const forgerKey = rawPeerKey()
  const net = await createTestnet({
    validators: 4,
    label: 'admit',
    configure: (cfg) => { cfg.p2p.allowed_peer_ids = [...cfg.p2p.allowed_peer_ids, junkKey.id, forgerKey.id] },
  })
  t.teardown(async () => { await net.destroy({ printLogs: !t.passing(), print: (m) => t.comment(m) }) })
  const stranger = await addStranger(net, 'stranger', ['--log-level', 'debug'])
  const [v0] = net.nodes
  if (v0 === undefined) throw new Error('no node0')

  await net.start([...net.nodes, stranger])
  t.comment(`probe: ${v0.probe.kind}; base port ${net.basePort}`)
  await net.waitHeight(2, { timeoutMs: 180_000 })

  await t.test('(d) a peer id not on the allow-list cannot connect', async (t) => {
    const h0 = Math.max(...(await net.heights()))
    // The stranger really tries: its dials reach the validators and are dropped by their gater.
    const refusals = (): number => stranger.log.find((e) =>
      e.msg === 'connection dropped before the peer admitted us' || e.msg === 'dial failed; will retry').length
    await waitFor(() => refusals() >= 4, {
      timeoutMs: 120_000, what: 'the stranger to be refused 4 times', describe: () => `${refusals()} so far`, abortIf: () => net.failure(),
    })
    await net.waitHeight(h0 + 4, { timeoutMs: 120_000, what: 'the validators to commit 4 more heights' })
    t.pass(`validators went on from ${h0} to ≥ ${h0 + 4} while the stranger was refused ${refusals()} times`)
    t.same(stranger.log.find((e) => e.msg === 'peer up'), [], 'the stranger never had a peer up')
    t.equal(await stranger.probe.height(), 0, 'the stranger holds no block')
    t.same(stranger.log.find((e) => e.msg === 'committed block' || e.msg === 'switching to block sync'), [], 'it neither synced nor committed')
    for (const v of net.nodes) {
      t.same(v.log.find((e) => e.msg === 'peer up' && e.peer === stranger.nodeId), [], `${v.name} never admitted the stranger`)
    }
    if (v0.probe.kind === 'rpc') {
      const ni = await rpcGet(v0.rpcUrl, '/net_info') as { n_peers?: string, peers?: Array<{ node_info?: { id?: string } }> }
      t.equal(ni.n_peers, '3', `${v0.name} /net_info: 3 peers`)
      t.notOk((ni.peers ?? []).some((p) => p.node_info?.id === stranger.nodeId), 'the stranger is not among them')
      const sni = await rpcGet(stranger.rpcUrl, '/net_info') as { n_peers?: string }
      t.equal(sni.n_peers, '0', 'the stranger\'s /net_info: 0 peers')
    }
    await stranger.kill()
  })

  await t.test('(e) a peer writing garbage on the consensus stream is dropped; the node keeps committing', async (t) => {
    const raw = await startRawPeer(junkKey)
    t.teardown(async () => { await raw.stop() })
    const misbehaved = (): Array<Record<string, unknown>> => v0.log.find((e) => e.msg === 'peer misbehaved' && e.peer === raw.id)
    const h0 = await v0.probe.height()

    // 1: a malformed frame (a non-minimal length prefix: 0x80 0x00 encodes 0 in two bytes).
    t.ok(await raw.dial(v0), 'the allowed raw peer connects')
    await raw.write(v0, 'consensus', new Uint8Array([0x80, 0x00, 1, 2, 3, 0xde, 0xad]))
    await waitFor(() => raw.connections(v0) === 0 && misbehaved().length >= 1, {
      timeoutMs: 60_000, what: `${v0.name} to drop the junk sender`, abortIf: () => net.failure(),
    })
    t.pass(`${v0.name} dropped the peer after a malformed frame: ${JSON.stringify(misbehaved()[0]?.kind)} score ${String(misbehaved()[0]?.score)}`)

    // 2: a well-framed message that is not a consensus message.
    const junk = new Uint8Array(64).map((_, i) => (i * 37 + 11) & 0xff)
    const frame = new Uint8Array([...encodeUvarint(junk.length), ...junk])
    const reconnected = await waitFor(async () => await raw.dial(v0), { timeoutMs: 30_000, what: 'the raw peer to reconnect after one offense' })
    t.ok(reconnected, 'one offense: disconnected, not banned')
    await raw.write(v0, 'consensus', frame)
    await waitFor(() => raw.connections(v0) === 0 && misbehaved().length >= 2, {
      timeoutMs: 60_000, what: `${v0.name} to drop the peer after an undecodable consensus message`, abortIf: () => net.failure(),
    })
    const second = misbehaved()[1]
    t.equal(second?.ban, true, `second offense (${String(second?.kind)}: ${String(second?.detail)}) bans the peer`)
    // Banned: a new connection does not stay open.
    const rejoin = await raw.dial(v0)
    await waitFor(() => raw.connections(v0) === 0, { timeoutMs: 30_000, what: 'the banned peer\'s connection to be closed' })
    t.pass(`banned peer refused (dial ${rejoin ? 'opened, then dropped by the gater' : 'failed'})`)

    // 3: another allowed identity sends well-formed votes in a validator's name with a
    // signature that is not theirs.
    const forger = await startRawPeer(forgerKey)
    t.teardown(async () => { await forger.stop() })
    const v1 = net.nodes[1]
    if (v1 === undefined) throw new Error('no node1')
    // The node checks votes of its current height and buffers those of the next one, and
    // ignores older ones: the chain may move on while the forger dials, so it keeps sending
    // votes for the next two heights until the node reacts.
    // Equal powers: the set is ordered by address.
    const index = net.nodes.map((n) => n.validatorAddress).sort().indexOf(v1.validatorAddress)
    const forgedVote = (height: number): Uint8Array => {
      const vote = encodeVoteMessage({
        type: 'vote',
        value: {
          type: 'prevote', height, round: 0, blockId: nilBlockId(), timestamp: Date.now(),
          validatorAddress: fromHex(v1.validatorAddress), validatorIndex: index, signature: new Uint8Array(64).fill(7),
        },
      })
      return new Uint8Array([...encodeUvarint(vote.length), ...vote])
    }
    const forged = (): Array<Record<string, unknown>> => v0.log.find((e) => e.msg === 'peer misbehaved' && e.peer === forger.id)
    t.ok(await forger.dial(v0), 'the forger connects')
    await waitFor(async () => {
      if (forged().length > 0) return forger.connections(v0) === 0
      const h = await v0.probe.height()
      for (const height of [h + 1, h + 2]) await forger.write(v0, 'votes', forgedVote(height)).catch(() => undefined)
      return false
    }, { timeoutMs: 90_000, intervalMs: 1000, what: `${v0.name} to drop the vote forger`, abortIf: () => net.failure() })
    t.pass(`forged vote: ${String(forged()[0]?.kind)} (${String(forged()[0]?.detail)}); the forger was dropped`)

    // The node never lost its validator peers and keeps committing.
    await net.waitHeight(h0 + 4, { timeoutMs: 120_000, what: 'the validators to commit 4 more heights after the junk' })
    const downs = v0.log.find((e) => e.msg === 'peer down' && e.peer !== raw.id && e.peer !== forger.id)
    t.same(downs.map((e) => e.peer), [], `${v0.name} kept every validator peer`)
    t.ok(v0.running(), `${v0.name} still running`)
  })

  const stored = await compareStores(net.nodes)
  t.same(stored.mismatches, [], `stores: identical hashes and app hashes at heights 1..${Math.min(...stored.heights)}`)
  t.same(stored.cleanStops, [true, true, true, true], 'every validator stops cleanly')
  t.comment(`took ${((Date.now() - started) / 1000).toFixed(1)} s`)
})
