/**
 * Errors, as CometBFT returns them: JSON-RPC envelope errors (-32700, -32600, -32601),
 * parameter decoding (-32602 "error converting … params to arguments: …"), handler errors
 * (-32603 with CometBFT's texts), URI-form errors (HTTP 500/404), and the HTTP-level limits
 * (body size, batch size, methods, CORS, rate limit, indexing disabled).
 */
import t from 'tap'
import { MemoryLevel } from 'memory-level'
import { toBase64, utf8 } from '../../src/bytes.ts'
import { openIndexer, type IndexDb } from '../../rpc/indexer.ts'
import { evidenceJson } from '../../rpc/encode.ts'
import { createRpcServer } from '../../rpc/server.ts'
import { createFakeBackend } from './helpers/fake-backend.ts'
import { post, startHarness, type Harness } from './helpers/setup.ts'

const body = (method: string, params?: unknown, id: unknown = 1): string => JSON.stringify({ jsonrpc: '2.0', id, method, params })

async function call (h: Harness, text: string | Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number, json: any, body: string, headers: Record<string, string> }> {
  const out = await h.server.handle({ method: 'POST', url: '/', body: text, headers })
  return { status: out.status, json: out.body === '' ? undefined : JSON.parse(out.body), body: out.body, headers: out.headers }
}

async function uri (h: Harness, path: string): Promise<{ status: number, json: any }> {
  const out = await h.server.handle({ method: 'GET', url: path })
  return { status: out.status, json: JSON.parse(out.body) }
}

t.test('JSON-RPC envelope errors', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  let r = await call(h, '{"jsonrpc":"2.0","id":1,"method":')
  t.equal(r.status, 500, 'parse error is HTTP 500, as CometBFT')
  t.equal(r.json.id, null)
  t.equal(r.json.error.code, -32700)
  t.equal(r.json.error.message, 'Parse error. Invalid JSON')
  t.match(r.json.error.data, /^error unmarshaling request: /)
  r = await call(h, Uint8Array.from([0x7b, 0xff, 0x7d]))
  t.equal(r.json.error.code, -32700, 'invalid UTF-8')
  for (const [text, code, data] of [
    ['5', -32600, 'request must be a JSON object'],
    ['"status"', -32600, 'request must be a JSON object'],
    ['null', -32600, 'request must be a JSON object'],
    ['{"jsonrpc":"2.0","id":{"a":1},"method":"status"}', -32600, 'json-rpc ID is of unknown type (object)'],
    ['{"jsonrpc":"2.0","id":true,"method":"status"}', -32600, 'json-rpc ID is of unknown type (boolean)'],
    ['{"jsonrpc":"2.0","id":7,"method":5}', -32600, 'method must be a string'],
    ['{"jsonrpc":"1.0","id":7,"method":"status"}', -32600, 'jsonrpc must be "2.0"'],
    ['[]', -32600, 'empty batch'],
    [body('no_such_method'), -32601, undefined],
    [body('subscribe', { query: "tm.event='Tx'" }), -32601, undefined],
    [body('unsubscribe_all'), -32601, undefined],
    [body('__proto__'), -32601, undefined],
    [body('constructor'), -32601, undefined],
  ] as Array<[string, number, string | undefined]>) {
    r = await call(h, text)
    t.equal(r.status, 200, `${text}: HTTP 200`)
    t.equal(r.json.error.code, code, text)
    t.equal(r.json.error.data, data, `${text}: data`)
  }
  t.same((await call(h, body('no_such_method', undefined, 'abc'))).json, { jsonrpc: '2.0', id: 'abc', error: { code: -32601, message: 'Method not found' } })

  r = await call(h, '{"jsonrpc":"2.0","method":"status"}')
  t.equal(r.status, 204, 'a notification gets no response')
  t.equal(r.body, '')
  r = await call(h, '{"jsonrpc":"2.0","id":null,"method":"status"}')
  t.equal(r.status, 204, 'id null is a notification too (CometBFT)')
  r = await call(h, `[${body('health', {}, 1)},{"jsonrpc":"2.0","method":"health"},${body('nope', {}, 3)},7]`)
  t.same(r.json.map((x: any) => [x.id, x.error?.code ?? 0]), [[1, 0], [3, -32601], [null, -32600]], 'batch: notifications skipped, order kept')
  r = await call(h, `[${body('health', {}, 1)}]`)
  t.ok(Array.isArray(r.json), 'a batch of one answers an array')
  r = await call(h, JSON.stringify(Array.from({ length: 11 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'health' }))))
  t.same(r.json, [{ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request', data: 'batch request exceeds maximum (10) allowed number of requests' } }])
  r = await call(h, JSON.stringify(Array.from({ length: 10 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'health' }))))
  t.equal(r.json.length, 10, 'a batch at the limit is served')
})

t.test('parameter errors (-32602) and CometBFT handler errors (-32603)', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const conv = 'error converting json params to arguments: '
  const cases: Array<[string, unknown, number, string | RegExp]> = [
    ['block', { height: 'abc' }, -32602, conv + 'height: invalid int64 "abc"'],
    ['block', { height: 1.5 }, -32602, conv + 'height: invalid 64-bit integer encoding 1.5, expected string'],
    ['block', { height: true }, -32602, /expected string/],
    ['block', { height: '99999999999999999999' }, -32602, conv + 'height: 99999999999999999999 is out of range'],
    ['block', ['1', '2'], -32602, conv + 'expected 1 parameters ([height]), got 2'],
    ['block', 'height=1', -32602, conv + 'unknown type for JSON params: "height=1". Expected map or array'],
    ['genesis_chunked', { chunk: '-1' }, -32602, conv + 'chunk: -1 is negative, expected uint'],
    ['tx', { hash: 'not base64!' }, -32602, conv + 'hash: illegal base64 data "not base64!"'],
    ['tx', { hash: toBase64(new Uint8Array(32)), prove: 'yes' }, -32602, conv + 'prove: cannot unmarshal "yes" into Go value of type bool'],
    ['header_by_hash', { hash: 'zz' }, -32602, conv + 'hash: invalid hex string "zz"'],
    ['abci_query', { path: 5 }, -32602, conv + 'path: cannot unmarshal 5 into Go value of type string'],
    ['broadcast_evidence', { evidence: [1] }, -32602, conv + 'evidence: expected a JSON object, got [1]'],
    ['broadcast_evidence', { evidence: { type: 'tendermint/LightClientAttackEvidence', value: {} } }, -32602, /only "tendermint\/DuplicateVoteEvidence" is supported/],
    ['block', { height: '0' }, -32603, 'height must be greater than 0, but got 0'],
    ['block', { height: '-3' }, -32603, 'height must be greater than 0, but got -3'],
    ['block', { height: '99' }, -32603, 'height 99 must be less than or equal to the current blockchain height 5'],
    ['validators', { height: '9' }, -32603, 'height 9 must be less than or equal to the current blockchain height 6'],
    ['validators', { page: '9' }, -32603, 'page should be within [1, 1] range, given 9'],
    ['validators', { page: '0' }, -32603, 'page should be within [1, 1] range, given 0'],
    ['blockchain', { minHeight: '5', maxHeight: '3' }, -32603, "min height 5 can't be greater than max height 3"],
    ['blockchain', { minHeight: '-1' }, -32603, 'heights must be non-negative'],
    ['tx', { hash: toBase64(new Uint8Array(32)) }, -32603, `tx (${'00'.repeat(32)}) not found`],
    ['tx', {}, -32603, 'transaction hash cannot be empty'],
    ['tx_search', { query: "tm.event = 'Tx" }, -32603, "offset 11: unterminated string (missing closing ')"],
    ['tx_search', { query: "tm.event='Tx'", order_by: 'up' }, -32603, 'expected order_by to be either `asc` or `desc` or empty'],
    ['tx_search', { query: "tm.event='Tx'", page: '50' }, -32603, 'page should be within [1, 1] range, given 50'],
    ['tx_search', { query: 'a.b = ' + "'" + 'x'.repeat(600) + "'" }, -32603, 'maximum query length exceeded'],
    ['block_search', { query: 'block.height >' }, -32603, /wanted number, timestamp or datestamp/],
    ['genesis_chunked', { chunk: '5' }, -32603, 'there are 0 chunks, 5 is invalid'],
    ['consensus_params', { height: '99' }, -32603, 'height 99 must be less than or equal to the current blockchain height 6'],
    ['abci_query', { path: '/echo', height: '-1' }, -32603, 'height must be non-negative, but got -1'],
    ['broadcast_tx_sync', { tx: toBase64(Uint8Array.from([0xff, 1])) }, -32603, 'tx already exists in cache'],
    ['broadcast_tx_commit', { tx: toBase64(Uint8Array.from([0xff, 1])) }, -32603, 'error on broadcastTxCommit: tx already exists in cache'],
    ['broadcast_evidence', {}, -32603, 'no evidence was provided'],
  ]
  for (const [method, params, code, data] of cases) {
    const r = await call(h, body(method, params))
    t.equal(r.json.error?.code, code, `${method} ${JSON.stringify(params).slice(0, 60)}: code`)
    t.equal(r.json.error?.message, code === -32602 ? 'Invalid params' : 'Internal error')
    if (typeof data === 'string') t.equal(r.json.error?.data, data)
    else t.match(r.json.error?.data, data)
  }
  // Lenient where CometBFT is strict: plain JSON integers for int64 arguments.
  t.equal((await call(h, body('block', { height: 2 }))).json.result.block.header.height, '2')
  t.equal((await call(h, body('block', { height: null }))).json.result.block.header.height, '5', 'null = absent')
  // Evidence that fails ValidateBasic, and evidence the pool refuses.
  const ev = evidenceJson(h.backend.chain.entries[3]!.block.evidence[0]!) as any
  const same = { ...ev, value: { ...ev.value, vote_b: ev.value.vote_a } }
  t.match((await call(h, body('broadcast_evidence', { evidence: same }))).json.error.data, /^evidence.ValidateBasic failed: .*same block id/)
  const future = JSON.parse(JSON.stringify(ev))
  future.value.vote_a.height = future.value.vote_b.height = '77'
  t.equal((await call(h, body('broadcast_evidence', { evidence: future }))).json.error.data, 'failed to add evidence: no block or validator set for the evidence height')
  const precise = JSON.parse(JSON.stringify(ev))
  precise.value.Timestamp = '2026-01-01T00:00:03.750000001Z'
  t.match((await call(h, body('broadcast_evidence', { evidence: precise }))).json.error.data, /Timestamp: more precise than a millisecond/)
})

t.test('URI form: CometBFT argument conventions and errors', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  t.equal((await uri(h, '/block?height="3"')).json.result.block.header.height, '3', 'quoted integer')
  t.equal((await uri(h, '/block?height=')).json.result.block.header.height, '5', 'empty = absent')
  t.equal((await uri(h, '/tx_search?query=tm.event=\'Tx\'&order_by=desc&per_page=1')).json.result.total_count, '10', 'unquoted strings (lenient)')
  t.equal((await uri(h, '/abci_query?path=0x2f6563686f&data="ab"')).json.result.response.key, toBase64(utf8('ab')), '0x string, quoted bytes')
  let r = await uri(h, '/block?height=abc')
  t.equal(r.status, 500)
  t.same(r.json.error, { code: -32602, message: 'Invalid params', data: 'error converting http params to arguments: height: invalid character in "abc" (quote strings, use 0x for hex bytes)' })
  r = await uri(h, '/block?height=0x05')
  t.equal(r.json.error.data, "error converting http params to arguments: height: got a hex string arg, but expected 'int64'")
  r = await uri(h, '/tx?hash=0xzz')
  t.equal(r.json.error.data, 'error converting http params to arguments: hash: invalid hex string "zz"')
  r = await uri(h, '/block?height=99')
  t.equal(r.status, 500, 'handler errors are HTTP 500 in the URI form, as CometBFT')
  t.equal(r.json.id, -1)
  t.equal(r.json.error.code, -32603)
  for (const path of ['/nope', '/subscribe?query="tm.event=\'Tx\'"', '/unsubscribe_all']) {
    r = await uri(h, path)
    t.equal(r.status, 404, `${path}: 404`)
    t.same(r.json, { jsonrpc: '2.0', id: -1, error: { code: -32601, message: 'Method not found' } })
  }
  const html = await h.server.handle({ method: 'GET', url: '/' })
  t.equal(html.headers['Content-Type'], 'text/html')
  t.match(html.body, /Available endpoints:.*\/status.*Endpoints that require arguments:.*\/block\?height=_/)
  const put = await h.server.handle({ method: 'PUT', url: '/', body: body('health') })
  t.equal(put.status, 405)
  t.equal(JSON.parse(put.body).error.code, -32600)
  const head = await h.server.handle({ method: 'HEAD', url: '/health' })
  t.equal(head.status, 200)
  t.equal(head.body, '')
  t.equal((await h.server.handle({ method: 'GET', url: '/websocket' })).status, 400)
})

t.test('body size limit, in-process and over a socket (declared and streamed)', async (t) => {
  const h = await startHarness({ maxBodyBytes: 1000 })
  t.teardown(() => h.close())
  const big = body('broadcast_tx_sync', { tx: toBase64(new Uint8Array(2000)) })
  const r = await call(h, big)
  t.equal(r.status, 413)
  t.same(r.json, { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request', data: 'error reading request body: http: request body too large' } })
  const base = h.server.url()
  const s = await post(base, big)
  t.equal(s.status, 413, 'declared Content-Length over the limit')
  const stream = new ReadableStream({
    start (c) {
      for (let i = 0; i < 20; i++) c.enqueue(new Uint8Array(200).fill(0x20))
      c.close()
    },
  })
  const res = await fetch(base + '/', { method: 'POST', body: stream, duplex: 'half', headers: { 'Content-Type': 'application/json' } } as RequestInit)
  t.equal(res.status, 413, 'chunked body over the limit')
  await res.text()
  t.equal((await post(base, body('health'))).status, 200, 'still serving')
})

t.test('CORS', async (t) => {
  const h = await startHarness({ cors: { allowedOrigins: ['https://office.example.cn', 'http://*.gov.example'] } })
  t.teardown(() => h.close())
  const pre = async (origin: string, method = 'POST', headers = 'content-type'): Promise<Record<string, string>> =>
    (await h.server.handle({ method: 'OPTIONS', url: '/', headers: { Origin: origin, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': headers } })).headers
  let hd = await pre('https://office.example.cn')
  t.equal(hd['Access-Control-Allow-Origin'], 'https://office.example.cn')
  t.equal(hd['Access-Control-Allow-Methods'], 'POST')
  t.equal(hd['Access-Control-Allow-Headers'], 'content-type')
  hd = await pre('http://beijing.gov.example')
  t.equal(hd['Access-Control-Allow-Origin'], 'http://beijing.gov.example', 'wildcard origin')
  hd = await pre('https://evil.example')
  t.equal(hd['Access-Control-Allow-Origin'], undefined, 'other origins refused')
  hd = await pre('https://office.example.cn', 'DELETE')
  t.equal(hd['Access-Control-Allow-Methods'], undefined, 'method not allowed')
  hd = await pre('https://office.example.cn', 'POST', 'x-secret')
  t.equal(hd['Access-Control-Allow-Origin'], undefined, 'header not allowed')
  const simple = await h.server.handle({ method: 'POST', url: '/', body: body('health'), headers: { Origin: 'https://office.example.cn' } })
  t.equal(simple.headers['Access-Control-Allow-Origin'], 'https://office.example.cn')
  t.equal(simple.headers.Vary, 'Origin')
  const other = await h.server.handle({ method: 'POST', url: '/', body: body('health'), headers: { Origin: 'https://evil.example' } })
  t.equal(other.headers['Access-Control-Allow-Origin'], undefined)
  const h2 = await startHarness({ cors: { allowedOrigins: ['*'] } })
  t.teardown(() => h2.close())
  t.equal((await h2.server.handle({ method: 'GET', url: '/health', headers: { Origin: 'https://any.example' } })).headers['Access-Control-Allow-Origin'], '*')
  t.equal((await h2.server.handle({ method: 'GET', url: '/health' })).headers['Access-Control-Allow-Origin'], undefined, 'no Origin, no CORS')
  t.throws(() => createRpcServer({ cors: { allowedOrigins: ['http://*.*.example'] } }, { backend: createFakeBackend() }), /more than one wildcard/)
})

t.test('per-IP rate limit (token bucket)', async (t) => {
  let now = 1_000_000
  const h = await startHarness({ rateLimit: { ratePerSecond: 2, burst: 3 }, clock: { now: () => now } })
  t.teardown(() => h.close())
  const hit = async (ip: string): Promise<number> => (await h.server.handle({ method: 'GET', url: '/health', ip })).status
  t.same([await hit('10.0.0.1'), await hit('10.0.0.1'), await hit('10.0.0.1'), await hit('10.0.0.1')], [200, 200, 200, 429])
  t.equal(await hit('10.0.0.2'), 200, 'per IP')
  const r = await h.server.handle({ method: 'POST', url: '/', body: body('health'), ip: '10.0.0.1' })
  t.equal(r.status, 429)
  t.same(JSON.parse(r.body).error, { code: -32000, message: 'Server error', data: 'rate limit exceeded' })
  t.equal(r.headers['Retry-After'], '1')
  now += 500
  t.same([await hit('10.0.0.1'), await hit('10.0.0.1')], [200, 429], 'refills at the configured rate')
})

t.test('indexing disabled, and block_results from the indexer', async (t) => {
  const backend = createFakeBackend()
  const server = createRpcServer({ laddr: '127.0.0.1:0' }, { backend })
  await server.start()
  t.teardown(() => server.stop())
  const c = async (m: string, p: unknown): Promise<any> => (await server.call(m, p))
  t.equal((await c('tx', { hash: toBase64(new Uint8Array(32)) })).error.data, 'transaction indexing is disabled')
  t.equal((await c('tx_search', { query: "tm.event='Tx'" })).error.data, 'transaction indexing is disabled')
  t.equal((await c('block_search', { query: "tm.event='NewBlock'" })).error.data, 'block indexing is disabled')
  t.equal((await c('status', {})).result.node_info.other.tx_index, 'off')

  const b2 = createFakeBackend().withoutResults()
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
  const indexer = await openIndexer({ db: db as unknown as IndexDb })
  for (const e of b2.chain.entries) await indexer.indexBlock(e.block, e.results)
  const s2 = createRpcServer({ laddr: '127.0.0.1:0' }, { backend: b2, indexer })
  await s2.start()
  t.teardown(async () => { await s2.stop(); await indexer.close(); await db.close() })
  const r = await s2.call('block_results', { height: '3' })
  t.equal((r.result as any)?.height, '3', 'served from the indexer')
  t.equal((r.result as any).txs_results.length, 2)
  t.same(r.result, (await server.call('block_results', { height: '3' })).result, 'same as from the node')
  t.equal((await s2.call('block_results', { height: '0' })).error?.data, 'height must be greater than 0, but got 0')
})
