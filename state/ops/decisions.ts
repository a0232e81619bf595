/**
 * Decisions (DESIGN §6): approve or reject an application. The signer is the office at
 * the program's approval level (normally the county, or a township holding delegated
 * approval), of the program's department, whose region contains the case (the hukou
 * township). Approval needs closed publicity and every attestation the category requires,
 * valid at this height and time, unless an emergency in force over the case region waives
 * them; the amount may not exceed the standard in force for the case region (or the
 * emergency cap). Approval creates the enrollment (id = this tx's opId) after checking the
 * cross-province exclusivity invariant.
 */
import { reject, type Rejection } from '../codes.ts'
import { audit, periodOf, requireOffice, type ExecCtx } from '../context.ts'
import { getRec, putRec } from '../kv.ts'
import { Entity, K } from '../keys.ts'
import { EmergencySchema, IdRefSchema, PersonSchema, type Application, type Emergency, type Enrollment, type Office, type Program } from '../records.ts'
import { regionAt, regionContains } from '../regions.ts'
import { REQUIRED_ATTESTATIONS, type BodyOf, type Waiver } from '../schema.ts'
import { loadApplication, saveApplication } from './applications.ts'
import { validAttestation } from './attestations.ts'
import { countActive, decisionAuthority, saveEnrollment } from './enrollments.ts'
import { loadPerson } from './households.ts'
import { loadProgram, standardFor } from './programs.ts'

const DECIDABLE = new Set<Application['status']>(['submitted', 'forwarded', 'accepted', 'publicity-open', 'publicity-closed'])

/** The deciding office, the application and its program, or the first rejection (authority, then state). */
async function loadForDecision (ctx: ExecCtx, id: Uint8Array): Promise<{ office: Office, app: Application, program: Program } | Rejection> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const app = await loadApplication(ctx.kv, id)
  if (app === null) return reject('APPLICATION_NOT_FOUND')
  const program = await loadProgram(ctx.kv, app.programId)
  if (program === null) return reject('PROGRAM_NOT_FOUND')
  const auth = decisionAuthority(office, program, app.hukouRegion)
  if (auth !== undefined) return auth
  if (!DECIDABLE.has(app.status)) return reject('APPLICATION_BAD_STATE', `application is ${app.status}`)
  return { office, app, program }
}

export async function decisionApprove (ctx: ExecCtx, b: BodyOf<'decision.approve'>): Promise<Rejection | undefined> {
  const r = await loadForDecision(ctx, b.applicationId)
  if ('rejected' in r) return r
  const { office, app, program } = r

  let emergency: Emergency | null = null
  let waivers: readonly Waiver[] = []
  if (b.emergencyId !== null) {
    emergency = await getRec(ctx.kv, EmergencySchema, K.emergency(b.emergencyId))
    if (emergency === null) return reject('EMERGENCY_NOT_FOUND')
    if (emergency.ended || ctx.time < emergency.startsAt || ctx.time >= emergency.endsAt || !regionContains(emergency.region, app.hukouRegion)) {
      return reject('EMERGENCY_NOT_APPLICABLE')
    }
    waivers = emergency.waivers
  }
  if (app.status !== 'publicity-closed') {
    const pre = app.status === 'submitted' || app.status === 'forwarded'
    if (pre || !waivers.includes('publicity')) return reject('PUBLICITY_NOT_CLOSED', `application is ${app.status}`)
  }
  const person = await loadPerson(ctx.kv, app.subjectId)
  if (person === null) return reject('SUBJECT_NOT_FOUND')
  if (person.deceased) return reject('SUBJECT_DECEASED')
  if (!waivers.includes('attestations')) {
    for (const type of REQUIRED_ATTESTATIONS[program.category]) {
      if ((await validAttestation(ctx.kv, app.subjectId, type, ctx.height, ctx.time)) === null) {
        return reject('ATTESTATION_MISSING', `needs a valid ${type} attestation`)
      }
    }
  }
  if (b.amountFen <= 0) return reject('PROGRAM_BAD_AMOUNT')
  const cap = emergency !== null ? emergency.capFen : await standardFor(ctx.kv, program, app.hukouRegion)
  if (b.amountFen > cap) return reject('AMOUNT_ABOVE_STANDARD', `${b.amountFen} fen > ${cap} fen`)
  if (b.nextReviewAt <= ctx.time) return reject('BAD_REVIEW_TIME')
  const exclKey = K.exclusivity(app.subjectId, program.group)
  const taken = await getRec(ctx.kv, IdRefSchema, exclKey)
  if (taken !== null) return reject('EXCLUSIVITY_CONFLICT', `subject already enrolled in group ${program.group} (enrollment ${Buffer.from(taken.id).toString('hex')})`)
  if (person.enrollments.length >= 256) return reject('ENROLLMENT_NOT_ACTIVE', 'enrollment history of the subject is full')

  const enrollment: Enrollment = {
    id: ctx.opId, subjectId: app.subjectId, programId: program.id, group: program.group, category: program.category,
    region: regionAt(app.hukouRegion, 'county') as string, amountFen: b.amountFen, status: 'active', pauseReason: null, exitReason: null,
    startedAt: ctx.time, startPeriod: periodOf(ctx.time), nextReviewAt: b.nextReviewAt, applicationId: app.id, decidedBy: office.id,
    emergencyId: b.emergencyId, paidPeriods: 0, lastPaidPeriod: 0, totalPaidFen: 0,
  }
  putRec(ctx.kv, IdRefSchema, exclKey, { id: enrollment.id })
  putRec(ctx.kv, PersonSchema, K.person(app.subjectId), { ...person, enrollments: [...person.enrollments, enrollment.id] })
  await countActive(ctx, enrollment, 1)
  await saveEnrollment(ctx, enrollment, 'created', office.id)
  await audit(ctx, Entity.subject(app.subjectId))
  if (emergency !== null) {
    putRec(ctx.kv, EmergencySchema, K.emergency(emergency.id), { ...emergency, grants: emergency.grants + 1 })
    await audit(ctx, Entity.emergency(emergency.id))
  }
  ctx.kv.delete(K.openApplication(app.subjectId, app.programId))
  const waived = app.status === 'publicity-closed' ? waivers.filter((w) => w !== 'publicity') : [...waivers]
  await saveApplication(ctx, { ...app, status: 'approved', enrollmentId: enrollment.id, waived }, 'approved', office.id)
  ctx.data = enrollment.id
  return undefined
}

export async function decisionReject (ctx: ExecCtx, b: BodyOf<'decision.reject'>): Promise<Rejection | undefined> {
  const r = await loadForDecision(ctx, b.applicationId)
  if ('rejected' in r) return r
  const { office, app } = r
  ctx.kv.delete(K.openApplication(app.subjectId, app.programId))
  await saveApplication(ctx, { ...app, status: 'rejected', rejectReason: b.reason }, 'rejected', office.id)
  return undefined
}
