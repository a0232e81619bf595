/**
 * The pre-built world of `npm run bench:state` (bench/state.ts): a store holding N
 * registered subjects plus, for every measured block ("slot"), entities staged at each
 * step of the case pipeline, so that a 1,000-tx block of mixed operations is all valid:
 *
 *   1. genesis + the two-province office tree of test/state/world.ts (real txs), and
 *      national dibao (1001) budgets sub-allocated down to both counties (large amounts);
 *   2. N subjects in households of 1–4 (pattern 1,2,3,4,2,3: 2.5 on average; 3 in 4
 *      households in province A, 1 in 4 in B), registered in blocks of 10,000 households
 *      straight through the household.register handler (no envelopes: registering 10^6
 *      subjects by signed txs would spend most of the build signing), each block a real
 *      store commit with the meta record advanced as finalizeBlock does;
 *   3. staging by signed txs through finalizeBlock: consent, submissions (one door: some
 *      at the other province's township), acceptance, publicity, attestations, publicity
 *      close 8 days later, approvals — so every slot has applications ready to forward,
 *      accept, open, object to, close, approve and reject, consented subjects to attest,
 *      and active enrollments to adjust and pay.
 *
 * Subjects used by slots are spread over the whole range (index k·P mod N, P coprime to
 * N), so measured blocks read records written anywhere in the build, not just recent ones.
 * Everything is deterministic; the manifest (ids of staged entities, height, time) lets a
 * later process sign the measured blocks against the same store.
 */
import { sha256 } from '../src/crypto/hash.ts'
import { utf8 } from '../src/bytes.ts'
import { CHAIN, DAY, T0, attach, baseAppState, newChain, tx, verifier, type Chain } from '../test/state/helpers.ts'
import { A, B, OFFICES, registerBody } from '../test/state/world.ts'
import { createSocialApp } from '../state/app.ts'
import { loadParams } from '../state/block.ts'
import type { BlockCtx, ExecCtx } from '../state/context.ts'
import { periodOf } from '../state/context.ts'
import { getRec, Overlay, putRec, storeReader } from '../state/kv.ts'
import { Entity, K } from '../state/keys.ts'
import { MetaSchema, OfficeSchema, type Office } from '../state/records.ts'
import type { Body } from '../state/schema.ts'
import { dispatch } from '../state/ops/index.ts'
import type { AppStore } from '../state/store-api.ts'

export const WORLD_FORMAT = 1
/** Header time step of every block the world and the bench make (a 5 s block interval). */
export const BLOCK_MS = 5_000
const BULK_HOUSEHOLDS = 10_000
const STAGE_BLOCK_TXS = 5_000
const HH_SIZES = [1, 2, 3, 4, 2, 3] as const
const HH_CYCLE = 15 // sum of HH_SIZES
const PROGRAM = 1001

/** Transactions of each kind in a 1,000-tx block; scaled to the block size (remainder: submit). */
export const MIX_PER_1000 = {
  register: 80, consent: 80, submit: 150, forward: 70, accept: 90, open: 80, object: 20, attest: 90,
  close: 70, approve: 70, reject: 20, adjust: 30, pay: 120, alert: 30,
} as const
export type MixKind = keyof typeof MIX_PER_1000
export type Mix = Record<MixKind, number>

export function mixFor (blockTxs: number): Mix {
  const out = {} as Mix
  let total = 0
  for (const k of Object.keys(MIX_PER_1000) as MixKind[]) {
    out[k] = Math.floor(MIX_PER_1000[k] * blockTxs / 1000)
    total += out[k]
  }
  out.submit += blockTxs - total
  return out
}

/** Distinct existing subjects one slot consumes. */
export function subjectsPerSlot (m: Mix): number {
  return m.submit + m.forward + m.accept + m.open + m.object + m.attest + m.close + m.approve + m.reject + m.adjust + m.pay
}

export interface WorldSpec {
  /** Registered subjects. */
  n: number
  blockTxs: number
  /** Measured blocks the world is staged for. */
  slots: number
}

/** One staged entity: the subject's index and (for applications, enrollments) the entity id. */
export interface Staged { s: number, id: string }

export interface SlotManifest {
  submit: number[]
  attest: number[]
  forward: Staged[]
  accept: Staged[]
  open: Staged[]
  object: Staged[]
  close: Staged[]
  approve: Staged[]
  reject: Staged[]
  enrolled: Staged[]
}

export interface Manifest {
  format: number
  spec: WorldSpec
  /** Last committed height and its header time. */
  height: number
  time: number
  /** The period measured blocks pay (the month the enrollments started). */
  payPeriod: number
  /** Header time staging ran at (validity windows are relative to it). */
  stagedAt: number
  slots: SlotManifest[]
  buildSeconds: number
}

// ---- subjects and households ------------------------------------------------------------

export const subjectId = (i: number): Uint8Array => sha256(utf8(`bench-subject/${i}`))
export const householdId = (h: number): Uint8Array => sha256(utf8(`bench-hh/${h}`))

const CUM = [0, 1, 3, 6, 10, 12, 15] as const
function householdStart (h: number): number {
  return Math.floor(h / HH_SIZES.length) * HH_CYCLE + (CUM[h % HH_SIZES.length] as number)
}
export function householdOf (i: number): number {
  const g = Math.floor(i / HH_CYCLE)
  const r = i % HH_CYCLE
  let j = 0
  while ((CUM[j + 1] as number) <= r) j++
  return g * HH_SIZES.length + j
}
function householdMembers (h: number, n: number): number[] {
  const start = householdStart(h)
  const end = Math.min(n, start + (HH_SIZES[h % HH_SIZES.length] as number))
  const out: number[] = []
  for (let i = start; i < end; i++) out.push(i)
  return out
}

export interface Province { town: string, other: string, ca: string, fin: string, caId: number, townRegion: string, county: string }
const PROV_A: Province = { town: 'a-town', other: 'b-town', ca: 'a-county-ca', fin: 'a-county-fin', caId: 14, townRegion: A.town, county: A.county }
const PROV_B: Province = { town: 'b-town', other: 'a-town', ca: 'b-county-ca', fin: 'b-county-fin', caId: 24, townRegion: B.town, county: B.county }
export const provinceOfHousehold = (h: number): Province => (h % 4 === 3 ? PROV_B : PROV_A)
export const provinceOf = (i: number): Province => provinceOfHousehold(householdOf(i))

function gcd (a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b]
  return a
}

/** The k-th subject slots use: k·P mod N, P ≈ 0.618·N coprime to N, so picks spread over the range. */
export function spreader (n: number): (k: number) => number {
  let p = Math.max(1, Math.floor(n * 0.6180339887))
  while (gcd(p, n) !== 1) p++
  return (k) => (k * p) % n
}

// ---- building ---------------------------------------------------------------------------

type Log = (msg: string) => void

async function checkBlock (c: Chain, txs: Array<{ bytes: Uint8Array }>, what: string, advance: number): Promise<void> {
  for (let i = 0; i < txs.length; i += STAGE_BLOCK_TXS) {
    const part = txs.slice(i, i + STAGE_BLOCK_TXS)
    const res = await c.block(part, i === 0 ? advance : BLOCK_MS)
    res.txResults.forEach((r, j) => {
      if (r.code !== 0) throw new Error(`${what}: tx ${i + j} failed with code ${r.code}: ${r.log}`)
    })
  }
}

async function setupOffices (c: Chain): Promise<void> {
  const at = (): { height: number } => ({ height: c.height + 1 })
  await checkBlock(c, OFFICES.map((o) => tx(o.signer, registerBody(o.name), at())), 'offices', BLOCK_MS)
  const sub = (signer: string, region: string, amountFen: number): { bytes: Uint8Array } =>
    tx(signer, { type: 'budget.sub-allocate', value: { programId: PROGRAM, year: 2026, region, amountFen } }, at())
  await checkBlock(c, [
    sub('mof', A.province, 40e12), sub('a-fin', A.city, 20e12), sub('a-city-fin', A.county, 10e12),
    sub('mof', B.province, 40e12), sub('b-fin', B.city, 20e12), sub('b-city-fin', B.county, 10e12),
  ], 'budgets', BLOCK_MS)
}

/** Registers households straight through the handler, one store commit per BULK_HOUSEHOLDS. */
async function bulkRegister (store: AppStore, n: number, log: Log): Promise<void> {
  const reader = storeReader(store)
  const params = await loadParams(reader)
  const office = async (id: number): Promise<Office> => {
    const o = await getRec(reader, OfficeSchema, K.office(id))
    if (o === null) throw new Error(`no office ${id}`)
    return o
  }
  const towns = { A: await office(16), B: await office(26) }
  let meta = await getRec(reader, MetaSchema, K.meta())
  if (meta === null) throw new Error('no genesis')
  const t0 = Date.now()
  let h = 0
  while (householdStart(h) < n) {
    // The keys the handler reads (all absent: new households and subjects), read at once.
    const ahead = new Map<string, Promise<Uint8Array | null>>()
    const want = (k: Uint8Array): void => { ahead.set(Buffer.from(k).toString('latin1'), reader.get(k)) }
    for (let x = h; x < h + BULK_HOUSEHOLDS && householdStart(x) < n; x++) {
      want(K.household(householdId(x)))
      want(K.auditCount(Entity.household(householdId(x))))
      for (const m of householdMembers(x, n)) { want(K.person(subjectId(m))); want(K.auditCount(Entity.subject(subjectId(m)))) }
    }
    await Promise.all(ahead.values())
    const kv = new Overlay({ get: async (k) => await (ahead.get(Buffer.from(k).toString('latin1')) ?? reader.get(k)) })
    const height: number = meta.lastHeight + 1
    const time: number = meta.lastTime + BLOCK_MS
    const block: BlockCtx = { chainId: CHAIN, height, time, params, events: [], validatorUpdates: [] }
    const tx0 = Date.now()
    for (let j = 0; j < BULK_HOUSEHOLDS && householdStart(h) < n; j++, h++) {
      const prov = provinceOfHousehold(h)
      const ctx: ExecCtx = {
        kv, block, height, time, opId: sha256(utf8(`bench-bulk/${h}`)), action: 'household.register',
        signer: { kind: 'office', office: prov === PROV_A ? towns.A : towns.B }, params, events: [], data: new Uint8Array(0),
      }
      const body: Body = {
        type: 'household.register',
        value: { householdId: householdId(h), hukouRegion: prov.townRegion, residenceRegion: prov.townRegion, members: householdMembers(h, n).map(subjectId), statutoryCheck: false },
      }
      const r = await dispatch(ctx, body)
      if (r !== undefined) throw new Error(`bulk household ${h}: ${r.log}`)
    }
    meta = { ...meta, lastHeight: height, lastTime: time }
    putRec(kv, MetaSchema, K.meta(), meta)
    await kv.flushTo(store)
    const tc = Date.now()
    await store.commit()
    const done = Math.min(n, householdStart(h))
    if (n >= 100_000) log(`  registered ${done} subjects (${h} households) in ${((Date.now() - t0) / 1000).toFixed(0)} s (last batch: handlers ${tc - tx0} ms, commit ${Date.now() - tc} ms)`)
  }
}

/** Signed staging txs for every slot, then the manifest of what each slot may use. */
async function stage (c: Chain, spec: WorldSpec, log: Log): Promise<{ slots: SlotManifest[], payPeriod: number, stagedAt: number }> {
  const m = mixFor(spec.blockTxs)
  const pick = spreader(spec.n)
  let k = 0
  const take = (count: number): number[] => Array.from({ length: count }, () => pick(k++))
  const plan = Array.from({ length: spec.slots }, () => ({
    submit: take(m.submit), attest: take(m.attest), forward: take(m.forward), accept: take(m.accept), open: take(m.open),
    object: take(m.object), close: take(m.close), approve: take(m.approve), reject: take(m.reject), enrolled: take(m.adjust + m.pay),
  }))
  const all = <K extends keyof typeof plan[number]>(key: K): number[] => plan.flatMap((p) => p[key])
  const at = (): { height: number } => ({ height: c.height + 1 })
  const subj = (s: number): Uint8Array => subjectId(s)
  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
  const appIds = new Map<number, Uint8Array>()
  const stagedAt = c.time + BLOCK_MS

  // 1. consent (attest, approve, enrolled), submissions (forward: at the other province's township).
  const consented = [...all('attest'), ...all('approve'), ...all('enrolled')]
  const hhs = [...new Set(consented.map(householdOf))]
  const s1: Array<{ bytes: Uint8Array }> = hhs.map((h) => tx(provinceOfHousehold(h).town, {
    type: 'consent.record', value: { householdId: householdId(h), purpose: 'eligibility-check', scope: ['income-property'], expiresAt: stagedAt + 400 * DAY },
  }, at()))
  const submitAt = (s: number, signer: string): void => {
    const t = tx(signer, { type: 'application.submit', value: { subjectId: subj(s), programId: PROGRAM } }, at())
    appIds.set(s, t.opId)
    s1.push(t)
  }
  for (const s of all('forward')) submitAt(s, provinceOf(s).other)
  const handled = [...all('accept'), ...all('open'), ...all('object'), ...all('close'), ...all('approve'), ...all('reject'), ...all('enrolled')]
  for (const s of handled) submitAt(s, provinceOf(s).town)
  const app = (s: number): Uint8Array => appIds.get(s) as Uint8Array
  const step = (subjects: number[], signer: (s: number) => string, body: (s: number) => Body): Array<{ bytes: Uint8Array }> =>
    subjects.map((s) => tx(signer(s), body(s), at()))
  await checkBlock(c, s1, 'stage 1 (consent, submit)', BLOCK_MS)
  log(`  staged 1/5: ${s1.length} txs`)

  // 2. accept; 3. publicity open, attestations; 4. publicity close (8 days on); 5. approve.
  const town = (s: number): string => provinceOf(s).town
  const ca = (s: number): string => provinceOf(s).ca
  const accepted = [...all('open'), ...all('object'), ...all('close'), ...all('approve'), ...all('reject'), ...all('enrolled')]
  await checkBlock(c, step(accepted, town, (s) => ({ type: 'application.accept', value: { applicationId: app(s) } })), 'stage 2 (accept)', BLOCK_MS)
  const opened = [...all('object'), ...all('close'), ...all('approve'), ...all('enrolled')]
  const attested = [...all('approve'), ...all('enrolled')]
  await checkBlock(c, [
    ...step(opened, town, (s) => ({ type: 'publicity.open', value: { applicationId: app(s) } })),
    ...step(attested, ca, (s) => ({
      type: 'attestation.issue',
      value: { subjectId: subj(s), type: 'income-property', reportHash: sha256(subj(s)), validUntilHeight: 0, validUntilTime: stagedAt + 300 * DAY },
    })),
  ], 'stage 3 (publicity open, attestations)', BLOCK_MS)
  await checkBlock(c, step(attested, town, (s) => ({ type: 'publicity.close', value: { applicationId: app(s) } })), 'stage 4 (publicity close)', 8 * DAY)
  const enrollIds = new Map<number, Uint8Array>()
  const s5 = all('enrolled').map((s) => {
    const t = tx(ca(s), { type: 'decision.approve', value: { applicationId: app(s), amountFen: 50_000, nextReviewAt: stagedAt + 200 * DAY, emergencyId: null } }, at())
    enrollIds.set(s, t.opId)
    return t
  })
  await checkBlock(c, s5, 'stage 5 (approve)', BLOCK_MS)
  log(`  staged 5/5 at height ${c.height}`)

  const withApp = (xs: number[]): Staged[] => xs.map((s) => ({ s, id: hex(app(s)) }))
  const slots = plan.map((p) => ({
    submit: p.submit, attest: p.attest, forward: withApp(p.forward), accept: withApp(p.accept), open: withApp(p.open),
    object: withApp(p.object), close: withApp(p.close), approve: withApp(p.approve), reject: withApp(p.reject),
    enrolled: p.enrolled.map((s) => ({ s, id: hex(enrollIds.get(s) as Uint8Array) })),
  }))
  return { slots, payPeriod: periodOf(c.time), stagedAt }
}

/** Builds the world into `store` (a fresh one); returns its manifest. */
export async function buildWorld (store: AppStore, spec: WorldSpec, log: Log = () => {}): Promise<Manifest> {
  const need = subjectsPerSlot(mixFor(spec.blockTxs)) * spec.slots
  if (need > spec.n) throw new Error(`${spec.slots} slots of ${spec.blockTxs} txs need ${need} subjects; the world has ${spec.n}`)
  const t0 = Date.now()
  const appState = baseAppState({ budgets: [{ programId: PROGRAM, year: 2026, region: '000000', amountFen: 100e12 }] })
  const c0 = await newChain({ store, appState })
  await setupOffices(c0)
  await bulkRegister(store, spec.n, log)
  const meta = await getRec(storeReader(store), MetaSchema, K.meta())
  if (meta === null) throw new Error('no meta')
  // A new app over the store (as after a restart): the first one cached the pre-bulk meta.
  const c = attach(createSocialApp({ store, verifier, chainId: CHAIN }), store, meta.lastHeight, meta.lastTime, [])
  const staged = await stage(c, spec, log)
  return { format: WORLD_FORMAT, spec, height: c.height, time: c.time, ...staged, buildSeconds: (Date.now() - t0) / 1000 }
}

// ---- measured blocks --------------------------------------------------------------------

const fromHex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))

/** The signed txs of measured slot `slot` for `height` (round-robin over the kinds). */
export function slotTxs (man: Manifest, slot: number, height: number): Uint8Array[] {
  const m = mixFor(man.spec.blockTxs)
  const p = man.slots[slot]
  if (p === undefined) throw new Error(`the world has ${man.slots.length} slots, not ${slot + 1}`)
  let nonce = 1_000_000_000 + slot * 1_000_000
  const o = (): { expiresAtHeight: number, nonce: number } => ({ expiresAtHeight: height + 100, nonce: nonce++ })
  const t = man.stagedAt
  const lanes: Uint8Array[][] = []
  const lane = <X>(xs: readonly X[], f: (x: X, i: number) => [string, Body]): void => {
    lanes.push(xs.map((x, i) => { const [s, b] = f(x, i); return tx(s, b, o()).bytes }))
  }
  const byId = (type: 'application.forward' | 'application.accept' | 'publicity.open' | 'publicity.close', signer: (x: Staged) => string) =>
    (x: Staged): [string, Body] => [signer(x), { type, value: { applicationId: fromHex(x.id) } }]
  const town = (x: Staged): string => provinceOf(x.s).town
  const ca = (x: Staged): string => provinceOf(x.s).ca

  lane(Array.from({ length: m.register }, (_, i) => i), (i) => {
    const prov = i % 4 === 3 ? PROV_B : PROV_A
    const members = Array.from({ length: 1 + (i % 3) }, (_, j) => sha256(utf8(`bench-new-subject/${slot}/${i}/${j}`)))
    return [prov.town, { type: 'household.register', value: { householdId: sha256(utf8(`bench-new-hh/${slot}/${i}`)), hukouRegion: prov.townRegion, residenceRegion: prov.townRegion, members, statutoryCheck: false } }]
  })
  lane(p.submit.slice(0, m.consent), (s) => [provinceOf(s).town, {
    type: 'consent.record', value: { householdId: householdId(householdOf(s)), purpose: 'periodic-review', scope: ['income-property'], expiresAt: t + 500 * DAY },
  }])
  lane(p.submit, (s) => [provinceOf(s).town, { type: 'application.submit', value: { subjectId: subjectId(s), programId: PROGRAM } }])
  lane(p.forward, byId('application.forward', (x) => provinceOf(x.s).other))
  lane(p.accept, byId('application.accept', town))
  lane(p.open, byId('publicity.open', town))
  lane(p.object, (x) => [town(x), { type: 'publicity.object', value: { applicationId: fromHex(x.id), objectionHash: sha256(fromHex(x.id)) } }])
  lane(p.attest, (s) => [provinceOf(s).ca, {
    type: 'attestation.issue', value: { subjectId: subjectId(s), type: 'income-property', reportHash: sha256(subjectId(s)), validUntilHeight: 0, validUntilTime: t + 300 * DAY },
  }])
  lane(p.close, byId('publicity.close', town))
  lane(p.approve, (x) => [ca(x), { type: 'decision.approve', value: { applicationId: fromHex(x.id), amountFen: 50_000, nextReviewAt: t + 200 * DAY, emergencyId: null } }])
  lane(p.reject, (x) => [ca(x), { type: 'decision.reject', value: { applicationId: fromHex(x.id), reason: 'income-above-standard' } }])
  lane(p.enrolled.slice(0, m.adjust), (x) => [ca(x), { type: 'enrollment.adjust', value: { enrollmentId: fromHex(x.id), amountFen: 60_000, nextReviewAt: t + 250 * DAY } }])
  lane(p.enrolled.slice(m.adjust), (x) => [provinceOf(x.s).fin, { type: 'disbursement.pay', value: { enrollmentId: fromHex(x.id), period: man.payPeriod } }])
  lane(p.submit.slice(0, m.alert), (s) => [provinceOf(s).town, {
    type: 'alert.raise', value: { toOfficeId: provinceOf(s).caId, category: 'hardship-signal', severity: 'medium', refKind: 'subject', ref: subjectId(s) },
  }])
  // Round-robin, so every part of the block has every kind of tx.
  const out: Uint8Array[] = []
  for (let i = 0; out.length < man.spec.blockTxs; i++) {
    for (const l of lanes) { const x = l[i]; if (x !== undefined) out.push(x) }
  }
  return out
}
