/**
 * The dispatch table: one handler per tx body variant. A handler reads and writes through
 * its tx overlay and returns a Rejection (data, never an exception) or undefined.
 */
import type { Rejection } from '../codes.ts'
import type { ExecCtx } from '../context.ts'
import type { Body, BodyOf, BodyType } from '../schema.ts'
import { alertAcknowledge, alertAssign, alertRaise, alertResolve } from './alerts.ts'
import { applicationAccept, applicationForward, applicationSubmit, publicityClose, publicityObject, publicityOpen, publicityResolve } from './applications.ts'
import { attestationIssue } from './attestations.ts'
import { budgetAllocate, budgetSubAllocate } from './budgets.ts'
import { decisionApprove, decisionReject } from './decisions.ts'
import { disbursementPay } from './disbursements.ts'
import { emergencyDeclare, emergencyEnd } from './emergency.ts'
import { enrollmentAdjust, enrollmentExit, enrollmentPause, enrollmentResume } from './enrollments.ts'
import { govApprove, govPropose } from './governance.ts'
import { consentRecord, consentRevoke, householdDecideChange, householdProposeChange, householdRegister } from './households.ts'
import { officeRegister, officeRotateKey, officeSuspend } from './offices.ts'
import { programCreate, programSetStandard } from './programs.ts'

type Handlers = { [T in BodyType]: (ctx: ExecCtx, body: BodyOf<T>) => Promise<Rejection | undefined> }

export const HANDLERS: Handlers = {
  'office.register': officeRegister,
  'office.rotate-key': officeRotateKey,
  'office.suspend': officeSuspend,
  'program.create': programCreate,
  'program.set-standard': programSetStandard,
  'budget.allocate': budgetAllocate,
  'budget.sub-allocate': budgetSubAllocate,
  'household.register': householdRegister,
  'household.propose-change': householdProposeChange,
  'household.decide-change': householdDecideChange,
  'consent.record': consentRecord,
  'consent.revoke': consentRevoke,
  'application.submit': applicationSubmit,
  'application.forward': applicationForward,
  'application.accept': applicationAccept,
  'attestation.issue': attestationIssue,
  'publicity.open': publicityOpen,
  'publicity.object': publicityObject,
  'publicity.resolve': publicityResolve,
  'publicity.close': publicityClose,
  'decision.approve': decisionApprove,
  'decision.reject': decisionReject,
  'enrollment.pause': enrollmentPause,
  'enrollment.resume': enrollmentResume,
  'enrollment.adjust': enrollmentAdjust,
  'enrollment.exit': enrollmentExit,
  'disbursement.pay': disbursementPay,
  'alert.raise': alertRaise,
  'alert.assign': alertAssign,
  'alert.acknowledge': alertAcknowledge,
  'alert.resolve': alertResolve,
  'emergency.declare': emergencyDeclare,
  'emergency.end': emergencyEnd,
  'gov.propose': govPropose,
  'gov.approve': govApprove,
}

export async function dispatch (ctx: ExecCtx, body: Body): Promise<Rejection | undefined> {
  const h = HANDLERS[body.type] as (ctx: ExecCtx, b: unknown) => Promise<Rejection | undefined>
  return await h(ctx, body.value)
}
