/**
 * Offices (DESIGN §6): register (by the parent office; root offices come from genesis),
 * rotate key (the office itself or its parent), suspend/reinstate (any ancestor).
 * Invariants: a child's level is below its parent's, its department is its parent's
 * (vertical lines of authority), its region code is of its own level and inside the
 * parent's region; one office per (region, department) seat; a key belongs to at most one
 * office or operator.
 */
import { reject, type Rejection } from '../codes.ts'
import { audit, emit, loadOffice, requireOffice, type ExecCtx } from '../context.ts'
import { LEVEL_REGION, needOffice } from '../auth.ts'
import { getRec, putRec, type Kv } from '../kv.ts'
import { Entity, K } from '../keys.ts'
import { OfficeRefSchema, OfficeSchema, ValidatorsSchema, type Office } from '../records.ts'
import { regionLevel, strictlyContains } from '../regions.ts'
import { LEVEL_RANK, type BodyOf } from '../schema.ts'
import { equalBytes } from '../../src/bytes.ts'

export async function keyInUse (kv: Kv, pubKey: Uint8Array): Promise<boolean> {
  if ((await kv.get(K.officeByKey(pubKey))) !== null) return true
  const vals = await getRec(kv, ValidatorsSchema, K.validators())
  return vals !== null && vals.entries.some((e) => equalBytes(e.operatorKey, pubKey))
}

/** Writes a new office and its key and seat indexes (used by genesis and office.register). */
export function writeNewOffice (kv: Kv, office: Office): void {
  putRec(kv, OfficeSchema, K.office(office.id), office)
  putRec(kv, OfficeRefSchema, K.officeByKey(office.pubKey), { id: office.id })
  putRec(kv, OfficeRefSchema, K.officeSeat(office.region, office.department), { id: office.id })
}

/** Checks shared by genesis roots and registered children. */
export async function checkNewOffice (kv: Kv, o: Pick<Office, 'id' | 'level' | 'department' | 'region' | 'pubKey' | 'delegatedApproval'>): Promise<Rejection | undefined> {
  if (regionLevel(o.region) !== LEVEL_REGION[o.level]) {
    return reject('OFFICE_REGION_MISMATCH', `a ${o.level} office needs a ${LEVEL_REGION[o.level]} region code, got ${o.region}`)
  }
  if (o.delegatedApproval && o.level !== 'township') return reject('OFFICE_BAD_DELEGATION')
  if ((await kv.get(K.office(o.id))) !== null) return reject('OFFICE_EXISTS', `office ${o.id} exists`)
  if ((await kv.get(K.officeSeat(o.region, o.department))) !== null) {
    return reject('OFFICE_SEAT_TAKEN', `a ${o.department} office already serves ${o.region}`)
  }
  if (await keyInUse(kv, o.pubKey)) return reject('KEY_IN_USE')
  return undefined
}

export async function officeRegister (ctx: ExecCtx, b: BodyOf<'office.register'>): Promise<Rejection | undefined> {
  const parent = requireOffice(ctx)
  if ('rejected' in parent) return parent
  if (LEVEL_RANK[b.level] <= LEVEL_RANK[parent.level]) {
    return reject('OFFICE_BAD_LEVEL', `a ${parent.level} office cannot register a ${b.level} office`)
  }
  if (b.department !== parent.department) {
    return reject('OFFICE_BAD_DEPARTMENT', `a ${parent.department} office registers ${parent.department} offices only`)
  }
  if (regionLevel(b.region) === LEVEL_REGION[b.level] && !strictlyContains(parent.region, b.region)) {
    return reject('OFFICE_REGION_OUTSIDE_PARENT', `${b.region} is not inside ${parent.region}`)
  }
  const bad = await checkNewOffice(ctx.kv, b)
  if (bad !== undefined) return bad
  const office: Office = {
    id: b.id, level: b.level, department: b.department, region: b.region, parentId: parent.id, pubKey: b.pubKey,
    status: 'active', delegatedApproval: b.delegatedApproval, createdHeight: ctx.height,
  }
  writeNewOffice(ctx.kv, office)
  await audit(ctx, Entity.office(b.id))
  emit(ctx.events, 'office', { action: 'registered', id: b.id, parent: parent.id, level: b.level, department: b.department, region: b.region })
  return undefined
}

export async function officeRotateKey (ctx: ExecCtx, b: BodyOf<'office.rotate-key'>): Promise<Rejection | undefined> {
  const signer = requireOffice(ctx)
  if ('rejected' in signer) return signer
  const target = await loadOffice(ctx.kv, b.officeId)
  if (target === null) return reject('OFFICE_NOT_FOUND', `office ${b.officeId}`)
  const bad = needOffice(signer, [target.id, target.parentId], 'rotate-key')
  if (bad !== undefined) return bad
  if (await keyInUse(ctx.kv, b.newPubKey)) return reject('KEY_IN_USE')
  ctx.kv.delete(K.officeByKey(target.pubKey))
  putRec(ctx.kv, OfficeRefSchema, K.officeByKey(b.newPubKey), { id: target.id })
  putRec(ctx.kv, OfficeSchema, K.office(target.id), { ...target, pubKey: b.newPubKey })
  await audit(ctx, Entity.office(target.id))
  emit(ctx.events, 'office', { action: 'key-rotated', id: target.id, by: signer.id })
  return undefined
}

export async function isAncestor (kv: Kv, ancestorId: number, office: Office): Promise<boolean> {
  let cur: Office | null = office
  for (let depth = 0; depth < 8 && cur !== null && cur.parentId !== 0; depth++) {
    if (cur.parentId === ancestorId) return true
    cur = await loadOffice(kv, cur.parentId)
  }
  return false
}

export async function officeSuspend (ctx: ExecCtx, b: BodyOf<'office.suspend'>): Promise<Rejection | undefined> {
  const signer = requireOffice(ctx)
  if ('rejected' in signer) return signer
  const target = await loadOffice(ctx.kv, b.officeId)
  if (target === null) return reject('OFFICE_NOT_FOUND', `office ${b.officeId}`)
  if (!(await isAncestor(ctx.kv, signer.id, target))) return reject('NOT_ANCESTOR', `office ${signer.id} is not above office ${target.id}`)
  putRec(ctx.kv, OfficeSchema, K.office(target.id), { ...target, status: b.suspended ? 'suspended' : 'active' })
  await audit(ctx, Entity.office(target.id))
  emit(ctx.events, 'office', { action: b.suspended ? 'suspended' : 'reinstated', id: target.id, by: signer.id })
  return undefined
}
