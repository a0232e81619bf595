/**
 * The consensus engine shell end to end: an in-process network of engines (helpers/) over
 * the in-memory transport and a fake clock.
 */
import t from 'tap'
import { toHex } from '../../src/bytes.ts'
import { decodeChannelMessage } from '../../consensus/messages.ts'
import { TestNet } from './helpers/network.ts'

t.test('4 validators commit 10 heights with identical block and app hashes', async (t) => {
  const tn = await TestNet.create(t, { validators: 4, logLevel: process.env.ENGINE_LOG as 'debug' | undefined })
  await tn.startAll()
  const ok = await tn.runUntil(() => tn.allAt(10), 120_000)
  t.ok(ok, `all reached height 10 (heights ${tn.nodes.map((n) => n.height()).join(',')})`)
  for (let h = 1; h <= 10; h++) {
    const hashes = new Set(tn.nodes.map((n) => n.blocks.get(h)?.hash))
    const apps = new Set(tn.nodes.map((n) => n.blocks.get(h)?.appHash))
    t.equal(hashes.size, 1, `one block hash at height ${h}`)
    t.equal(apps.size, 1, `one app hash at height ${h}`)
  }
  t.same(tn.net.misbehavior, [], 'no misbehavior reported')
})

t.test('a stopped engine restarts from its stores and WAL and catches up by block sync', async (t) => {
  const tn = await TestNet.create(t, { validators: 4 })
  await tn.startAll()
  t.ok(await tn.runUntil(() => tn.allAt(3)), 'all at 3')
  await tn.stop(3)
  const stoppedAt = tn.nodes[3]!.blocks.size
  t.ok(await tn.runUntil(() => tn.allAt(stoppedAt + 8)), 'the other three go on without it')
  await tn.start(3)
  const node = tn.nodes[3]!
  t.ok(await tn.runUntil(() => tn.allAt(stoppedAt + 12)), `it catches up (heights ${tn.nodes.map((n) => n.height()).join(',')})`)
  const synced = [...node.blocks.values()].filter((b) => b.source === 'blocksync').length
  t.ok(synced >= 5, `${synced} blocks came by block sync`)
  t.ok(node.events.some((e) => e.type === 'catching-up' && e.catchingUp) && node.events.some((e) => e.type === 'catching-up' && !e.catchingUp), 'catching-up went on and off')
  for (let h = 1; h <= stoppedAt + 12; h++) {
    t.equal(new Set(tn.nodes.map((n) => n.blocks.get(h)?.hash)).size, 1, `one block at ${h}`)
  }
  t.equal(node.disk.height, node.height(), 'the app is at the chain height')
  // after catching up it takes part in consensus again: it signs votes
  const h = node.height()
  t.ok(await tn.runUntil(() => tn.allAt(h + 3)), 'three more heights')
  const own = node.events.filter((e) => e.type === 'vote' && e.vote.height > h && Buffer.compare(Buffer.from(e.vote.validatorAddress), Buffer.from(node.current!.privval!.address)) === 0)
  t.ok(own.length >= 3, 'it votes again after the switch to consensus')
})

t.test('with 2 of 4 down nothing is committed and nothing forks; restarted, they resume', async (t) => {
  const tn = await TestNet.create(t, { validators: 4 })
  await tn.startAll()
  t.ok(await tn.runUntil(() => tn.allAt(2)), 'all at 2')
  await tn.stop(2)
  await tn.stop(3)
  await tn.time.advance(500)
  const stuck = Math.max(tn.nodes[0]!.height(), tn.nodes[1]!.height())
  await tn.time.advance(20_000)
  t.equal(tn.nodes[0]!.height(), stuck, 'node 0 made no progress')
  t.equal(tn.nodes[1]!.height(), stuck, 'node 1 made no progress')
  // Half the power cannot form +2/3 of anything: the live nodes wait in prevote (Tendermint needs 2f+1 to move on).
  t.ok(['prevote', 'precommit', 'propose'].includes(tn.nodes[0]!.engine.status().step), `node 0 waits (${tn.nodes[0]!.engine.status().step})`)
  t.equal(new Set(tn.nodes.slice(0, 2).map((n) => n.blocks.get(stuck)?.hash)).size, 1, 'the live nodes agree on their last block')
  await tn.start(2)
  await tn.start(3)
  t.ok(await tn.runUntil(() => tn.allAt(stuck + 3), 60_000), `all resume (heights ${tn.nodes.map((n) => n.height()).join(',')})`)
  for (let h = 1; h <= stuck + 3; h++) t.equal(new Set(tn.nodes.map((n) => n.blocks.get(h)?.hash)).size, 1, `one block at ${h}`)
})

t.test('txs submitted to one node are committed exactly once on every node', async (t) => {
  const tn = await TestNet.create(t, { validators: 4 })
  await tn.startAll()
  t.ok(await tn.runUntil(() => tn.allAt(1)), 'started')
  const txs: string[] = []
  for (let i = 0; i < 40; i++) txs.push(Buffer.from(await tn.submit(i % 2, `k${i}=v${i}`)).toString('hex'))
  t.ok(await tn.runUntil(() => tn.nodes.every((n) => n.disk.committed.size >= 40 && n.current!.mempool.size() === 0), 60_000), 'all txs committed, mempools empty')
  for (const n of tn.nodes) {
    const all = [...n.blocks.values()].flatMap((b) => b.txs)
    t.equal(all.length, 40, `${n.id}: 40 txs in blocks`)
    t.equal(new Set(all).size, 40, `${n.id}: each once`)
    t.same(new Set(all), new Set(txs), `${n.id}: the submitted ones`)
    t.equal(n.disk.entries.get('k39'), 'v39', `${n.id}: state applied`)
  }
  const h = tn.nodes[0]!.height()
  for (let x = 1; x <= h; x++) t.equal(new Set(tn.nodes.map((n) => n.blocks.get(x)?.hash)).size, 1, `one block at ${x}`)
})

t.test('a validator restarted mid-height restores its votes from the WAL and signs nothing new for them', async (t) => {
  const tn = await TestNet.create(t, { validators: 4 })
  const signed = new Map<string, Set<string>>()
  tn.net.tap = (d) => {
    if (d.channel !== 'votes') return
    const m = decodeChannelMessage(d.channel, d.data)
    if (!m.ok || m.value.channel !== 'votes') return
    const v = m.value.message.value
    const k = `${v.validatorIndex}/${v.height}/${v.round}/${v.type}`
    const s = signed.get(k) ?? new Set<string>()
    s.add(Buffer.from(v.signature).toString('hex'))
    signed.set(k, s)
  }
  await tn.startAll()
  t.ok(await tn.runUntil(() => tn.allAt(2)), 'all at 2')
  await tn.stop(2)
  await tn.stop(3)
  await tn.time.advance(3000) // nodes 0 and 1 prevote (and wait: no quorum without 2 and 3)
  const h = tn.nodes[0]!.engine.status().height
  const before = tn.nodes[0]!.current!.privval!.lastSignState()
  t.equal(before.height, h, 'node 0 signed at the stuck height')
  await tn.crash(0)
  await tn.start(0)
  await tn.time.advance(1000)
  const after = tn.nodes[0]!.current!.privval!.lastSignState()
  t.same([after.height, after.round, after.step], [before.height, before.round, before.step], 'no new signature: the vote came from the WAL')
  await tn.start(2)
  await tn.start(3)
  t.ok(await tn.runUntil(() => tn.allAt(h + 2)), `all go on (heights ${tn.nodes.map((n) => n.height()).join(',')})`)
  const twice = [...signed].filter(([, s]) => s.size > 1).map(([k]) => k)
  t.same(twice, [], 'no validator put two different signatures on one height/round/type')
  for (let x = 1; x <= h + 2; x++) t.equal(new Set(tn.nodes.map((n) => n.blocks.get(x)?.hash)).size, 1, `one block at ${x}`)
})

t.test('real clock and timers: 4 validators and a full node commit, with txs', async (t) => {
  const tn = await TestNet.create(t, {
    validators: 4,
    fullNodes: 1,
    realTime: true,
    engine: { timeouts: { propose: 400, proposeDelta: 100, prevote: 200, prevoteDelta: 100, precommit: 200, precommitDelta: 100, commit: 50 }, gossipIntervalMs: 20 },
  })
  await tn.startAll()
  for (let i = 0; i < 10; i++) await tn.submit(i % 5, `rt${i}=${i}`)
  const t0 = Date.now()
  t.ok(await tn.runUntil(() => tn.allAt(6) && tn.nodes.every((n) => n.disk.committed.size === 10), 20_000), `all at 6 with 10 txs (heights ${tn.nodes.map((n) => n.height()).join(',')})`)
  t.comment(`6 heights in ${Date.now() - t0} ms of real time`)
  for (let h = 1; h <= 6; h++) t.equal(new Set(tn.nodes.map((n) => n.blocks.get(h)?.hash)).size, 1, `one block at ${h}`)
  await tn.shutdown()
  await new Promise((resolve) => setTimeout(resolve, 50))
})

t.test('a validator whose clock lags beyond the drift prevotes nil on new blocks but still commits what +2/3 precommit', async (t) => {
  const tn = await TestNet.create(t, { validators: 4, skewMs: [0, 0, 0, -60_000], engine: { maxClockDriftMs: 10_000 } })
  await tn.startAll()
  t.ok(await tn.runUntil(() => tn.allAt(6)), `all at 6 (heights ${tn.nodes.map((n) => n.height()).join(',')})`)
  const slow = tn.nodes[3]!
  t.ok([...slow.blocks.values()].every((b) => b.source === 'consensus'), 'the slow node committed every block by consensus, not block sync')
  const addr = toHex(slow.current!.privval!.address)
  const own = slow.events.flatMap((e) => (e.type === 'vote' && e.vote.type === 'prevote' && toHex(e.vote.validatorAddress) === addr ? [e.vote] : []))
  const othersBlocks = own.filter((v) => v.blockId.hash.length > 0 && v.height > 1)
  t.ok(own.length > 0 && othersBlocks.every((v) => slow.blocks.get(v.height)?.proposer === addr), 'it prevoted for no block but its own (the others\' are "from the future")')
  for (let h = 1; h <= 6; h++) t.equal(new Set(tn.nodes.map((n) => n.blocks.get(h)?.hash)).size, 1, `one block at ${h}`)
})
