/**
 * Households, persons and consent (DESIGN §6). A household is a pseudonymous id with a
 * hukou township, a residence township and its members' pseudonymous subject ids; a person
 * belongs to at most one household. The hukou township's civil-affairs office registers a
 * household and proposes changes; the county civil-affairs office containing the hukou
 * township approves or rejects each change (one pending change at a time). Consent
 * (household × purpose, scope = attestation types, expiry by header time) is recorded or
 * revoked by the receiving township or county office; attestation checks need live consent
 * covering their type unless the household carries the statutory flag (or the type is
 * death, which is recorded by statute).
 */
import { reject, type Rejection } from '../codes.ts'
import { audit, emit, requireOffice, type ExecCtx } from '../context.ts'
import { firstOf, needDepartment, needLevel, needRegion } from '../auth.ts'
import { getRec, putRec, type Kv, type KvReader } from '../kv.ts'
import { Entity, K } from '../keys.ts'
import { ConsentSchema, HouseholdSchema, PersonSchema, type Household, type Person } from '../records.ts'
import { regionAt, regionLevel } from '../regions.ts'
import { CONSENT_PURPOSES, type AttestationType, type BodyOf } from '../schema.ts'
import { equalBytes } from '../../src/bytes.ts'
import { hex } from '../context.ts'

export async function loadHousehold (kv: KvReader, id: Uint8Array): Promise<Household | null> {
  return await getRec(kv, HouseholdSchema, K.household(id))
}

export async function loadPerson (kv: KvReader, subjectId: Uint8Array): Promise<Person | null> {
  return await getRec(kv, PersonSchema, K.person(subjectId))
}

function uniqueIds (ids: Uint8Array[]): boolean {
  return new Set(ids.map(hex)).size === ids.length
}

async function checkJoinable (kv: Kv, subjectId: Uint8Array): Promise<Rejection | undefined> {
  const p = await loadPerson(kv, subjectId)
  if (p === null) return undefined
  if (p.deceased) return reject('SUBJECT_DECEASED')
  if (p.householdId !== null) return reject('PERSON_IN_OTHER_HOUSEHOLD', 'a listed person already belongs to a household')
  return undefined
}

async function setPersonHousehold (kv: Kv, subjectId: Uint8Array, householdId: Uint8Array | null): Promise<void> {
  const p = await loadPerson(kv, subjectId)
  putRec(kv, PersonSchema, K.person(subjectId), p === null
    ? { subjectId, householdId, deceased: false, deathAttestation: null, enrollments: [] }
    : { ...p, householdId })
}

export async function householdRegister (ctx: ExecCtx, b: BodyOf<'household.register'>): Promise<Rejection | undefined> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  if (regionLevel(b.hukouRegion) !== 'township' || regionLevel(b.residenceRegion) !== 'township') return reject('REGION_NOT_TOWNSHIP')
  const bad = firstOf(needLevel(office, ['township']), needDepartment(office, ['civil-affairs']), needRegion(office, b.hukouRegion))
  if (bad !== undefined) return bad
  if ((await ctx.kv.get(K.household(b.householdId))) !== null) return reject('HOUSEHOLD_EXISTS')
  if (b.members.length === 0 || !uniqueIds(b.members)) return reject('HOUSEHOLD_BAD_MEMBERS')
  for (const m of b.members) {
    const r = await checkJoinable(ctx.kv, m)
    if (r !== undefined) return r
  }
  putRec(ctx.kv, HouseholdSchema, K.household(b.householdId), {
    id: b.householdId, hukouRegion: b.hukouRegion, residenceRegion: b.residenceRegion, members: b.members,
    statutoryCheck: b.statutoryCheck, registeredBy: office.id, pendingChange: null, changes: 0,
  })
  for (const m of b.members) {
    await setPersonHousehold(ctx.kv, m, b.householdId)
    await audit(ctx, Entity.subject(m))
  }
  await audit(ctx, Entity.household(b.householdId))
  emit(ctx.events, 'household', { action: 'registered', region: b.hukouRegion, members: b.members.length, office: office.id })
  return undefined
}

export async function householdProposeChange (ctx: ExecCtx, b: BodyOf<'household.propose-change'>): Promise<Rejection | undefined> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const hh = await loadHousehold(ctx.kv, b.householdId)
  if (hh === null) return reject('HOUSEHOLD_NOT_FOUND')
  const bad = firstOf(needLevel(office, ['township']), needDepartment(office, ['civil-affairs']), needRegion(office, hh.hukouRegion))
  if (bad !== undefined) return bad
  if (hh.pendingChange !== null) return reject('HOUSEHOLD_CHANGE_PENDING')
  if (b.addMembers.length === 0 && b.removeMembers.length === 0 && b.hukouRegion === null && b.residenceRegion === null && b.statutoryCheck === null) {
    return reject('HOUSEHOLD_NO_CHANGE', 'the proposed change is empty')
  }
  if ((b.hukouRegion !== null && regionLevel(b.hukouRegion) !== 'township') || (b.residenceRegion !== null && regionLevel(b.residenceRegion) !== 'township')) {
    return reject('REGION_NOT_TOWNSHIP')
  }
  const r = validateMembers(hh, b.addMembers, b.removeMembers)
  if (r !== undefined) return r
  putRec(ctx.kv, HouseholdSchema, K.household(hh.id), {
    ...hh,
    pendingChange: {
      proposedBy: office.id, addMembers: b.addMembers, removeMembers: b.removeMembers, hukouRegion: b.hukouRegion,
      residenceRegion: b.residenceRegion, statutoryCheck: b.statutoryCheck, height: ctx.height,
    },
  })
  await audit(ctx, Entity.household(hh.id))
  emit(ctx.events, 'household', { action: 'change-proposed', region: hh.hukouRegion, office: office.id })
  return undefined
}

function validateMembers (hh: Household, add: Uint8Array[], remove: Uint8Array[]): Rejection | undefined {
  if (!uniqueIds([...add, ...remove])) return reject('HOUSEHOLD_BAD_MEMBERS', 'a subject is listed twice')
  const isMember = (s: Uint8Array): boolean => hh.members.some((m) => equalBytes(m, s))
  if (remove.some((s) => !isMember(s))) return reject('HOUSEHOLD_BAD_MEMBERS', 'removes a non-member')
  if (add.some(isMember)) return reject('HOUSEHOLD_BAD_MEMBERS', 'adds an existing member')
  const size = hh.members.length + add.length - remove.length
  if (size <= 0 || size > 32) return reject('HOUSEHOLD_BAD_MEMBERS', 'household would be empty or over 32 members')
  return undefined
}

export async function householdDecideChange (ctx: ExecCtx, b: BodyOf<'household.decide-change'>): Promise<Rejection | undefined> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const hh = await loadHousehold(ctx.kv, b.householdId)
  if (hh === null) return reject('HOUSEHOLD_NOT_FOUND')
  const bad = firstOf(needLevel(office, ['county']), needDepartment(office, ['civil-affairs']), needRegion(office, hh.hukouRegion))
  if (bad !== undefined) return bad
  const ch = hh.pendingChange
  if (ch === null) return reject('HOUSEHOLD_NO_CHANGE')
  if (!b.approve) {
    putRec(ctx.kv, HouseholdSchema, K.household(hh.id), { ...hh, pendingChange: null })
  } else {
    const r = validateMembers(hh, ch.addMembers, ch.removeMembers)
    if (r !== undefined) return r
    for (const m of ch.addMembers) {
      const j = await checkJoinable(ctx.kv, m)
      if (j !== undefined) return j
    }
    const members = [...hh.members.filter((m) => !ch.removeMembers.some((x) => equalBytes(x, m))), ...ch.addMembers]
    putRec(ctx.kv, HouseholdSchema, K.household(hh.id), {
      ...hh, members, pendingChange: null, changes: hh.changes + 1,
      hukouRegion: ch.hukouRegion ?? hh.hukouRegion,
      residenceRegion: ch.residenceRegion ?? hh.residenceRegion,
      statutoryCheck: ch.statutoryCheck ?? hh.statutoryCheck,
    })
    for (const m of ch.removeMembers) { await setPersonHousehold(ctx.kv, m, null); await audit(ctx, Entity.subject(m)) }
    for (const m of ch.addMembers) { await setPersonHousehold(ctx.kv, m, hh.id); await audit(ctx, Entity.subject(m)) }
  }
  await audit(ctx, Entity.household(hh.id))
  emit(ctx.events, 'household', { action: b.approve ? 'change-approved' : 'change-rejected', region: regionAt(hh.hukouRegion, 'county') ?? hh.hukouRegion, office: office.id })
  return undefined
}

export async function consentRecord (ctx: ExecCtx, b: BodyOf<'consent.record'>): Promise<Rejection | undefined> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const bad = needLevel(office, ['township', 'county'])
  if (bad !== undefined) return bad
  const hh = await loadHousehold(ctx.kv, b.householdId)
  if (hh === null) return reject('HOUSEHOLD_NOT_FOUND')
  if (b.scope.length === 0 || new Set(b.scope).size !== b.scope.length || b.expiresAt <= ctx.time) return reject('CONSENT_BAD_TERMS')
  putRec(ctx.kv, ConsentSchema, K.consent(hh.id, b.purpose), {
    householdId: hh.id, purpose: b.purpose, scope: b.scope, expiresAt: b.expiresAt, recordedBy: office.id, revoked: false, height: ctx.height,
  })
  await audit(ctx, Entity.household(hh.id))
  emit(ctx.events, 'consent', { action: 'recorded', purpose: b.purpose, office: office.id })
  return undefined
}

export async function consentRevoke (ctx: ExecCtx, b: BodyOf<'consent.revoke'>): Promise<Rejection | undefined> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const bad = needLevel(office, ['township', 'county'])
  if (bad !== undefined) return bad
  const c = await getRec(ctx.kv, ConsentSchema, K.consent(b.householdId, b.purpose))
  if (c === null || c.revoked) return reject('CONSENT_NOT_FOUND')
  putRec(ctx.kv, ConsentSchema, K.consent(b.householdId, b.purpose), { ...c, revoked: true })
  await audit(ctx, Entity.household(b.householdId))
  emit(ctx.events, 'consent', { action: 'revoked', purpose: b.purpose, office: office.id })
  return undefined
}

/** Live consent of the household covering `type`, or the household's statutory flag. */
export async function checksAllowed (kv: KvReader, hh: Household, type: AttestationType, time: number): Promise<boolean> {
  if (type === 'death' || hh.statutoryCheck) return true
  for (const purpose of CONSENT_PURPOSES) {
    const c = await getRec(kv, ConsentSchema, K.consent(hh.id, purpose))
    if (c !== null && !c.revoked && c.expiresAt > time && c.scope.includes(type)) return true
  }
  return false
}
