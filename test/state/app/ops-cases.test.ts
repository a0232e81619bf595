/**
 * Table-driven tests of the case chain: applications (one door), publicity, attestations,
 * decisions (with and without emergency waivers), enrollments and disbursements — the
 * happy path and each rejection code.
 */
import t from 'tap'
import { id, newChain, DAY, table, type Row } from '../helpers.ts'
import { A, B, enrollPerson, setupProvinces } from '../world.ts'
import type { Body } from '../../../state/schema.ts'

const none = new Uint8Array(32)
const appBody = (type: 'application.accept' | 'application.forward' | 'publicity.open' | 'publicity.close', applicationId: Uint8Array): Body => ({ type, value: { applicationId } }) as Body

t.test('applications and publicity', async (t) => {
  const c = await newChain()
  await setupProvinces(c)
  const [hh, p1, p9] = [id('hh'), id('p1'), id('p9')]
  const submit = (subjectId: Uint8Array, programId = 1001): Body => ({ type: 'application.submit', value: { subjectId, programId } })
  await table(t, c, [
    ['household', 'a-town', { type: 'household.register', value: { householdId: hh, hukouRegion: A.town, residenceRegion: B.town, members: [p1], statutoryCheck: false } }, 'OK'],
    ['finance township office', 'a-county-fin', { type: 'office.register', value: { id: 40, level: 'township', department: 'finance', region: A.town, pubKey: (await import('../helpers.ts')).pub('a-town-fin'), delegatedApproval: false } }, 'OK'],
    ['county cannot receive applications', 'a-county-ca', submit(p1), 'FORBIDDEN_LEVEL'],
    ['finance township cannot receive', 'a-town-fin', submit(p1), 'FORBIDDEN_DEPARTMENT'],
    ['unknown program', 'b-town', submit(p1, 9999), 'PROGRAM_NOT_FOUND'],
    ['unknown subject', 'b-town', submit(p9), 'SUBJECT_NOT_FOUND'],
    ["A's person is outside B's program scope", 'b-town', submit(p1, 2001), 'PROGRAM_OUT_OF_SCOPE'],
  ])
  const first = await c.run('b-town', submit(p1))
  t.equal(first.code, 0, 'submitted at B (one door)')
  const appId = first.opId
  await table(t, c, [
    ['one undecided application per program', 'a-town', submit(p1), 'APPLICATION_DUPLICATE'],
    ['forward: unknown application', 'b-town', appBody('application.forward', none), 'APPLICATION_NOT_FOUND'],
    ['forward: only the receiving office', 'a-town', appBody('application.forward', appId), 'FORBIDDEN_OFFICE'],
    ['accept: only the handling office', 'b-town', appBody('application.accept', appId), 'FORBIDDEN_OFFICE'],
    ['accept: not yet forwarded', 'a-town', appBody('application.accept', appId), 'APPLICATION_BAD_STATE'],
    ['publicity: not yet accepted', 'a-town', appBody('publicity.open', appId), 'APPLICATION_BAD_STATE'],
    ['forward', 'b-town', appBody('application.forward', appId), 'OK'],
    ['forward twice', 'b-town', appBody('application.forward', appId), 'APPLICATION_BAD_STATE'],
    ['accept', 'a-town', appBody('application.accept', appId), 'OK'],
    ['publicity: only the handling office', 'b-town', appBody('publicity.open', appId), 'FORBIDDEN_OFFICE'],
    ['objection before publicity', 'b-town', { type: 'publicity.object', value: { applicationId: appId, objectionHash: id('obj0') } }, 'APPLICATION_BAD_STATE'],
    ['close before open', 'a-town', appBody('publicity.close', appId), 'APPLICATION_BAD_STATE'],
    ['open publicity', 'a-town', appBody('publicity.open', appId), 'OK'],
    ['objection lodged at any office', 'b-town', { type: 'publicity.object', value: { applicationId: appId, objectionHash: id('obj1') } }, 'OK'],
    ['too early to close', 'a-town', appBody('publicity.close', appId), 'PUBLICITY_TOO_EARLY'],
  ])
  await c.block([], 8 * DAY)
  await table(t, c, [
    ['objection unresolved', 'a-town', appBody('publicity.close', appId), 'PUBLICITY_OBJECTIONS_PENDING'],
    ['resolve: unknown index', 'a-town', { type: 'publicity.resolve', value: { applicationId: appId, index: 5, outcome: 'dismissed' } }, 'OBJECTION_NOT_FOUND'],
    ['resolve: not the handling office or its county', 'b-county-ca', { type: 'publicity.resolve', value: { applicationId: appId, index: 0, outcome: 'dismissed' } }, 'FORBIDDEN_OFFICE'],
    ['resolve by the county', 'a-county-ca', { type: 'publicity.resolve', value: { applicationId: appId, index: 0, outcome: 'dismissed' } }, 'OK'],
    ['resolve twice', 'a-town', { type: 'publicity.resolve', value: { applicationId: appId, index: 0, outcome: 'upheld' } }, 'OBJECTION_NOT_FOUND'],
    ['close', 'a-town', appBody('publicity.close', appId), 'OK'],
  ])
  // Objection cap, and the handling office being fixed by the hukou township.
  const hh2 = id('hh2')
  const p2 = id('p2')
  await c.run('a-town', { type: 'household.register', value: { householdId: hh2, hukouRegion: A.town, residenceRegion: A.town, members: [p2], statutoryCheck: false } })
  const a2 = (await c.run('a-town', submit(p2))).opId
  await c.run('a-town', appBody('application.accept', a2))
  await c.run('a-town', appBody('publicity.open', a2))
  const objections = Array.from({ length: 16 }, (_, i) => ({ type: 'publicity.object' as const, value: { applicationId: a2, objectionHash: id(`o${i}`) } }))
  const { tx } = await import('../helpers.ts')
  const res = await c.block(objections.map((b) => tx('b-town', b, { height: c.height + 1 })))
  t.ok(res.txResults.every((r) => r.code === 0), '16 objections fit')
  await table(t, c, [
    ['17th objection', 'b-town', { type: 'publicity.object', value: { applicationId: a2, objectionHash: id('o17') } }, 'TOO_MANY_OBJECTIONS'],
    ['move hukou to a township without office (proposed)', 'a-town', { type: 'household.propose-change', value: { householdId: hh2, addMembers: [], removeMembers: [], hukouRegion: A.town2, residenceRegion: null, statutoryCheck: null } }, 'OK'],
    ['(approved)', 'a-county-ca', { type: 'household.decide-change', value: { householdId: hh2, approve: true } }, 'OK'],
    ['no handling office for the new hukou township', 'b-town', submit(p2, 1001), 'NO_HANDLING_OFFICE'],
    ['reject the open application', 'a-county-ca', { type: 'decision.reject', value: { applicationId: a2, reason: 'objection-upheld' } }, 'OK'],
  ])
})

t.test('attestations', async (t) => {
  const c = await newChain()
  await setupProvinces(c)
  const [hh, p1] = [id('hh'), id('p1')]
  const att = (type: 'income-property' | 'death' | 'disability' | 'medical-cost', validUntilTime: number, subjectId = p1, validUntilHeight = 0): Body =>
    ({ type: 'attestation.issue', value: { subjectId, type, reportHash: id('r'), validUntilHeight, validUntilTime } })
  const later = c.time + 90 * DAY
  await table(t, c, [
    ['household', 'a-town', { type: 'household.register', value: { householdId: hh, hukouRegion: A.town, residenceRegion: A.town, members: [p1], statutoryCheck: false } }, 'OK'],
    ['finance cannot attest income', 'a-county-fin', att('income-property', later), 'ATTESTATION_WRONG_ISSUER'],
    ['civil affairs cannot attest death', 'a-county-ca', att('death', 0), 'ATTESTATION_WRONG_ISSUER'],
    ['townships do not attest', 'a-town', att('income-property', later), 'FORBIDDEN_LEVEL'],
    ['unknown subject', 'a-county-ca', att('income-property', later, id('nobody')), 'SUBJECT_NOT_FOUND'],
    ['income check needs a validity window', 'a-county-ca', att('income-property', 0), 'ATTESTATION_BAD_VALIDITY'],
    ['validity already over', 'a-county-ca', att('income-property', 1000), 'ATTESTATION_BAD_VALIDITY'],
    ['validity height already over', 'a-county-ca', att('income-property', 0, p1, 1), 'ATTESTATION_BAD_VALIDITY'],
    ['no consent', 'a-county-ca', att('income-property', later), 'CONSENT_REQUIRED'],
    ['consent for disability only', 'a-town', { type: 'consent.record', value: { householdId: hh, purpose: 'eligibility-check', scope: ['disability'], expiresAt: later } }, 'OK'],
    ['consent scope does not cover income', 'a-county-ca', att('income-property', later), 'CONSENT_REQUIRED'],
    ['consent for income', 'a-town', { type: 'consent.record', value: { householdId: hh, purpose: 'periodic-review', scope: ['income-property'], expiresAt: later } }, 'OK'],
    ['income check with consent', 'a-county-ca', att('income-property', later), 'OK'],
    ['death needs no consent', 'a-county-health', att('death', 0), 'OK'],
    ['nothing after death', 'a-county-ca', att('income-property', later), 'SUBJECT_DECEASED'],
  ])
})

t.test('decisions, emergencies and enrollments', async (t) => {
  const c = await newChain()
  await setupProvinces(c)
  // An application ready for decision except for the income check.
  const [hh, p1] = [id('hh'), id('p1')]
  await c.run('a-town', { type: 'household.register', value: { householdId: hh, hukouRegion: A.town, residenceRegion: A.town, members: [p1], statutoryCheck: false } })
  await c.run('a-town', { type: 'consent.record', value: { householdId: hh, purpose: 'eligibility-check', scope: ['income-property'], expiresAt: c.time + 400 * DAY } })
  const appId = (await c.run('a-town', { type: 'application.submit', value: { subjectId: p1, programId: 1001 } })).opId
  const approve = (amountFen = 60_000, reviewIn = 180 * DAY, emergencyId: Uint8Array | null = null, app = appId): Body =>
    ({ type: 'decision.approve', value: { applicationId: app, amountFen, nextReviewAt: c.time + reviewIn, emergencyId } })
  await table(t, c, [
    ['unknown application', 'a-county-ca', approve(60_000, 180 * DAY, null, none), 'APPLICATION_NOT_FOUND'],
    ['township without delegation', 'a-town', approve(), 'FORBIDDEN_LEVEL'],
    ['county finance', 'a-county-fin', approve(), 'FORBIDDEN_DEPARTMENT'],
    ['county of another province', 'b-county-ca', approve(), 'FORBIDDEN_REGION'],
    ['before acceptance', 'a-county-ca', approve(), 'PUBLICITY_NOT_CLOSED'],
    ['accept', 'a-town', appBody('application.accept', appId), 'OK'],
    ['publicity not run', 'a-county-ca', approve(), 'PUBLICITY_NOT_CLOSED'],
    ['open publicity', 'a-town', appBody('publicity.open', appId), 'OK'],
  ])
  await c.block([], 8 * DAY)
  await table(t, c, [
    ['close publicity', 'a-town', appBody('publicity.close', appId), 'OK'],
    ['income check missing', 'a-county-ca', approve(), 'ATTESTATION_MISSING'],
    ['income check (valid 10 days)', 'a-county-ca', { type: 'attestation.issue', value: { subjectId: p1, type: 'income-property', reportHash: id('r'), validUntilHeight: 0, validUntilTime: c.time + 10 * DAY } }, 'OK'],
    ['zero amount', 'a-county-ca', approve(0), 'PROGRAM_BAD_AMOUNT'],
    ['above the standard in force', 'a-county-ca', approve(80_001), 'AMOUNT_ABOVE_STANDARD'],
    ['review in the past', 'a-county-ca', approve(60_000, -DAY), 'BAD_REVIEW_TIME'],
    ['unknown emergency', 'a-county-ca', approve(60_000, 180 * DAY, id('no-emergency')), 'EMERGENCY_NOT_FOUND'],
  ])
  await c.block([], 11 * DAY)
  t.equal((await c.run('a-county-ca', approve())).name, 'ATTESTATION_MISSING', 'expired income check no longer counts')
  await c.run('a-county-ca', { type: 'attestation.issue', value: { subjectId: p1, type: 'income-property', reportHash: id('r2'), validUntilHeight: c.height + 50, validUntilTime: 0 } })
  const ok = await c.run('a-county-ca', approve())
  t.equal(ok.code, 0, ok.log)
  const enr = ok.opId
  await table(t, c, [
    ['decided already', 'a-county-ca', approve(), 'APPLICATION_BAD_STATE'],
    ['reject decided', 'a-county-ca', { type: 'decision.reject', value: { applicationId: appId, reason: 'other-statutory' } }, 'APPLICATION_BAD_STATE'],
    ['reject unknown', 'a-county-ca', { type: 'decision.reject', value: { applicationId: none, reason: 'other-statutory' } }, 'APPLICATION_NOT_FOUND'],
    ['enrollment: unknown', 'a-county-ca', { type: 'enrollment.pause', value: { enrollmentId: none, reason: 'investigation' } }, 'ENROLLMENT_NOT_FOUND'],
    ['enrollment: township cannot manage', 'a-town', { type: 'enrollment.pause', value: { enrollmentId: enr, reason: 'investigation' } }, 'FORBIDDEN_LEVEL'],
    ['enrollment: finance cannot manage', 'a-county-fin', { type: 'enrollment.pause', value: { enrollmentId: enr, reason: 'investigation' } }, 'FORBIDDEN_DEPARTMENT'],
    ['enrollment: other county', 'b-county-ca', { type: 'enrollment.pause', value: { enrollmentId: enr, reason: 'investigation' } }, 'FORBIDDEN_REGION'],
    ['resume while active', 'a-county-ca', { type: 'enrollment.resume', value: { enrollmentId: enr } }, 'ENROLLMENT_NOT_ACTIVE'],
    ['pause', 'a-county-ca', { type: 'enrollment.pause', value: { enrollmentId: enr, reason: 'investigation' } }, 'OK'],
    ['pause twice', 'a-county-ca', { type: 'enrollment.pause', value: { enrollmentId: enr, reason: 'investigation' } }, 'ENROLLMENT_NOT_ACTIVE'],
    ['resume', 'a-county-ca', { type: 'enrollment.resume', value: { enrollmentId: enr } }, 'OK'],
    ['adjust: review in the past', 'a-county-ca', { type: 'enrollment.adjust', value: { enrollmentId: enr, amountFen: 70_000, nextReviewAt: c.time } }, 'BAD_REVIEW_TIME'],
    ['adjust: above standard', 'a-county-ca', { type: 'enrollment.adjust', value: { enrollmentId: enr, amountFen: 90_000, nextReviewAt: c.time + 300 * DAY } }, 'AMOUNT_ABOVE_STANDARD'],
    ['adjust: zero', 'a-county-ca', { type: 'enrollment.adjust', value: { enrollmentId: enr, amountFen: 0, nextReviewAt: c.time + 300 * DAY } }, 'PROGRAM_BAD_AMOUNT'],
    ['adjust (periodic review)', 'a-county-ca', { type: 'enrollment.adjust', value: { enrollmentId: enr, amountFen: 70_000, nextReviewAt: c.time + 300 * DAY } }, 'OK'],
    ['exit', 'a-county-ca', { type: 'enrollment.exit', value: { enrollmentId: enr, reason: 'income-improved' } }, 'OK'],
    ['exit twice', 'a-county-ca', { type: 'enrollment.exit', value: { enrollmentId: enr, reason: 'income-improved' } }, 'ENROLLMENT_NOT_ACTIVE'],
    ['adjust after exit', 'a-county-ca', { type: 'enrollment.adjust', value: { enrollmentId: enr, amountFen: 70_000, nextReviewAt: c.time + 300 * DAY } }, 'ENROLLMENT_NOT_ACTIVE'],
  ])

  // Emergencies: waive publicity and attestations inside region and window, cap the grant.
  const declare = (region: string, startsAt: number, endsAt: number, waivers: Array<'publicity' | 'attestations'>, capFen = 30_000): Body =>
    ({ type: 'emergency.declare', value: { region, startsAt, endsAt, waivers, capFen } })
  const now = c.time
  const rows: Row[] = [
    ['city level cannot declare', 'a-city-ca', declare(A.county, now, now + 30 * DAY, ['publicity']), 'FORBIDDEN_LEVEL'],
    ['finance cannot declare', 'a-county-fin', declare(A.county, now, now + 30 * DAY, ['publicity']), 'FORBIDDEN_DEPARTMENT'],
    ['outside own region', 'a-county-ca', declare(B.county, now, now + 30 * DAY, ['publicity']), 'FORBIDDEN_REGION'],
    ['empty window', 'a-county-ca', declare(A.county, now, now, ['publicity']), 'EMERGENCY_BAD_WINDOW'],
    ['window too long', 'a-county-ca', declare(A.county, now, now + 400 * DAY, ['publicity']), 'EMERGENCY_BAD_WINDOW'],
    ['no waivers', 'a-county-ca', declare(A.county, now, now + 30 * DAY, []), 'EMERGENCY_BAD_WAIVERS'],
    ['repeated waiver', 'a-county-ca', declare(A.county, now, now + 30 * DAY, ['publicity', 'publicity']), 'EMERGENCY_BAD_WAIVERS'],
    ['zero cap', 'a-county-ca', declare(A.county, now, now + 30 * DAY, ['publicity'], 0), 'PROGRAM_BAD_AMOUNT'],
  ]
  await table(t, c, rows)
  const em = (await c.run('a-county-ca', declare(A.county, now, now + 30 * DAY, ['publicity', 'attestations']))).opId
  const emB = (await c.run('b-county-ca', declare(B.county, now, now + 30 * DAY, ['publicity', 'attestations']))).opId
  const [hh2, p2] = [id('hh2'), id('p2')]
  await c.run('a-town', { type: 'household.register', value: { householdId: hh2, hukouRegion: A.town, residenceRegion: A.town, members: [p2], statutoryCheck: false } })
  const app2 = (await c.run('a-town', { type: 'application.submit', value: { subjectId: p2, programId: 1001 } })).opId
  await table(t, c, [
    ['emergency does not skip acceptance', 'a-county-ca', approve(20_000, 90 * DAY, em, app2), 'PUBLICITY_NOT_CLOSED'],
    ['accept', 'a-town', appBody('application.accept', app2), 'OK'],
    ['emergency of another region', 'a-county-ca', approve(20_000, 90 * DAY, emB, app2), 'EMERGENCY_NOT_APPLICABLE'],
    ['above the emergency cap', 'a-county-ca', approve(30_001, 90 * DAY, em, app2), 'AMOUNT_ABOVE_STANDARD'],
    ['end: unknown', 'a-county-ca', { type: 'emergency.end', value: { emergencyId: none } }, 'EMERGENCY_NOT_FOUND'],
    ['end: not the declarer nor above', 'b-county-ca', { type: 'emergency.end', value: { emergencyId: em } }, 'FORBIDDEN_REGION'],
    ['end: finance cannot', 'a-fin', { type: 'emergency.end', value: { emergencyId: em } }, 'FORBIDDEN_DEPARTMENT'],
  ])
  const waived = await c.run('a-county-ca', approve(20_000, 90 * DAY, em, app2))
  t.equal(waived.code, 0, `approval under waiver: ${waived.log}`)
  await table(t, c, [
    ['end by the province above', 'a-ca', { type: 'emergency.end', value: { emergencyId: em } }, 'OK'],
    ['end twice', 'a-county-ca', { type: 'emergency.end', value: { emergencyId: em } }, 'EMERGENCY_ENDED'],
  ])
  // After the emergency ended, it no longer applies.
  const [hh3, p3] = [id('hh3'), id('p3')]
  await c.run('a-town', { type: 'household.register', value: { householdId: hh3, hukouRegion: A.town, residenceRegion: A.town, members: [p3], statutoryCheck: false } })
  const app3 = (await c.run('a-town', { type: 'application.submit', value: { subjectId: p3, programId: 1001 } })).opId
  await c.run('a-town', appBody('application.accept', app3))
  t.equal((await c.run('a-county-ca', approve(20_000, 90 * DAY, em, app3))).name, 'EMERGENCY_NOT_APPLICABLE')
  // Delegated approval: a township holding it decides county-level programs.
  const { pub } = await import('../helpers.ts')
  await c.run('a-county-ca', { type: 'office.register', value: { id: 41, level: 'township', department: 'civil-affairs', region: '420102003', pubKey: pub('a-town3'), delegatedApproval: true } })
  t.equal((await c.run('a-town3', { type: 'decision.reject', value: { applicationId: app3, reason: 'incomplete-materials' } })).name, 'FORBIDDEN_REGION', 'delegation is bound to its own region')
  t.equal((await c.run('a-county-ca', { type: 'decision.reject', value: { applicationId: app3, reason: 'incomplete-materials' } })).code, 0)
})

t.test('disbursements', async (t) => {
  const c = await newChain()
  await setupProvinces(c)
  const e1 = await enrollPerson(c, 'x1', { amountFen: 50_000, reviewInDays: 60 })
  const pay = (enrollmentId: Uint8Array, period: number): Body => ({ type: 'disbursement.pay', value: { enrollmentId, period } })
  await table(t, c, [
    ['unknown enrollment', 'a-county-fin', pay(none, 202603), 'ENROLLMENT_NOT_FOUND'],
    ['civil affairs does not pay', 'a-county-ca', pay(e1.enrollmentId, 202603), 'FORBIDDEN_DEPARTMENT'],
    ['city finance does not pay', 'a-city-fin', pay(e1.enrollmentId, 202603), 'FORBIDDEN_LEVEL'],
    ['another county does not pay', 'b-county-fin', pay(e1.enrollmentId, 202603), 'FORBIDDEN_REGION'],
    ['month 13', 'a-county-fin', pay(e1.enrollmentId, 202613), 'BAD_PERIOD'],
    ['future period', 'a-county-fin', pay(e1.enrollmentId, 202612), 'BAD_PERIOD'],
    ['before enrollment start', 'a-county-fin', pay(e1.enrollmentId, 202602), 'BAD_PERIOD'],
    ['pay March', 'a-county-fin', pay(e1.enrollmentId, 202603), 'OK'],
    ['pay March twice', 'a-county-fin', pay(e1.enrollmentId, 202603), 'DISBURSEMENT_DUPLICATE'],
    ['pause', 'a-county-ca', { type: 'enrollment.pause', value: { enrollmentId: e1.enrollmentId, reason: 'review-pending' } }, 'OK'],
  ])
  await c.block([], 20 * DAY) // into April
  await table(t, c, [
    ['paused: no payment', 'a-county-fin', pay(e1.enrollmentId, 202604), 'ENROLLMENT_NOT_ACTIVE'],
    ['resume', 'a-county-ca', { type: 'enrollment.resume', value: { enrollmentId: e1.enrollmentId } }, 'OK'],
    ['pay April', 'a-county-fin', pay(e1.enrollmentId, 202604), 'OK'],
  ])
  await c.block([], 50 * DAY) // review overdue
  t.equal((await c.run('a-county-fin', pay(e1.enrollmentId, 202605))).name, 'REVIEW_OVERDUE')
  // A one-off temporary program without budget in the county, then with a small one.
  await c.run('a-ca', { type: 'program.create', value: { id: 3001, category: 'temporary', group: 'temporary-relief', payment: 'one-off', standardFen: 40_000, approvalLevel: 'county' } })
  const e2 = await enrollPerson(c, 'x2', { programId: 3001, amountFen: 30_000 })
  const period = Math.floor(((await import('../../../state/context.ts')).periodOf(c.time + DAY)))
  t.equal((await c.run('a-county-fin', pay(e2.enrollmentId, period))).name, 'BUDGET_NOT_FOUND')
  await c.run('a-fin', { type: 'budget.allocate', value: { programId: 3001, year: 2026, amountFen: 100_000 } })
  await c.run('a-fin', { type: 'budget.sub-allocate', value: { programId: 3001, year: 2026, region: A.city, amountFen: 50_000 } })
  await c.run('a-city-fin', { type: 'budget.sub-allocate', value: { programId: 3001, year: 2026, region: A.county, amountFen: 20_000 } })
  t.equal((await c.run('a-county-fin', pay(e2.enrollmentId, period))).name, 'BUDGET_EXCEEDED')
  await c.run('a-city-fin', { type: 'budget.sub-allocate', value: { programId: 3001, year: 2026, region: A.county, amountFen: 40_000 } })
  t.equal((await c.run('a-county-fin', pay(e2.enrollmentId, period))).code, 0, 'one-off grant paid')
  t.equal((await c.run('a-county-fin', pay(e2.enrollmentId, period))).name, 'ENROLLMENT_NOT_ACTIVE', 'a one-off enrollment completes with its payment')
  // Death exits enrollments; nothing is paid after.
  const e3 = await enrollPerson(c, 'x3', { amountFen: 10_000 })
  const died = await c.run('a-county-health', { type: 'attestation.issue', value: { subjectId: e3.subject, type: 'death', reportHash: id('death'), validUntilHeight: 0, validUntilTime: 0 } })
  t.ok(died.events.some((e) => e.type === 'enrollment' && e.attributes.some((a) => a.key === 'action' && a.value === 'exited')), 'death exits the enrollment')
  t.equal((await c.run('a-county-fin', pay(e3.enrollmentId, period))).name, 'ENROLLMENT_NOT_ACTIVE')
  t.equal((await c.run('a-town', { type: 'application.submit', value: { subjectId: e3.subject, programId: 3001 } })).name, 'SUBJECT_DECEASED')
  t.equal((await c.run('a-town', { type: 'household.register', value: { householdId: id('hh-new'), hukouRegion: A.town, residenceRegion: A.town, members: [e3.subject], statutoryCheck: false } })).name, 'SUBJECT_DECEASED')
})
