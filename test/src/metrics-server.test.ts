import t from 'tap'
import { request } from 'node:http'
import { connect, type Socket } from 'node:net'
import { defaultConfig } from '../../src/config/config.ts'
import { isAidError } from '../../src/errors.ts'
import { createMetrics, metricCatalogue } from '../../src/metrics.ts'
import { createMetricsServer, DEFAULT_METRICS_LISTEN_ADDR, metricsServerOptions } from '../../src/metrics-server.ts'
import { parseExposition, sampleValue } from './metrics-exposition.ts'

interface Reply { status: number, headers: Record<string, string | string[] | undefined>, body: string }

/** One request on a fresh connection (no keep-alive agent, so connection caps are visible). */
function get (url: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('serves /metrics in the exposition format; values move between scrapes', async (t) => {
  const metrics = createMetrics({ chainId: 'aid-devnet-1' })
  const server = createMetricsServer({ listenAddr: '127.0.0.1:0' }, { metrics })
  t.equal(server.url(), null)
  await server.start()
  t.teardown(() => server.stop())
  const addr = server.address()
  t.ok(addr !== null && addr.port > 0 && addr.host === '127.0.0.1')
  const url = server.url()!
  t.equal(url, `http://127.0.0.1:${addr!.port}/metrics`)

  const r1 = await get(url)
  t.equal(r1.status, 200)
  t.match(String(r1.headers['content-type']), /^text\/plain; version=0\.0\.4; charset=utf-8$/)
  t.equal(r1.headers['cache-control'], 'no-store')
  const f1 = parseExposition(r1.body)
  for (const c of metricCatalogue()) {
    t.equal(f1.get(c.name)?.type, c.type, `${c.name} served as ${c.type}`)
  }
  t.ok(f1.has('aidledger_process_resident_memory_bytes'), 'process metrics served')
  for (const f of f1.values()) for (const s of f.samples) if (s.labels.chain_id !== 'aid-devnet-1') t.fail(`${s.name} lacks chain_id`)
  t.equal(sampleValue(f1, 'aidledger_consensus_height'), 0)

  metrics.observeBlock({ height: 7, numTxs: 2, sizeBytes: 900, intervalSeconds: 1, validators: { count: 4, power: 40 } })
  metrics.setMempool({ size: 3, sizeBytes: 1200, counters: { failed: 1, rejected: 0, evicted: 0, recheck: 2 } })
  metrics.setPeers({ peers: 3 })
  metrics.observeTx('register-household', 0)
  metrics.setSyncing(true)
  const f2 = parseExposition((await get(url)).body)
  t.equal(sampleValue(f2, 'aidledger_consensus_height'), 7)
  t.equal(sampleValue(f2, 'aidledger_consensus_validators'), 4)
  t.equal(sampleValue(f2, 'aidledger_mempool_size'), 3)
  t.equal(sampleValue(f2, 'aidledger_mempool_recheck_times'), 2)
  t.equal(sampleValue(f2, 'aidledger_p2p_peers'), 3)
  t.equal(sampleValue(f2, 'aidledger_blocksync_syncing'), 1)
  t.equal(sampleValue(f2, 'aidledger_app_txs_total', { operation: 'register-household', code: '0' }), 1)
  t.equal(sampleValue(f2, 'aidledger_consensus_block_interval_seconds', {}, 'aidledger_consensus_block_interval_seconds_count'), 1)

  const head = await get(url, 'HEAD')
  t.equal(head.status, 200)
  t.equal(head.body, '')
  t.equal((await get(url, 'POST')).status, 405)
  t.equal((await get(url.replace('/metrics', '/'))).status, 404)
  t.equal((await get(url.replace('/metrics', '/health'))).status, 404, '/health is the RPC\'s')
  t.equal((await get(url + '?x=1')).status, 200, 'query strings ignored')
})

t.test('a disabled metrics object serves an empty body', async (t) => {
  const server = createMetricsServer({ listenAddr: '127.0.0.1:0' }, { metrics: createMetrics({ chainId: 'x', enabled: false }) })
  await server.start()
  t.teardown(() => server.stop())
  const r = await get(server.url()!)
  t.equal(r.status, 200)
  t.equal(r.body, '')
})

t.test('config: off when instrumentation.prometheus = false; defaults', async (t) => {
  const cfg = defaultConfig()
  t.same(metricsServerOptions(cfg.instrumentation), { listenAddr: '127.0.0.1:26660', maxOpenConnections: 3 })
  t.equal(DEFAULT_METRICS_LISTEN_ADDR, cfg.instrumentation.prometheus_listen_addr)
  cfg.instrumentation.prometheus = false
  t.equal(metricsServerOptions(cfg.instrumentation), null)
})

t.test('listen errors are ERR_METRICS_LISTEN', async (t) => {
  const metrics = createMetrics({ chainId: 'x', enabled: false })
  const a = createMetricsServer({ listenAddr: '127.0.0.1:0' }, { metrics })
  await a.start()
  t.teardown(() => a.stop())
  const b = createMetricsServer({ listenAddr: `127.0.0.1:${a.address()!.port}` }, { metrics })
  const inUse = await b.start().then(() => null, (err: unknown) => err)
  t.ok(isAidError(inUse, 'ERR_METRICS_LISTEN'), 'address in use')
  t.match((inUse as Error).message, /EADDRINUSE/)
  t.equal(b.address(), null)
  let bad: unknown
  try { createMetricsServer({ listenAddr: 'no-port' }, { metrics }) } catch (err) { bad = err }
  t.ok(isAidError(bad, 'ERR_METRICS_LISTEN'), 'bad address')
  // IPv6 literal, if the machine has ::1
  const v6 = createMetricsServer({ listenAddr: '[::1]:0' }, { metrics })
  try {
    await v6.start()
  } catch {
    t.comment('no IPv6 loopback here')
    return
  }
  t.match(v6.url(), /^http:\/\/\[::1\]:\d+\/metrics$/)
  t.equal((await get(v6.url()!)).status, 200)
  await v6.stop()
})

t.test('max_open_connections caps simultaneous connections; stop closes idle ones', async (t) => {
  const metrics = createMetrics({ chainId: 'x', processMetrics: false })
  const server = createMetricsServer({ listenAddr: '127.0.0.1:0', maxOpenConnections: 1 }, { metrics })
  await server.start()
  const { port } = server.address()!
  const hold: Socket = await new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s))
    s.on('error', reject)
  })
  // wait until the server has accepted the held connection
  let refused = false
  for (let i = 0; i < 50 && !refused; i++) {
    refused = await get(server.url()!).then(() => false, () => true)
    if (!refused) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.ok(refused, 'a second connection is refused while one is open')
  const closed = new Promise<void>((resolve) => hold.once('close', () => resolve()))
  hold.destroy()
  await closed
  let ok = false
  for (let i = 0; i < 50 && !ok; i++) {
    ok = await get(server.url()!).then((r) => r.status === 200, () => false)
    if (!ok) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.ok(ok, 'served again once the first connection closed')

  // an idle keep-alive connection does not hold stop() up
  const idle: Socket = await new Promise((resolve) => { const s = connect(port, '127.0.0.1', () => resolve(s)) })
  const idleClosed = new Promise<void>((resolve) => idle.once('close', () => resolve()))
  await server.stop()
  await idleClosed
  t.equal(server.address(), null)
  await server.stop()
  t.pass('stop twice is fine')
})
