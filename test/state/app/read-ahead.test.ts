/**
 * The finalizeBlock fast paths change nothing but speed (DESIGN §5 determinism):
 *   - the per-block ReadCache reads each key of the committed state once;
 *   - the read-ahead (state/prefetch.ts) gives the same results and app hashes as running
 *     without it, on blocks mixing dependent txs (register + consent + submit of one
 *     subject in one block), failures and replays;
 *   - scanWhile (paged due-index scans) returns what one big iterate cut at the first
 *     refusal returns;
 *   - key building gives the bytes the Buffer-based version gave.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CHAIN, DAY, T0, hexOf, id, initRequest, newChain, resetNonces, tx, verifier, type Chain, type LoggedBlock } from '../helpers.ts'
import { A, B, enrollPerson, setupProvinces } from '../world.ts'
import { createSocialApp } from '../../../state/app.ts'
import { createMemoryStore } from '../../../state/memory-kv.ts'
import { openAppStore } from '../../../state/store-adapter.ts'
import { collectEntries, scanWhile, type AppStore } from '../../../state/store-api.ts'
import { ReadCache } from '../../../state/kv.ts'
import { K, u32be, u64be } from '../../../state/keys.ts'
import { resultName } from '../../../state/codes.ts'

async function mixedChain (t: Test, c: Chain): Promise<void> {
  await setupProvinces(c)
  const e1 = await enrollPerson(c, 'r1')
  const e2 = await enrollPerson(c, 'r2')
  const at = { height: c.height + 1 }
  const hh = id('hh/new')
  const subj = id('person/new')
  const dup = tx('a-town', { type: 'alert.raise', value: { toOfficeId: 14, category: 'data-error', severity: 'low', refKind: 'subject', ref: e1.subject } }, at)
  const res = await c.block([
    // Dependent within the block: the read-ahead finds nothing for these, the overlay does.
    tx('a-town', { type: 'household.register', value: { householdId: hh, hukouRegion: A.town, residenceRegion: B.town, members: [subj], statutoryCheck: false } }, at),
    tx('a-town', { type: 'consent.record', value: { householdId: hh, purpose: 'eligibility-check', scope: ['income-property'], expiresAt: c.time + 300 * DAY } }, at),
    tx('b-town', { type: 'application.submit', value: { subjectId: subj, programId: 1001 } }, at),
    tx('a-county-ca', { type: 'attestation.issue', value: { subjectId: subj, type: 'income-property', reportHash: id('rep'), validUntilHeight: 0, validUntilTime: c.time + 90 * DAY } }, at),
    // Read ahead from committed records: payments, a review adjustment, a duplicate payment.
    tx('a-county-fin', { type: 'disbursement.pay', value: { enrollmentId: e1.enrollmentId, period: 202603 } }, at),
    tx('a-county-fin', { type: 'disbursement.pay', value: { enrollmentId: e1.enrollmentId, period: 202603 } }, at),
    tx('a-county-ca', { type: 'enrollment.adjust', value: { enrollmentId: e2.enrollmentId, amountFen: 60_000, nextReviewAt: c.time + 100 * DAY } }, at),
    // Failures: a missing application, a duplicate submit, a replay, a death exiting an enrollment.
    tx('a-town', { type: 'application.accept', value: { applicationId: id('nothing') } }, at),
    tx('a-town', { type: 'application.submit', value: { subjectId: subj, programId: 1001 } }, at),
    dup, dup,
    tx('a-county-health', { type: 'attestation.issue', value: { subjectId: e2.subject, type: 'death', reportHash: id('death'), validUntilHeight: 0, validUntilTime: 0 } }, at),
    tx('a-county-fin', { type: 'disbursement.pay', value: { enrollmentId: e2.enrollmentId, period: 202603 } }, at),
  ])
  const names = res.txResults.map((r) => resultName(r.code))
  t.same(names, ['OK', 'OK', 'OK', 'OK', 'OK', 'DISBURSEMENT_DUPLICATE', 'OK', 'APPLICATION_NOT_FOUND', 'APPLICATION_DUPLICATE', 'OK', 'TX_REPLAYED', 'OK', 'ENROLLMENT_NOT_ACTIVE'], 'the mixed block runs as intended')
  await c.block([], 5 * DAY) // alert escalation at the boundary
}

t.test('read-ahead on and off: same results and app hashes, disk and memory stores', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aid-readahead-'))
  const disk: AppStore[] = []
  t.teardown(async () => {
    for (const s of disk) await s.close()
    rmSync(dir, { recursive: true, force: true })
  })
  resetNonces()
  const c = await newChain()
  await mixedChain(t, c)
  const log: LoggedBlock[] = c.log

  const run = async (store: AppStore, readAhead: boolean): Promise<{ hashes: string[], results: string }> => {
    const app = createSocialApp({ store, verifier, chainId: CHAIN, readAhead })
    await app.initChain(initRequest())
    const hashes: string[] = []
    const results: unknown[] = []
    for (const b of log) {
      const res = await app.finalizeBlock({
        txs: b.txs, height: b.height, time: b.time, hash: new Uint8Array(32), proposerAddress: new Uint8Array(20), misbehavior: [], nextValidatorsHash: new Uint8Array(32),
      })
      await app.commit()
      hashes.push(hexOf(res.appHash))
      results.push(res.txResults.map((r) => [r.code, r.log, hexOf(r.data), r.events]), res.events)
    }
    return { hashes, results: JSON.stringify(results) }
  }
  const onDisk = async (name: string): Promise<AppStore> => {
    const s = await openAppStore({ path: join(dir, name), sync: false })
    disk.push(s)
    return s
  }
  const diskOn = await run(await onDisk('on'), true)
  const diskOff = await run(await onDisk('off'), false)
  const memOn = await run(createMemoryStore(), true)
  const memOff = await run(createMemoryStore(), false)
  t.same(diskOff.hashes, diskOn.hashes, 'disk store: same app hashes')
  // The in-memory store hashes differently (state/memory-kv.ts): compare it with itself.
  t.same(memOff.hashes, memOn.hashes, 'memory store: same app hashes')
  t.same(memOn.hashes, c.appHashes.slice(1).map(hexOf), 'as recorded')
  for (const [name, r] of [['disk, off', diskOff], ['memory, on', memOn], ['memory, off', memOff]] as const) {
    t.equal(r.results, diskOn.results, `tx results and events: ${name} = disk, on`)
  }
})

t.test('ReadCache reads each key once and answers peeks', async (t) => {
  const reads: string[] = []
  const parent = { get: async (k: Uint8Array) => { reads.push(hexOf(k)); return k[0] === 1 ? Uint8Array.of(9) : null } }
  const rc = new ReadCache(parent)
  const a = Uint8Array.of(1)
  const b = Uint8Array.of(2)
  t.equal(rc.peek(a), undefined, 'not read yet')
  const [x, y] = await Promise.all([rc.get(a), rc.get(Uint8Array.of(1))])
  t.same([x, y], [Uint8Array.of(9), Uint8Array.of(9)])
  t.equal(x, y, 'one array per key')
  await rc.prefetch([a, b, Uint8Array.of(2)])
  t.same(reads, ['01', '02'], 'each key read once, concurrent reads shared')
  t.same(rc.peek(a), Uint8Array.of(9))
  t.equal(rc.peek(b), null, 'absent key')
  t.equal(await rc.get(b), null)
  t.equal(rc.size, 2)
})

t.test('scanWhile returns the entries of one big scan cut at the first refusal', async (t) => {
  const store = createMemoryStore()
  const heights: number[] = []
  for (let i = 0; i < 3000; i++) {
    const h = 1 + (i % 700)
    heights.push(h)
    store.set(K.replayExpiry(h, id(`op${i}`)), new Uint8Array(0))
  }
  store.set(K.alertDue(5, id('other prefix')), new Uint8Array(0))
  await store.commit()
  for (const max of [1, 63, 64, 65, 320, 2999, 3000, 10_000]) {
    for (const below of [0, 1, 2, 50, 133, 699, 700, 701]) {
      const take = (key: Uint8Array): boolean => Number(Buffer.from(key).readBigUInt64BE(3)) < below
      const all = await collectEntries(await store.iterate(K.replayExpiryPrefix(), { limit: max }))
      const cut = all.findIndex((e) => !take(e.key))
      const want = (cut < 0 ? all : all.slice(0, cut)).map((e) => hexOf(e.key))
      const got = (await scanWhile(store, K.replayExpiryPrefix(), max, take)).map((e) => hexOf(e.key))
      if (got.length !== want.length || got.some((k, i) => k !== want[i])) t.fail(`max ${max}, below ${below}: ${got.length} vs ${want.length}`)
    }
  }
  t.pass('all cuts agree')
})

t.test('key building matches the Buffer-based encoding', async (t) => {
  const old32 = (n: number): string => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b.toString('hex') }
  const old64 = (n: number): string => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(n)); return b.toString('hex') }
  for (const n of [0, 1, 255, 256, 65_535, 2 ** 31, 0xffffffff, 1.5, NaN]) t.equal(hexOf(u32be(n)), old32(n), `u32 ${n}`)
  for (const n of [-1, 2 ** 32]) t.throws(() => u32be(n), `u32 ${n} throws`)
  for (const n of [0, 1, 2 ** 32, 2 ** 32 + 5, T0, 2 ** 53 - 1]) t.equal(hexOf(u64be(n)), old64(n), `u64 ${n}`)
  for (const n of [-1, 1.5]) t.throws(() => u64be(n), `u64 ${n} throws`)
  t.equal(Buffer.from(K.officeSeat('420102001', 'civil-affairs')).toString(), 'os/420102001/civil-affairs')
  t.equal(hexOf(K.officeSeat('4201', 'é')), Buffer.from('os/4201/é', 'utf8').toString('hex'), 'non-ASCII parts are UTF-8')
  t.equal(hexOf(K.count('dibao', '420000')), Buffer.from('n/dibao/420000').toString('hex'))
  t.equal(hexOf(K.program(1001)), '702f' + '000003e9')
})
