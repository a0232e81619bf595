/**
 * The end-to-end scenario through the Application interface only: a ministry and two
 * provinces are set up; a program gets budgets; a person whose hukou is in province A
 * applies at an office in province B (one door); A's township accepts; A's county
 * approves; a payment is made; after the household's hukou moves to B, a second
 * enrollment in the same exclusivity group from province B is rejected with
 * EXCLUSIVITY_CONFLICT. Each step's state is proven against the app_hash of the header
 * that commits it.
 */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DAY, T0, hexOf, id, newChain, type Chain } from './helpers.ts'
import { A, B, officeId, setupProvinces } from './world.ts'
import { decodeQueryValue, verifyQueryResponse } from '../../state/query.ts'
import { openAppStore, verifyStoreProof } from '../../state/store-adapter.ts'

async function proven (t: Test, c: Chain, path: string): Promise<Array<{ key: string, record: any }>> {
  const resp = await c.app.query({ path, data: new Uint8Array(0), height: 0, prove: true })
  t.equal(resp.code, 0, `${path}: ${resp.log}`)
  t.equal(resp.height, c.height)
  // The state after block h is committed by header h+1's app_hash: the root returned by finalizeBlock(h).
  const appHash = c.appHashes[resp.height] as Uint8Array
  t.ok(verifyQueryResponse(resp, appHash, verifyStoreProof), `${path} verifies against app_hash`)
  return decodeQueryValue(resp.value)
}

t.test('one-door application across provinces, decision, payment, exclusivity', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'aid-scenario-'))
  const store = await openAppStore({ path: dir, sync: false })
  t.teardown(async () => { await store.close(); rmSync(dir, { recursive: true, force: true }) })
  const c = await newChain({ store })
  await setupProvinces(c)
  const sub = await proven(t, c, `/budget/1001/2026/${A.county}`)
  t.match(sub[0]?.record, { allocated: 10_000_000, committed: 0, paid: 0 })

  // A household registered in A's township; the person lives in B.
  const hh = id('household-1')
  const p1 = id('person-1')
  let r = await c.run('a-town', { type: 'household.register', value: { householdId: hh, hukouRegion: A.town, residenceRegion: B.town, members: [p1, id('person-2')], statutoryCheck: false } })
  t.equal(r.code, 0, r.log)
  const subj = await proven(t, c, `/subject/${hexOf(p1)}`)
  t.equal(subj[0]?.record.householdId, hexOf(hh))

  // One door: B's township receives consent and the application.
  r = await c.run('b-town', { type: 'consent.record', value: { householdId: hh, purpose: 'eligibility-check', scope: ['income-property'], expiresAt: T0 + 365 * DAY } })
  t.equal(r.code, 0, r.log)
  const submit = await c.run('b-town', { type: 'application.submit', value: { subjectId: p1, programId: 1001 } })
  t.equal(submit.code, 0, submit.log)
  const appId = submit.opId
  t.same(submit.data, appId, 'result data is the application id')
  let app = (await proven(t, c, `/application/${hexOf(appId)}`))[0]?.record
  t.equal(app.handlingOfficeId, officeId('a-town'), 'handling office fixed by rule: the hukou township')
  t.equal(app.receivingOfficeId, officeId('b-town'))

  // B forwards, A's township accepts and runs publicity.
  t.equal((await c.run('a-town', { type: 'application.accept', value: { applicationId: appId } })).name, 'APPLICATION_BAD_STATE', 'accept before forward')
  const step = async (signer: string, type: 'application.forward' | 'application.accept' | 'publicity.open' | 'publicity.close', status: string): Promise<void> => {
    const res = await c.run(signer, { type, value: { applicationId: appId } })
    t.equal(res.code, 0, `${type}: ${res.log}`)
    t.equal((await proven(t, c, `/application/${hexOf(appId)}`))[0]?.record.status, status, `${type} proven: ${status}`)
  }
  await step('b-town', 'application.forward', 'forwarded')
  await step('a-town', 'application.accept', 'accepted')
  await step('a-town', 'publicity.open', 'publicity-open')
  t.equal((await c.run('a-town', { type: 'publicity.close', value: { applicationId: appId } })).name, 'PUBLICITY_TOO_EARLY')
  await c.block([], 7 * DAY)
  await step('a-town', 'publicity.close', 'publicity-closed')

  // A's county: income check, then approval.
  const approve = { type: 'decision.approve' as const, value: { applicationId: appId, amountFen: 70_000, nextReviewAt: T0 + 180 * DAY, emergencyId: null } }
  t.equal((await c.run('a-county-ca', approve)).name, 'ATTESTATION_MISSING')
  r = await c.run('a-county-ca', { type: 'attestation.issue', value: { subjectId: p1, type: 'income-property', reportHash: id('report-1'), validUntilHeight: 0, validUntilTime: T0 + 90 * DAY } })
  t.equal(r.code, 0, r.log)
  t.equal((await c.run('b-county-ca', approve)).name, 'FORBIDDEN_REGION', "B's county cannot decide A's case")
  const decided = await c.run('a-county-ca', approve)
  t.equal(decided.code, 0, decided.log)
  const enrollmentId = decided.opId
  const enrolled = await proven(t, c, `/enrolled/${hexOf(p1)}/basic-living`)
  t.equal(enrolled[0]?.record.id, hexOf(enrollmentId))
  t.match(enrolled[1]?.record, { status: 'active', region: A.county, amountFen: 70_000, programId: 1001 })
  app = (await proven(t, c, `/application/${hexOf(appId)}`))[0]?.record
  t.same(app.timeline.map((e: { action: string }) => e.action), ['submitted', 'forwarded', 'accepted', 'publicity-opened', 'publicity-closed', 'approved'])

  // Payment by A's county finance for March 2026.
  const pay = await c.run('a-county-fin', { type: 'disbursement.pay', value: { enrollmentId, period: 202603 } })
  t.equal(pay.code, 0, pay.log)
  t.ok(pay.events.some((e) => e.type === 'disbursement' && e.attributes.some((a) => a.key === 'program' && a.value === '1001' && a.index)))
  t.equal((await c.run('a-county-fin', { type: 'disbursement.pay', value: { enrollmentId, period: 202603 } })).name, 'DISBURSEMENT_DUPLICATE')
  const budget = await proven(t, c, `/budget/1001/2026/${A.county}`)
  t.match(budget[0]?.record, { allocated: 10_000_000, paid: 70_000 })
  const paid = await proven(t, c, `/disbursement/${hexOf(enrollmentId)}/202603`)
  t.match(paid[0]?.record, { amountFen: 70_000, paidBy: officeId('a-county-fin') })

  // The household moves its hukou to B (A's township proposes, A's county approves).
  t.equal((await c.run('a-town', { type: 'household.propose-change', value: { householdId: hh, addMembers: [], removeMembers: [], hukouRegion: B.town, residenceRegion: null, statutoryCheck: null } })).code, 0)
  t.equal((await c.run('a-county-ca', { type: 'household.decide-change', value: { householdId: hh, approve: true } })).code, 0)
  t.equal((await proven(t, c, `/household/${hexOf(hh)}`))[0]?.record.hukouRegion, B.town, 'hukou move proven')

  // Province B's own dibao: accepted and publicised by B, then B's county approval is refused.
  const submit2 = await c.run('b-town', { type: 'application.submit', value: { subjectId: p1, programId: 2001 } })
  t.equal(submit2.code, 0, submit2.log)
  const app2 = submit2.opId
  t.equal((await c.run('b-town', { type: 'application.accept', value: { applicationId: app2 } })).code, 0)
  t.equal((await c.run('b-town', { type: 'publicity.open', value: { applicationId: app2 } })).code, 0)
  await c.block([], 8 * DAY)
  t.equal((await c.run('b-town', { type: 'publicity.close', value: { applicationId: app2 } })).code, 0)
  const second = await c.run('b-county-ca', { type: 'decision.approve', value: { applicationId: app2, amountFen: 80_000, nextReviewAt: T0 + 200 * DAY, emergencyId: null } })
  t.equal(second.name, 'EXCLUSIVITY_CONFLICT', second.log)
  t.equal(second.code, 87)
  const still = await proven(t, c, `/enrolled/${hexOf(p1)}/basic-living`)
  t.equal(still[0]?.record.id, hexOf(enrollmentId), 'the only live enrollment is still A\'s (proven)')
  t.equal((await proven(t, c, `/application/${hexOf(app2)}`))[0]?.record.status, 'publicity-closed', 'the refused decision left no trace')

  const across = await proven(t, c, `/enrollments/${hexOf(p1)}`)
  t.equal(across.length, 2, 'person record + exactly one enrollment')
  t.equal(across[1]?.record.region, A.county)
  const count = await proven(t, c, `/count/dibao/${A.province}`)
  t.equal(count[0]?.record.n, 1)
  const trail = await proven(t, c, `/audit/application/${hexOf(appId)}`)
  t.equal(trail[0]?.record.n, 6)
  t.same(trail.slice(1).map((e) => e.record.action), ['application.submit', 'application.forward', 'application.accept', 'publicity.open', 'publicity.close', 'decision.approve'])
})
