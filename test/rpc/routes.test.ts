/**
 * Every route's response, pinned by golden JSON (test/rpc/golden/*.json) for the fake
 * backend's fixed chain, driven in-process through the same HTTP pipeline the sockets use.
 * The shapes follow CometBFT v0.38 (rpc/core/types/responses.go, openapi.yaml); the
 * goldens were reviewed field by field against them. Regenerate with UPDATE_GOLDEN=1 only
 * after such a review.
 *
 * Also: the URI form and the JSON-RPC form give the same result for the same arguments;
 * every route (but the WebSocket-only ones) is covered.
 */
import t, { type Test } from 'tap'
import { readFile, writeFile, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { toBase64, toHex, utf8 } from '../../src/bytes.ts'
import { txHash } from '../../src/types/index.ts'
import { evidenceJson } from '../../rpc/encode.ts'
import { ROUTE_NAMES, ROUTES } from '../../rpc/routes.ts'
import { startHarness, type Harness } from './helpers/setup.ts'

const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), 'golden')
const covered = new Set<string>()

async function golden (t: Test, name: string, value: unknown): Promise<void> {
  const text = JSON.stringify(value, null, 2) + '\n'
  const file = join(GOLDEN, `${name}.json`)
  if (process.env.UPDATE_GOLDEN === '1') {
    await mkdir(GOLDEN, { recursive: true })
    await writeFile(file, text)
  }
  let want: string
  try {
    want = await readFile(file, 'utf8')
  } catch {
    t.fail(`missing golden ${name}.json (run with UPDATE_GOLDEN=1 after reviewing)`)
    return
  }
  t.equal(text, want, `golden ${name}`)
}

async function uri (h: Harness, path: string): Promise<{ status: number, json: any }> {
  const out = await h.server.handle({ method: 'GET', url: path })
  covered.add(new URL(path, 'http://x').pathname.slice(1))
  return { status: out.status, json: JSON.parse(out.body) }
}

async function rpc (h: Harness, method: string, params?: unknown): Promise<{ status: number, json: any }> {
  const out = await h.server.handle({ method: 'POST', url: '/', body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
  covered.add(method)
  return { status: out.status, json: JSON.parse(out.body) }
}

t.test('read-only routes over the fixed chain', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const chain = h.backend.chain
  const cases: Array<[string, string]> = [
    ['health', '/health'],
    ['status', '/status'],
    ['net_info', '/net_info'],
    ['blockchain', '/blockchain'],
    ['blockchain_2_3', '/blockchain?minHeight=2&maxHeight=3'],
    ['block_1', '/block?height=1'],
    ['block_4', '/block?height=4'],
    ['block_latest', '/block'],
    ['block_results_3', '/block_results?height=3'],
    ['block_results_4', '/block_results?height=4'],
    ['block_results_1', '/block_results?height=1'],
    ['commit_3', '/commit?height=3'],
    ['commit_latest', '/commit'],
    ['header_2', '/header?height=2'],
    ['validators', '/validators'],
    ['validators_page_2', '/validators?height=3&page=2&per_page=3'],
    ['genesis', '/genesis'],
    ['genesis_chunked', '/genesis_chunked?chunk=0'],
    ['consensus_params', '/consensus_params?height=2'],
    ['consensus_state', '/consensus_state'],
    ['dump_consensus_state', '/dump_consensus_state'],
    ['abci_info', '/abci_info'],
    ['abci_query_echo', '/abci_query?path="/echo"&data=0xabcd&height=4&prove=true'],
    ['abci_query_unknown', '/abci_query?path="/nothing"'],
    ['num_unconfirmed_txs', '/num_unconfirmed_txs'],
    ['unconfirmed_txs', '/unconfirmed_txs?limit=5'],
    ['block_search', '/block_search?query="block_summary.txs>=2"&per_page=2&page=2'],
    ['tx_search', '/tx_search?query="disbursement.region=\'110101\'"&order_by="desc"&per_page=2'],
  ]
  for (const [name, path] of cases) {
    const r = await uri(h, path)
    t.equal(r.status, 200, `${name}: HTTP 200`)
    t.equal(r.json.error, undefined, `${name}: no error`)
    if (name === 'status') {
      t.equal(r.json.result.node_info.other.rpc_address, `tcp://127.0.0.1:${h.server.address().port}`, 'rpc_address is the bound address')
      r.json.result.node_info.other.rpc_address = 'tcp://127.0.0.1:PORT'
    }
    await golden(t, name, r.json)
  }

  const e4 = chain.entries[3]!
  const byHash = await rpc(h, 'block_by_hash', { hash: toBase64(e4.blockId.hash) })
  t.same(byHash.json.result, (await uri(h, '/block?height=4')).json.result, 'block_by_hash = block')
  t.same((await uri(h, `/block_by_hash?hash=0x${toHex(e4.blockId.hash)}`)).json.result, byHash.json.result, 'URI 0x hash')
  await golden(t, 'block_by_hash_missing', (await rpc(h, 'block_by_hash', { hash: toBase64(new Uint8Array(32)) })).json)
  const hdr = await rpc(h, 'header_by_hash', { hash: toHex(e4.blockId.hash) })
  t.same(hdr.json.result, (await uri(h, '/header?height=4')).json.result, 'header_by_hash = header')
  await golden(t, 'header_by_hash_missing', (await rpc(h, 'header_by_hash', [toHex(new Uint8Array(32))])).json)

  const tx = e4.block.txs[1]!
  const txr = await rpc(h, 'tx', { hash: toBase64(txHash(tx)), prove: true })
  await golden(t, 'tx_proved', txr.json)
  t.equal(txr.json.result.proof.root_hash, toHex(e4.block.header.dataHash).toUpperCase(), 'proof root is the data_hash')
  const noProof = await uri(h, `/tx?hash=0x${toHex(txHash(tx))}`)
  t.equal(noProof.json.result.proof, undefined, 'no proof unless asked')
  t.same({ ...txr.json.result, proof: undefined }, { ...noProof.json.result, proof: undefined })

  const search = await rpc(h, 'tx_search', { query: "disbursement.program = 'dibao'", prove: true, page: '1', per_page: '1', order_by: 'asc' })
  await golden(t, 'tx_search_proved', search.json)

  const ev = evidenceJson(chain.entries[3]!.block.evidence[0]!)
  await golden(t, 'broadcast_evidence', (await rpc(h, 'broadcast_evidence', { evidence: ev })).json)
  t.equal(h.backend.evidence.length, 1, 'evidence reached the backend')
  const swapped = { ...ev, value: { ...ev.value as object, vote_a: (ev.value as any).vote_b, vote_b: (ev.value as any).vote_a } }
  t.same((await rpc(h, 'broadcast_evidence', { evidence: swapped })).json, (await rpc(h, 'broadcast_evidence', [ev])).json, 'either vote order')

  // URI and JSON-RPC agree.
  for (const [method, path, params] of [
    ['block', '/block?height=3', { height: '3' }],
    ['validators', '/validators?height=2&per_page=2', { height: 2, per_page: 2 }],
    ['blockchain', '/blockchain?minHeight=1&maxHeight=2', ['1', '2']],
    ['abci_query', '/abci_query?path="/echo"&data=0x00ff', { path: '/echo', data: '00ff' }],
  ] as Array<[string, string, unknown]>) {
    t.same((await rpc(h, method, params)).json.result, (await uri(h, path)).json.result, `${method}: URI = JSON-RPC`)
  }
})

t.test('mempool and broadcast routes', async (t) => {
  const h = await startHarness({ timeoutBroadcastTxCommitMs: 2000 })
  t.teardown(() => h.close())
  const ok1 = utf8('new tx one')
  const ok2 = utf8('new tx two!')
  const bad = Uint8Array.from([0xee, 1, 2, 3])
  await golden(t, 'broadcast_tx_sync', (await rpc(h, 'broadcast_tx_sync', { tx: toBase64(ok1) })).json)
  await golden(t, 'broadcast_tx_sync_rejected', (await rpc(h, 'broadcast_tx_sync', { tx: toBase64(bad) })).json)
  await golden(t, 'broadcast_tx_async', (await uri(h, `/broadcast_tx_async?tx=0x${toHex(ok2)}`)).json)
  await golden(t, 'check_tx', (await rpc(h, 'check_tx', { tx: toBase64(ok1) })).json)
  await golden(t, 'check_tx_rejected', (await uri(h, '/check_tx?tx=0xee01')).json)
  await h.server.idle()
  await new Promise((resolve) => setImmediate(resolve))
  await golden(t, 'unconfirmed_txs_2', (await rpc(h, 'unconfirmed_txs', {})).json)
  await golden(t, 'num_unconfirmed_txs_2', (await rpc(h, 'num_unconfirmed_txs')).json)

  // broadcast_tx_commit: answered once the tx's block is committed and indexed.
  const tx3 = utf8('committed tx')
  const pending = rpc(h, 'broadcast_tx_commit', { tx: toBase64(tx3) })
  while (h.backend.mempool.size() < 3) await new Promise((resolve) => setTimeout(resolve, 5))
  h.backend.commitBlock()
  const committed = await pending
  await golden(t, 'broadcast_tx_commit', committed.json)
  t.equal(committed.json.result.height, '6')
  t.equal((await rpc(h, 'tx', { hash: toBase64(txHash(tx3)) })).json.result.height, '6', 'indexed before the answer')
  await golden(t, 'broadcast_tx_commit_rejected', (await rpc(h, 'broadcast_tx_commit', { tx: toBase64(bad) })).json)
  const timeout = await rpc(h, 'broadcast_tx_commit', { tx: toBase64(utf8('never committed')) })
  t.same(timeout.json.error, { code: -32603, message: 'Internal error', data: 'timed out waiting for tx to be included in a block' })
  t.equal(h.server.bus.numClients(), 0, 'broadcast_tx_commit leaves no subscription behind')
})

t.test('every HTTP route is covered', async (t) => {
  const httpRoutes = ROUTE_NAMES.filter((n) => ROUTES[n]?.ws !== true)
  t.same(httpRoutes.filter((n) => !covered.has(n)), [], 'routes without a golden test')
  t.equal(httpRoutes.length, 28)
  t.equal(ROUTE_NAMES.length, 31, 'with subscribe, unsubscribe, unsubscribe_all (WebSocket)')
})
