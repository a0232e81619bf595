/**
 * Authorization (DESIGN §6 table): what an office may do follows from its level
 * (ministry/province/city/county/township), its department and its region. Handlers call
 * these small guards and return their rejection as data:
 *
 *   office.register            parent office (child level below, same department, region inside)
 *   office.rotate-key          the office itself or its parent
 *   office.suspend             any ancestor
 *   program.create             ministry/province office of the category's owning department
 *   program.set-standard       owning-department office at province/city/county, region = its own
 *   budget.allocate            finance office at the program's scope region
 *   budget.sub-allocate        finance office at the parent region of the target
 *   household.*, consent.*     civil-affairs township of the hukou region (county decides changes)
 *   application.submit         ANY civil-affairs township office (one door)
 *   application.forward/accept receiving / handling (hukou-township) office
 *   attestation.issue          department matching the type (ATTESTATION_ISSUERS), county or above
 *   publicity.open/close       handling office; object: any office; resolve: handling or its county
 *   decision.*                 office at the program's approval level, program department, region
 *                              containing the case (or a township holding delegated approval)
 *   enrollment.*               same authority as decisions, over the enrollment's county
 *   disbursement.pay           finance office of the enrollment's county
 *   alert.*                    any office raises to a strictly higher one; addressee/assignee act
 *   emergency.*                civil-affairs or emergency-management at province or county
 *   gov.*                      validator operators (not offices)
 */
import { reject, type Rejection } from './codes.ts'
import type { Office } from './records.ts'
import { regionContains } from './regions.ts'
import type { Department, Level } from './schema.ts'

export function needLevel (office: Office, levels: readonly Level[]): Rejection | undefined {
  if (levels.includes(office.level)) return undefined
  return reject('FORBIDDEN_LEVEL', `office ${office.id} is ${office.level}; needs ${levels.join(' or ')}`)
}

export function needDepartment (office: Office, departments: readonly Department[]): Rejection | undefined {
  if (departments.includes(office.department)) return undefined
  return reject('FORBIDDEN_DEPARTMENT', `office ${office.id} is ${office.department}; needs ${departments.join(' or ')}`)
}

export function needRegion (office: Office, target: string): Rejection | undefined {
  if (regionContains(office.region, target)) return undefined
  return reject('FORBIDDEN_REGION', `region ${target} is outside office ${office.id} region ${office.region}`)
}

export function needOffice (office: Office, allowed: readonly number[], what: string): Rejection | undefined {
  if (allowed.includes(office.id)) return undefined
  return reject('FORBIDDEN_OFFICE', `${what} must be signed by office ${allowed.join(' or ')}, not ${office.id}`)
}

/** First rejection among guards, or undefined when all pass. */
export function firstOf (...checks: Array<Rejection | undefined>): Rejection | undefined {
  return checks.find((c) => c !== undefined)
}

/** The region level an office of each level sits at. */
export const LEVEL_REGION = {
  ministry: 'national', province: 'province', city: 'city', county: 'county', township: 'township',
} as const
