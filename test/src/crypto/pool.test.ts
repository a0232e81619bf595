import t from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { createVerifyPool, type VerifyItem } from '../../../src/crypto/pool.ts'
import { createVerifier, generateKeyPair, sign } from '../../../src/crypto/ed25519.ts'
import { isAidError } from '../../../src/errors.ts'
import { makeCase } from './ed25519-cases.ts'

const root = fileURLToPath(new URL('../../../', import.meta.url))

// A mixed batch: every edge kind of the random test (valid and invalid, incl. noble
// fallbacks inside the workers) plus malformed items that never reach a worker.
function mixedItems (n: number): VerifyItem[] {
  const items: VerifyItem[] = []
  for (let i = 0; i < n; i++) items.push(makeCase(7, i))
  items.splice(3, 0, { pub: new Uint8Array(31), msg: new Uint8Array(0), sig: new Uint8Array(64) })
  items.splice(9, 0, { pub: 'x', msg: new Uint8Array(0), sig: null } as unknown as VerifyItem)
  return items
}

const reference = createVerifier()
const verdictsOf = (items: VerifyItem[]): boolean[] => items.map((it) => reference.verify(it.pub, it.msg, it.sig))

t.test('pool verdicts equal single-thread verdicts', async (t) => {
  const items = mixedItems(170) // 10 of each case kind
  const expected = verdictsOf(items)
  t.ok(expected.includes(true) && expected.includes(false), 'the batch mixes verdicts')
  for (const size of [1, 2, 3]) {
    const pool = createVerifyPool({ size, maxChunk: 64 })
    t.teardown(() => pool.close())
    await pool.ready()
    t.same(await pool.verifyBatch(items), expected, `size ${size}: verifyBatch`)
    t.same(await Promise.all(items.map((it) => pool.verify(it.pub, it.msg, it.sig))), expected, `size ${size}: coalesced verify`)
    t.same(await pool.verifyBatch([]), [], 'empty batch')
    // Concurrent batches of different sizes interleave across workers.
    const parts = [items.slice(0, 5), items.slice(5, 200), items.slice(200)]
    const got = await Promise.all(parts.map((p) => pool.verifyBatch(p)))
    t.same(got.flat(), expected, `size ${size}: concurrent batches`)
    await pool.close()
  }
})

t.test('a worker that dies mid-batch is replaced and its chunks are verified again', async (t) => {
  const items = mixedItems(68)
  const expected = verdictsOf(items)
  const pool = createVerifyPool({ size: 2, maxChunk: 16 })
  t.teardown(() => pool.close())
  await pool.ready()
  // Simulate a crash: the first batch message goes out, then its worker is terminated.
  const original = Worker.prototype.postMessage
  let killed = 0
  Worker.prototype.postMessage = function (this: Worker, value: unknown, transfer?: readonly ArrayBuffer[]) {
    original.call(this, value, transfer as ArrayBuffer[])
    if (killed === 0 && value instanceof ArrayBuffer) {
      killed++
      void this.terminate()
    }
  }
  try {
    t.same(await pool.verifyBatch(items), expected, 'verdicts despite the crash')
  } finally {
    Worker.prototype.postMessage = original
  }
  t.equal(killed, 1)
  t.same(await pool.verifyBatch(items), expected, 'the pool still works after')
})

t.test('verifyCached caches verdicts by key and shares in-flight work', async (t) => {
  const pool = createVerifyPool({ size: 2, cacheSize: 2 })
  t.teardown(() => pool.close())
  const kp = generateKeyPair()
  const msg = new Uint8Array([1, 2, 3])
  const sig = sign(kp, msg)
  const k1 = new Uint8Array(32).fill(1)
  const k2 = new Uint8Array(32).fill(2)
  const k3 = new Uint8Array(32).fill(3)
  t.equal(pool.cachedVerdict(k1), undefined)
  const [a, b] = await Promise.all([pool.verifyCached(k1, kp.publicKey, msg, sig), pool.verifyCached(k1, kp.publicKey, msg, sig)])
  t.equal(a, true)
  t.equal(b, true)
  t.equal(pool.cachedVerdict(k1), true)
  t.equal(await pool.verifyCached(k2, kp.publicKey, new Uint8Array([9]), sig), false)
  t.equal(pool.cachedVerdict(k2), false, 'negative verdicts are cached too')
  // The key is trusted to commit to the inputs: a hit does not re-verify.
  t.equal(await pool.verifyCached(k1, kp.publicKey, new Uint8Array([9]), sig), true, 'hit by key')
  await pool.verifyCached(k3, kp.publicKey, msg, sig)
  t.equal(pool.cachedVerdict(k2), undefined, 'bounded: least recently used evicted')
  t.equal(pool.cachedVerdict(k1), true)
})

t.test('close: pending and later calls fail with ERR_CRYPTO_POOL_CLOSED', async (t) => {
  const pool = createVerifyPool({ size: 2 })
  const items = mixedItems(40)
  const it0 = items[0] as VerifyItem
  // Settle each promise as it is made, so no rejection is ever unhandled.
  const settle = async (p: Promise<unknown>): Promise<unknown> => await p.then(() => undefined, (e: unknown) => e)
  const pending = [settle(pool.verifyBatch(items)), settle(pool.verify(it0.pub, it0.msg, it0.sig))]
  await pool.close()
  const after = [
    settle(pool.verifyBatch(items)),
    settle(pool.verify(it0.pub, it0.msg, it0.sig)),
    settle(pool.verifyCached(new Uint8Array(32), it0.pub, it0.msg, it0.sig)),
    settle(pool.ready()),
  ]
  const labels = ['pending batch', 'pending single', 'verifyBatch', 'verify', 'verifyCached', 'ready']
  const errs = await Promise.all([...pending, ...after])
  errs.forEach((e, i) => { t.ok(isAidError(e, 'ERR_CRYPTO_POOL_CLOSED'), `${labels[i] ?? i}: ${String(e)}`) })
  await pool.close() // idempotent
})

t.test('under plain node --import ./src/register.js, the process exits after close (and without it)', async (t) => {
  for (const mode of ['close', 'no-close']) {
    const started = Date.now()
    const r = spawnSync(process.execPath, ['--import', './src/register.js', 'test/src/crypto/fixtures/pool-child.ts', mode], {
      cwd: root, encoding: 'utf8', timeout: 30_000,
    })
    t.equal(r.status, 0, `${mode}: exit code (stderr: ${r.stderr})`)
    t.same(JSON.parse(r.stdout.trim() || '{}'), { verdicts: [true, false], single: true }, `${mode}: verdicts`)
    t.comment(`${mode}: child ran ${Date.now() - started} ms`)
  }
})
