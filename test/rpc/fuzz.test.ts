/**
 * Robustness: 11,300 seeded random and malformed request bodies (random bytes, mutated and
 * truncated requests, random methods/params/ids for every route, batches, deep nesting,
 * huge numbers), 10,000 through the in-process HTTP pipeline and 1,300 over real sockets
 * (1,000 HTTP, 300 WebSocket). Every body must get a valid JSON-RPC 2.0 answer (or none for a
 * body of notifications only) within a deadline, and the server must still serve after.
 * A failure prints the seed and the case number; rerun with RPC_FUZZ_SEED=<seed>.
 */
import t from 'tap'
import { toBase64, toHex } from '../../src/bytes.ts'
import { ROUTE_NAMES, ROUTES } from '../../rpc/routes.ts'
import { createPrng, type Prng } from '../helpers/prng.ts'
import { connectWs, post, startHarness } from './helpers/setup.ts'

const SEED = Number(process.env.RPC_FUZZ_SEED ?? 20260101)
const KNOWN_CODES = new Set([-32700, -32600, -32601, -32602, -32603, -32000])

function randomString (p: Prng): string {
  const pools = ['abcdefghijklmnopqrstuvwxyz', '0123456789abcdefABCDEF', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ+/=', "'\"\\ {}[]:,.=<>!", '北京办理\u0000\u0001\u007f\ud83d\ude00']
  const n = p.int(24)
  let s = ''
  for (let i = 0; i < n; i++) s += p.pick(Array.from(p.pick(pools)))
  return s
}

function randomValue (p: Prng, depth = 0): unknown {
  switch (p.int(depth > 3 ? 6 : 9)) {
    case 0: return null
    case 1: return p.bool()
    case 2: return p.pick([0, 1, -1, 2 ** 53, -(2 ** 53), 1.5, 1e308, -0, 99999999999999999999, p.range(-1000, 1000)])
    case 3: return randomString(p)
    case 4: return String(p.pick([0, 1, 2, 3, 5, -1, 18446744073709551615n, 9007199254740993n]))
    case 5: return p.bool() ? '0x' + toHex(p.bytes(p.int(40))) : toBase64(p.bytes(p.int(40)))
    case 6: return Array.from({ length: p.int(4) }, () => randomValue(p, depth + 1))
    case 7: {
      const o: Record<string, unknown> = {}
      for (let i = p.int(4); i > 0; i--) o[p.pick(['height', 'hash', 'tx', 'query', 'page', 'per_page', 'prove', 'evidence', randomString(p)])] = randomValue(p, depth + 1)
      return o
    }
    default: return p.pick(["tm.event='Tx'", "disbursement.program = 'dibao' AND tx.height > 2", 'tx.height >= 3', 'a.b EXISTS', "bad 'query"])
  }
}

function validParams (p: Prng, method: string): unknown {
  const route = Object.hasOwn(ROUTES, method) ? ROUTES[method] : undefined
  if (route === undefined) return randomValue(p)
  const o: Record<string, unknown> = {}
  for (const a of route.args) {
    if (p.bool(0.3)) continue
    switch (a.type) {
      case 'int64': case 'int': case 'uint': o[a.name] = p.bool(0.8) ? String(p.range(-2, 8)) : randomValue(p); break
      case 'bool': o[a.name] = p.bool(0.8) ? p.bool() : randomValue(p); break
      case 'string': o[a.name] = p.bool(0.7) ? randomValue(p, 9) : randomValue(p); break
      case 'bytes': o[a.name] = p.bool(0.8) ? toBase64(p.bytes(p.pick([0, 1, 32, 100]))) : randomValue(p); break
      case 'hexbytes': o[a.name] = p.bool(0.8) ? toHex(p.bytes(p.pick([0, 2, 32]))) : randomValue(p); break
      case 'json': o[a.name] = randomValue(p); break
    }
  }
  return p.bool(0.85) ? o : route.args.map((a) => o[a.name] ?? null)
}

function randomRequest (p: Prng): Record<string, unknown> {
  const method = p.bool(0.85) ? p.pick(ROUTE_NAMES) : p.pick([randomString(p), 'subscribe', '__proto__', 'toString', ''])
  const r: Record<string, unknown> = {}
  if (p.bool(0.95)) r.jsonrpc = p.bool(0.97) ? '2.0' : p.pick(['1.0', 2, null])
  if (p.bool(0.93)) r.id = p.pick<unknown>([p.range(-5, 1e6), randomString(p), 'x', null, { a: 1 }, [1], true, 1.25])
  if (p.bool(0.97)) r.method = p.bool(0.97) ? method : randomValue(p)
  if (p.bool(0.9)) r.params = p.bool(0.8) ? validParams(p, method) : randomValue(p)
  return r
}

function mutate (p: Prng, s: string): string {
  const chars = Array.from(s)
  for (let k = p.range(1, 4); k > 0; k--) {
    const i = p.int(chars.length + 1)
    switch (p.int(4)) {
      case 0: chars.splice(i, 1); break
      case 1: chars.splice(i, 0, p.pick(Array.from('{}[]",:\\0x\u0000 ätrue'))); break
      case 2: chars.splice(i, 0, ...Array.from(s.slice(p.int(s.length)))); break
      default: chars.length = Math.min(chars.length, i)
    }
  }
  return chars.join('')
}

function randomBody (p: Prng): string | Uint8Array {
  switch (p.int(10)) {
    case 0: return p.bytes(p.range(1, 300))
    case 1: return mutate(p, JSON.stringify(randomRequest(p)))
    case 2: return JSON.stringify(Array.from({ length: p.int(14) }, () => (p.bool(0.9) ? randomRequest(p) : randomValue(p))))
    case 3: return p.pick(['[', '{', '"', 'null', 'true', '0', '[]', '{}', '[[]]', '[{}]', ' ', '\ufeff{}', '{"id":1}', '{"method":"status"}'])
    case 4: { const d = p.range(1, 5000); return '['.repeat(d) + ']'.repeat(p.bool() ? d : p.int(d)) }
    case 5: return `{"jsonrpc":"2.0","id":${p.pick(['1e999', '-0', '1'.repeat(400), '0.5', '"x"'])},"method":"${p.pick(ROUTE_NAMES)}","params":{"height":${p.pick(['1e999', '"1e3"', '"0x10"', '"+5"', '" 5"', '"5 "', '"٣"'])}}}`
    case 6: return mutate(p, JSON.stringify(Array.from({ length: p.range(1, 4) }, () => randomRequest(p))))
    default: return JSON.stringify(randomRequest(p))
  }
}

/** Checks one answer; returns a complaint or undefined. */
function checkAnswer (reqText: string, status: number, text: string): string | undefined {
  if (![200, 204, 413, 500].includes(status)) return `HTTP ${status}`
  if (text === '') return status === 204 ? undefined : 'empty body without 204'
  let v: unknown
  try { v = JSON.parse(text) } catch { return 'answer is not JSON' }
  const list = Array.isArray(v) ? v : [v]
  if (list.length === 0) return 'empty array answer'
  for (const r of list as Array<Record<string, unknown>>) {
    if (typeof r !== 'object' || r === null) return 'answer element is not an object'
    if (r.jsonrpc !== '2.0') return 'jsonrpc is not "2.0"'
    if (!('id' in r) || !(r.id === null || typeof r.id === 'string' || typeof r.id === 'number')) return 'bad id'
    const hasResult = 'result' in r
    const hasError = 'error' in r
    if (hasResult === hasError) return 'needs exactly one of result and error'
    if (hasError) {
      const e = r.error as Record<string, unknown>
      if (typeof e !== 'object' || e === null || !KNOWN_CODES.has(e.code as number) || typeof e.message !== 'string') return `bad error object ${JSON.stringify(e)}`
      if ('data' in e && typeof e.data !== 'string') return 'error data is not a string'
    }
  }
  // Ids echo: a single valid request gets its own id back.
  try {
    const req = JSON.parse(reqText) as Record<string, unknown>
    if (!Array.isArray(v) && req !== null && typeof req === 'object' && !Array.isArray(req) &&
      (typeof req.id === 'string' || (typeof req.id === 'number' && Number.isFinite(req.id))) && (v as Record<string, unknown>).id !== req.id) {
      return `id not echoed (${JSON.stringify(req.id)} → ${JSON.stringify((v as Record<string, unknown>).id)})`
    }
  } catch { /* not JSON: nothing to echo */ }
  return undefined
}

function withDeadline<T> (p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([p, new Promise<T>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`hung: ${what}`)), ms) })])
    .finally(() => clearTimeout(timer))
}

const asText = (b: string | Uint8Array): string => (typeof b === 'string' ? b : Buffer.from(b).toString('latin1'))

t.test(`10,000 random bodies in-process (seed ${SEED})`, async (t) => {
  const h = await startHarness({ timeoutBroadcastTxCommitMs: 1, maxBodyBytes: 64 * 1024 })
  t.teardown(() => h.close())
  const p = createPrng(SEED)
  let answered = 0
  let silent = 0
  const codes = new Map<number, number>()
  for (let i = 0; i < 10_000; i++) {
    const b = randomBody(p)
    const out = await withDeadline(h.server.handle({ method: 'POST', url: '/', body: b }), 5000, `case ${i}`)
    const why = checkAnswer(asText(b), out.status, out.body)
    if (why !== undefined) {
      t.fail(`seed ${SEED} case ${i}: ${why}\nbody: ${asText(b).slice(0, 300)}\nanswer: ${out.body.slice(0, 300)}`)
      return
    }
    if (out.body === '') silent++
    else {
      answered++
      const v = JSON.parse(out.body) as unknown
      for (const r of (Array.isArray(v) ? v : [v]) as Array<{ error?: { code: number } }>) codes.set(r.error?.code ?? 0, (codes.get(r.error?.code ?? 0) ?? 0) + 1)
    }
  }
  t.equal(answered + silent, 10_000)
  t.ok(silent < 1000, `${silent} bodies were notifications only`)
  for (const c of [0, -32700, -32600, -32601, -32602, -32603]) t.ok((codes.get(c) ?? 0) > 0, `code ${c} seen ${codes.get(c) ?? 0} times`)
  t.equal((await h.server.call('health')).result !== undefined, true, 'still serving')
})

t.test(`1,300 random bodies over real sockets (seed ${SEED + 1})`, async (t) => {
  const h = await startHarness({ timeoutBroadcastTxCommitMs: 1, maxBodyBytes: 64 * 1024 })
  t.teardown(() => h.close())
  const p = createPrng(SEED + 1)
  const base = h.server.url()
  for (let i = 0; i < 1000; i++) {
    const b = randomBody(p)
    const r = await withDeadline(post(base, b), 5000, `http case ${i}`)
    const why = checkAnswer(asText(b), r.status, r.text)
    if (why !== undefined) {
      t.fail(`seed ${SEED + 1} http case ${i}: ${why}\nbody: ${asText(b).slice(0, 300)}\nanswer: ${r.text.slice(0, 300)}`)
      return
    }
  }
  t.pass('1,000 HTTP bodies answered')
  // WebSocket: every text message that is not only notifications gets a valid answer.
  const c = await connectWs(h.server.wsUrl())
  t.teardown(() => c.close())
  let expectAnswers = 0
  for (let i = 0; i < 300; i++) {
    let b = randomBody(p)
    if (typeof b !== 'string') b = Buffer.from(b).toString('base64') // text frames only
    const before = c.messages.length
    c.ws.send(b)
    c.ws.send(JSON.stringify({ jsonrpc: '2.0', id: `marker-${i}`, method: 'health' }))
    await withDeadline(c.waitFor((m) => m.id === `marker-${i}`), 5000, `ws case ${i}`)
    const answers = c.messages.slice(before, -1)
    for (const a of answers) {
      const why = checkAnswer(b, 200, JSON.stringify(a))
      if (why !== undefined && !why.startsWith('id not echoed')) {
        t.fail(`seed ${SEED + 1} ws case ${i}: ${why}\nbody: ${b.slice(0, 300)}\nanswer: ${JSON.stringify(a).slice(0, 300)}`)
        return
      }
    }
    expectAnswers += answers.length
  }
  t.ok(expectAnswers > 200, `${expectAnswers} WebSocket answers checked`)
  const health = await post(base, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'health' }))
  t.same(health.json, { jsonrpc: '2.0', id: 1, result: {} }, 'still serving over HTTP')
  t.same((await c.request('status')).result.sync_info.latest_block_height, '5', 'and over WebSocket')
})
