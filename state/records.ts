/**
 * Stored records (DESIGN §6): the canonical encodings of everything the application keeps
 * in the authenticated store. Like tx bodies they hold only enums, codes, integers, flags
 * and 32-byte ids/hashes, so nothing personal can be stored. Each record is encoded with
 * the strict codec, so a query answer decodes exactly as it was hashed into app_hash.
 */
import { bool, bytes, list, oneOf, optional, struct, uint, type Infer } from '../src/codec/index.ts'
import { chainIdField } from '../src/types/primitives.ts'
import { regionCode } from './regions.ts'
import {
  ALERT_CATEGORIES, ALERT_OUTCOMES, ALERT_REF_KINDS, ALERT_SEVERITIES, APPROVAL_LEVELS, ATTESTATION_TYPES, BODY_TYPES,
  CATEGORIES, CONSENT_PURPOSES, DEPARTMENTS, EXCLUSIVITY_GROUPS, EXIT_REASONS, fen, GovChangeSchema, id32, LEVELS, OBJECTION_OUTCOMES,
  officeId, PARAM_NAMES, PAUSE_REASONS, PAYMENT_MODES, period, programId, REJECT_REASONS, timeMs, WAIVERS, year,
} from './schema.ts'

const u32 = uint({ max: 0xffffffff })

export const MetaSchema = struct('Meta', {
  chainId: chainIdField, initialHeight: uint(), lastHeight: uint(), lastTime: timeMs,
})
export type Meta = Infer<typeof MetaSchema>

export const ParamsSchema = struct('Params', {
  /** Largest allowed (expiresAtHeight − current height); bounds the replay set. */
  maxTxTtl: uint({ min: 1, max: 100_000 }),
  publicityMinMs: uint(),
  alertAckWindowMs: uint({ min: 1 }),
  applicationDeadlineMs: uint(),
  proposalTtl: uint({ min: 1 }),
  /** ≤ 500 keeps the validators record (~75 bytes each) under the store's 64 KiB value cap. */
  maxValidators: uint({ min: 1, max: 500 }),
})
export type Params = Infer<typeof ParamsSchema>
export const PARAM_KEYS: readonly (typeof PARAM_NAMES[number])[] = PARAM_NAMES

export const ValidatorEntrySchema = struct('ValidatorEntry', { pubKey: id32, power: uint(), operatorKey: id32 })
export const ValidatorsSchema = struct('Validators', { entries: list(ValidatorEntrySchema, { max: 1000 }) })
export type Validators = Infer<typeof ValidatorsSchema>

export const OfficeSchema = struct('Office', {
  id: officeId, level: oneOf(LEVELS), department: oneOf(DEPARTMENTS), region: regionCode, parentId: u32, pubKey: id32,
  status: oneOf(['active', 'suspended']), delegatedApproval: bool, createdHeight: uint(),
})
export type Office = Infer<typeof OfficeSchema>

export const ProgramSchema = struct('Program', {
  id: programId, category: oneOf(CATEGORIES), group: oneOf(EXCLUSIVITY_GROUPS), payment: oneOf(PAYMENT_MODES),
  standardFen: fen, approvalLevel: oneOf(APPROVAL_LEVELS), department: oneOf(DEPARTMENTS), scopeRegion: regionCode,
  ownerOfficeId: officeId, createdHeight: uint(),
})
export type Program = Infer<typeof ProgramSchema>

export const StandardSchema = struct('Standard', { programId, region: regionCode, amountFen: fen, setBy: officeId, height: uint() })
export type Standard = Infer<typeof StandardSchema>

/** committed = the sum of sub-allocations handed to child regions; paid = direct payments. */
export const BudgetSchema = struct('Budget', {
  programId, year, region: regionCode, allocated: fen, committed: fen, paid: fen,
})
export type Budget = Infer<typeof BudgetSchema>

const members = list(id32, { max: 32 })
export const HouseholdChangeSchema = struct('HouseholdChange', {
  proposedBy: officeId, addMembers: members, removeMembers: members,
  hukouRegion: optional(regionCode), residenceRegion: optional(regionCode), statutoryCheck: optional(bool), height: uint(),
})
export const HouseholdSchema = struct('Household', {
  id: id32, hukouRegion: regionCode, residenceRegion: regionCode, members, statutoryCheck: bool,
  registeredBy: officeId, pendingChange: optional(HouseholdChangeSchema), changes: u32,
})
export type Household = Infer<typeof HouseholdSchema>

export const PersonSchema = struct('Person', {
  subjectId: id32, householdId: optional(id32), deceased: bool, deathAttestation: optional(id32),
  /** Every enrollment ever created for the subject, across provinces (bounded). */
  enrollments: list(id32, { max: 256 }),
})
export type Person = Infer<typeof PersonSchema>

export const ConsentSchema = struct('Consent', {
  householdId: id32, purpose: oneOf(CONSENT_PURPOSES), scope: list(oneOf(ATTESTATION_TYPES), { max: 4 }),
  expiresAt: timeMs, recordedBy: officeId, revoked: bool, height: uint(),
})
export type Consent = Infer<typeof ConsentSchema>

export const APPLICATION_STATUSES = ['submitted', 'forwarded', 'accepted', 'publicity-open', 'publicity-closed', 'approved', 'rejected'] as const
export const TIMELINE_ACTIONS = [
  'submitted', 'forwarded', 'accepted', 'publicity-opened', 'objection-raised', 'objection-resolved', 'publicity-closed',
  'approved', 'rejected',
] as const
export const TimelineEntrySchema = struct('TimelineEntry', { action: oneOf(TIMELINE_ACTIONS), height: uint(), time: timeMs, officeId: officeId, opId: id32 })
export const ObjectionSchema = struct('Objection', { hash: id32, raisedBy: officeId, time: timeMs, outcome: optional(oneOf(OBJECTION_OUTCOMES)) })
export const MAX_OBJECTIONS = 16
export const ApplicationSchema = struct('Application', {
  id: id32, subjectId: id32, householdId: id32, programId, hukouRegion: regionCode,
  receivingOfficeId: officeId, handlingOfficeId: officeId, status: oneOf(APPLICATION_STATUSES),
  submittedAt: timeMs, deadlineAt: timeMs,
  publicityOpenedAt: optional(timeMs), publicityClosedAt: optional(timeMs),
  objections: list(ObjectionSchema, { max: MAX_OBJECTIONS }),
  rejectReason: optional(oneOf(REJECT_REASONS)), waived: list(oneOf(WAIVERS), { max: 2 }),
  enrollmentId: optional(id32),
  timeline: list(TimelineEntrySchema, { max: 64 }),
})
export type Application = Infer<typeof ApplicationSchema>

export const AttestationSchema = struct('Attestation', {
  id: id32, subjectId: id32, type: oneOf(ATTESTATION_TYPES), reportHash: id32, issuerOfficeId: officeId,
  issuedHeight: uint(), issuedAt: timeMs, validUntilHeight: uint(), validUntilTime: timeMs,
})
export type Attestation = Infer<typeof AttestationSchema>

export const ENROLLMENT_STATUSES = ['active', 'paused', 'exited', 'completed'] as const
export const EnrollmentSchema = struct('Enrollment', {
  id: id32, subjectId: id32, programId, group: oneOf(EXCLUSIVITY_GROUPS), category: oneOf(CATEGORIES),
  /** The county of the subject's hukou at decision time: where it is paid and managed. */
  region: regionCode, amountFen: fen, status: oneOf(ENROLLMENT_STATUSES),
  pauseReason: optional(oneOf(PAUSE_REASONS)), exitReason: optional(oneOf(EXIT_REASONS)),
  startedAt: timeMs, startPeriod: period, nextReviewAt: timeMs, applicationId: id32, decidedBy: officeId,
  emergencyId: optional(id32), paidPeriods: u32, lastPaidPeriod: uint({ max: 219912 }), totalPaidFen: fen,
})
export type Enrollment = Infer<typeof EnrollmentSchema>

export const DisbursementSchema = struct('Disbursement', {
  enrollmentId: id32, period, amountFen: fen, paidBy: officeId, height: uint(), time: timeMs, budgetRegion: regionCode,
})
export type Disbursement = Infer<typeof DisbursementSchema>

export const AlertSchema = struct('Alert', {
  id: id32, raisedBy: officeId, addressee: officeId, originalAddressee: officeId, assignee: optional(officeId),
  category: oneOf(ALERT_CATEGORIES), severity: oneOf(ALERT_SEVERITIES), refKind: oneOf(ALERT_REF_KINDS), ref: id32,
  status: oneOf(['open', 'acknowledged', 'resolved']), raisedAt: timeMs, deadlineAt: timeMs, escalations: u32,
  outcome: optional(oneOf(ALERT_OUTCOMES)),
})
export type Alert = Infer<typeof AlertSchema>

export const EmergencySchema = struct('Emergency', {
  id: id32, region: regionCode, startsAt: timeMs, endsAt: timeMs, waivers: list(oneOf(WAIVERS), { max: 2 }), capFen: fen,
  declaredBy: officeId, ended: bool, grants: u32,
})
export type Emergency = Infer<typeof EmergencySchema>

export const ProposalSchema = struct('Proposal', {
  id: id32, proposer: id32, change: GovChangeSchema, approvals: list(id32, { max: 1000 }),
  status: oneOf(['open', 'passed', 'expired']), createdHeight: uint(), expiresAtHeight: uint(),
})
export type Proposal = Infer<typeof ProposalSchema>

/** Audit actions: every tx body type, plus changes made by block-boundary rules and genesis. */
export const AUDIT_ACTIONS = [...BODY_TYPES, 'rule.alert-escalated', 'genesis'] as const
/** One line of an entity's audit trail: which signed op touched it, when, and by whom. */
export const AuditEntrySchema = struct('AuditEntry', {
  height: uint(), time: timeMs, opId: id32, action: oneOf(AUDIT_ACTIONS),
  /** 0 when the signer is a validator operator or the change was made by a block-boundary rule. */
  officeId: u32,
})
export type AuditEntry = Infer<typeof AuditEntrySchema>

export const CountSchema = struct('Count', { n: uint() })
export const ReplaySchema = struct('Replay', { expiresAtHeight: uint() })
export const IdRefSchema = struct('IdRef', { id: id32 })
export const OfficeRefSchema = struct('OfficeRef', { id: officeId })
export const PaidSchema = bytes({ len: 0 })
