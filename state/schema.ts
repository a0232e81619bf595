/**
 * The tx body union (DESIGN §6): one typed operation per tx, encoded with the canonical
 * codec (src/codec) and carried in TxEnvelope.body. Every field is an enum, a region code,
 * an integer, a boolean or a 32-byte hash/key: there is no free-form string anywhere, so
 * the ledger has no channel for names, ID numbers, addresses, phone numbers, bank cards,
 * birth dates or free text. The decoder rejects unknown variants, fields outside the
 * schema, wrong types, oversize values, trailing bytes and non-canonical encodings.
 *
 * Ids: offices and programs carry small integer ids chosen by their creator; subjects and
 * households are 32-byte keyed hashes computed off-ledger; documents are 32-byte content
 * hashes; applications, enrollments, alerts, emergencies and proposals are identified by
 * the `opId` (SHA-256 of the sign bytes) of the tx that created them, which the sender
 * knows before submitting and which a malleated signature cannot change.
 */
import { bool, bytes, list, oneOf, optional, struct, uint, union, type Infer, type UnionOf } from '../src/codec/index.ts'
import { regionCode } from './regions.ts'

export const LEVELS = ['ministry', 'province', 'city', 'county', 'township'] as const
export type Level = typeof LEVELS[number]
export const DEPARTMENTS = [
  'civil-affairs', 'finance', 'health', 'education', 'housing', 'human-resources',
  'emergency-management', 'medical-security', 'public-security', 'disabled-persons-federation',
] as const
export type Department = typeof DEPARTMENTS[number]
export const CATEGORIES = ['dibao', 'extreme-poverty', 'temporary', 'medical', 'education', 'housing', 'employment', 'disaster'] as const
export type Category = typeof CATEGORIES[number]
export const EXCLUSIVITY_GROUPS = [
  'basic-living', 'temporary-relief', 'medical-relief', 'education-aid', 'housing-aid', 'employment-aid', 'disaster-relief',
] as const
export type ExclusivityGroup = typeof EXCLUSIVITY_GROUPS[number]
export const PAYMENT_MODES = ['monthly', 'one-off'] as const
export const APPROVAL_LEVELS = ['county', 'city', 'province'] as const
export const ATTESTATION_TYPES = ['income-property', 'disability', 'death', 'medical-cost'] as const
export type AttestationType = typeof ATTESTATION_TYPES[number]
export const CONSENT_PURPOSES = ['eligibility-check', 'periodic-review', 'data-sharing'] as const
export const REJECT_REASONS = [
  'income-above-standard', 'property-above-limit', 'not-eligible-category', 'duplicate-benefit',
  'incomplete-materials', 'objection-upheld', 'other-statutory',
] as const
export const PAUSE_REASONS = ['review-pending', 'investigation', 'data-mismatch', 'temporary-absence'] as const
export const EXIT_REASONS = ['death', 'income-improved', 'moved-away', 'review-failed', 'voluntary', 'duplicate-benefit', 'completed', 'other-statutory'] as const
export const OBJECTION_OUTCOMES = ['upheld', 'dismissed'] as const
export const ALERT_CATEGORIES = ['overdue-application', 'suspected-duplicate', 'payment-anomaly', 'hardship-signal', 'data-error', 'review-overdue'] as const
export const ALERT_SEVERITIES = ['low', 'medium', 'high', 'critical'] as const
export const ALERT_REF_KINDS = ['none', 'application', 'enrollment', 'household', 'subject', 'office'] as const
export const ALERT_OUTCOMES = ['fixed', 'no-action-needed', 'referred', 'duplicate'] as const
export const WAIVERS = ['publicity', 'attestations'] as const
export type Waiver = typeof WAIVERS[number]
export const PARAM_NAMES = ['maxTxTtl', 'publicityMinMs', 'alertAckWindowMs', 'applicationDeadlineMs', 'proposalTtl', 'maxValidators'] as const
export type ParamName = typeof PARAM_NAMES[number]

export const id32 = bytes({ len: 32 })
export const officeId = uint({ min: 1, max: 0xffffffff })
export const programId = uint({ min: 1, max: 0xffffffff })
export const fen = uint({ max: 1e15 })
export const year = uint({ min: 2000, max: 2199 })
/** A payment period YYYYMM. */
export const period = uint({ min: 200001, max: 219912 })
export const timeMs = uint()
const members = list(id32, { max: 32 })

/** A governance change: a validator's power (0 removes it) with its operator key, or a parameter. */
export const GovChangeSchema = union('GovChange', {
  validator: struct('ValidatorChange', { pubKey: id32, power: uint({ max: 2 ** 40 }), operatorKey: id32 }),
  param: struct('ParamChange', { name: oneOf(PARAM_NAMES), value: uint() }),
})

export const BodySchema = union('TxBody', {
  'office.register': struct('OfficeRegister', {
    id: officeId, level: oneOf(LEVELS), department: oneOf(DEPARTMENTS), region: regionCode, pubKey: id32, delegatedApproval: bool,
  }),
  'office.rotate-key': struct('OfficeRotateKey', { officeId, newPubKey: id32 }),
  'office.suspend': struct('OfficeSuspend', { officeId, suspended: bool }),
  'program.create': struct('ProgramCreate', {
    id: programId, category: oneOf(CATEGORIES), group: oneOf(EXCLUSIVITY_GROUPS), payment: oneOf(PAYMENT_MODES),
    standardFen: fen, approvalLevel: oneOf(APPROVAL_LEVELS),
  }),
  'program.set-standard': struct('ProgramSetStandard', { programId, region: regionCode, amountFen: fen }),
  'budget.allocate': struct('BudgetAllocate', { programId, year, amountFen: fen }),
  'budget.sub-allocate': struct('BudgetSubAllocate', { programId, year, region: regionCode, amountFen: fen }),
  'household.register': struct('HouseholdRegister', {
    householdId: id32, hukouRegion: regionCode, residenceRegion: regionCode, members, statutoryCheck: bool,
  }),
  'household.propose-change': struct('HouseholdProposeChange', {
    householdId: id32, addMembers: members, removeMembers: members,
    hukouRegion: optional(regionCode), residenceRegion: optional(regionCode), statutoryCheck: optional(bool),
  }),
  'household.decide-change': struct('HouseholdDecideChange', { householdId: id32, approve: bool }),
  'consent.record': struct('ConsentRecord', {
    householdId: id32, purpose: oneOf(CONSENT_PURPOSES), scope: list(oneOf(ATTESTATION_TYPES), { max: 4 }), expiresAt: timeMs,
  }),
  'consent.revoke': struct('ConsentRevoke', { householdId: id32, purpose: oneOf(CONSENT_PURPOSES) }),
  'application.submit': struct('ApplicationSubmit', { subjectId: id32, programId }),
  'application.forward': struct('ApplicationForward', { applicationId: id32 }),
  'application.accept': struct('ApplicationAccept', { applicationId: id32 }),
  'attestation.issue': struct('AttestationIssue', {
    subjectId: id32, type: oneOf(ATTESTATION_TYPES), reportHash: id32, validUntilHeight: uint(), validUntilTime: timeMs,
  }),
  'publicity.open': struct('PublicityOpen', { applicationId: id32 }),
  'publicity.object': struct('PublicityObject', { applicationId: id32, objectionHash: id32 }),
  'publicity.resolve': struct('PublicityResolve', { applicationId: id32, index: uint({ max: 255 }), outcome: oneOf(OBJECTION_OUTCOMES) }),
  'publicity.close': struct('PublicityClose', { applicationId: id32 }),
  'decision.approve': struct('DecisionApprove', { applicationId: id32, amountFen: fen, nextReviewAt: timeMs, emergencyId: optional(id32) }),
  'decision.reject': struct('DecisionReject', { applicationId: id32, reason: oneOf(REJECT_REASONS) }),
  'enrollment.pause': struct('EnrollmentPause', { enrollmentId: id32, reason: oneOf(PAUSE_REASONS) }),
  'enrollment.resume': struct('EnrollmentResume', { enrollmentId: id32 }),
  'enrollment.adjust': struct('EnrollmentAdjust', { enrollmentId: id32, amountFen: fen, nextReviewAt: timeMs }),
  'enrollment.exit': struct('EnrollmentExit', { enrollmentId: id32, reason: oneOf(EXIT_REASONS) }),
  'disbursement.pay': struct('DisbursementPay', { enrollmentId: id32, period }),
  'alert.raise': struct('AlertRaise', {
    toOfficeId: officeId, category: oneOf(ALERT_CATEGORIES), severity: oneOf(ALERT_SEVERITIES), refKind: oneOf(ALERT_REF_KINDS), ref: id32,
  }),
  'alert.assign': struct('AlertAssign', { alertId: id32, assigneeOfficeId: officeId }),
  'alert.acknowledge': struct('AlertAcknowledge', { alertId: id32 }),
  'alert.resolve': struct('AlertResolve', { alertId: id32, outcome: oneOf(ALERT_OUTCOMES) }),
  'emergency.declare': struct('EmergencyDeclare', {
    region: regionCode, startsAt: timeMs, endsAt: timeMs, waivers: list(oneOf(WAIVERS), { max: 2 }), capFen: fen,
  }),
  'emergency.end': struct('EmergencyEnd', { emergencyId: id32 }),
  'gov.propose': struct('GovPropose', { change: GovChangeSchema }),
  'gov.approve': struct('GovApprove', { proposalId: id32 }),
})

export type Body = Infer<typeof BodySchema>
export type BodyType = Body['type']
export type BodyOf<T extends BodyType> = Extract<Body, { type: T }>['value']
export type GovChange = BodyOf<'gov.propose'>['change']
export const BODY_TYPES = Object.keys(BodySchema.variants) as BodyType[]
export type { UnionOf }

/** Which department owns (creates, sets standards for, decides on) each program category. */
export const CATEGORY_OWNER: Record<Category, Department> = {
  dibao: 'civil-affairs',
  'extreme-poverty': 'civil-affairs',
  temporary: 'civil-affairs',
  medical: 'medical-security',
  education: 'education',
  housing: 'housing',
  employment: 'human-resources',
  disaster: 'emergency-management',
}

/** Attestations a decision needs per category, unless an emergency waives them. */
export const REQUIRED_ATTESTATIONS: Record<Category, readonly AttestationType[]> = {
  dibao: ['income-property'],
  'extreme-poverty': ['income-property'],
  temporary: [],
  medical: ['medical-cost'],
  education: ['income-property'],
  housing: ['income-property'],
  employment: [],
  disaster: [],
}

/** The departments allowed to issue each attestation type. */
export const ATTESTATION_ISSUERS: Record<AttestationType, readonly Department[]> = {
  'income-property': ['civil-affairs'],
  disability: ['disabled-persons-federation'],
  death: ['health', 'public-security'],
  'medical-cost': ['medical-security'],
}

export const LEVEL_RANK: Record<Level, number> = { ministry: 0, province: 1, city: 2, county: 3, township: 4 }
