/**
 * Mempool (consensus/mempool.ts): bounds, duplicates, the cache/list/index consistency of
 * CVE-2023-34451 (with a seeded property test over random add/remove/update sequences and a
 * tiny cache), recheck eviction, reap order and byte limits, signature checks before the
 * app, batching, and the lock between checks and update.
 */
import t from 'tap'
import type { CheckTxMode, CheckTxResult, TxSignatureVerifier } from '../../src/abci.ts'
import { toHex } from '../../src/bytes.ts'
import { bytes, encode, list } from '../../src/codec/index.ts'
import { createSigner, keyPairFromSeed, verify } from '../../src/crypto/ed25519.ts'
import { TxEnvelopeSchema, txHash, txSignBytes } from '../../src/types/index.ts'
import {
  createMempool, encodedTxBytes, type Mempool, type MempoolCheckResult, type MempoolOptions,
} from '../../consensus/mempool.ts'
import { createPrng } from '../helpers/prng.ts'

const CHAIN = 'mempool-test'
const TxListSchema = list(bytes({ max: 1 << 20 }), { max: 100 })
const signer = createSigner(keyPairFromSeed(new Uint8Array(32).fill(3)))

/** A signed envelope; `body` picks the content, `badSig` flips a signature bit. */
function makeTx (body: string | Uint8Array, o: { badSig?: boolean, chainId?: string, nonce?: number } = {}): Uint8Array {
  const env = {
    chainId: o.chainId ?? CHAIN,
    signer: signer.publicKey,
    expiresAtHeight: 1000,
    nonce: o.nonce ?? 0,
    body: typeof body === 'string' ? new TextEncoder().encode(body) : body,
  }
  const signature = signer.sign(txSignBytes(env))
  if (o.badSig === true) signature[0] = (signature[0] as number) ^ 1
  return encode(TxEnvelopeSchema, { ...env, signature })
}

const key = (tx: Uint8Array): string => toHex(txHash(tx))

interface FakeApp {
  checkTx: (tx: Uint8Array, mode: CheckTxMode) => Promise<CheckTxResult>
  invalid: Set<string>
  calls: Array<{ mode: CheckTxMode, key: string }>
  maxActive: number
}

function fakeApp (): FakeApp {
  let active = 0
  const app: FakeApp = {
    invalid: new Set(),
    calls: [],
    maxActive: 0,
    checkTx: async (tx, mode) => {
      active++
      app.maxActive = Math.max(app.maxActive, active)
      app.calls.push({ mode, key: key(tx) })
      await new Promise((resolve) => setImmediate(resolve))
      active--
      const bad = app.invalid.has(key(tx))
      return { code: bad ? 7 : 0, codespace: bad ? 'app' : '', log: bad ? 'no' : '', sender: 'office-1' }
    },
  }
  return app
}

function realVerifier (): TxSignatureVerifier & { calls: number, items: number } {
  const v = {
    calls: 0,
    items: 0,
    verifyTxs: async (items: Parameters<TxSignatureVerifier['verifyTxs']>[0]) => {
      v.calls++
      v.items += items.length
      return items.map((it) => verify(it.pubKey, it.signBytes, it.signature))
    },
  }
  return v
}

function setup (opts: MempoolOptions = {}): { mp: Mempool, app: FakeApp, verifier: ReturnType<typeof realVerifier> } {
  const app = fakeApp()
  const verifier = realVerifier()
  return { mp: createMempool({ chainId: CHAIN, ...opts }, { app, verifier }), app, verifier }
}

function refusedCode (r: MempoolCheckResult): string {
  return r.status === 'refused' ? r.error.code : r.status
}

t.test('a valid tx enters: size, bytes, lookup, iteration, listener', async (t) => {
  const { mp, app } = setup()
  const seen: string[] = []
  const off = mp.onTxAdded((e) => { seen.push(key(e.tx)) })
  const tx = makeTx('hello')
  const r = await mp.checkTx(tx, { peer: 'p1' })
  t.equal(r.status, 'added')
  t.equal(mp.size(), 1)
  t.equal(mp.sizeBytes(), tx.length)
  t.ok(mp.has(txHash(tx)))
  const e = mp.get(txHash(tx))
  t.same([...e?.peers ?? []], ['p1'])
  t.equal(e?.sender, 'office-1')
  t.same([...mp.txs()].map((x) => x.tx), [tx])
  t.same(seen, [key(tx)])
  t.same(app.calls, [{ mode: 'new', key: key(tx) }])
  off()
  await mp.checkTx(makeTx('second'))
  t.equal(seen.length, 1, 'unsubscribed')
})

t.test('bounds: oversize txs, count and bytes', async (t) => {
  const { mp, app, verifier } = setup({ maxTxs: 3, maxTxBytes: 200 })
  const big = makeTx(new Uint8Array(300))
  t.equal(refusedCode(await mp.checkTx(big)), 'ERR_MEMPOOL_TX_TOO_LARGE')
  t.equal(verifier.calls + app.calls.length, 0, 'refused before any work')
  for (let i = 0; i < 3; i++) t.equal((await mp.checkTx(makeTx(`t${i}`))).status, 'added')
  t.equal(refusedCode(await mp.checkTx(makeTx('t3'))), 'ERR_MEMPOOL_FULL')
  t.equal(mp.size(), 3)

  const one = makeTx('x')
  const { mp: small } = setup({ maxBytes: one.length * 2 + 1 })
  t.equal((await small.checkTx(one)).status, 'added')
  t.equal((await small.checkTx(makeTx('y'))).status, 'added')
  t.equal(refusedCode(await small.checkTx(makeTx('z'))), 'ERR_MEMPOOL_FULL')
  t.equal(small.counters().rejected, 1)
  t.equal(mp.counters().rejected, 2)
  // a tx refused for room is not cached: it enters once there is room
  small.removeTx(txHash(one))
  t.equal((await small.checkTx(makeTx('z'))).status, 'added')
})

t.test('malformed, wrong-chain and badly signed txs never reach the app', async (t) => {
  const { mp, app, verifier } = setup()
  t.equal(refusedCode(await mp.checkTx(new Uint8Array([1, 2, 3]))), 'ERR_MEMPOOL_MALFORMED_TX')
  t.equal(refusedCode(await mp.checkTx(makeTx('a', { chainId: 'other' }))), 'ERR_MEMPOOL_WRONG_CHAIN')
  t.equal(verifier.calls, 0, 'no signature work for either')
  const bad = makeTx('b', { badSig: true })
  t.equal(refusedCode(await mp.checkTx(bad)), 'ERR_MEMPOOL_BAD_SIGNATURE')
  t.equal(verifier.calls, 1)
  t.same(app.calls, [], 'checkTx never called')
  t.equal(mp.counters().failed, 3)
  t.equal(refusedCode(await mp.checkTx(bad)), 'ERR_MEMPOOL_BAD_SIGNATURE', 'not cached: checked again')

  const { mp: keep } = setup({ keepInvalidTxsInCache: true })
  await keep.checkTx(bad)
  t.equal(refusedCode(await keep.checkTx(bad)), 'ERR_MEMPOOL_DUPLICATE', 'keepInvalidTxsInCache remembers it')
})

t.test('app rejections come back as data; the tx can be sent again', async (t) => {
  const { mp, app } = setup()
  const tx = makeTx('maybe')
  app.invalid.add(key(tx))
  const r = await mp.checkTx(tx)
  t.equal(r.status, 'rejected')
  t.equal(r.status === 'rejected' ? r.check.code : -1, 7)
  t.equal(mp.size(), 0)
  app.invalid.delete(key(tx))
  t.equal((await mp.checkTx(tx)).status, 'added')
})

t.test('duplicates: in the mempool, in flight, in the cache; senders are merged', async (t) => {
  const { mp, app } = setup()
  const tx = makeTx('dup')
  await mp.checkTx(tx, { peer: 'a' })
  t.equal(refusedCode(await mp.checkTx(tx, { peer: 'b' })), 'ERR_MEMPOOL_DUPLICATE')
  t.same([...mp.get(txHash(tx))?.peers ?? []].sort(), ['a', 'b'])

  const tx2 = makeTx('concurrent')
  const [x, y] = await Promise.all([mp.checkTx(tx2, { peer: 'a' }), mp.checkTx(tx2, { peer: 'c' })])
  t.same([x.status, refusedCode(y)], ['added', 'ERR_MEMPOOL_DUPLICATE'], 'the second copy is in flight')
  const batch = await mp.checkTxs([makeTx('b1'), makeTx('b1')])
  t.same(batch.map(refusedCode), ['added', 'ERR_MEMPOOL_DUPLICATE'], 'twice in one batch')
  t.equal(app.calls.filter((c) => c.mode === 'new').length, 3, 'the app saw each tx once')
  t.equal(mp.counters().alreadyReceived, 3)
})

t.test('CVE-2023-34451: a tx evicted from an overflowing cache cannot enter twice', async (t) => {
  const { mp } = setup({ cacheSize: 2 })
  const a = makeTx('apple=100')
  await mp.checkTx(a)
  for (let i = 0; i < 5; i++) await mp.checkTx(makeTx(`orange=${i}`)) // pushes apple out of the cache
  t.equal(refusedCode(await mp.checkTx(a)), 'ERR_MEMPOOL_DUPLICATE')
  t.equal([...mp.txs()].filter((e) => key(e.tx) === key(a)).length, 1, 'one copy in the list')
  await mp.update(1, [a], [{ code: 0 }])
  t.notOk(mp.has(txHash(a)), 'committing it removes the only copy')
  t.equal(mp.size(), 5)
  t.equal(refusedCode(await mp.checkTx(a)), 'ERR_MEMPOOL_DUPLICATE', 'a committed tx stays in the cache')
})

t.test('removed txs can be added again; committed ones cannot (until the cache forgets them)', async (t) => {
  const { mp } = setup()
  const [a, b, c] = [makeTx('a'), makeTx('b'), makeTx('c')]
  await mp.checkTxs([a, b, c])
  t.ok(mp.removeTx(txHash(a)))
  t.notOk(mp.removeTx(txHash(a)), 'already gone')
  t.equal((await mp.checkTx(a)).status, 'added', 'removed → re-addable')
  await mp.update(1, [b, c], [{ code: 0 }, { code: 5 }])
  t.equal(refusedCode(await mp.checkTx(b)), 'ERR_MEMPOOL_DUPLICATE', 'committed and valid: cached')
  t.equal((await mp.checkTx(c)).status, 'added', 'committed but failed: may be sent again')
  t.same([...mp.txs()].map((e) => e.tx), [a, c])
  mp.flush()
  t.equal(mp.size() + mp.sizeBytes(), 0)
  t.equal((await mp.checkTx(b)).status, 'added', 'flush empties the cache too')
})

t.test('update rechecks the rest in order and evicts what now fails', async (t) => {
  const { mp, app } = setup()
  const txs = ['r0', 'r1', 'r2', 'r3'].map((s) => makeTx(s))
  await mp.checkTxs(txs)
  app.invalid.add(key(txs[2] as Uint8Array))
  app.calls.length = 0
  await mp.update(7, [txs[0] as Uint8Array], [{ code: 0 }])
  t.same(app.calls, [1, 2, 3].map((i) => ({ mode: 'recheck', key: key(txs[i] as Uint8Array) })), 'rechecked in arrival order')
  t.same([...mp.txs()].map((e) => e.tx), [txs[1], txs[3]])
  t.same(mp.counters(), { failed: 0, rejected: 0, evicted: 1, recheck: 3, alreadyReceived: 0 })
  app.invalid.clear()
  const again = await mp.checkTx(txs[2] as Uint8Array)
  t.equal(again.status, 'added', 'an evicted tx may be sent again')
  t.equal(mp.get(txHash(txs[2] as Uint8Array))?.height, 7, 'entries remember the height they entered at')

  const { mp: noRe, app: app2 } = setup({ recheck: false })
  await noRe.checkTxs(txs)
  app2.calls.length = 0
  await noRe.update(1, [], [])
  t.same(app2.calls, [], 'recheck off')
  await t.rejects(noRe.update(2, [txs[0] as Uint8Array], []), RangeError)
})

t.test('reap: arrival order, tx and byte limits, stops at the first tx that does not fit', async (t) => {
  const { mp } = setup()
  const txs = [10, 400, 10, 10].map((n, i) => makeTx(new Uint8Array(n).fill(i)))
  for (const tx of txs) await mp.checkTx(tx)
  t.same(mp.reap(-1, -1), txs)
  t.same(mp.reap(-1, 2), txs.slice(0, 2))
  t.same(mp.reap(-1, 0), [])
  const size = (tx: Uint8Array): number => encodedTxBytes(tx.length)
  const firstTwo = size(txs[0] as Uint8Array) + size(txs[1] as Uint8Array)
  t.same(mp.reap(firstTwo, -1), txs.slice(0, 2), 'exact fit')
  t.same(mp.reap(firstTwo - 1, -1), txs.slice(0, 1), 'the big one does not fit: stop, do not skip')
  t.equal(encodedTxBytes(10), 12)
  t.equal(encodedTxBytes(300), 303)
  t.equal(encodedTxBytes(70000), 70005)
  const asBlockList = encode(TxListSchema, txs)
  t.equal(txs.reduce((n, tx) => n + encodedTxBytes(tx.length), 0), asBlockList.length - 1, 'matches the block encoding (less the list header)')
})

t.test('txsAfter: per-peer gossip cursors skip removed txs', async (t) => {
  const { mp } = setup()
  const txs = ['g0', 'g1', 'g2', 'g3'].map((s) => makeTx(s))
  await mp.checkTxs(txs)
  const all = [...mp.txs()]
  const seq1 = all[1]?.seq ?? 0
  t.same([...mp.txsAfter(seq1)].map((e) => e.tx), txs.slice(2))
  mp.removeTx(txHash(txs[2] as Uint8Array))
  t.same([...mp.txsAfter(seq1)].map((e) => e.tx), [txs[3]])
  t.same([...mp.txsAfter(0)].map((e) => e.tx), [txs[0], txs[1], txs[3]])
  t.same([...mp.txsAfter(all[3]?.seq ?? 0)], [])
})

t.test('checkTxs verifies a batch in one verifier call, results in input order', async (t) => {
  const { mp, verifier, app } = setup()
  const good = Array.from({ length: 20 }, (_, i) => makeTx(`batch-${i}`))
  const bad = makeTx('batch-bad', { badSig: true })
  const rejected = makeTx('batch-rejected')
  app.invalid.add(key(rejected))
  const res = await mp.checkTxs([...good.slice(0, 10), bad, rejected, ...good.slice(10)])
  t.equal(verifier.calls, 1)
  t.equal(verifier.items, 22)
  t.same(res.map(refusedCode), [...Array(10).fill('added'), 'ERR_MEMPOOL_BAD_SIGNATURE', 'rejected', ...Array(10).fill('added')])
  t.same([...mp.txs()].map((e) => e.tx), good, 'arrival order is input order')
})

t.test('checks wait for update: no new check interleaves with a recheck, app calls never overlap', async (t) => {
  const { mp, app } = setup()
  const txs = Array.from({ length: 6 }, (_, i) => makeTx(`l${i}`))
  await mp.checkTxs(txs.slice(0, 4))
  app.calls.length = 0
  const update = mp.update(1, [txs[0] as Uint8Array], [{ code: 0 }])
  const late = [mp.checkTx(txs[4] as Uint8Array), mp.checkTx(txs[5] as Uint8Array)]
  await Promise.all([update, ...late])
  t.same(app.calls.map((c) => c.mode), ['recheck', 'recheck', 'recheck', 'new', 'new'])
  t.equal(app.maxActive, 1)

  const [before, after] = [makeTx('before'), makeTx('after')]
  const seen: string[][] = []
  const inFlight = mp.checkTx(before)
  const ex = mp.exclusive(async (locked) => {
    seen.push(app.calls.map((c) => c.key))
    await new Promise((resolve) => setTimeout(resolve, 5))
    await locked.update(2, [], [])
    seen.push(app.calls.map((c) => c.key))
  })
  const lateCheck = mp.checkTx(after)
  await Promise.all([inFlight, ex, lateCheck])
  t.ok(seen[0]?.includes(key(before)), 'the check already running finished before the exclusive section')
  t.notOk(seen[1]?.includes(key(after)), 'the check that came later waited for it')
  t.equal(app.calls[app.calls.length - 1]?.key, key(after))
})

t.test('a failing verifier or app releases the txs it held', async (t) => {
  let fail = true
  const app = fakeApp()
  const mp = createMempool({}, {
    app,
    verifier: { verifyTxs: async (items) => { if (fail) throw new Error('pool down'); return items.map(() => true) } },
  })
  const tx = makeTx('retry')
  await t.rejects(mp.checkTx(tx), /pool down/)
  fail = false
  t.equal((await mp.checkTx(tx)).status, 'added', 'not stuck as in flight or cached')
})

// ---- property test ---------------------------------------------------------------------

const SEED = process.env.MEMPOOL_SEED !== undefined ? Number(process.env.MEMPOOL_SEED) : 20240607
const ROUNDS = Number(process.env.MEMPOOL_ROUNDS ?? '40')
const OPS = 60

t.test(`property: list ≡ index, no duplicates, removed re-addable, in-mempool never re-added (seed ${SEED})`, async (t) => {
  const pool = Array.from({ length: 14 }, (_, i) => makeTx(`p${i}`, { nonce: i }))
  const badSig = makeTx('bad', { badSig: true })
  let violations = 0
  const check = (ok: boolean, msg: string): void => { if (!ok) { violations++; t.fail(msg) } }
  for (let round = 0; round < ROUNDS; round++) {
    const seed = SEED + round
    const rng = createPrng(seed)
    const keepInvalid = rng.int(4) === 0
    const { mp, app } = setup({ cacheSize: 1 + rng.int(3), maxTxs: 3 + rng.int(6), keepInvalidTxsInCache: keepInvalid })
    /** Keys that must enter on their next try if the app says yes and there is room. */
    const mustReadd = new Set<string>()
    let expectedOrder: string[] = []
    const invariants = (where: string): void => {
      const listed = [...mp.txs()]
      const keys = listed.map((e) => key(e.tx))
      check(new Set(keys).size === keys.length, `seed ${seed} ${where}: duplicate entries in the list`)
      check(keys.length === mp.size(), `seed ${seed} ${where}: list has ${keys.length}, index ${mp.size()}`)
      check(keys.every((k, i) => mp.get(txHash(listed[i]?.tx as Uint8Array))?.seq === listed[i]?.seq), `seed ${seed} ${where}: index points elsewhere`)
      check(listed.reduce((n, e) => n + e.tx.length, 0) === mp.sizeBytes(), `seed ${seed} ${where}: byte total`)
      check(listed.every((e, i) => i === 0 || (listed[i - 1]?.seq ?? 0) < e.seq), `seed ${seed} ${where}: not in arrival order`)
      check(JSON.stringify(keys) === JSON.stringify(expectedOrder), `seed ${seed} ${where}: order ${keys.join(',')} ≠ model ${expectedOrder.join(',')}`)
    }
    const add = async (txs: Uint8Array[]): Promise<void> => {
      const before = new Set([...mp.txs()].map((e) => key(e.tx)))
      const res = await mp.checkTxs(txs, { peer: `peer${rng.int(3)}` })
      res.forEach((r, i) => {
        const k = key(txs[i] as Uint8Array)
        const firstInBatch = txs.findIndex((x) => key(x) === k) === i
        if (before.has(k)) check(refusedCode(r) === 'ERR_MEMPOOL_DUPLICATE', `seed ${seed}: in-mempool tx got ${refusedCode(r)}`)
        if (r.status === 'added') { expectedOrder.push(k); mustReadd.delete(k) }
        if (mustReadd.has(k) && firstInBatch && !app.invalid.has(k) && refusedCode(r) !== 'ERR_MEMPOOL_FULL' && txs[i] !== badSig) {
          check(r.status === 'added', `seed ${seed}: removed tx ${k.slice(0, 8)} not re-addable (${refusedCode(r)})`)
        }
      })
    }
    for (let op = 0; op < OPS; op++) {
      const pick = (): Uint8Array => pool[rng.int(pool.length)] as Uint8Array
      const r = rng.int(10)
      if (r < 4) {
        await add(Array.from({ length: 1 + rng.int(3) }, () => (rng.int(15) === 0 ? badSig : pick())))
      } else if (r < 5) {
        const listed = [...mp.txs()]
        const victim = listed.length > 0 && rng.int(2) === 0 ? (listed[rng.int(listed.length)]?.tx as Uint8Array) : pick()
        if (mp.removeTx(txHash(victim))) { expectedOrder = expectedOrder.filter((k) => k !== key(victim)) }
        mustReadd.add(key(victim))
      } else if (r < 7) {
        const k = key(pick())
        if (app.invalid.has(k)) app.invalid.delete(k)
        else app.invalid.add(k)
      } else {
        const committed = Array.from({ length: rng.int(4) }, pick).filter((tx, i, a) => a.findIndex((x) => key(x) === key(tx)) === i)
        const results = committed.map(() => ({ code: rng.int(4) === 0 ? 1 : 0 }))
        const concurrent = rng.int(2) === 0 ? add([pick()]) : Promise.resolve()
        // the concurrent add may run before or after the update; order the model by waiting
        await concurrent
        await mp.update(op, committed, results)
        const gone = new Set(committed.map(key))
        for (const [i, tx] of committed.entries()) {
          if ((results[i]?.code ?? 0) === 0) mustReadd.delete(key(tx))
          else if (!keepInvalid) mustReadd.add(key(tx))
        }
        for (const k of expectedOrder) {
          if (!app.invalid.has(k)) continue
          gone.add(k)
          if (!keepInvalid) mustReadd.add(k)
        }
        expectedOrder = expectedOrder.filter((k) => !gone.has(k))
        const lastOk = [...committed].reverse().find((_, j) => (results[committed.length - 1 - j]?.code ?? 1) === 0)
        if (lastOk !== undefined) {
          const again = await mp.checkTx(lastOk)
          check(refusedCode(again) === 'ERR_MEMPOOL_DUPLICATE', `seed ${seed}: committed tx re-entered (${refusedCode(again)})`)
        }
      }
      invariants(`op ${op}`)
      if (violations > 5) break
    }
    if (violations > 5) break
  }
  t.equal(violations, 0, `${ROUNDS} runs × ${OPS} ops`)
})
