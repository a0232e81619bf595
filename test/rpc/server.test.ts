/**
 * The server's lifecycle and the limits not covered elsewhere: option validation, start and
 * stop, the indexer catching up from the node's stores on start (and the event pipeline
 * indexing before publishing), max open connections, header size, genesis chunking, the
 * catching-up view of validators/consensus_params.
 */
import t from 'tap'
import { connect } from 'node:net'
import { MemoryLevel } from 'memory-level'
import { createLogger } from '../../src/log.ts'
import { openIndexer, type IndexDb } from '../../rpc/indexer.ts'
import { createRpcServer } from '../../rpc/server.ts'
import { genesisDocJson } from '../../rpc/routes-chain.ts'
import { createFakeBackend } from './helpers/fake-backend.ts'
import { buildChain } from './helpers/fixtures.ts'
import { get, startHarness } from './helpers/setup.ts'

t.test('options are validated', async (t) => {
  const backend = createFakeBackend()
  for (const [opts, re] of [
    [{ laddr: 'unix:///tmp/rpc.sock' }, /laddr "unix:\/\/\/tmp\/rpc.sock" is not tcp:\/\/host:port/],
    [{ laddr: 'tcp://127.0.0.1:70000' }, /is not tcp:\/\/host:port/],
    [{ maxBodyBytes: 0 }, /maxBodyBytes must be a positive integer/],
    [{ maxBatchSize: -1 }, /maxBatchSize must be a non-negative integer/],
    [{ wsMaxBufferedBytes: 1.5 }, /wsMaxBufferedBytes/],
    [{ rateLimit: { ratePerSecond: 1, burst: 0 } }, /rateLimit needs/],
  ] as const) {
    t.throws(() => createRpcServer(opts, { backend }), { code: 'ERR_RPC_INVALID_OPTIONS', message: re })
  }
  const s = createRpcServer({}, { backend })
  t.equal(s.url(), 'http://127.0.0.1:26657', 'default address (not started)')
  t.equal(s.wsUrl(), 'ws://127.0.0.1:26657/websocket')
  t.throws(() => s.address(), { code: 'ERR_RPC_CLOSED' })
  t.equal(createRpcServer({ laddr: '[::1]:0' }, { backend }).url(), 'http://[::1]:0')
  await s.stop() // stopping a server that never started is fine
})

t.test('start, stop, restart; the backend subscription follows', async (t) => {
  const backend = createFakeBackend()
  const s = createRpcServer({ laddr: '127.0.0.1:0' }, { backend })
  await s.start()
  t.equal(backend.listeners(), 1)
  await t.rejects(s.start(), /already started/)
  t.equal((await get(s.url(), '/health')).status, 200)
  const url = s.url()
  await s.stop()
  t.equal(backend.listeners(), 0)
  await t.rejects(fetch(url + '/health'), /fetch failed/, 'no longer listening')
  await s.start()
  t.equal((await get(s.url(), '/health')).status, 200, 'restarts')
  await s.stop()
})

t.test('the indexer catches up from the node on start, then follows events (index, then publish)', async (t) => {
  const backend = createFakeBackend(buildChain(8))
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
  const indexer = await openIndexer({ db: db as unknown as IndexDb })
  for (const e of backend.chain.entries.slice(0, 3)) await indexer.indexBlock(e.block, e.results)
  const lines: string[] = []
  const s = createRpcServer({ laddr: '127.0.0.1:0' }, { backend, indexer, logger: createLogger({ write: (l) => lines.push(l) }) })
  await s.start()
  t.teardown(async () => { await s.stop(); await indexer.close(); await db.close() })
  await s.idle()
  t.equal(indexer.height(), 8, 'caught up to the node')
  t.ok(lines.some((l) => l.includes('indexer caught up')))
  const seen: number[] = []
  s.bus.subscribe('test', (await import('../../rpc/query.ts')).parseQuery("tm.event='NewBlock'"), {
    deliver: (_s, msg) => { seen.push(indexer.height()); void msg; return true },
  })
  backend.commitBlock()
  backend.commitBlock()
  await s.idle()
  t.same(seen, [9, 10], 'each NewBlock is published after its block is indexed')
})

t.test('without block results the node cannot be re-indexed: a warning, no crash', async (t) => {
  const backend = createFakeBackend().withoutResults()
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
  const indexer = await openIndexer({ db: db as unknown as IndexDb })
  const lines: string[] = []
  const s = createRpcServer({ laddr: '127.0.0.1:0' }, { backend, indexer, logger: createLogger({ write: (l) => lines.push(l) }) })
  await s.start()
  t.teardown(async () => { await s.stop(); await indexer.close(); await db.close() })
  await s.idle()
  t.equal(indexer.height(), 0)
  t.ok(lines.some((l) => l.includes('blocks not indexed')), 'warned')
  backend.commitBlock([new TextEncoder().encode('after the gap')])
  await s.idle()
  t.equal(indexer.height(), 6, 'later blocks are indexed anyway')
  t.equal(((await s.call('tx_search', { query: 'tx.height = 6' })).result as any).total_count, '1')
  t.equal(((await s.call('tx_search', { query: 'tx.height = 3' })).result as any).total_count, '0', 'the gap stays (logged)')
})

t.test('a gap left by a failed index write is filled from the stores before the next block', async (t) => {
  const backend = createFakeBackend(buildChain(3))
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
  const real = await openIndexer({ db: db as unknown as IndexDb })
  let failNext = false
  const indexer = { ...real, height: () => real.height(), indexBlock: async (b: any, r: any) => { if (failNext) { failNext = false; throw new Error('disk full') } return real.indexBlock(b, r) } }
  const s = createRpcServer({ laddr: '127.0.0.1:0' }, { backend, indexer })
  await s.start()
  t.teardown(async () => { await s.stop(); await real.close(); await db.close() })
  await s.idle()
  t.equal(real.height(), 3)
  failNext = true
  backend.commitBlock()
  await s.idle()
  t.equal(real.height(), 3, 'block 4 failed to index')
  backend.commitBlock()
  await s.idle()
  t.equal(real.height(), 5, 'block 4 re-indexed from the stores, then 5')
  t.equal(((await s.call('block_search', { query: 'block.height >= 4' })).result as any).total_count, '2')
})

t.test('max open connections and header size', async (t) => {
  const h = await startHarness({ maxOpenConnections: 2, maxHeaderBytes: 2048 })
  t.teardown(() => h.close())
  const { port } = h.server.address()
  const open = async (): Promise<{ sock: ReturnType<typeof connect>, closed: Promise<void> }> => {
    const sock = connect(port, '127.0.0.1')
    const closed = new Promise<void>((resolve) => sock.on('close', () => resolve()))
    sock.on('error', () => {})
    await new Promise<void>((resolve) => sock.on('connect', () => resolve()))
    return { sock, closed }
  }
  const a = await open()
  const b = await open()
  const c = await open()
  let cClosed = false
  void c.closed.then(() => { cClosed = true })
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.ok(cClosed, 'a third connection is dropped')
  a.sock.destroy()
  b.sock.destroy()
  await Promise.all([a.closed, b.closed])
  await new Promise((resolve) => setTimeout(resolve, 50))
  const big = await fetch(h.server.url() + '/health', { headers: { 'X-Big': 'x'.repeat(4096) } })
  t.equal(big.status, 431, 'header too large')
  t.same((await big.json() as any).error, { code: -32600, message: 'Invalid Request', data: 'request head exceeds 2048 bytes' })
  const raw = await new Promise<string>((resolve) => {
    const sock = connect(port, '127.0.0.1', () => sock.write('NOT HTTP AT ALL\r\n\r\n'))
    let got = ''
    sock.on('data', (d) => { got += d.toString() })
    sock.on('close', () => resolve(got))
    sock.on('error', () => {})
  })
  t.match(raw, /^HTTP\/1.1 400 Bad Request[\s\S]*"code":-32600/, 'malformed HTTP gets a JSON-RPC error')
  t.equal((await get(h.server.url(), '/health')).status, 200, 'still serving')
})

t.test('genesis in chunks when it is large', async (t) => {
  const h = await startHarness({ genesisChunkSize: 256 })
  t.teardown(() => h.close())
  const g = await h.server.call('genesis')
  t.equal(g.error?.data, 'genesis response is large, please use the genesis_chunked API instead')
  const first = (await h.server.call('genesis_chunked', { chunk: '0' })).result as { total: string, data: string }
  const total = Number(first.total)
  t.ok(total > 1)
  const parts: Buffer[] = []
  for (let i = 0; i < total; i++) {
    const r = (await h.server.call('genesis_chunked', [String(i)])).result as { chunk: string, data: string }
    t.equal(r.chunk, String(i))
    parts.push(Buffer.from(r.data, 'base64'))
  }
  t.same(JSON.parse(Buffer.concat(parts).toString('utf8')), genesisDocJson(h.backend.genesis()), 'the chunks are the genesis document')
  t.equal((await h.server.call('genesis_chunked', { chunk: String(total) })).error?.data, `there are ${total - 1} chunks, ${total} is invalid`)
})

t.test('while catching up, the latest validators/params are those of the last block', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  t.equal(((await h.server.call('validators')).result as any).block_height, '6')
  h.backend.catching = true
  t.equal(((await h.server.call('validators')).result as any).block_height, '5')
  t.equal(((await h.server.call('consensus_params')).result as any).block_height, '5')
  t.equal(((await h.server.call('status')).result as any).sync_info.catching_up, true)
})
