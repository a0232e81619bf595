/**
 * The block store: save/load by height and hash, parts, commits and seen commits, base and
 * height across reopen, refused writes, pruning, corrupt records, closing.
 */
import t from 'tap'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { toHex, utf8 } from '../../../src/bytes.ts'
import { encode } from '../../../src/codec/index.ts'
import { type BlockStore, openBlockStore } from '../../../src/store/index.ts'
import { heightKey, partKey, singletonKey, type StoreDb } from '../../../src/store/db.ts'
import { BlockSchema, PartSchema, encodeBlock, makePartSet, validateBlock } from '../../../src/types/index.ts'
import { withDir } from './helpers.ts'
import { type ChainLink, makeBlock, makeChain, makeValidators } from '../types/fixtures.ts'

const keyed = makeValidators([1, 2, 3])
const bigTxs = [new Uint8Array(30_000).fill(1), new Uint8Array(30_000).fill(2), new Uint8Array(30_000).fill(3)]
/** 6 blocks; block 3 carries ~90 KB of txs, so it has 2 parts. */
const chain: ChainLink[] = makeChain(6, keyed, 1, (h) => (h === 3 ? bigTxs : [utf8(`tx ${h}`)]))


async function saveAll (store: BlockStore, upTo = chain.length): Promise<void> {
  for (const c of chain.slice(0, upTo)) await store.saveBlock(c.block, c.parts, c.seenCommit)
}

t.test('an empty store', async (t) => withDir(t, async (dir) => {
  const store = await openBlockStore({ path: dir })
  t.equal(store.base(), 0)
  t.equal(store.height(), 0)
  t.equal(store.size(), 0)
  t.equal(await store.loadBlock(1), undefined)
  t.equal(await store.loadBlockMeta(0), undefined)
  t.equal(await store.loadBlockByHash(new Uint8Array(32)), undefined)
  t.equal(await store.loadSeenCommit(1), undefined)
  await store.close()
}))

t.test('save, load by height and by hash, parts, commits; reopen', async (t) => withDir(t, async (dir) => {
  let store = await openBlockStore({ path: dir })
  await saveAll(store)
  t.equal(store.base(), 1)
  t.equal(store.height(), 6)
  t.equal(store.size(), 6)
  t.equal(chain[2]!.parts.header.total, 2, 'block 3 has two parts')
  for (let round = 0; round < 2; round++) {
    for (const [i, c] of chain.entries()) {
      const h = i + 1
      const block = await store.loadBlock(h)
      t.equal(toHex(encode(BlockSchema, block!)), toHex(encodeBlock(c.block)), `block ${h}`)
      t.ok(validateBlock(block!).ok)
      t.equal(toHex(encodeBlock((await store.loadBlockByHash(c.blockId.hash))!)), toHex(encodeBlock(c.block)), `block ${h} by hash`)
      const meta = await store.loadBlockMeta(h)
      t.same(meta, { blockId: c.blockId, blockSize: encodeBlock(c.block).length, header: c.block.header, numTxs: c.block.txs.length }, `meta ${h}`)
      t.same(await store.loadBlockMetaByHash(c.blockId.hash), meta)
      for (const p of c.parts.parts) {
        const got = await store.loadBlockPart(h, p.index)
        t.equal(toHex(encode(PartSchema, got!)), toHex(encode(PartSchema, p)), `part ${h}/${p.index}`)
      }
      t.equal(await store.loadBlockPart(h, c.parts.parts.length), undefined)
      t.same(await store.loadSeenCommit(h), c.seenCommit, `seen commit ${h}`)
      const next = chain[i + 1]
      t.same(await store.loadCommit(h), next === undefined ? undefined : next.block.lastCommit, `commit ${h}`)
    }
    await store.close()
    store = await openBlockStore({ path: dir })
    t.equal(store.height(), 6, 'height survives reopen')
  }
  t.equal(await store.loadBlock(7), undefined)
  t.equal(await store.loadBlockByHash(new Uint8Array(32).fill(9)), undefined)
  t.equal(await store.loadBlockByHash(new Uint8Array(3)), undefined)
  await store.close()
}))

t.test('refused writes leave the store unchanged', async (t) => withDir(t, async (dir) => {
  const store = await openBlockStore({ path: dir })
  await saveAll(store, 2)
  const [c1, , c3, c4] = chain as [ChainLink, ChainLink, ChainLink, ChainLink]
  const other = makePartSet(encodeBlock(c4.block))
  const rows: Array<[string, () => Promise<void>, string, RegExp]> = [
    ['a gap', () => store.saveBlock(c4.block, c4.parts, c4.seenCommit), 'block.header.height', /expected height 3, got 4/],
    ['the same height again', () => store.saveBlock(c1.block, c1.parts, c1.seenCommit), 'block.header.height', /expected height 3, got 1/],
    ['a missing part', () => store.saveBlock(c3.block, { header: c3.parts.header, parts: c3.parts.parts.slice(1) }, c3.seenCommit), 'parts', /incomplete/],
    ['parts of another block', () => store.saveBlock(c3.block, other, c3.seenCommit), 'parts[0]', /not this block's bytes/],
    ['a seen commit for another block', () => store.saveBlock(c3.block, c3.parts, c4.seenCommit), 'seenCommit', /seen commit is for 4/],
  ]
  for (const [what, run, at, msg] of rows) {
    await t.rejects(run(), { code: 'ERR_STORE_INVALID_WRITE', at, message: msg }, what)
  }
  t.equal(store.height(), 2)
  await store.saveBlock(c3.block, c3.parts, c3.seenCommit)
  t.equal(store.height(), 3, 'the right block is still accepted')
  await store.close()
}))

t.test('a store may start at any height (initial height or state sync)', async (t) => withDir(t, async (dir) => {
  const c100 = makeChain(3, keyed, 100)
  const store = await openBlockStore({ path: dir })
  for (const c of c100) await store.saveBlock(c.block, c.parts, c.seenCommit)
  t.equal(store.base(), 100)
  t.equal(store.height(), 102)
  t.equal(await store.loadCommit(99), undefined)
  t.same(await store.loadCommit(100), c100[1]!.block.lastCommit)
  await store.close()
}))

t.test('concurrent saves are applied in call order', async (t) => withDir(t, async (dir) => {
  const store = await openBlockStore({ path: dir })
  await Promise.all(chain.map((c) => store.saveBlock(c.block, c.parts, c.seenCommit)))
  t.equal(store.height(), 6)
  await store.close()
}))

t.test('prune removes whole heights from the bottom', async (t) => withDir(t, async (dir) => {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, 'db'), { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  const store = await openBlockStore({ db: db as unknown as StoreDb })
  await saveAll(store)
  t.equal(await store.prune(4), 3)
  t.equal(store.base(), 4)
  t.equal(store.height(), 6)
  t.equal(store.size(), 3)
  for (let h = 1; h <= 3; h++) {
    t.equal(await store.loadBlock(h), undefined, `block ${h} gone`)
    t.equal(await store.loadBlockByHash(chain[h - 1]!.blockId.hash), undefined)
    for (const k of [heightKey('blockMeta', h), heightKey('commit', h), heightKey('seenCommit', h), partKey(h, 0), partKey(h, 1)]) {
      t.equal(await db.get(k.key), undefined, `${k.name} deleted`)
    }
  }
  t.ok(await store.loadBlock(4))
  t.ok(await store.loadCommit(4))
  t.equal(await store.prune(2), 0, 'below base: nothing to do')
  await t.rejects(store.prune(7), { code: 'ERR_STORE_INVALID_WRITE', at: 'retainHeight' })
  await t.rejects(store.prune(0), { code: 'ERR_STORE_INVALID_WRITE' })
  t.equal(await store.prune(6), 2)
  t.equal(store.size(), 1)
  await store.close()
  const again = await openBlockStore({ db: db as unknown as StoreDb })
  t.equal(again.base(), 6, 'base survives reopen')
  await again.close()
  await db.close()
}))

t.test('corrupt or missing records give ERR_STORE_CORRUPT naming the key', async (t) => withDir(t, async (dir) => {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, 'db'), { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  const store = await openBlockStore({ db: db as unknown as StoreDb })
  await saveAll(store)
  await db.put(heightKey('blockMeta', 2).key, new Uint8Array([0xc0]))
  await t.rejects(store.loadBlockMeta(2), { code: 'ERR_STORE_CORRUPT', at: 'blockMeta/2' })
  await t.rejects(store.loadBlock(2), { code: 'ERR_STORE_CORRUPT', at: 'blockMeta/2' })
  await db.del(partKey(3, 1).key)
  await t.rejects(store.loadBlock(3), { code: 'ERR_STORE_CORRUPT', at: 'part/3/1', message: /lists 2 parts/ })
  await db.put(partKey(4, 0).key, encode(BlockSchema, chain[3]!.block)) // a valid msgpack value of the wrong shape
  await t.rejects(store.loadBlockPart(4, 0), { code: 'ERR_STORE_CORRUPT', at: 'part/4/0', message: /Part record does not decode/ })
  await db.put(heightKey('seenCommit', 5).key, new Uint8Array([0x94, 0x01]))
  await t.rejects(store.loadSeenCommit(5), { code: 'ERR_STORE_CORRUPT', at: 'seenCommit/5' })
  await db.del(heightKey('blockMeta', 6).key)
  await t.rejects(store.loadBlockMeta(6), { code: 'ERR_STORE_CORRUPT', at: 'blockMeta/6', message: /missing/ })
  // a part swapped for another block's part: the reassembled block is not the one in the meta
  const swapped = makePartSet(encodeBlock(makeBlock({ height: 1, keyed, txs: [utf8('other')] })))
  await db.put(partKey(1, 0).key, encode(PartSchema, swapped.parts[0]!))
  await t.rejects(store.loadBlock(1), { code: 'ERR_STORE_CORRUPT', at: 'block/1' })
  await store.close()
  await db.put(singletonKey('blockStoreState').key, new Uint8Array([0x92, 0xa1, 0x61, 0x01]))
  await t.rejects(openBlockStore({ db: db as unknown as StoreDb }), { code: 'ERR_STORE_CORRUPT', at: 'blockStoreState' })
  await db.close()
}))

t.test('a closed store refuses every call', async (t) => withDir(t, async (dir) => {
  const store = await openBlockStore({ path: dir })
  await saveAll(store, 1)
  await store.close()
  await store.close() // idempotent
  await t.rejects(store.loadBlock(1), { code: 'ERR_STORE_CLOSED' })
  await t.rejects(store.loadSeenCommit(1), { code: 'ERR_STORE_CLOSED' })
  const c2 = chain[1]!
  await t.rejects(store.saveBlock(c2.block, c2.parts, c2.seenCommit), { code: 'ERR_STORE_CLOSED' })
  await t.rejects(openBlockStore({}), { code: 'ERR_STORE_IO' }, 'neither path nor db')
}))
