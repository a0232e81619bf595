/**
 * Table-driven tests of offices, programs, budgets, households and consent: the happy
 * path and each rejection code, one tx per block, in an order where each row's state is
 * set up by the rows before it.
 */
import t from 'tap'
import { id, newChain, pub, T0, DAY, table, type Row } from '../helpers.ts'
import { A, B, setupProvinces } from '../world.ts'
import type { Body } from '../../../state/schema.ts'

const reg = (idn: number, level: 'province' | 'city' | 'county' | 'township', department: 'civil-affairs' | 'finance', region: string, key: string, delegatedApproval = false): Body =>
  ({ type: 'office.register', value: { id: idn, level, department, region, pubKey: pub(key), delegatedApproval } })

t.test('offices', async (t) => {
  const c = await newChain()
  await setupProvinces(c)
  const rows: Row[] = [
    ['child township registered by its county', 'a-county-ca', reg(18, 'township', 'civil-affairs', A.town2, 'a-town2'), 'OK'],
    ['operator is not an office', 'op-a', reg(19, 'township', 'civil-affairs', '420102003', 'x1'), 'SIGNER_NOT_OFFICE'],
    ['township cannot register a county', 'a-town', reg(19, 'county', 'civil-affairs', '420103', 'x1'), 'OFFICE_BAD_LEVEL'],
    ['same level is not below', 'a-county-ca', reg(19, 'county', 'civil-affairs', '420103', 'x1'), 'OFFICE_BAD_LEVEL'],
    ['department must match parent', 'a-county-ca', reg(19, 'township', 'finance', '420102003', 'x1'), 'OFFICE_BAD_DEPARTMENT'],
    ['region outside parent', 'a-county-ca', reg(19, 'township', 'civil-affairs', '440103002', 'x1'), 'OFFICE_REGION_OUTSIDE_PARENT'],
    ['region code of the wrong level', 'a-county-ca', reg(19, 'township', 'civil-affairs', '420102', 'x1'), 'OFFICE_REGION_MISMATCH'],
    ['id already used', 'a-county-ca', reg(16, 'township', 'civil-affairs', '420102003', 'x1'), 'OFFICE_EXISTS'],
    ['seat already filled', 'a-county-ca', reg(19, 'township', 'civil-affairs', A.town, 'x1'), 'OFFICE_SEAT_TAKEN'],
    ['key already used', 'a-county-ca', reg(19, 'township', 'civil-affairs', '420102003', 'a-town'), 'KEY_IN_USE'],
    ['operator key cannot become an office key', 'a-county-ca', reg(19, 'township', 'civil-affairs', '420102003', 'op-b'), 'KEY_IN_USE'],
    ['delegation only for townships', 'a-ca', reg(19, 'city', 'civil-affairs', '420200', 'x1', true), 'OFFICE_BAD_DELEGATION'],
    ['township with delegated approval', 'a-county-ca', reg(19, 'township', 'civil-affairs', '420102003', 'a-town3', true), 'OK'],
    ['rotate: unknown office', 'a-county-ca', { type: 'office.rotate-key', value: { officeId: 999, newPubKey: pub('x2') } }, 'OFFICE_NOT_FOUND'],
    ['rotate: neither self nor parent', 'b-town', { type: 'office.rotate-key', value: { officeId: 18, newPubKey: pub('x2') } }, 'FORBIDDEN_OFFICE'],
    ['rotate: key in use', 'a-county-ca', { type: 'office.rotate-key', value: { officeId: 18, newPubKey: pub('b-town') } }, 'KEY_IN_USE'],
    ['rotate by parent', 'a-county-ca', { type: 'office.rotate-key', value: { officeId: 18, newPubKey: pub('a-town2-new') } }, 'OK'],
    ['old key no longer signs', 'a-town2', { type: 'alert.raise', value: { toOfficeId: 14, category: 'data-error', severity: 'low', refKind: 'none', ref: new Uint8Array(32) } }, 'UNKNOWN_SIGNER'],
    ['rotate by self', 'a-town2-new', { type: 'office.rotate-key', value: { officeId: 18, newPubKey: pub('a-town2') } }, 'OK'],
    ['suspend: not an ancestor', 'b-ca', { type: 'office.suspend', value: { officeId: 16, suspended: true } }, 'NOT_ANCESTOR'],
    ['suspend: cannot suspend self', 'a-town', { type: 'office.suspend', value: { officeId: 16, suspended: true } }, 'NOT_ANCESTOR'],
    ['suspend: unknown office', 'a-ca', { type: 'office.suspend', value: { officeId: 999, suspended: true } }, 'OFFICE_NOT_FOUND'],
    ['suspend by a grand-parent', 'a-ca', { type: 'office.suspend', value: { officeId: 16, suspended: true } }, 'OK'],
    ['suspended office cannot sign', 'a-town', { type: 'consent.revoke', value: { householdId: id('none'), purpose: 'data-sharing' } }, 'SIGNER_SUSPENDED'],
    ['reinstate', 'a-county-ca', { type: 'office.suspend', value: { officeId: 16, suspended: false } }, 'OK'],
  ]
  const res = await table(t, c, rows)
  const ev = res[0]?.events.find((e) => e.type === 'office')
  t.ok(ev?.attributes.some((a) => a.key === 'id' && a.value === '18' && a.index), 'office.id is indexed')
})

t.test('programs and standards', async (t) => {
  const c = await newChain()
  await setupProvinces(c)
  const create = (idn: number, category: 'dibao' | 'temporary' | 'medical', standardFen = 50_000): Body =>
    ({ type: 'program.create', value: { id: idn, category, group: category === 'temporary' ? 'temporary-relief' : 'basic-living', payment: 'one-off', standardFen, approvalLevel: 'county' } })
  const std = (programId: number, region: string, amountFen: number): Body => ({ type: 'program.set-standard', value: { programId, region, amountFen } })
  await table(t, c, [
    ['province creates a temporary-relief program', 'a-ca', create(3001, 'temporary'), 'OK'],
    ['county cannot create programs', 'a-county-ca', create(3002, 'temporary'), 'FORBIDDEN_LEVEL'],
    ['civil affairs does not own medical', 'a-ca', create(3002, 'medical'), 'PROGRAM_WRONG_DEPARTMENT'],
    ['standard must be positive', 'a-ca', create(3002, 'dibao', 0), 'PROGRAM_BAD_AMOUNT'],
    ['id already used', 'a-ca', create(1001, 'dibao'), 'PROGRAM_EXISTS'],
    ['ministry raises the base standard', 'mca', std(1001, '000000', 81_000), 'OK'],
    ['province standard above national', 'a-ca', std(1001, A.province, 85_000), 'OK'],
    ['city standard below province', 'a-city-ca', std(1001, A.city, 84_000), 'STANDARD_BELOW_PARENT'],
    ['city standard below national too', 'a-city-ca', std(1001, A.city, 80_000), 'STANDARD_BELOW_PARENT'],
    ['city standard above province', 'a-city-ca', std(1001, A.city, 90_000), 'OK'],
    ['unknown program', 'a-ca', std(9999, A.province, 90_000), 'PROGRAM_NOT_FOUND'],
    ['no township standards', 'a-town', std(1001, A.town, 95_000), 'PROGRAM_BAD_REGION'],
    ['outside program scope', 'a-ca', std(2001, A.province, 95_000), 'PROGRAM_OUT_OF_SCOPE'],
    ['finance does not set standards', 'a-fin', std(1001, A.province, 95_000), 'FORBIDDEN_DEPARTMENT'],
    ['only for its own region', 'a-ca', std(1001, A.city, 95_000), 'FORBIDDEN_REGION'],
    ['not for another province', 'b-ca', std(1001, A.province, 95_000), 'FORBIDDEN_REGION'],
    ['zero standard', 'a-ca', std(1001, A.province, 0), 'PROGRAM_BAD_AMOUNT'],
  ])
  const q = await c.app.query({ path: `/program/1001/${A.county}`, data: new Uint8Array(0), height: 0, prove: false })
  const { decodeQueryValue } = await import('../../../state/query.ts')
  const entries = decodeQueryValue(q.value)
  const amounts = entries.slice(1).map((e) => (e.record as { amountFen?: number } | null)?.amountFen ?? null)
  t.same(amounts, [null, 85_000, 90_000, null], 'standards along the chain: national(base), province, city, county')
})

t.test('budgets', async (t) => {
  const c = await newChain()
  await setupProvinces(c)
  const alloc = (programId: number, year: number, amountFen: number): Body => ({ type: 'budget.allocate', value: { programId, year, amountFen } })
  const sub = (programId: number, year: number, region: string, amountFen: number): Body => ({ type: 'budget.sub-allocate', value: { programId, year, region, amountFen } })
  await table(t, c, [
    ['ministry finance allocates next year', 'mof', alloc(1001, 2027, 500), 'OK'],
    ['civil affairs cannot allocate', 'mca', alloc(1001, 2027, 500), 'FORBIDDEN_DEPARTMENT'],
    ['province finance cannot allocate a national root', 'a-fin', alloc(1001, 2027, 500), 'BUDGET_NOT_ROOT'],
    ['unknown program', 'mof', alloc(9999, 2027, 500), 'PROGRAM_NOT_FOUND'],
    ['root below what is committed', 'mof', alloc(1001, 2026, 1), 'BUDGET_BELOW_USED'],
    ['no township budgets', 'a-county-fin', sub(1001, 2026, A.town, 1), 'BUDGET_BAD_REGION'],
    ['sub-allocation outside scope', 'b-fin', sub(2001, 2026, A.province, 1), 'PROGRAM_OUT_OF_SCOPE'],
    ['only the parent region finance', 'a-fin', sub(1001, 2026, B.city, 1), 'FORBIDDEN_REGION'],
    ['civil affairs cannot sub-allocate', 'a-ca', sub(1001, 2026, A.city, 1), 'FORBIDDEN_DEPARTMENT'],
    ['parent has no budget that year', 'mof', sub(1001, 2028, A.province, 1), 'BUDGET_PARENT_MISSING'],
    ['child above what the parent has', 'a-city-fin', sub(1001, 2026, A.county, 60_000_000), 'BUDGET_EXCEEDED'],
    ['child below what it handed down', 'a-fin', sub(1001, 2026, A.city, 5_000_000), 'BUDGET_BELOW_USED'],
    ['raise a county allocation within the city', 'a-city-fin', sub(1001, 2026, A.county, 40_000_000), 'OK'],
    ['unknown program', 'a-fin', sub(9999, 2026, A.city, 1), 'PROGRAM_NOT_FOUND'],
  ])
})

t.test('households, persons and consent', async (t) => {
  const c = await newChain()
  await setupProvinces(c)
  const h1 = id('h1')
  const [p1, p2, p3] = [id('p1'), id('p2'), id('p3')]
  const regH = (hh: Uint8Array, members: Uint8Array[], hukou = A.town, residence = A.town): Body =>
    ({ type: 'household.register', value: { householdId: hh, hukouRegion: hukou, residenceRegion: residence, members, statutoryCheck: false } })
  const change = (hh: Uint8Array, addMembers: Uint8Array[], removeMembers: Uint8Array[], hukouRegion: string | null = null): Body =>
    ({ type: 'household.propose-change', value: { householdId: hh, addMembers, removeMembers, hukouRegion, residenceRegion: null, statutoryCheck: null } })
  const consent = (hh: Uint8Array, scope: Array<'income-property' | 'disability'>, expiresAt: number): Body =>
    ({ type: 'consent.record', value: { householdId: hh, purpose: 'eligibility-check', scope, expiresAt } })
  await table(t, c, [
    ['township registers a household', 'a-town', regH(h1, [p1, p2]), 'OK'],
    ['hukou must be a township code', 'a-town', regH(id('h2'), [p3], A.county), 'REGION_NOT_TOWNSHIP'],
    ['county does not register', 'a-county-ca', regH(id('h2'), [p3]), 'FORBIDDEN_LEVEL'],
    ['finance does not register', 'a-county-fin', regH(id('h2'), [p3]), 'FORBIDDEN_LEVEL'],
    ['only the hukou township', 'a-town', regH(id('h2'), [p3], B.town), 'FORBIDDEN_REGION'],
    ['household id taken', 'a-town', regH(h1, [p3]), 'HOUSEHOLD_EXISTS'],
    ['no members', 'a-town', regH(id('h2'), []), 'HOUSEHOLD_BAD_MEMBERS'],
    ['member listed twice', 'a-town', regH(id('h2'), [p3, p3]), 'HOUSEHOLD_BAD_MEMBERS'],
    ['one household per person', 'a-town', regH(id('h2'), [p3, p1]), 'PERSON_IN_OTHER_HOUSEHOLD'],
    ['change: unknown household', 'a-town', change(id('nope'), [p3], []), 'HOUSEHOLD_NOT_FOUND'],
    ['change: empty', 'a-town', change(h1, [], []), 'HOUSEHOLD_NO_CHANGE'],
    ['change: removes a non-member', 'a-town', change(h1, [], [p3]), 'HOUSEHOLD_BAD_MEMBERS'],
    ['change: adds a member twice', 'a-town', change(h1, [p1], []), 'HOUSEHOLD_BAD_MEMBERS'],
    ['change: would empty the household', 'a-town', change(h1, [], [p1, p2]), 'HOUSEHOLD_BAD_MEMBERS'],
    ['change: hukou must be a township', 'a-town', change(h1, [], [], A.county), 'REGION_NOT_TOWNSHIP'],
    ['change: only the hukou township proposes', 'b-town', change(h1, [p3], []), 'FORBIDDEN_REGION'],
    ['change proposed', 'a-town', change(h1, [p3], [p2]), 'OK'],
    ['one pending change at a time', 'a-town', change(h1, [], [p1]), 'HOUSEHOLD_CHANGE_PENDING'],
    ['township does not approve changes', 'a-town', { type: 'household.decide-change', value: { householdId: h1, approve: true } }, 'FORBIDDEN_LEVEL'],
    ['another county does not approve', 'b-county-ca', { type: 'household.decide-change', value: { householdId: h1, approve: true } }, 'FORBIDDEN_REGION'],
    ['county approves', 'a-county-ca', { type: 'household.decide-change', value: { householdId: h1, approve: true } }, 'OK'],
    ['nothing pending', 'a-county-ca', { type: 'household.decide-change', value: { householdId: h1, approve: true } }, 'HOUSEHOLD_NO_CHANGE'],
    ['removed member may join another household', 'a-town', regH(id('h2'), [p2]), 'OK'],
    ['consent: empty scope', 'b-town', consent(h1, [], T0 + 100 * DAY), 'CONSENT_BAD_TERMS'],
    ['consent: repeated scope', 'b-town', consent(h1, ['disability', 'disability'], T0 + 100 * DAY), 'CONSENT_BAD_TERMS'],
    ['consent: already expired', 'b-town', consent(h1, ['disability'], T0), 'CONSENT_BAD_TERMS'],
    ['consent: unknown household', 'b-town', consent(id('nope'), ['disability'], T0 + 100 * DAY), 'HOUSEHOLD_NOT_FOUND'],
    ['consent: province does not receive', 'a-ca', consent(h1, ['disability'], T0 + 100 * DAY), 'FORBIDDEN_LEVEL'],
    ['consent received at any township (one door)', 'b-town', consent(h1, ['disability'], T0 + 100 * DAY), 'OK'],
    ['revoke: province cannot', 'a-ca', { type: 'consent.revoke', value: { householdId: h1, purpose: 'eligibility-check' } }, 'FORBIDDEN_LEVEL'],
    ['revoke', 'a-town', { type: 'consent.revoke', value: { householdId: h1, purpose: 'eligibility-check' } }, 'OK'],
    ['revoke twice', 'a-town', { type: 'consent.revoke', value: { householdId: h1, purpose: 'eligibility-check' } }, 'CONSENT_NOT_FOUND'],
  ])
  const { decodeQueryValue } = await import('../../../state/query.ts')
  const q = await c.app.query({ path: `/household/${Buffer.from(h1).toString('hex')}`, data: new Uint8Array(0), height: 0, prove: false })
  const rec = decodeQueryValue(q.value)[0]?.record as { members: string[], changes: number }
  t.same(rec.members, [p1, p3].map((x) => Buffer.from(x).toString('hex')))
  t.equal(rec.changes, 1)
})
