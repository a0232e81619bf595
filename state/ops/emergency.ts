/**
 * Emergency declarations (DESIGN §6): a civil-affairs or emergency-management office at
 * province or county level declares an emergency over a region inside its own, for a
 * window of header time (at most MAX_EMERGENCY_MS, ending in the future), with waivers
 * (publicity, attestations) and a per-grant cap in fen. Decisions may cite it only inside
 * its region and window and while it is not ended; the declarer or an office of the same
 * departments above it whose region contains the emergency region may end it early.
 */
import { reject, type Rejection } from '../codes.ts'
import { audit, DAY_MS, emit, hex, requireOffice, type ExecCtx } from '../context.ts'
import { firstOf, needDepartment, needLevel, needRegion } from '../auth.ts'
import { getRec, putRec } from '../kv.ts'
import { Entity, K } from '../keys.ts'
import { EmergencySchema } from '../records.ts'
import { regionContains } from '../regions.ts'
import type { BodyOf } from '../schema.ts'

export const MAX_EMERGENCY_MS = 180 * DAY_MS
const DEPTS = ['civil-affairs', 'emergency-management'] as const

export async function emergencyDeclare (ctx: ExecCtx, b: BodyOf<'emergency.declare'>): Promise<Rejection | undefined> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const bad = firstOf(needLevel(office, ['province', 'county']), needDepartment(office, DEPTS), needRegion(office, b.region))
  if (bad !== undefined) return bad
  if (b.endsAt <= b.startsAt || b.endsAt <= ctx.time || b.endsAt - b.startsAt > MAX_EMERGENCY_MS) return reject('EMERGENCY_BAD_WINDOW')
  if (b.waivers.length === 0 || new Set(b.waivers).size !== b.waivers.length) return reject('EMERGENCY_BAD_WAIVERS')
  if (b.capFen <= 0) return reject('PROGRAM_BAD_AMOUNT')
  putRec(ctx.kv, EmergencySchema, K.emergency(ctx.opId), {
    id: ctx.opId, region: b.region, startsAt: b.startsAt, endsAt: b.endsAt, waivers: b.waivers, capFen: b.capFen,
    declaredBy: office.id, ended: false, grants: 0,
  })
  await audit(ctx, Entity.emergency(ctx.opId))
  ctx.data = ctx.opId
  emit(ctx.events, 'emergency', { action: 'declared', id: hex(ctx.opId), region: b.region, office: office.id, cap_fen: b.capFen })
  return undefined
}

export async function emergencyEnd (ctx: ExecCtx, b: BodyOf<'emergency.end'>): Promise<Rejection | undefined> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const em = await getRec(ctx.kv, EmergencySchema, K.emergency(b.emergencyId))
  if (em === null) return reject('EMERGENCY_NOT_FOUND')
  if (office.id !== em.declaredBy) {
    const bad = firstOf(needLevel(office, ['ministry', 'province', 'county']), needDepartment(office, DEPTS))
    if (bad !== undefined) return bad
    if (!regionContains(office.region, em.region)) return reject('FORBIDDEN_REGION')
  }
  if (em.ended) return reject('EMERGENCY_ENDED')
  putRec(ctx.kv, EmergencySchema, K.emergency(em.id), { ...em, ended: true })
  await audit(ctx, Entity.emergency(em.id))
  emit(ctx.events, 'emergency', { action: 'ended', id: hex(em.id), region: em.region, office: office.id })
  return undefined
}
