/**
 * rpc/client.ts against the in-process RPC server over the fake backend's fixed chain
 * (./helpers): every call's request shape (the server parses it as CometBFT would) and
 * response decoding, WebSocket subscriptions, the wait helpers, errors, and tx building.
 */
import t from 'tap'
import { toHex, utf8 } from '../../src/bytes.ts'
import { generateKeyPair, verify } from '../../src/crypto/ed25519.ts'
import { sha256 } from '../../src/crypto/hash.ts'
import { decode } from '../../src/codec/index.ts'
import { headerHash, txHash, txSignBytes, TxEnvelopeSchema, validatorSetHash } from '../../src/types/index.ts'
import { createClient, isClientError, signTx, type NodeEvent } from '../../rpc/client.ts'
import { startHarness } from './helpers/setup.ts'
import { CHAIN_ID } from './helpers/fixtures.ts'

t.test('chain reads: status, block, header, commit, validators, abci_info, abci_query', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const c = createClient({ url: h.server.url() })
  t.teardown(() => c.close())
  const chain = h.backend.chain
  const top = chain.entries[chain.entries.length - 1]
  if (top === undefined) throw new Error('empty chain')

  await c.health()
  const st = await c.status()
  t.equal(st.network, 'aidledger-test')
  t.equal(st.latestHeight, 5)
  t.equal(st.earliestHeight, 1)
  t.equal(st.latestBlockHash, toHex(top.blockId.hash).toUpperCase())
  t.equal(st.latestBlockTime, top.block.header.time)
  t.equal(st.catchingUp, false)

  const b3 = await c.block(3)
  const e3 = chain.entries[2]
  t.same(b3.header, e3?.block.header, 'header decodes back exactly')
  t.same(b3.blockId, e3?.blockId)
  t.same(b3.txs, e3?.block.txs)
  t.same(b3.lastCommit, e3?.block.lastCommit, 'last commit with absent and nil slots decodes back')
  t.equal((await c.block(1)).lastCommit, null, 'the first block has no last commit')
  t.same(toHex(headerHash((await c.header(4)) as never)), toHex(chain.entries[3]?.blockId.hash ?? new Uint8Array(0)), 'header hash matches the block id')
  t.same(await c.header(), top.block.header, 'no height: the latest')

  const sh = await c.commit(3)
  t.same(sh?.commit, chain.entries[3]?.block.lastCommit, 'canonical commit of 3 = last commit of 4')
  t.equal(sh?.canonical, true)
  t.equal((await c.commit(5))?.canonical, false, 'the top commit is the seen one')

  const v = await c.validators(2)
  t.equal(v.height, 2)
  t.same(v.set.validators.map((x) => toHex(x.pubKey)), chain.validators.validators.map((x) => toHex(x.pubKey)))
  t.same(validatorSetHash(v.set), validatorSetHash(chain.validators))
  const g = await c.genesisValidators()
  t.equal(g.chainId, CHAIN_ID)
  t.same(validatorSetHash(g.set), validatorSetHash(chain.genesis.validatorSet))

  t.equal((await c.abciInfo()).last_block_height, '5')
  const q = await c.abciQuery('/echo', { data: Uint8Array.from([1, 2]), prove: true, height: 3 })
  t.equal(q.code, 0)
  t.equal(Buffer.from(q.value).toString(), 'echo:0102')
  t.equal(q.height, 3)
  t.same(q.proofOps.map((o) => o.type), ['ics23:smt'])
  t.same(q.proofOps[0]?.data, sha256(Uint8Array.from([1, 2])))
  const bad = await c.abciQuery('/nope')
  t.equal(bad.code, 6)
  t.match(bad.log, /unknown query path/)
})

t.test('txs: broadcast sync/async/commit, tx, tx_search, waitForTx', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const c = createClient({ url: h.server.url(), pollMs: 20 })
  t.teardown(() => c.close())

  const ok = utf8('client tx one')
  const sync = await c.broadcastTxSync(ok)
  t.same(sync, { code: 0, log: '', codespace: '', hash: toHex(txHash(ok)).toUpperCase() })
  const refused = await c.broadcastTxSync(Uint8Array.from([0xee, 9]))
  t.equal(refused.code, 7)
  t.equal(refused.log, 'budget exceeded')
  t.equal((await c.broadcastTxAsync(utf8('client tx two'))).code, 0)

  t.equal(await c.tx(txHash(ok)), null, 'unknown tx: null')
  const waiting = c.waitForTx(txHash(ok), { timeoutMs: 10_000 })
  const three = utf8('client tx three')
  const committed = c.broadcastTxCommit(three)
  while (h.backend.mempool.size() < 3) await new Promise((resolve) => setTimeout(resolve, 5))
  h.backend.commitBlock()
  const r = await committed
  t.equal(r.height, 6)
  t.equal(r.checkTx.code, 0)
  t.equal(r.txResult.code, 0)
  t.same(r.txResult.data, utf8('ok-2'), 'ExecTxResult.data decodes from base64')
  t.ok(r.txResult.events.some((e) => e.type === 'disbursement' && e.attributes.some((a) => a.key === 'program' && a.index)))
  const found = await waiting
  t.equal(found.height, 6)
  t.equal(found.index, 0)
  t.same(found.tx, ok)
  const byHash = await c.tx(toHex(txHash(three)).toLowerCase())
  t.equal(byHash?.index, 2)
  const rejected = await c.broadcastTxCommit(Uint8Array.from([0xee, 1]))
  t.equal(rejected.checkTx.code, 7)
  t.equal(rejected.height, 0)

  const s = await c.txSearch('tx.height = 6', { perPage: 2, page: 2 })
  t.equal(s.totalCount, 3)
  t.equal(s.txs.length, 1)
  t.equal(s.txs[0]?.index, 2)
  const desc = await c.txSearch('tx.height >= 2', { orderBy: 'desc', perPage: 100 })
  t.equal(desc.txs[0]?.height, 6)

  await t.rejects(c.waitForTx(sha256(utf8('never')), { timeoutMs: 150 }), { code: 'ERR_CLIENT_TIMEOUT' })
})

t.test('subscribe over the WebSocket: events, unsubscribe, errors', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const c = createClient({ url: h.server.url() })
  t.teardown(() => c.close())
  const blocks: NodeEvent[] = []
  const txs: NodeEvent[] = []
  const offBlocks = await c.subscribe("tm.event='NewBlock'", (e) => blocks.push(e))
  await c.subscribe("tm.event='Tx' AND disbursement.program='dibao'", (e) => txs.push(e))
  h.backend.commitBlock([utf8('abc'), utf8('abcdef')])
  await h.server.idle()
  const until = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 200 && !cond(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  }
  await until(() => blocks.length >= 1 && txs.length >= 2)
  t.equal(blocks.length, 1)
  t.equal(blocks[0]?.data.type, 'tendermint/event/NewBlock')
  t.same(blocks[0]?.events['tm.event'], ['NewBlock'])
  t.equal(txs.length, 2, 'both txs (lengths 3 and 6 are dibao in the fixtures)')
  t.equal(txs[0]?.data.type, 'tendermint/event/Tx')
  t.same(txs[0]?.events['tx.height'], ['6'])
  await offBlocks()
  h.backend.commitBlock([utf8('xyz')])
  await h.server.idle()
  await until(() => txs.length >= 3)
  t.equal(blocks.length, 1, 'no events after unsubscribe')
  t.equal(txs.length, 3)
  await t.rejects(c.subscribe("tm.event='Tx' AND disbursement.program='dibao'", () => {}), { code: 'ERR_CLIENT_BAD_ARGUMENT' })
  const bad = await c.subscribe('tm.event = = broken', () => {}).catch((e: unknown) => e)
  t.ok(isClientError(bad, 'ERR_CLIENT_RPC') && /failed to parse query/.test(bad.message), 'a bad query is the node\'s error')
})

t.test('subscribe: onClose hears of a node that goes away', async (t) => {
  const h = await startHarness()
  const c = createClient({ url: h.server.url() })
  t.teardown(() => c.close())
  let closed: Error | undefined
  await c.subscribe("tm.event='NewBlock'", () => {}, { onClose: (err) => { closed = err } })
  await h.close()
  for (let i = 0; i < 200 && closed === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.match(closed, { code: 'ERR_CLIENT_CLOSED' })
})

t.test('errors: JSON-RPC error, unreachable node, bad URL, closed client', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const c = createClient({ url: h.server.url() })
  const err = await c.call('block', { height: '99' }).catch((e: unknown) => e)
  t.ok(isClientError(err, 'ERR_CLIENT_RPC'))
  t.match((err as { rpc: { code: number } }).rpc, { code: -32603 })
  t.match((err as Error).message, /must be less than or equal to the current blockchain height/)
  const m = await c.call('no_such_method').catch((e: unknown) => e)
  t.match(m, { code: 'ERR_CLIENT_RPC', rpc: { code: -32601 } })
  await c.close()
  await t.rejects(c.status(), { code: 'ERR_CLIENT_CLOSED' })

  const dead = createClient({ url: 'http://127.0.0.1:1', timeoutMs: 2000 })
  await t.rejects(dead.status(), { code: 'ERR_CLIENT_HTTP' })
  t.throws(() => createClient({ url: 'ftp://x' }), { code: 'ERR_CLIENT_BAD_ARGUMENT' })
})

t.test('buildTx / signTx: envelope, sign bytes, op id, expiry from the node', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const c = createClient({ url: h.server.url() })
  t.teardown(() => c.close())
  const kp = generateKeyPair(sha256(utf8('office key')))
  const body = utf8('any encoded body')
  const s = await c.buildTx({ body, signer: kp, ttl: 7, nonce: 42 })
  const env = decode(TxEnvelopeSchema, s.bytes)
  t.equal(env.chainId, 'aidledger-test', 'chain id from the node')
  t.equal(env.expiresAtHeight, 5 + 7, 'latest height + ttl')
  t.equal(env.nonce, 42)
  t.same(env.body, body)
  t.same(env.signer, kp.publicKey)
  t.ok(verify(kp.publicKey, txSignBytes(env), env.signature), 'signature verifies')
  t.same(s.opId, sha256(txSignBytes(env)))
  t.equal(s.hash, toHex(txHash(s.bytes)).toUpperCase())
  const offline = signTx({ body, signer: kp, chainId: 'x', expiresAtHeight: 3 })
  t.ok(offline.envelope.nonce >= 0 && offline.envelope.nonce < 2 ** 48, 'random 48-bit nonce')
  t.not(signTx({ body, signer: kp, chainId: 'x', expiresAtHeight: 3 }).envelope.nonce, offline.envelope.nonce)
})
