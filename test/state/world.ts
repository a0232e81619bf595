/**
 * A small two-province world built through txs: province A (Hubei, 420000) and province B
 * (Guangdong, 440000), each with civil-affairs and finance offices at province, city and
 * county level, a civil-affairs township, and county health; national dibao (1001)
 * budgets sub-allocated down to both counties; province B's own dibao program (2001).
 */
import type { Body } from '../../state/schema.ts'
import { pub, type Chain } from './helpers.ts'

export const A = { province: '420000', city: '420100', county: '420102', town: '420102001', town2: '420102002' }
export const B = { province: '440000', city: '440100', county: '440103', town: '440103001' }

/** Office ids: 10.. for A, 20.. for B; key names are the record names below. */
export const OFFICES: Array<{ name: string, signer: string, id: number, level: 'province' | 'city' | 'county' | 'township', department: 'civil-affairs' | 'finance' | 'health', region: string, delegatedApproval?: boolean }> = [
  { name: 'a-ca', signer: 'mca', id: 10, level: 'province', department: 'civil-affairs', region: A.province },
  { name: 'a-fin', signer: 'mof', id: 11, level: 'province', department: 'finance', region: A.province },
  { name: 'a-city-ca', signer: 'a-ca', id: 12, level: 'city', department: 'civil-affairs', region: A.city },
  { name: 'a-city-fin', signer: 'a-fin', id: 13, level: 'city', department: 'finance', region: A.city },
  { name: 'a-county-ca', signer: 'a-city-ca', id: 14, level: 'county', department: 'civil-affairs', region: A.county },
  { name: 'a-county-fin', signer: 'a-city-fin', id: 15, level: 'county', department: 'finance', region: A.county },
  { name: 'a-town', signer: 'a-county-ca', id: 16, level: 'township', department: 'civil-affairs', region: A.town },
  { name: 'a-county-health', signer: 'nhc', id: 17, level: 'county', department: 'health', region: A.county },
  { name: 'b-ca', signer: 'mca', id: 20, level: 'province', department: 'civil-affairs', region: B.province },
  { name: 'b-fin', signer: 'mof', id: 21, level: 'province', department: 'finance', region: B.province },
  { name: 'b-city-ca', signer: 'b-ca', id: 22, level: 'city', department: 'civil-affairs', region: B.city },
  { name: 'b-city-fin', signer: 'b-fin', id: 23, level: 'city', department: 'finance', region: B.city },
  { name: 'b-county-ca', signer: 'b-city-ca', id: 24, level: 'county', department: 'civil-affairs', region: B.county },
  { name: 'b-county-fin', signer: 'b-city-fin', id: 25, level: 'county', department: 'finance', region: B.county },
  { name: 'b-town', signer: 'b-county-ca', id: 26, level: 'township', department: 'civil-affairs', region: B.town },
]

export const officeId = (name: string): number => {
  const o = OFFICES.find((x) => x.name === name)
  if (o === undefined) throw new Error(`no office ${name}`)
  return o.id
}

export function registerBody (name: string): Body {
  const o = OFFICES.find((x) => x.name === name)
  if (o === undefined) throw new Error(`no office ${name}`)
  return { type: 'office.register', value: { id: o.id, level: o.level, department: o.department, region: o.region, pubKey: pub(o.name), delegatedApproval: o.delegatedApproval ?? false } }
}

async function all (c: Chain, txs: Array<[string, Body]>): Promise<void> {
  const { tx } = await import('./helpers.ts')
  const res = await c.block(txs.map(([s, b]) => tx(s, b, { height: c.height + 1 })))
  res.txResults.forEach((r, i) => {
    if (r.code !== 0) throw new Error(`setup tx ${i} (${txs[i]?.[1].type}) failed: ${r.log}`)
  })
}

export async function setupProvinces (c: Chain): Promise<void> {
  await all(c, OFFICES.map((o) => [o.signer, registerBody(o.name)]))
  const sub = (signer: string, programId: number, region: string, amountFen: number): [string, Body] =>
    [signer, { type: 'budget.sub-allocate', value: { programId, year: 2026, region, amountFen } }]
  await all(c, [
    sub('mof', 1001, A.province, 100_000_000), sub('a-fin', 1001, A.city, 50_000_000), sub('a-city-fin', 1001, A.county, 10_000_000),
    sub('mof', 1001, B.province, 100_000_000), sub('b-fin', 1001, B.city, 50_000_000), sub('b-city-fin', 1001, B.county, 10_000_000),
    ['b-ca', { type: 'program.create', value: { id: 2001, category: 'dibao', group: 'basic-living', payment: 'monthly', standardFen: 90_000, approvalLevel: 'county' } }],
  ])
  await all(c, [
    ['b-fin', { type: 'budget.allocate', value: { programId: 2001, year: 2026, amountFen: 20_000_000 } }],
  ])
  await all(c, [sub('b-fin', 2001, B.city, 10_000_000)])
  await all(c, [sub('b-city-fin', 2001, B.county, 5_000_000)])
}

export interface Enrolled { hh: Uint8Array, subject: Uint8Array, appId: Uint8Array, enrollmentId: Uint8Array }

/**
 * Registers a household of one in A's township and runs it through application,
 * publicity, income check and approval for `programId` (default national dibao).
 */
export async function enrollPerson (c: Chain, name: string, o: { programId?: number, amountFen?: number, reviewInDays?: number } = {}): Promise<Enrolled> {
  const { id, DAY } = await import('./helpers.ts')
  const hh = id(`hh/${name}`)
  const subject = id(`person/${name}`)
  const step = async (signer: string, body: Body, advance?: number): Promise<Uint8Array> => {
    const r = await c.run(signer, body, advance === undefined ? {} : { advance })
    if (r.code !== 0) throw new Error(`${body.type} for ${name} failed: ${r.log}`)
    return r.opId
  }
  await step('a-town', { type: 'household.register', value: { householdId: hh, hukouRegion: A.town, residenceRegion: A.town, members: [subject], statutoryCheck: false } })
  await step('a-town', { type: 'consent.record', value: { householdId: hh, purpose: 'eligibility-check', scope: ['income-property'], expiresAt: c.time + 400 * DAY } })
  const appId = await step('a-town', { type: 'application.submit', value: { subjectId: subject, programId: o.programId ?? 1001 } })
  await step('a-town', { type: 'application.accept', value: { applicationId: appId } })
  await step('a-town', { type: 'publicity.open', value: { applicationId: appId } })
  await step('a-county-ca', { type: 'attestation.issue', value: { subjectId: subject, type: 'income-property', reportHash: id(`report/${name}`), validUntilHeight: 0, validUntilTime: c.time + 300 * DAY } })
  await step('a-town', { type: 'publicity.close', value: { applicationId: appId } }, 8 * DAY)
  const enrollmentId = await step('a-county-ca', { type: 'decision.approve', value: { applicationId: appId, amountFen: o.amountFen ?? 50_000, nextReviewAt: c.time + (o.reviewInDays ?? 200) * DAY, emergencyId: null } })
  return { hh, subject, appId, enrollmentId }
}
