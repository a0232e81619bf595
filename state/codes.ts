/**
 * The application's result-code catalogue (DESIGN §5, §10): every rejection a tx can get
 * from checkTx or finalizeBlock carries one of these codes under codespace "aidledger".
 * Numbers and names are stable: messages may improve, a code never changes meaning, and a
 * retired code is never reused. Kernel errors (decode boundary, config) live in
 * src/errors.ts; this catalogue is what apps and auditors see in tx results.
 *
 * Ranges: 1–19 envelope and decoding, 20–29 authorization, 30–39 offices, 40–49 programs,
 * 50–59 budgets, 60–69 households/persons/consent, 70–79 applications and publicity,
 * 80–84 attestations, 85–99 decisions and enrollments, 100–109 disbursements, 110–119
 * alerts, 120–129 emergencies, 130–139 governance, 150–159 queries, 255 internal.
 */

export const CODESPACE = 'aidledger'

export const ResultCodes = {
  OK: { code: 0, message: 'ok' },
  // envelope and decoding
  TX_MALFORMED: { code: 1, message: 'tx bytes are not a canonical TxEnvelope' },
  WRONG_CHAIN: { code: 2, message: 'tx is signed for another chain id' },
  TX_EXPIRED: { code: 3, message: 'tx expiry height has passed' },
  TX_TTL_TOO_LONG: { code: 4, message: 'tx expiry height is further ahead than maxTxTtl allows' },
  TX_REPLAYED: { code: 5, message: 'tx with these sign bytes was already committed' },
  BAD_SIGNATURE: { code: 6, message: 'tx signature is invalid' },
  BODY_MALFORMED: { code: 7, message: 'tx body is not well-formed msgpack' },
  BODY_UNKNOWN_FIELD: { code: 8, message: 'tx body has a field outside the schema' },
  BODY_MISSING_FIELD: { code: 9, message: 'tx body lacks a required field' },
  BODY_WRONG_TYPE: { code: 10, message: 'tx body field has the wrong type' },
  BODY_BAD_VALUE: { code: 11, message: 'tx body field is not an allowed value (enum, code or pattern)' },
  BODY_OUT_OF_RANGE: { code: 12, message: 'tx body integer out of range' },
  BODY_TOO_LONG: { code: 13, message: 'tx body field exceeds its maximum length' },
  BODY_NON_CANONICAL: { code: 14, message: 'tx body is not in canonical encoding' },
  UNKNOWN_SIGNER: { code: 15, message: 'signer key belongs to no office or operator' },
  SIGNER_SUSPENDED: { code: 16, message: 'signing office is suspended' },
  TX_TOO_LARGE: { code: 17, message: 'tx exceeds the maximum tx size' },
  // authorization
  SIGNER_NOT_OFFICE: { code: 20, message: 'operation must be signed by an office' },
  SIGNER_NOT_OPERATOR: { code: 21, message: 'operation must be signed by a validator operator' },
  FORBIDDEN_LEVEL: { code: 22, message: 'signing office level may not perform this operation' },
  FORBIDDEN_DEPARTMENT: { code: 23, message: 'signing office department may not perform this operation' },
  FORBIDDEN_REGION: { code: 24, message: 'target lies outside the signing office region' },
  FORBIDDEN_OFFICE: { code: 25, message: 'operation must be signed by a specific office' },
  // offices
  OFFICE_NOT_FOUND: { code: 30, message: 'office not found' },
  OFFICE_EXISTS: { code: 31, message: 'office id already registered' },
  OFFICE_BAD_LEVEL: { code: 32, message: 'child office level must be below its parent' },
  OFFICE_REGION_MISMATCH: { code: 33, message: 'region code level does not match office level' },
  OFFICE_REGION_OUTSIDE_PARENT: { code: 34, message: 'child region is not inside the parent region' },
  OFFICE_BAD_DEPARTMENT: { code: 35, message: 'child office department differs from its parent' },
  OFFICE_SEAT_TAKEN: { code: 36, message: 'an office of this department already serves this region' },
  KEY_IN_USE: { code: 37, message: 'public key already belongs to an office or operator' },
  OFFICE_BAD_DELEGATION: { code: 38, message: 'only township offices may hold delegated approval' },
  NOT_ANCESTOR: { code: 39, message: 'signer is not an ancestor of the target office' },
  // programs
  PROGRAM_NOT_FOUND: { code: 40, message: 'program not found' },
  PROGRAM_EXISTS: { code: 41, message: 'program id already used' },
  PROGRAM_WRONG_DEPARTMENT: { code: 42, message: 'department does not own this program category' },
  STANDARD_BELOW_PARENT: { code: 43, message: 'standard amount is below the one in force at the level above' },
  PROGRAM_OUT_OF_SCOPE: { code: 44, message: 'region lies outside the program scope' },
  PROGRAM_BAD_AMOUNT: { code: 45, message: 'amount must be positive' },
  PROGRAM_BAD_REGION: { code: 46, message: 'standards are set at province, city or county level' },
  // budgets
  BUDGET_NOT_FOUND: { code: 50, message: 'no budget allocated for program, year and region' },
  BUDGET_PARENT_MISSING: { code: 51, message: 'parent region has no budget to sub-allocate from' },
  BUDGET_EXCEEDED: { code: 52, message: 'paid + committed would exceed allocated' },
  BUDGET_BELOW_USED: { code: 53, message: 'new allocation is below what is already paid or committed' },
  BUDGET_BAD_REGION: { code: 54, message: 'budget region must be a direct child of the parent, down to county' },
  BUDGET_NOT_ROOT: { code: 55, message: 'allocate targets the program scope region; use sub-allocate below it' },
  // households, persons, consent
  HOUSEHOLD_NOT_FOUND: { code: 60, message: 'household not found' },
  HOUSEHOLD_EXISTS: { code: 61, message: 'household already registered' },
  PERSON_IN_OTHER_HOUSEHOLD: { code: 62, message: 'person already belongs to a household' },
  HOUSEHOLD_BAD_MEMBERS: { code: 63, message: 'member list empty, duplicated, or removes a non-member' },
  HOUSEHOLD_CHANGE_PENDING: { code: 64, message: 'household already has a change awaiting approval' },
  HOUSEHOLD_NO_CHANGE: { code: 65, message: 'household has no pending change, or the change is empty' },
  SUBJECT_NOT_FOUND: { code: 66, message: 'subject not registered in a household' },
  SUBJECT_DECEASED: { code: 67, message: 'subject is deceased' },
  REGION_NOT_TOWNSHIP: { code: 68, message: 'hukou and residence regions must be township codes' },
  CONSENT_NOT_FOUND: { code: 69, message: 'no live consent for this household and purpose' },
  CONSENT_BAD_TERMS: { code: 57, message: 'consent scope is empty or repeated, or its expiry has passed' },
  // applications and publicity
  APPLICATION_NOT_FOUND: { code: 70, message: 'application not found' },
  APPLICATION_DUPLICATE: { code: 71, message: 'subject already has an undecided application for this program' },
  NO_HANDLING_OFFICE: { code: 72, message: 'no civil-affairs office serves the subject hukou township' },
  APPLICATION_BAD_STATE: { code: 73, message: 'application is not in a state that allows this step' },
  PUBLICITY_TOO_EARLY: { code: 74, message: 'publicity has been open less than the minimum period' },
  PUBLICITY_OBJECTIONS_PENDING: { code: 75, message: 'publicity has unresolved objections' },
  OBJECTION_NOT_FOUND: { code: 76, message: 'objection index not found or already resolved' },
  TOO_MANY_OBJECTIONS: { code: 77, message: 'objection limit reached for this application' },
  // attestations
  ATTESTATION_WRONG_ISSUER: { code: 80, message: 'issuer department does not match attestation type' },
  ATTESTATION_BAD_VALIDITY: { code: 81, message: 'validity window is empty, already over, or missing' },
  CONSENT_REQUIRED: { code: 82, message: 'check needs live consent covering this type or a statutory flag' },
  // decisions and enrollments
  PUBLICITY_NOT_CLOSED: { code: 85, message: 'decision needs closed publicity (or an emergency waiver)' },
  ATTESTATION_MISSING: { code: 86, message: 'a required attestation is missing or no longer valid' },
  EXCLUSIVITY_CONFLICT: { code: 87, message: 'subject already has an active enrollment in this exclusivity group' },
  AMOUNT_ABOVE_STANDARD: { code: 88, message: 'amount exceeds the standard (or emergency cap) in force' },
  ENROLLMENT_NOT_FOUND: { code: 89, message: 'enrollment not found' },
  ENROLLMENT_NOT_ACTIVE: { code: 90, message: 'enrollment is not in a state that allows this step' },
  EMERGENCY_NOT_APPLICABLE: { code: 91, message: 'emergency is ended, outside its window or region, or lacks the waiver' },
  BAD_REVIEW_TIME: { code: 92, message: 'next review must lie in the future' },
  // disbursements
  DISBURSEMENT_DUPLICATE: { code: 100, message: 'enrollment already paid for this period' },
  BAD_PERIOD: { code: 101, message: 'period is malformed, in the future, or before enrollment start' },
  REVIEW_OVERDUE: { code: 102, message: 'enrollment review is overdue' },
  // alerts
  ALERT_NOT_FOUND: { code: 110, message: 'alert not found' },
  ALERT_NOT_HIGHER: { code: 111, message: 'alert must be addressed to a strictly higher office whose region contains the sender' },
  ALERT_BAD_STATE: { code: 112, message: 'alert is not in a state that allows this step' },
  ALERT_BAD_ASSIGNEE: { code: 113, message: 'assignee must be an office inside the addressee region' },
  // emergencies
  EMERGENCY_NOT_FOUND: { code: 120, message: 'emergency not found' },
  EMERGENCY_BAD_WINDOW: { code: 121, message: 'emergency window is empty, in the past, or too long' },
  EMERGENCY_BAD_WAIVERS: { code: 122, message: 'waiver list is empty or repeats a waiver' },
  EMERGENCY_ENDED: { code: 123, message: 'emergency already ended' },
  // governance
  PROPOSAL_NOT_FOUND: { code: 130, message: 'proposal not found' },
  PROPOSAL_CLOSED: { code: 131, message: 'proposal already passed or expired' },
  ALREADY_APPROVED: { code: 132, message: 'operator already approved this proposal' },
  GOV_INVALID_CHANGE: { code: 133, message: 'change would leave an invalid validator set or parameter' },
  // queries
  QUERY_UNKNOWN_PATH: { code: 150, message: 'unknown query path' },
  QUERY_BAD_ARGS: { code: 151, message: 'query path arguments are malformed' },
  QUERY_HEIGHT_UNAVAILABLE: { code: 152, message: 'height is in the future or pruned' },
  INTERNAL: { code: 255, message: 'internal error' },
} as const

export type ResultName = keyof typeof ResultCodes

/** A rejection as data: a stable name, its number, and a short detail (never personal data). */
export interface Rejection { readonly rejected: true, readonly name: ResultName, readonly code: number, readonly log: string }

export function reject (name: ResultName, detail?: string): Rejection {
  const entry = ResultCodes[name]
  return { rejected: true, name, code: entry.code, log: detail === undefined ? `${name}: ${entry.message}` : `${name}: ${detail}` }
}

export function isRejection (x: unknown): x is Rejection {
  return typeof x === 'object' && x !== null && (x as { rejected?: unknown }).rejected === true
}

const byNumber = new Map<number, ResultName>()
for (const [name, e] of Object.entries(ResultCodes)) {
  if (byNumber.has(e.code)) throw new Error(`duplicate result code ${e.code}`)
  byNumber.set(e.code, name as ResultName)
}

export function resultName (code: number): ResultName | undefined {
  return byNumber.get(code)
}

/** Maps a codec error code (src/errors.ts) met while decoding a tx body to its result code. */
export function bodyCodeFor (codecErr: string): ResultName {
  switch (codecErr) {
    case 'ERR_CODEC_UNKNOWN_FIELD': return 'BODY_UNKNOWN_FIELD'
    case 'ERR_CODEC_MISSING_FIELD': return 'BODY_MISSING_FIELD'
    case 'ERR_CODEC_WRONG_TYPE': return 'BODY_WRONG_TYPE'
    case 'ERR_CODEC_BAD_VALUE': return 'BODY_BAD_VALUE'
    case 'ERR_CODEC_OUT_OF_RANGE': return 'BODY_OUT_OF_RANGE'
    case 'ERR_CODEC_TOO_LONG': case 'ERR_CODEC_WRONG_LENGTH': case 'ERR_CODEC_TOO_LARGE': return 'BODY_TOO_LONG'
    case 'ERR_CODEC_NON_CANONICAL': return 'BODY_NON_CANONICAL'
    default: return 'BODY_MALFORMED'
  }
}
