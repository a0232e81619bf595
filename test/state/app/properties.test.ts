/**
 * Invariants as property tests over random operation sequences (seeded; a failure names
 * its seed). After every block, read straight from the store:
 *   - budgets: committed + paid ≤ allocated everywhere; a parent's committed equals the sum
 *     of its children's allocations; a county's paid equals the sum of its disbursements;
 *   - exclusivity: at most one active or paused enrollment per (subject, group) across
 *     provinces, and the exclusivity index holds exactly those;
 *   - no payment after exit or death: every disbursement's height is at most the height at
 *     which its enrollment ended or its subject's death was attested;
 *   - replay: a tx already included is always rejected (TX_REPLAYED, or TX_EXPIRED later).
 */
import t, { type Test } from 'tap'
import { DAY, id, newChain, rng, tx, type Chain } from '../helpers.ts'
import { A, B, setupProvinces } from '../world.ts'
import type { Body } from '../../../state/schema.ts'
import { decode } from '../../../src/codec/index.ts'
import { BudgetSchema, DisbursementSchema, EnrollmentSchema, IdRefSchema, type Budget, type Enrollment } from '../../../state/records.ts'
import { collectEntries } from '../../../state/store-api.ts'
import { parentRegion } from '../../../state/regions.ts'
import { resultName } from '../../../state/codes.ts'
import { periodOf } from '../../../state/context.ts'

const utf = (s: string): Uint8Array => new TextEncoder().encode(s)
const hx = (b: Uint8Array): string => Buffer.from(b).toString('hex')

interface Person { subject: Uint8Array, hh: Uint8Array, side: 'A' | 'B' }
interface App { id: Uint8Array, person: Person, receiving: string, decided: boolean }

async function scan (c: Chain, prefix: string): Promise<Array<{ key: Uint8Array, value: Uint8Array }>> {
  return await collectEntries(await c.store.iterate(utf(prefix), { limit: 1_000_000 }))
}

async function checkInvariants (t: Test, c: Chain, ended: Map<string, number>, deaths: Map<string, number>): Promise<void> {
  const budgets = (await scan(c, 'b/')).map((e) => decode(BudgetSchema, e.value))
  const byKey = new Map<string, Budget>(budgets.map((b) => [`${b.programId}/${b.year}/${b.region}`, b]))
  const childSum = new Map<string, number>()
  for (const b of budgets) {
    if (b.committed + b.paid > b.allocated) t.fail(`budget ${b.programId}/${b.year}/${b.region} overdrawn`)
    const p = parentRegion(b.region)
    if (p !== null && byKey.has(`${b.programId}/${b.year}/${p}`)) {
      const k = `${b.programId}/${b.year}/${p}`
      childSum.set(k, (childSum.get(k) ?? 0) + b.allocated)
    }
  }
  for (const b of budgets) {
    const k = `${b.programId}/${b.year}/${b.region}`
    if ((childSum.get(k) ?? 0) !== b.committed) t.fail(`budget ${k}: committed ${b.committed} != children ${childSum.get(k) ?? 0}`)
  }
  const enrollments = new Map<string, Enrollment>((await scan(c, 'e/')).map((e) => { const x = decode(EnrollmentSchema, e.value); return [hx(x.id), x] }))
  const paidBy = new Map<string, number>()
  for (const e of await scan(c, 'd/')) {
    const d = decode(DisbursementSchema, e.value)
    const enr = enrollments.get(hx(d.enrollmentId))
    if (enr === undefined) { t.fail('disbursement of an unknown enrollment'); continue }
    const k = `${enr.programId}/${Math.floor(d.period / 100)}/${d.budgetRegion}`
    paidBy.set(k, (paidBy.get(k) ?? 0) + d.amountFen)
    const end = ended.get(hx(enr.id))
    if (end !== undefined && d.height > end) t.fail(`payment at ${d.height} after the enrollment ended at ${end}`)
    const death = deaths.get(hx(enr.subjectId))
    if (death !== undefined && d.height > death) t.fail(`payment at ${d.height} after death at ${death}`)
  }
  for (const b of budgets) {
    const k = `${b.programId}/${b.year}/${b.region}`
    if ((paidBy.get(k) ?? 0) !== b.paid) t.fail(`budget ${k}: paid ${b.paid} != disbursed ${paidBy.get(k) ?? 0}`)
  }
  const live = new Map<string, string>()
  for (const e of enrollments.values()) {
    if (e.status !== 'active' && e.status !== 'paused') continue
    const k = `${hx(e.subjectId)}/${e.group}`
    if (live.has(k)) t.fail(`two live enrollments for ${k}`)
    live.set(k, hx(e.id))
  }
  const index = await scan(c, 'x/')
  if (index.length !== live.size) t.fail(`exclusivity index has ${index.length} entries, ${live.size} live enrollments`)
  for (const e of index) {
    const k = `${hx(e.key.slice(2, 34))}/${Buffer.from(e.key.slice(35)).toString('latin1')}`
    if (live.get(k) !== hx(decode(IdRefSchema, e.value).id)) t.fail(`exclusivity index entry ${k} does not match`)
  }
}

async function runSeed (t: Test, seed: number, blocks: number): Promise<Record<string, number>> {
  const r = rng(seed)
  const c = await newChain()
  await setupProvinces(c)
  await c.run('a-city-fin', { type: 'budget.sub-allocate', value: { programId: 1001, year: 2026, region: A.county, amountFen: 600_000 } })
  await c.run('b-county-ca', { type: 'office.register', value: { id: 60, level: 'township', department: 'civil-affairs', region: '440103002', pubKey: new Uint8Array(32).fill(7), delegatedApproval: false } })
  const persons: Person[] = []
  const setup: Uint8Array[] = []
  for (let i = 0; i < 12; i++) {
    const side = i < 7 ? 'A' : 'B'
    const p = { subject: id(`s${seed}/${i}`), hh: id(`h${seed}/${i}`), side } as Person
    persons.push(p)
    const town = side === 'A' ? 'a-town' : 'b-town'
    setup.push(tx(town, { type: 'household.register', value: { householdId: p.hh, hukouRegion: side === 'A' ? A.town : B.town, residenceRegion: side === 'A' ? A.town : B.town, members: [p.subject], statutoryCheck: i % 3 === 0 } }, { height: c.height + 1 }).bytes)
    setup.push(tx(town, { type: 'consent.record', value: { householdId: p.hh, purpose: 'eligibility-check', scope: ['income-property'], expiresAt: c.time + 1000 * DAY } }, { height: c.height + 1 }).bytes)
  }
  await c.block(setup)
  const apps: App[] = []
  const enrolls: Array<{ id: Uint8Array, person: Person }> = []
  const included: Uint8Array[] = []
  const ended = new Map<string, number>()
  const deaths = new Map<string, number>()
  const stats: Record<string, number> = {}
  const county = (p: Person, dept: 'ca' | 'fin'): string => `${p.side === 'A' ? 'a' : 'b'}-county-${dept}`
  const town = (p: Person): string => (p.side === 'A' ? 'a-town' : 'b-town')
  for (let b = 0; b < blocks; b++) {
    const txs: Array<{ bytes: Uint8Array, replay: boolean, body?: Body, person?: Person, kind: string }> = []
    const n = 1 + r.int(7)
    for (let i = 0; i < n; i++) {
      const p = r.pick(persons)
      const undecided = apps.filter((x) => !x.decided)
      const a = undecided.length > 0 && r.int(5) > 0 ? r.pick(undecided) : apps.length > 0 ? r.pick(apps) : null
      const e = enrolls.length > 0 ? r.pick(enrolls) : null
      const choice = r.int(15)
      let op: [string, Body] | null = null
      if (choice === 0) op = [r.pick(['a-town', 'b-town']), { type: 'application.submit', value: { subjectId: p.subject, programId: r.pick([1001, 1001, 2001]) } }]
      else if ((choice === 1 || choice === 2 || choice === 3) && a !== null) {
        // Push the application along: every next step, in order; those that do not apply fail.
        const steps: Array<[string, Body]> = [
          [a.receiving, { type: 'application.forward', value: { applicationId: a.id } }],
          [town(a.person), { type: 'application.accept', value: { applicationId: a.id } }],
          [town(a.person), { type: 'publicity.open', value: { applicationId: a.id } }],
          [town(a.person), { type: 'publicity.close', value: { applicationId: a.id } }],
          [county(a.person, 'ca'), { type: 'attestation.issue', value: { subjectId: a.person.subject, type: 'income-property', reportHash: id(`r${b}`), validUntilHeight: 0, validUntilTime: c.time + 30 * DAY } }],
          [county(a.person, 'ca'), { type: 'decision.approve', value: { applicationId: a.id, amountFen: 10_000 + r.int(80_000), nextReviewAt: c.time + (20 + r.int(100)) * DAY, emergencyId: null } }],
        ]
        for (const [s, body] of steps) txs.push({ bytes: tx(s, body, { height: c.height + 1 }).bytes, replay: false, body, person: a.person, kind: body.type })
      }
      else if (choice === 4) op = [county(p, 'ca'), { type: 'attestation.issue', value: { subjectId: p.subject, type: 'income-property', reportHash: id(`r${b}`), validUntilHeight: 0, validUntilTime: c.time + 60 * DAY } }]
      else if ((choice === 5 || choice === 6) && a !== null) op = [county(a.person, 'ca'), { type: 'decision.approve', value: { applicationId: a.id, amountFen: 10_000 + r.int(90_000), nextReviewAt: c.time + (10 + r.int(100)) * DAY, emergencyId: null } }]
      else if (choice === 7 && a !== null && r.int(4) === 0) op = [county(a.person, 'ca'), { type: 'decision.reject', value: { applicationId: a.id, reason: 'incomplete-materials' } }]
      else if ((choice === 8 || choice === 9 || choice === 10) && e !== null) {
        const lo = 202603
        const hi = periodOf(c.time + DAY)
        const periods: number[] = []
        for (let q = lo; q <= hi; q = q % 100 === 12 ? q + 89 : q + 1) periods.push(q)
        op = [county(e.person, 'fin'), { type: 'disbursement.pay', value: { enrollmentId: e.id, period: r.pick(periods) } }]
      } else if (choice === 11 && e !== null) {
        op = [county(e.person, 'ca'), r.int(5) === 0 ? { type: 'enrollment.exit', value: { enrollmentId: e.id, reason: 'income-improved' } } : r.pick<Body>([
          { type: 'enrollment.pause', value: { enrollmentId: e.id, reason: 'investigation' } },
          { type: 'enrollment.resume', value: { enrollmentId: e.id } },
          { type: 'enrollment.adjust', value: { enrollmentId: e.id, amountFen: 10_000 + r.int(70_000), nextReviewAt: c.time + 90 * DAY } },
        ])]
      } else if (choice === 12 && r.int(6) === 0) op = ['nhc', { type: 'attestation.issue', value: { subjectId: p.subject, type: 'death', reportHash: id(`d${b}`), validUntilHeight: 0, validUntilTime: 0 } }]
      else if (choice === 13) op = [p.side === 'A' ? 'a-city-fin' : 'b-city-fin', { type: 'budget.sub-allocate', value: { programId: 1001, year: 2026, region: p.side === 'A' ? A.county : B.county, amountFen: 200_000 + r.int(2_000_000) } }]
      if (choice === 14 && included.length > 0) {
        txs.push({ bytes: r.pick(included), replay: true, kind: 'replay' })
      } else if (op !== null) {
        txs.push({ bytes: tx(op[0], op[1], { height: c.height + 1, expiresAtHeight: c.height + 1 + r.int(20) }).bytes, replay: false, body: op[1], person: p, kind: op[1].type })
      }
    }
    const res = await c.block(txs.map((x) => x.bytes), r.pick([3_600_000, DAY, 3 * DAY, 8 * DAY]))
    res.txResults.forEach((tr, i) => {
      const x = txs[i] as typeof txs[number]
      const name = resultName(tr.code) ?? 'unknown'
      stats[`${x.kind}:${name}`] = (stats[`${x.kind}:${name}`] ?? 0) + 1
      if (x.replay) {
        if (name !== 'TX_REPLAYED' && name !== 'TX_EXPIRED') t.fail(`seed ${seed}: replay accepted (${name})`)
        return
      }
      if (tr.code !== 5) included.push(x.bytes)
      if (tr.code !== 0 || x.body === undefined) return
      if (x.body.type === 'application.submit') apps.push({ id: tr.data, person: persons.find((p) => Buffer.compare(p.subject, (x.body as { value: { subjectId: Uint8Array } }).value.subjectId) === 0) as Person, receiving: txSigner(x.bytes), decided: false })
      if (x.body.type === 'decision.approve' && tr.data.length === 32) {
        const app = apps.find((a) => Buffer.compare(a.id, (x.body as { value: { applicationId: Uint8Array } }).value.applicationId) === 0) as App
        enrolls.push({ id: tr.data, person: app.person })
        app.decided = true
      }
      if (x.body.type === 'decision.reject') {
        const app = apps.find((a) => Buffer.compare(a.id, (x.body as { value: { applicationId: Uint8Array } }).value.applicationId) === 0)
        if (app !== undefined) app.decided = true
      }
      if (x.body.type === 'attestation.issue' && x.body.value.type === 'death') deaths.set(hx(x.body.value.subjectId), c.height)
      for (const ev of tr.events) {
        const action = ev.attributes.find((a) => a.key === 'action')?.value
        const eid = ev.attributes.find((a) => a.key === 'id')?.value
        if (ev.type === 'enrollment' && (action === 'exited' || action === 'completed') && eid !== undefined && !ended.has(eid)) ended.set(eid, c.height)
      }
    })
    await checkInvariants(t, c, ended, deaths)
  }
  return stats
}

const signerNames = new Map<string, string>()
function txSigner (bytes: Uint8Array): string {
  const { TxEnvelopeSchema } = TX
  const env = decode(TxEnvelopeSchema, bytes)
  return signerNames.get(hx(env.signer)) ?? '?'
}
const TX = await import('../../../src/types/tx.ts')
{
  const { pub } = await import('../helpers.ts')
  for (const n of ['a-town', 'b-town']) signerNames.set(hx(pub(n)), n)
}

for (const seed of [1, 2, 3]) {
  t.test(`random operation sequences keep the invariants (seed ${seed})`, async (t) => {
    const stats = await runSeed(t, seed, 60)
    const ok = Object.entries(stats).filter(([k]) => k.endsWith(':OK')).reduce((s, [, v]) => s + v, 0)
    t.ok(ok > 30, `seed ${seed}: ${ok} successful ops`)
    t.ok((stats['decision.approve:OK'] ?? 0) + (stats['disbursement.pay:OK'] ?? 0) > 3, `seed ${seed}: decisions and payments happened: ${JSON.stringify(stats)}`)
    t.pass(`seed ${seed}: invariants held`)
  })
}
