/**
 * WebSocket at /websocket over real loopback sockets: subscribe/unsubscribe, every
 * committed Tx event exactly once and in order (several subscribers, filtered queries),
 * the subscribe response before the first event, CometBFT event shapes, subscription
 * limits, a slow subscriber disconnected with an error (never silently skipped), connection
 * and message limits, and shutdown.
 */
import t from 'tap'
import WebSocket from 'ws'
import { toHex, utf8 } from '../../src/bytes.ts'
import { txHash } from '../../src/types/index.ts'
import { connectWs, startHarness, type WsClient } from './helpers/setup.ts'

const isEvent = (id: unknown) => (m: any): boolean => m.id === id && m.result?.data !== undefined
const hashOf = (m: any): string => m.result.events['tx.hash'][0]

function txsFor (height: number, n: number, size = 0): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => utf8(`blk ${height} tx ${i} ${'p'.repeat(size)}`))
}

t.test('every committed Tx event exactly once, in order, to every matching subscriber', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const a = await connectWs(h.server.wsUrl())
  const b = await connectWs(h.server.wsUrl())
  t.teardown(async () => { await a.close(); await b.close() })
  t.same(await a.request('subscribe', { query: "tm.event='Tx'" }, 'all'), { jsonrpc: '2.0', id: 'all', result: {} })
  t.same((await b.request('subscribe', ["tm.event = 'Tx' AND disbursement.program = 'dibao'"], 7)).result, {})
  t.same((await b.request('subscribe', { query: "tm.event='NewBlockHeader'" }, 8)).result, {})

  const expected: string[] = []
  const expectedDibao: string[] = []
  const blocks = 40
  for (let i = 0; i < blocks; i++) {
    const txs = txsFor(6 + i, 1 + (i % 7))
    const e = h.backend.commitBlock(txs)
    e.results.txResults.forEach((r, j) => {
      const hash = toHex(txHash(txs[j]!)).toUpperCase()
      expected.push(hash)
      if (r.events.some((ev) => ev.attributes.some((x) => x.key === 'program' && x.value === 'dibao'))) expectedDibao.push(hash)
    })
    if (i % 5 === 0) await new Promise((resolve) => setImmediate(resolve)) // interleave with socket I/O
  }
  await h.server.idle()
  const got = (await a.waitFor(isEvent('all'), expected.length)).map(hashOf)
  t.equal(got.length, expected.length)
  t.same(got, expected, 'all Tx events, once each, in commit order')
  const gotDibao = (await b.waitFor(isEvent(7), expectedDibao.length)).map(hashOf)
  t.same(gotDibao, expectedDibao, 'the filtered subscriber gets exactly its matches, in order')
  const headers = await b.waitFor(isEvent(8), blocks)
  t.same(headers.map((m) => m.result.data.value.header.height), Array.from({ length: blocks }, (_, i) => String(6 + i)))
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(a.messages.filter(isEvent('all')).length, expected.length, 'no duplicates arrive later')

  // The shape of one Tx event (CometBFT ResultEvent with EventDataTx).
  const ev = a.messages.find(isEvent('all')) as any
  t.equal(ev.result.query, "tm.event='Tx'", 'the query as the client wrote it')
  t.equal(ev.result.data.type, 'tendermint/event/Tx')
  t.same(Object.keys(ev.result.data.value.TxResult), ['height', 'tx', 'result'], 'index 0 is omitted (libs/json omitempty)')
  t.same(ev.result.events['tm.event'], ['Tx'])
  t.same(ev.result.events['tx.height'], ['6'])
  t.same(ev.result.events['disbursement.note'], ['not indexed'], 'events carry every attribute, indexed or not')
  t.same(Object.keys(ev.result.data.value.TxResult.result), ['code', 'data', 'log', 'info', 'gas_wanted', 'gas_used', 'events', 'codespace'])

  // Unsubscribe stops delivery; unknown subscriptions are errors.
  t.same((await a.request('unsubscribe', { query: "tm.event = 'Tx'" })).result, {}, 'unsubscribe by the same query (canonical form)')
  t.equal((await a.request('unsubscribe', { query: "tm.event='Tx'" })).error.data, 'subscription not found')
  h.backend.commitBlock(txsFor(99, 2))
  await h.server.idle()
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(a.messages.filter(isEvent('all')).length, expected.length, 'nothing after unsubscribe')
  t.same((await b.request('unsubscribe_all')).result, {})
  t.equal((await b.request('unsubscribe_all')).error.data, 'subscription not found')
  t.equal(h.server.bus.numClients(), 0)
})

t.test('CometBFT block-level and consensus events', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const c = await connectWs(h.server.wsUrl())
  t.teardown(() => c.close())
  for (const [id, q] of [[1, "tm.event='NewBlock'"], [2, "tm.event='ValidatorSetUpdates'"], [3, "tm.event='NewRoundStep'"], [4, "tm.event='NewBlockEvents' AND block_summary.txs >= 1"], [5, "tm.event='Vote'"]] as const) {
    t.same((await c.request('subscribe', { query: q }, id)).result, {}, q)
  }
  const e = h.backend.chain.append(txsFor(6, 2), { validatorUpdates: [{ pubKey: h.backend.chain.validators.validators[0]!.pubKey, power: 0 }] })
  h.backend.emit({ type: 'NewBlock', block: e.block, blockId: e.blockId, results: e.results })
  h.backend.emit({ type: 'NewRoundStep', height: 7, round: 0, step: 'NewHeight' })
  h.backend.emit({ type: 'Vote', vote: { type: 'precommit', height: 6, round: 1, blockId: e.blockId, timestamp: e.block.header.time, validatorAddress: new Uint8Array(20).fill(1), validatorIndex: 2, signature: new Uint8Array(64).fill(2) } })
  const [nb] = await c.waitFor(isEvent(1))
  t.equal(nb.result.data.type, 'tendermint/event/NewBlock')
  t.same(Object.keys(nb.result.data.value), ['block', 'block_id', 'result_finalize_block'])
  t.same(Object.keys(nb.result.data.value.result_finalize_block), ['events', 'tx_results', 'validator_updates', 'app_hash'])
  t.same(nb.result.events['block_summary.txs'], ['2'])
  const [vu] = await c.waitFor(isEvent(2))
  t.same(vu.result.data, {
    type: 'tendermint/event/ValidatorSetUpdates',
    value: { validator_updates: [{ address: toHex(h.backend.chain.validators.validators[0]!.address).toUpperCase(), pub_key: { type: 'tendermint/PubKeyEd25519', value: Buffer.from(h.backend.chain.validators.validators[0]!.pubKey).toString('base64') }, voting_power: '0', proposer_priority: '0' }] },
  })
  const [rs] = await c.waitFor(isEvent(3))
  t.same(rs.result.data, { type: 'tendermint/event/RoundState', value: { height: '7', round: 0, step: 'RoundStepNewHeight' } })
  const [be] = await c.waitFor(isEvent(4))
  t.same(be.result.data.value, { height: '6', events: [{ type: 'block_summary', attributes: [{ key: 'txs', value: '2', index: true }, { key: 'proposer', value: 'v2', index: false }] }], num_txs: '2' })
  const [vote] = await c.waitFor(isEvent(5))
  t.same(Object.keys(vote.result.data.value), ['Vote'])
  t.equal(vote.result.data.value.Vote.type, 2)
})

t.test('the subscribe response always comes before the first event', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const c = await connectWs(h.server.wsUrl())
  t.teardown(() => c.close())
  let stop = false
  let height = 6
  const pump = (): void => {
    if (stop) return
    h.backend.emit({ type: 'NewRoundStep', height: height++, round: 0, step: 'Propose' })
    setImmediate(pump)
  }
  pump()
  for (let i = 0; i < 20; i++) {
    const id = `s${i}`
    c.ws.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'subscribe', params: { query: "tm.event='NewRoundStep'" } }))
    await c.waitFor(isEvent(id), 2)
    const mine = c.messages.filter((m: any) => m.id === id)
    t.same(mine[0], { jsonrpc: '2.0', id, result: {} }, `${id}: response first`)
    await c.request('unsubscribe_all')
  }
  stop = true
})

t.test('subscription limits and query errors', async (t) => {
  const h = await startHarness({ maxSubscriptionsPerClient: 2, maxSubscriptionClients: 2 })
  t.teardown(() => h.close())
  const a = await connectWs(h.server.wsUrl())
  const b = await connectWs(h.server.wsUrl())
  const c = await connectWs(h.server.wsUrl())
  t.teardown(async () => { await a.close(); await b.close(); await c.close() })
  t.same((await a.request('subscribe', { query: "tm.event='Tx'" })).result, {})
  t.equal((await a.request('subscribe', { query: "tm.event  =  'Tx'" })).error.data, 'already subscribed')
  t.same((await a.request('subscribe', { query: "tm.event='NewBlock'" })).result, {})
  t.equal((await a.request('subscribe', { query: "tm.event='Vote'" })).error.data, 'max_subscriptions_per_client 2 reached')
  t.same((await b.request('subscribe', { query: "tm.event='Tx'" })).result, {})
  t.equal((await c.request('subscribe', { query: "tm.event='Tx'" })).error.data, 'max_subscription_clients 2 reached')
  const bad = await c.request('subscribe', { query: "tm.event='Tx" })
  t.same(bad.error, { code: -32603, message: 'Internal error', data: "failed to parse query: offset 9: unterminated string (missing closing ')" })
  t.equal((await c.request('subscribe', { query: 5 })).error.code, -32602)
  t.equal((await c.request('subscribe', { query: 'a.b = ' + "'" + 'x'.repeat(600) + "'" })).error.data, 'maximum query length exceeded')
  await b.close()
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.same((await c.request('subscribe', { query: "tm.event='Tx'" })).result, {}, 'a closed connection frees its slot')
})

t.test('a subscriber that cannot keep up is disconnected with an error; others are unaffected', async (t) => {
  const h = await startHarness({ wsMaxBufferedBytes: 64 * 1024 })
  t.teardown(() => h.close())
  const slow = await connectWs(h.server.wsUrl())
  const fast = await connectWs(h.server.wsUrl())
  t.teardown(async () => { await slow.close(); await fast.close() })
  t.same((await slow.request('subscribe', { query: "tm.event='Tx'" }, 'slow')).result, {})
  t.same((await fast.request('subscribe', { query: "tm.event='Tx'" }, 'fast')).result, {})
  const socket = (slow.ws as unknown as { _socket: { pause: () => void, resume: () => void } })._socket
  socket.pause() // stop reading: the kernel buffers fill, then the server's
  const expected: string[] = []
  let closedAt = -1
  void slow.closed.then(() => { closedAt = expected.length })
  for (let i = 0; i < 200 && closedAt < 0; i++) {
    const txs = txsFor(6 + i, 10, 12_000)
    for (const tx of txs) expected.push(toHex(txHash(tx)).toUpperCase())
    h.backend.commitBlock(txs)
    await h.server.idle()
    await new Promise((resolve) => setTimeout(resolve, 2))
    if (h.server.bus.numClients() < 2) break
  }
  t.equal(h.server.bus.numClients(), 1, 'the slow subscription was cancelled')
  socket.resume()
  const closed = await slow.closed
  t.equal(closed.code, 1008, 'closed with policy violation')
  const events = slow.messages.filter(isEvent('slow')).map(hashOf)
  t.ok(events.length > 0 && events.length < expected.length, `got a prefix (${events.length}/${expected.length})`)
  t.same(events, expected.slice(0, events.length), 'what it got is an in-order prefix: nothing skipped silently')
  const last = slow.messages[slow.messages.length - 1] as any
  t.same(last, { jsonrpc: '2.0', id: 'slow', error: { code: -32000, message: 'Server error', data: 'subscription was canceled (reason: client is not pulling messages fast enough)' } })
  const fastGot = (await fast.waitFor(isEvent('fast'), expected.length, 20_000)).map(hashOf)
  t.same(fastGot, expected, 'the other subscriber got everything')
})

t.test('connection and message limits, protocol errors, shutdown', async (t) => {
  const h = await startHarness({ maxWsConnections: 2, wsMaxMessageBytes: 2048 })
  let stopped = false
  t.teardown(async () => { if (!stopped) await h.close() })
  const a = await connectWs(h.server.wsUrl())
  const b = await connectWs(h.server.wsUrl())
  await t.rejects(connectWs(h.server.wsUrl()), /unexpected response 503/, 'max open WebSocket connections')
  await t.rejects(connectWs(h.server.wsUrl().replace('/websocket', '/other')), /unexpected response 404/)
  // Protocol errors on an open connection.
  a.ws.send('{not json')
  const [pe] = await a.waitFor((m) => m.error?.code === -32700)
  t.equal(pe.id, null)
  a.ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'health' }))
  t.equal((await a.request('health')).result !== undefined, true, 'a notification got no answer; the next request is answered')
  t.equal(a.messages.filter((m: any) => m.result !== undefined && m.id === undefined).length, 0)
  const batch = await new Promise<any>((resolve) => {
    a.ws.once('message', (d) => resolve(JSON.parse(d.toString())))
    a.ws.send(JSON.stringify([{ jsonrpc: '2.0', id: 'x', method: 'health' }, { jsonrpc: '2.0', id: 'y', method: 'block', params: { height: '2' } }]))
  })
  t.same(batch.map((m: any) => m.id), ['x', 'y'], 'batches over WebSocket')
  t.equal((await a.request('block', { height: 'x' })).error.code, -32602)
  t.equal((await a.request('broadcast_tx_commit', { tx: Buffer.from([0xee]).toString('base64') })).result.check_tx.code, 7, 'HTTP routes work over WebSocket')
  b.ws.send('x'.repeat(4096))
  t.equal((await b.closed).code, 1009, 'oversize message closes with 1009')
  const c = await connectWs(h.server.wsUrl())
  t.same((await c.request('subscribe', { query: "tm.event='Tx'" }, 'c')).result, {})
  await h.close()
  stopped = true
  const closed = await c.closed
  t.equal(closed.code, 1001, 'server stop closes with 1001')
  t.match((c.messages[c.messages.length - 1] as any).error.data, /subscription was canceled \(reason: node is stopping\)/)
  t.equal(a.ws.readyState, WebSocket.CLOSED)
})

t.test('per-IP rate limit applies to WebSocket messages', async (t) => {
  const h = await startHarness({ rateLimit: { ratePerSecond: 1, burst: 3 } })
  t.teardown(() => h.close())
  const c: WsClient = await connectWs(h.server.wsUrl()) // takes one token
  t.teardown(() => c.close())
  t.ok((await c.request('health')).result)
  t.ok((await c.request('health')).result)
  c.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'over', method: 'health' }))
  const [err] = await c.waitFor((m) => m.error?.data === 'rate limit exceeded')
  t.equal(err.error.code, -32000)
})
