/**
 * The indexer (rpc/indexer.ts): txs by hash, height and indexed attributes; blocks by
 * height and block events; query semantics (ranges, CONTAINS, EXISTS, AND, tm.event,
 * tx.hash); bounded scans/results; CometBFT's duplicate-hash rule; persistence and resume
 * on classic-level; escaping of arbitrary attribute values.
 */
import t from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import { toHex, utf8 } from '../../src/bytes.ts'
import { txHash } from '../../src/types/index.ts'
import { openIndexer, type Indexer, type IndexDb } from '../../rpc/indexer.ts'
import { parseQuery } from '../../rpc/query.ts'
import { buildChain, type Chain } from './helpers/fixtures.ts'

async function withIndexer (chain: Chain, fn: (ix: Indexer) => Promise<void>, opts: { maxScan?: number, maxResults?: number } = {}): Promise<void> {
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
  const ix = await openIndexer({ db: db as unknown as IndexDb, ...opts })
  for (const e of chain.entries) await ix.indexBlock(e.block, e.results)
  try {
    await fn(ix)
  } finally {
    await ix.close()
    await db.close()
  }
}

const heightsOf = async (ix: Indexer, q: string): Promise<string[]> =>
  (await ix.searchTxs(parseQuery(q, 100_000))).map((k) => `${k.height}/${k.index}`)

t.test('txs by hash, with height, index, tx and result', async (t) => {
  const chain = buildChain(6)
  await withIndexer(chain, async (ix) => {
    t.equal(ix.height(), 6)
    const e = chain.entries[3]!
    const tx = e.block.txs[1]!
    const r = await ix.getTx(txHash(tx))
    t.ok(r)
    t.equal(r?.height, 4)
    t.equal(r?.index, 1)
    t.same(r?.tx, tx)
    t.same(r?.result, e.results.txResults[1])
    t.equal(await ix.getTx(new Uint8Array(32)), undefined)
    t.equal(await ix.getTx(new Uint8Array(3)), undefined, 'wrong-length hash')
  })
})

t.test('searches: attributes, ranges, AND, tm.event, tx.hash, tx.height', async (t) => {
  // heights 2..6 have 1..5 txs; tx i of a block has program by tx length, region 11010(i%3)
  const chain = buildChain(6)
  await withIndexer(chain, async (ix) => {
    const all = chain.entries.flatMap((e) => e.block.txs.map((_, i) => `${e.block.header.height}/${i}`))
    t.same(await heightsOf(ix, "tm.event = 'Tx'"), all, 'every tx, in (height, index) order')
    t.same(await heightsOf(ix, "tm.event = 'NewBlock'"), [], 'no tx is a NewBlock')
    t.same(await heightsOf(ix, 'tx.height = 4'), ['4/0', '4/1', '4/2'])
    t.same(await heightsOf(ix, 'tx.height > 4 AND tx.height < 6'), ['5/0', '5/1', '5/2', '5/3'])
    t.same(await heightsOf(ix, 'tx.height >= 5.5'), ['6/0', '6/1', '6/2', '6/3', '6/4'], 'fractional bound')
    t.same(await heightsOf(ix, 'tx.height = 4.5'), [])
    t.same(await heightsOf(ix, "disbursement.region = '110102'"), ['4/2', '5/2', '6/2'])
    t.same(await heightsOf(ix, "disbursement.region = '110102' AND tx.height <= 5"), ['4/2', '5/2'])
    t.same(await heightsOf(ix, "disbursement.region CONTAINS '0102'"), ['4/2', '5/2', '6/2'])
    t.same(await heightsOf(ix, "disbursement.region = '110100' AND disbursement.program = 'medical'"), [], 'AND intersects')
    const dibao = (await heightsOf(ix, "disbursement.program = 'dibao'"))
    t.ok(dibao.length > 0)
    t.same(await heightsOf(ix, 'disbursement.amount >= 1070 AND disbursement.amount < 1080'), all.filter((x) => x.endsWith('/1')))
    t.same(await heightsOf(ix, 'disbursement.amount = 1060'), all.filter((x) => x.endsWith('/0')), 'numeric equality scans values')
    t.same(await heightsOf(ix, 'disbursement.note EXISTS'), [], 'index: false attributes are not indexed')
    t.same(await heightsOf(ix, 'message.action EXISTS'), all)
    t.same(await heightsOf(ix, 'disbursement EXISTS'), all, 'bare event type')
    t.same(await heightsOf(ix, "nothing.here = 'x'"), [])
    const e = chain.entries[4]!
    const hash = toHex(txHash(e.block.txs[2]!)).toUpperCase()
    t.same(await heightsOf(ix, `tx.hash = '${hash}'`), ['5/2'])
    t.same(await heightsOf(ix, `tx.hash = '${hash.toLowerCase()}' AND tx.height = 5`), ['5/2'])
    t.same(await heightsOf(ix, `tx.hash = '${hash}' AND tx.height = 4`), [], 'other conditions still apply')
    t.same(await heightsOf(ix, "tx.hash = 'nothex'"), [])
  })
})

t.test('blocks by height and block events', async (t) => {
  const chain = buildChain(6)
  await withIndexer(chain, async (ix) => {
    const b = async (q: string): Promise<number[]> => ix.searchBlocks(parseQuery(q))
    t.same(await b("tm.event = 'NewBlock'"), [1, 2, 3, 4, 5, 6])
    t.same(await b("tm.event = 'Tx'"), [])
    t.same(await b('block.height >= 3 AND block.height < 5'), [3, 4])
    t.same(await b('block_summary.txs = 3'), [4])
    t.same(await b('block_summary.txs > 2'), [4, 5, 6])
    t.same(await b('block_summary.txs > 2 AND block.height <= 5'), [4, 5])
    t.same(await b('block_summary.proposer EXISTS'), [], 'index: false')
    const r = await ix.blockResults(3)
    t.same(r, chain.entries[2]!.results, 'block results round-trip')
    t.equal(await ix.blockResults(99), undefined)
    t.equal(await ix.blockResults(0), undefined)
  })
})

t.test('scans and results are bounded', async (t) => {
  const chain = buildChain(6)
  await withIndexer(chain, async (ix) => {
    await t.rejects(ix.searchTxs(parseQuery("tm.event = 'Tx'")), /the query matches more than 5/)
    await t.rejects(ix.searchTxs(parseQuery('message.action EXISTS')), { code: 'ERR_RPC_TOO_MANY_RESULTS' })
    t.same((await ix.searchTxs(parseQuery('tx.height = 3'))).length, 2, 'a narrow query still works')
  }, { maxResults: 5, maxScan: 1000 })
  await withIndexer(chain, async (ix) => {
    await t.rejects(ix.searchTxs(parseQuery('disbursement.amount > 0')), /scans more than 4/)
    t.same((await ix.searchTxs(parseQuery("disbursement.region = '110102' AND tx.height = 4"))).length, 1, 'exact value seeks to the height range')
  }, { maxScan: 4 })
})

t.test('a failed tx does not overwrite an earlier successful one with the same hash (CometBFT rule)', async (t) => {
  const chain = buildChain(2)
  const tx = utf8('same tx')
  chain.append([tx])
  chain.append([tx], { txResults: [{ code: 9, codespace: 'x', log: 'replay', data: new Uint8Array(0), events: [] }] })
  const failing = Uint8Array.from([0xee, 1, 2])
  chain.append([failing], { txResults: [{ code: 9, codespace: 'x', log: 'first', data: new Uint8Array(0), events: [] }] })
  chain.append([failing], { txResults: [{ code: 10, codespace: 'x', log: 'second', data: new Uint8Array(0), events: [] }] })
  await withIndexer(chain, async (ix) => {
    const r = await ix.getTx(txHash(tx))
    t.equal(r?.height, 3, 'the successful inclusion stays')
    t.equal(r?.result.code, 0)
    const f = await ix.getTx(txHash(failing))
    t.equal(f?.result.log, 'second', 'a failure replaces a failure')
  })
})

t.test('attribute values with any bytes are escaped, and heights are skipped once indexed', async (t) => {
  const chain = buildChain(1)
  const odd = ['a\u0000b', 'a', 'a\u0000', '\u0000', 'a\u0001', '☃ snow', 'x'.repeat(2000)]
  chain.append(odd.map((_, i) => utf8(`odd ${i}`)), {
    txResults: odd.map((v) => ({ code: 0, codespace: '', log: '', data: new Uint8Array(0), events: [{ type: 'weird', attributes: [{ key: 'v', value: v, index: true }] }] })),
  })
  await withIndexer(chain, async (ix) => {
    for (const [i, v] of odd.entries()) {
      if (v.includes("'")) continue
      t.same(await heightsOf(ix, `weird.v = '${v}'`), [`2/${i}`], JSON.stringify(v.slice(0, 10)))
    }
    t.same((await heightsOf(ix, "weird.v CONTAINS 'a'")).length, 4)
    await ix.indexBlock(chain.entries[1]!.block, { ...chain.entries[1]!.results, txResults: [] })
    t.equal((await ix.getTx(txHash(utf8('odd 0'))))?.result.events[0]?.attributes[0]?.value, 'a\u0000b', 'a re-sent height is ignored')
  })
})

t.test('persists on classic-level and resumes from its height', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'aidledger-indexer-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const chain = buildChain(4)
  let ix = await openIndexer({ path: join(dir, 'tx_index.db') })
  for (const e of chain.entries.slice(0, 3)) await ix.indexBlock(e.block, e.results)
  t.equal(ix.height(), 3)
  await ix.close()
  await t.rejects(ix.searchTxs(parseQuery("tm.event = 'Tx'")), /closed/)
  ix = await openIndexer({ path: join(dir, 'tx_index.db') })
  t.equal(ix.height(), 3, 'height survives a restart')
  await ix.indexBlock(chain.entries[3]!.block, chain.entries[3]!.results)
  t.same((await ix.searchTxs(parseQuery('tx.height >= 1'))).length, 6)
  await ix.close()
  await t.rejects(openIndexer({}), /exactly one of path or db/)
})

t.test('a corrupt record is ERR_STORE_CORRUPT naming it', async (t) => {
  const db = new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
  t.teardown(() => db.close())
  const ix = await openIndexer({ db: db as unknown as IndexDb })
  const chain = buildChain(3)
  for (const e of chain.entries) await ix.indexBlock(e.block, e.results)
  const hash = txHash(chain.entries[1]!.block.txs[0]!)
  const enc = { keyEncoding: 'view', valueEncoding: 'view' } as const
  for (const bad of ['{"h":1}', 'not json', '{"h":-1,"i":0,"tx":"","r":{"c":0,"s":"","l":"","d":"","e":[]}}', '{"h":2,"i":0,"tx":"!!","r":{"c":0,"s":"","l":"","d":"","e":[]}}']) {
    await db.put(Uint8Array.from([0x01, ...hash]), new TextEncoder().encode(bad), enc)
    await t.rejects(ix.getTx(hash), { code: 'ERR_STORE_CORRUPT', message: new RegExp(`index record tx ${toHex(hash)}`) }, bad)
  }
  await db.put(Uint8Array.from([0x04, 0, 0, 0, 0, 0, 0, 0, 2]), new TextEncoder().encode('{"n":1}'), enc)
  await t.rejects(ix.blockResults(2), { code: 'ERR_STORE_CORRUPT', message: /index record block 2/ })
  await ix.close()
})

