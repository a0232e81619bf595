/**
 * Disbursements (DESIGN §6): the finance office of the enrollment's county pays one
 * period (YYYYMM, China Standard Time by header time) of an active enrollment, at the
 * enrollment's amount, from the (program, year, county) budget. At most one payment per
 * enrollment and period (key d/<enrollment>/<period>); none for a paused, exited or
 * completed enrollment, for a deceased subject, with the review overdue, for a period
 * before the enrollment started or in the future, or beyond the budget
 * (committed + paid + amount ≤ allocated). A one-off program's enrollment completes with
 * its first payment.
 */
import { reject, type Rejection } from '../codes.ts'
import { audit, emit, hex, periodOf, requireOffice, validPeriod, type ExecCtx } from '../context.ts'
import { firstOf, needDepartment, needLevel } from '../auth.ts'
import { getRec, putRec } from '../kv.ts'
import { Entity, K } from '../keys.ts'
import { BudgetSchema, DisbursementSchema } from '../records.ts'
import type { BodyOf } from '../schema.ts'
import { endEnrollment, loadEnrollment, saveEnrollment } from './enrollments.ts'
import { loadPerson } from './households.ts'
import { loadProgram } from './programs.ts'

export async function disbursementPay (ctx: ExecCtx, b: BodyOf<'disbursement.pay'>): Promise<Rejection | undefined> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const e = await loadEnrollment(ctx.kv, b.enrollmentId)
  if (e === null) return reject('ENROLLMENT_NOT_FOUND')
  const bad = firstOf(needDepartment(office, ['finance']), needLevel(office, ['county']))
  if (bad !== undefined) return bad
  if (office.region !== e.region) return reject('FORBIDDEN_REGION', `enrollment is paid by finance at ${e.region}`)
  if (e.status !== 'active') return reject('ENROLLMENT_NOT_ACTIVE', `enrollment is ${e.status}`)
  const person = await loadPerson(ctx.kv, e.subjectId)
  if (person === null || person.deceased) return reject('SUBJECT_DECEASED')
  if (!validPeriod(b.period) || b.period < e.startPeriod || b.period > periodOf(ctx.time)) {
    return reject('BAD_PERIOD', `period ${b.period} outside ${e.startPeriod}..${periodOf(ctx.time)}`)
  }
  if (ctx.time > e.nextReviewAt) return reject('REVIEW_OVERDUE')
  const dKey = K.disbursement(e.id, b.period)
  if ((await ctx.kv.get(dKey)) !== null) return reject('DISBURSEMENT_DUPLICATE', `period ${b.period} already paid`)
  const year = Math.floor(b.period / 100)
  const bKey = K.budget(e.programId, year, e.region)
  const budget = await getRec(ctx.kv, BudgetSchema, bKey)
  if (budget === null) return reject('BUDGET_NOT_FOUND', `no ${year} budget for program ${e.programId} at ${e.region}`)
  if (budget.committed + budget.paid + e.amountFen > budget.allocated) {
    return reject('BUDGET_EXCEEDED', `${budget.committed} + ${budget.paid} + ${e.amountFen} > ${budget.allocated}`)
  }
  putRec(ctx.kv, BudgetSchema, bKey, { ...budget, paid: budget.paid + e.amountFen })
  putRec(ctx.kv, DisbursementSchema, dKey, {
    enrollmentId: e.id, period: b.period, amountFen: e.amountFen, paidBy: office.id, height: ctx.height, time: ctx.time, budgetRegion: e.region,
  })
  await audit(ctx, Entity.budget(e.programId, year, e.region))
  emit(ctx.events, 'disbursement', { action: 'paid', enrollment: hex(e.id), program: e.programId, category: e.category, region: e.region, period: b.period, amount_fen: e.amountFen, office: office.id })
  const paid = { ...e, paidPeriods: e.paidPeriods + 1, lastPaidPeriod: Math.max(e.lastPaidPeriod, b.period), totalPaidFen: e.totalPaidFen + e.amountFen }
  const program = await loadProgram(ctx.kv, e.programId)
  if (program !== null && program.payment === 'one-off') await endEnrollment(ctx, paid, 'completed', 'completed', office.id)
  else await saveEnrollment(ctx, paid, 'paid', office.id)
  return undefined
}
