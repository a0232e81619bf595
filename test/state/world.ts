/**
 * A small two-province world built through txs: the demo's (src/cli/demo-world.ts)
 * province A (Hubei, 420000) and province B (Guangdong, 440000), each with civil-affairs
 * and finance offices at province, city and county level and a civil-affairs township,
 * plus A's county health office; national dibao (1001) budgets sub-allocated down to both
 * counties; province B's own dibao program (2001).
 */
import type { Body } from '../../state/schema.ts'
import { A as DEMO_A, B, DEMO_OFFICES, type OfficePlan } from '../../src/cli/demo-world.ts'
import { pub, type Chain } from './helpers.ts'

export { B }
export const A = { ...DEMO_A, town2: '420102002' }

/** The demo's offices (ids 10.. for A, 20.. for B; key names are the record names) plus A's county health office. */
export const OFFICES: readonly OfficePlan[] = [
  ...DEMO_OFFICES.filter((o) => o.id < 20),
  { name: 'a-county-health', signer: 'nhc', id: 17, level: 'county', department: 'health', region: A.county },
  ...DEMO_OFFICES.filter((o) => o.id >= 20),
]

export const officeId = (name: string): number => {
  const o = OFFICES.find((x) => x.name === name)
  if (o === undefined) throw new Error(`no office ${name}`)
  return o.id
}

export function registerBody (name: string): Body {
  const o = OFFICES.find((x) => x.name === name)
  if (o === undefined) throw new Error(`no office ${name}`)
  return { type: 'office.register', value: { id: o.id, level: o.level, department: o.department, region: o.region, pubKey: pub(o.name), delegatedApproval: false } }
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
