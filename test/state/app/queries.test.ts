/**
 * Queries with proofs (DESIGN §6): every path answers with raw store entries whose proofs
 * verify against the app_hash that commits the answered height, and fail when the value,
 * the proof or the app hash is tampered with; absent keys come with non-membership proofs;
 * bad paths and heights get their result codes. Run on both the in-memory store and the
 * disk store.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DAY, hexOf, newChain, type Chain } from '../helpers.ts'
import { A, enrollPerson, setupProvinces } from '../world.ts'
import { decodeQueryValue, QueryEntriesSchema, verifyQueryResponse } from '../../../state/query.ts'
import { createMemoryStore, verifyMemProof } from '../../../state/memory-kv.ts'
import { openAppStore, verifyStoreProof } from '../../../state/store-adapter.ts'
import { decode, encode } from '../../../src/codec/index.ts'
import { resultName } from '../../../state/codes.ts'
import type { ProofVerifier } from '../../../state/store-api.ts'

const q = async (c: Chain, path: string, height = 0, prove = true) => await c.app.query({ path, data: new Uint8Array(0), height, prove })

for (const kind of ['memory', 'disk'] as const) {
  t.test(`proofs on the ${kind} store`, async (t) => {
    let verify: ProofVerifier = verifyMemProof
    let store = createMemoryStore() as Parameters<typeof newChain>[0] extends infer O ? O extends { store?: infer S } ? S : never : never
    if (kind === 'disk') {
      const dir = mkdtempSync(join(tmpdir(), 'aid-q-'))
      const s = await openAppStore({ path: dir, sync: false })
      t.teardown(async () => { await s.close(); rmSync(dir, { recursive: true, force: true }) })
      store = s
      verify = verifyStoreProof
    }
    const c = await newChain({ store })
    await setupProvinces(c)
    const e = await enrollPerson(c, 'q1')
    const paths = [
      '/office/14', `/office-by-key/${hexOf((await import('../helpers.ts')).pub('a-town'))}`, `/program/1001/${A.town}`,
      `/budget/1001/2026/${A.county}`, `/household/${hexOf(e.hh)}`, `/subject/${hexOf(e.subject)}`,
      `/enrolled/${hexOf(e.subject)}/basic-living`, `/enrolled/${hexOf(e.subject)}/housing-aid`, `/enrollments/${hexOf(e.subject)}`,
      `/enrollment/${hexOf(e.enrollmentId)}`, `/application/${hexOf(e.appId)}`, `/attestation/${hexOf(e.subject)}/income-property`,
      `/consent/${hexOf(e.hh)}/eligibility-check`, `/audit/enrollment/${hexOf(e.enrollmentId)}`, `/audit/budget/1001-2026-${A.county}`,
      `/audit/office/16/0/2`, `/count/dibao/${A.county}`, '/params', '/validators', '/meta', `/disbursement/${hexOf(e.enrollmentId)}/202603`,
      `/alert/${'00'.repeat(32)}`, `/emergency/${'00'.repeat(32)}`, `/proposal/${'00'.repeat(32)}`, '/store/5f2f6d657461',
    ]
    for (const path of paths) {
      const r = await q(c, path)
      t.equal(r.code, 0, `${path} ${r.log}`)
      if (!verifyQueryResponse(r, c.appHashes[r.height] as Uint8Array, verify)) t.fail(`${path} does not verify`)
    }
    t.pass(`${paths.length} paths verify`)
    const enrolledNo = decodeQueryValue((await q(c, `/enrolled/${hexOf(e.subject)}/housing-aid`)).value)
    t.same(enrolledNo.map((x) => x.record), [null], 'not enrolled: one absent entry, with a non-membership proof')

    // Tampering.
    const r = await q(c, '/office/14')
    const root = c.appHashes[r.height] as Uint8Array
    t.ok(verifyQueryResponse(r, root, verify))
    const entries = decode(QueryEntriesSchema, r.value).entries
    const tampered = entries.map((x) => ({ key: x.key, value: x.value === null ? null : Uint8Array.from(x.value, (b, i) => (i === x.value!.length - 1 ? b ^ 1 : b)) }))
    t.notOk(verifyQueryResponse({ ...r, value: encode(QueryEntriesSchema, { entries: tampered }) }, root, verify), 'tampered value fails')
    t.notOk(verifyQueryResponse({ ...r, value: encode(QueryEntriesSchema, { entries: entries.map((x) => ({ key: x.key, value: null })) }) }, root, verify), 'claiming absence of a present key fails')
    const op = r.proofOps[0] as { type: string, key: Uint8Array, data: Uint8Array }
    const badData = op.data.slice()
    badData[badData.length - 3] = (badData[badData.length - 3] as number) ^ 0x40
    t.notOk(verifyQueryResponse({ ...r, proofOps: [{ ...op, data: badData }] }, root, verify), 'tampered proof fails')
    t.notOk(verifyQueryResponse(r, c.appHashes[r.height - 1] as Uint8Array, verify), 'another app hash fails')
    t.notOk(verifyQueryResponse({ ...r, proofOps: [] }, root, verify), 'missing proof fails')
    const absent = await q(c, '/office/999')
    t.ok(verifyQueryResponse(absent, root, verify), 'absence proof verifies')
    const claim = encode(QueryEntriesSchema, { entries: [{ key: decode(QueryEntriesSchema, absent.value).entries[0]!.key, value: new Uint8Array([1]) }] })
    t.notOk(verifyQueryResponse({ ...absent, value: claim }, root, verify), 'claiming a value for an absent key fails')

    // History: the enrollment did not exist before the approval block.
    const before = await q(c, `/enrolled/${hexOf(e.subject)}/basic-living`, c.height - 1)
    t.equal(before.height, c.height - 1)
    t.same(decodeQueryValue(before.value).map((x) => x.record), [null])
    t.ok(verifyQueryResponse(before, c.appHashes[c.height - 1] as Uint8Array, verify), 'historical absence verifies against its own app hash')
  })
}

t.test('query errors', async (t) => {
  const c = await newChain()
  const cases: Array<[string, number, string]> = [
    ['/nothing', 0, 'QUERY_UNKNOWN_PATH'],
    ['/office/abc', 0, 'QUERY_BAD_ARGS'],
    ['/household/1234', 0, 'QUERY_BAD_ARGS'],
    ['/enrolled/' + '00'.repeat(32) + '/lottery', 0, 'QUERY_BAD_ARGS'],
    ['/budget/1/2026/99999', 0, 'QUERY_BAD_ARGS'],
    ['/audit/office/1/0/1000', 0, 'QUERY_BAD_ARGS'],
    ['/audit/thing/1', 0, 'QUERY_BAD_ARGS'],
    ['/store/zz', 0, 'QUERY_BAD_ARGS'],
    ['/office/1', 99, 'QUERY_HEIGHT_UNAVAILABLE'],
  ]
  for (const [path, height, want] of cases) {
    const r = await q(c, path, height)
    t.equal(resultName(r.code), want, `${path} @${height}: ${r.log}`)
    t.equal(r.codespace, 'aidledger')
  }
  const g = await q(c, '/office/1')
  t.equal(g.height, 0, 'genesis state is height 0')
  t.match(decodeQueryValue(g.value)[0]?.record, { id: 1, level: 'ministry', region: '000000' })
})

t.test('listings: alerts by office, reviews due by county', async (t) => {
  const c = await newChain()
  await setupProvinces(c)
  const e1 = await enrollPerson(c, 'l1', { reviewInDays: 30 })
  const e2 = await enrollPerson(c, 'l2', { reviewInDays: 90 })
  const list = async (path: string): Promise<unknown[]> => {
    const r = await q(c, path)
    t.equal(r.code, 0, r.log)
    const records = decodeQueryValue(r.value).map((x) => x.record)
    if (records.length > 0) t.ok(verifyQueryResponse(r, c.appHashes[r.height] as Uint8Array, verifyMemProof), `${path} entries verify`)
    return records
  }
  const due = async (days: number): Promise<string[]> => {
    const r = await c.app.query({ path: `/reviews-due/${A.county}/${c.time + days * DAY}`, data: new Uint8Array(0), height: 0, prove: false })
    return r.value.length === 0 ? [] : decodeQueryValue(r.value).map((x) => (x.record as { id: string }).id)
  }
  t.same(await due(0), [], 'nothing due now')
  t.same(await due(40), [hexOf(e1.enrollmentId)], 'the 30-day review is due within 40 days')
  t.same((await due(120)).sort(), [hexOf(e1.enrollmentId), hexOf(e2.enrollmentId)].sort())
  await c.run('a-county-ca', { type: 'enrollment.adjust', value: { enrollmentId: e1.enrollmentId, amountFen: 40_000, nextReviewAt: c.time + 200 * DAY } })
  await c.run('a-county-ca', { type: 'enrollment.exit', value: { enrollmentId: e2.enrollmentId, reason: 'moved-away' } })
  t.same(await due(120), [], 'the review moved; the exited enrollment left the index')
  t.same(await due(400), [hexOf(e1.enrollmentId)])
  t.equal((await list(`/reviews-due/${A.county}/${c.time + 400 * DAY}`)).length, 1)

  const raised = await c.run('a-town', { type: 'alert.raise', value: { toOfficeId: 14, category: 'review-overdue', severity: 'low', refKind: 'enrollment', ref: e1.enrollmentId } })
  t.match(await list('/alerts/14'), [{ id: hexOf(raised.opId), addressee: 14 }])
  await c.block([], 4 * DAY)
  t.same(await list('/alerts/14'), [], 'escalated away from the county')
  t.match(await list('/alerts/12'), [{ addressee: 12, escalations: 1 }], 'now listed at the city')
  await c.run('a-city-ca', { type: 'alert.resolve', value: { alertId: raised.opId, outcome: 'fixed' } })
  t.same(await list('/alerts/12'), [], 'resolved alerts leave the listing')
  const old = await c.app.query({ path: '/alerts/12', data: new Uint8Array(0), height: c.height - 1, prove: false })
  t.equal(resultName(old.code), 'QUERY_HEIGHT_UNAVAILABLE', 'listings answer at the latest height only')
  t.equal(resultName((await q(c, `/reviews-due/${A.town}/1`)).code), 'QUERY_BAD_ARGS', 'reviews are listed per county')
})
