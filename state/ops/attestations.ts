/**
 * Attestations (DESIGN §6): income/property checks, disability, death and medical-cost
 * reports, each a content hash of an off-ledger report with a validity window in block
 * heights and/or header time. The issuing office's department must match the type
 * (ATTESTATION_ISSUERS) and be at county level or above; checks other than death need
 * live household consent covering the type or the household's statutory flag. The latest
 * attestation per (subject, type) is the one decisions look at. A death attestation marks
 * the person deceased and exits every active or paused enrollment of the subject, in any
 * province, in the same tx.
 */
import { reject, type Rejection } from '../codes.ts'
import { audit, emit, requireOffice, type ExecCtx } from '../context.ts'
import { firstOf, needLevel } from '../auth.ts'
import { getRec, putRec, type KvReader } from '../kv.ts'
import { Entity, K } from '../keys.ts'
import { AttestationSchema, PersonSchema, type Attestation } from '../records.ts'
import { ATTESTATION_ISSUERS, type AttestationType, type BodyOf } from '../schema.ts'
import { checksAllowed, loadHousehold, loadPerson } from './households.ts'
import { endEnrollment, loadEnrollment } from './enrollments.ts'

export async function validAttestation (kv: KvReader, subjectId: Uint8Array, type: AttestationType, height: number, time: number): Promise<Attestation | null> {
  const a = await getRec(kv, AttestationSchema, K.attestation(subjectId, type))
  if (a === null) return null
  if (a.validUntilHeight !== 0 && height > a.validUntilHeight) return null
  if (a.validUntilTime !== 0 && time > a.validUntilTime) return null
  return a
}

export async function attestationIssue (ctx: ExecCtx, b: BodyOf<'attestation.issue'>): Promise<Rejection | undefined> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const issuers = ATTESTATION_ISSUERS[b.type]
  if (!issuers.includes(office.department)) return reject('ATTESTATION_WRONG_ISSUER', `${b.type} is issued by ${issuers.join(' or ')}`)
  const bad = firstOf(needLevel(office, ['ministry', 'province', 'city', 'county']))
  if (bad !== undefined) return bad
  const person = await loadPerson(ctx.kv, b.subjectId)
  if (person === null) return reject('SUBJECT_NOT_FOUND')
  if (person.deceased) return reject('SUBJECT_DECEASED')
  const open = b.validUntilHeight === 0 && b.validUntilTime === 0
  const past = (b.validUntilHeight !== 0 && b.validUntilHeight < ctx.height) || (b.validUntilTime !== 0 && b.validUntilTime <= ctx.time)
  if ((open && b.type !== 'death') || past) return reject('ATTESTATION_BAD_VALIDITY')
  if (b.type !== 'death') {
    const hh = person.householdId === null ? null : await loadHousehold(ctx.kv, person.householdId)
    if (hh === null) return reject('SUBJECT_NOT_FOUND', 'subject has no household')
    if (!(await checksAllowed(ctx.kv, hh, b.type, ctx.time))) return reject('CONSENT_REQUIRED')
  }
  putRec(ctx.kv, AttestationSchema, K.attestation(b.subjectId, b.type), {
    id: ctx.opId, subjectId: b.subjectId, type: b.type, reportHash: b.reportHash, issuerOfficeId: office.id,
    issuedHeight: ctx.height, issuedAt: ctx.time, validUntilHeight: b.validUntilHeight, validUntilTime: b.validUntilTime,
  })
  await audit(ctx, Entity.subject(b.subjectId))
  emit(ctx.events, 'attestation', { action: 'issued', type: b.type, office: office.id })
  ctx.data = ctx.opId
  if (b.type === 'death') {
    putRec(ctx.kv, PersonSchema, K.person(b.subjectId), { ...person, deceased: true, deathAttestation: ctx.opId })
    for (const id of person.enrollments) {
      const e = await loadEnrollment(ctx.kv, id)
      if (e !== null && (e.status === 'active' || e.status === 'paused')) await endEnrollment(ctx, e, 'exited', 'death', office.id)
    }
  }
  return undefined
}
