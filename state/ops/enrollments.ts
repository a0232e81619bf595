/**
 * Enrollments (DESIGN §6): created by an approval decision, then paused, resumed,
 * adjusted (amount and next review, i.e. a periodic review) or exited by the office that
 * holds the program's approval level over the enrollment's county. The cross-province
 * exclusivity invariant lives in one key per (subject, exclusivity group): it exists
 * exactly while the subject has an active or paused enrollment in that group, wherever it
 * was decided, and a decision that finds it taken is rejected. Exiting (or completing a
 * one-off grant, or a death attestation) deletes it. Active-enrollment counts per
 * category are kept for the county and each region above it.
 */
import { reject, type Rejection } from '../codes.ts'
import { audit, bumpCount, emit, hex, requireOffice, type ExecCtx } from '../context.ts'
import { firstOf, needDepartment, needRegion } from '../auth.ts'
import { getRec, putRec, type KvReader } from '../kv.ts'
import { Entity, K } from '../keys.ts'
import { EnrollmentSchema, type Enrollment, type Office, type Program } from '../records.ts'
import { regionChain } from '../regions.ts'
import { EXIT_REASONS, type BodyOf } from '../schema.ts'
import { loadProgram, standardFor } from './programs.ts'

export async function loadEnrollment (kv: KvReader, id: Uint8Array): Promise<Enrollment | null> {
  return await getRec(kv, EnrollmentSchema, K.enrollment(id))
}

/** The office that decides cases of `program` in `region`: its department, its approval level, containing the region. */
export function decisionAuthority (office: Office, program: Program, region: string): Rejection | undefined {
  const delegated = office.level === 'township' && office.delegatedApproval && program.approvalLevel === 'county'
  if (office.level !== program.approvalLevel && !delegated) {
    return reject('FORBIDDEN_LEVEL', `program ${program.id} is decided at ${program.approvalLevel} level`)
  }
  return firstOf(needDepartment(office, [program.department]), needRegion(office, region))
}

export async function countActive (ctx: ExecCtx, e: Enrollment, delta: number): Promise<void> {
  for (const r of regionChain(e.region)) await bumpCount(ctx.kv, K.count(e.category, r), delta)
}

const live = (e: Enrollment): boolean => e.status === 'active' || e.status === 'paused'

export async function saveEnrollment (ctx: ExecCtx, e: Enrollment, action: string, officeId: number): Promise<void> {
  // Keep the review index (rv/<county>/<nextReviewAt>/<id>) in step with live enrollments.
  const prev = await loadEnrollment(ctx.kv, e.id)
  if (prev !== null && live(prev)) ctx.kv.delete(K.review(prev.region, prev.nextReviewAt, prev.id))
  if (live(e)) ctx.kv.set(K.review(e.region, e.nextReviewAt, e.id), new Uint8Array(0))
  putRec(ctx.kv, EnrollmentSchema, K.enrollment(e.id), e)
  await audit(ctx, Entity.enrollment(e.id))
  emit(ctx.events, 'enrollment', { action, id: hex(e.id), program: e.programId, region: e.region, status: e.status, office: officeId })
}

/** Ends an active or paused enrollment: frees the exclusivity slot and updates counts. */
export async function endEnrollment (ctx: ExecCtx, e: Enrollment, status: 'exited' | 'completed', reason: typeof EXIT_REASONS[number], officeId: number): Promise<void> {
  ctx.kv.delete(K.exclusivity(e.subjectId, e.group))
  await countActive(ctx, e, -1)
  await saveEnrollment(ctx, { ...e, status, exitReason: reason, pauseReason: null }, status, officeId)
}

async function loadForChange (ctx: ExecCtx, id: Uint8Array): Promise<{ office: Office, e: Enrollment } | Rejection> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const e = await loadEnrollment(ctx.kv, id)
  if (e === null) return reject('ENROLLMENT_NOT_FOUND')
  const program = await loadProgram(ctx.kv, e.programId)
  if (program === null) return reject('PROGRAM_NOT_FOUND')
  if (office.level !== program.approvalLevel) return reject('FORBIDDEN_LEVEL', `enrollments of program ${program.id} are managed at ${program.approvalLevel} level`)
  const bad = firstOf(needDepartment(office, [program.department]), needRegion(office, e.region))
  return bad ?? { office, e }
}

export async function enrollmentPause (ctx: ExecCtx, b: BodyOf<'enrollment.pause'>): Promise<Rejection | undefined> {
  const r = await loadForChange(ctx, b.enrollmentId)
  if ('rejected' in r) return r
  if (r.e.status !== 'active') return reject('ENROLLMENT_NOT_ACTIVE', `enrollment is ${r.e.status}`)
  await saveEnrollment(ctx, { ...r.e, status: 'paused', pauseReason: b.reason }, 'paused', r.office.id)
  return undefined
}

export async function enrollmentResume (ctx: ExecCtx, b: BodyOf<'enrollment.resume'>): Promise<Rejection | undefined> {
  const r = await loadForChange(ctx, b.enrollmentId)
  if ('rejected' in r) return r
  if (r.e.status !== 'paused') return reject('ENROLLMENT_NOT_ACTIVE', `enrollment is ${r.e.status}, not paused`)
  await saveEnrollment(ctx, { ...r.e, status: 'active', pauseReason: null }, 'resumed', r.office.id)
  return undefined
}

export async function enrollmentAdjust (ctx: ExecCtx, b: BodyOf<'enrollment.adjust'>): Promise<Rejection | undefined> {
  const r = await loadForChange(ctx, b.enrollmentId)
  if ('rejected' in r) return r
  if (r.e.status !== 'active' && r.e.status !== 'paused') return reject('ENROLLMENT_NOT_ACTIVE', `enrollment is ${r.e.status}`)
  if (b.amountFen <= 0) return reject('PROGRAM_BAD_AMOUNT')
  if (b.nextReviewAt <= ctx.time) return reject('BAD_REVIEW_TIME')
  const program = await loadProgram(ctx.kv, r.e.programId) as Program
  const cap = r.e.emergencyId === null ? await standardFor(ctx.kv, program, r.e.region) : r.e.amountFen
  if (b.amountFen > Math.max(cap, r.e.amountFen)) return reject('AMOUNT_ABOVE_STANDARD', `${b.amountFen} fen > ${cap} fen`)
  await saveEnrollment(ctx, { ...r.e, amountFen: b.amountFen, nextReviewAt: b.nextReviewAt }, 'adjusted', r.office.id)
  return undefined
}

export async function enrollmentExit (ctx: ExecCtx, b: BodyOf<'enrollment.exit'>): Promise<Rejection | undefined> {
  const r = await loadForChange(ctx, b.enrollmentId)
  if ('rejected' in r) return r
  if (r.e.status !== 'active' && r.e.status !== 'paused') return reject('ENROLLMENT_NOT_ACTIVE', `enrollment is ${r.e.status}`)
  await endEnrollment(ctx, r.e, 'exited', b.reason, r.office.id)
  return undefined
}
