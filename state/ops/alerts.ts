/**
 * Alerts and escalation (DESIGN §6). Any office raises an alert to a strictly higher
 * office whose region contains its own; the addressee may assign it to an office inside
 * its region; the addressee or the assignee acknowledges and resolves it. An alert not
 * acknowledged by its deadline climbs one level (to the addressee's parent office) at the
 * next block boundary, judged by header time, with a fresh deadline; at a root office it
 * stays. The due index ad/<deadline>/<id> orders open alerts by deadline so the boundary
 * rule reads only what is due, at most ESCALATIONS_PER_BLOCK per block (the rest next
 * block, in the same deterministic order). aa/<office>/<id> lists the unresolved alerts
 * currently addressed to each office (the "alerts and escalations by office" query).
 */
import { reject, type Rejection } from '../codes.ts'
import { audit, emit, hex, loadOffice, requireOffice, type BlockCtx, type ExecCtx } from '../context.ts'

import { getRec, putRec, type Kv } from '../kv.ts'
import { Entity, K, readU64be } from '../keys.ts'
import { AlertSchema, AuditEntrySchema, CountSchema, type Alert } from '../records.ts'
import { regionContains } from '../regions.ts'
import { LEVEL_RANK, type BodyOf } from '../schema.ts'
import { scanWhile, type AppStore } from '../store-api.ts'
import { encode } from '../../src/codec/index.ts'

export const ESCALATIONS_PER_BLOCK = 256

export async function alertRaise (ctx: ExecCtx, b: BodyOf<'alert.raise'>): Promise<Rejection | undefined> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const to = await loadOffice(ctx.kv, b.toOfficeId)
  if (to === null) return reject('OFFICE_NOT_FOUND', `office ${b.toOfficeId}`)
  if (LEVEL_RANK[to.level] >= LEVEL_RANK[office.level] || !regionContains(to.region, office.region)) return reject('ALERT_NOT_HIGHER')
  const alert: Alert = {
    id: ctx.opId, raisedBy: office.id, addressee: to.id, originalAddressee: to.id, assignee: null, category: b.category,
    severity: b.severity, refKind: b.refKind, ref: b.ref, status: 'open', raisedAt: ctx.time,
    deadlineAt: ctx.time + ctx.params.alertAckWindowMs, escalations: 0, outcome: null,
  }
  putRec(ctx.kv, AlertSchema, K.alert(alert.id), alert)
  ctx.kv.set(K.alertDue(alert.deadlineAt, alert.id), new Uint8Array(0))
  ctx.kv.set(K.alertOf(to.id, alert.id), new Uint8Array(0))
  await audit(ctx, Entity.alert(alert.id))
  ctx.data = alert.id
  emit(ctx.events, 'alert', { action: 'raised', id: hex(alert.id), office: office.id, to: to.id, category: b.category, severity: b.severity })
  return undefined
}

async function loadForHandler (ctx: ExecCtx, id: Uint8Array, assigneeToo: boolean): Promise<{ alert: Alert, officeId: number } | Rejection> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const alert = await getRec(ctx.kv, AlertSchema, K.alert(id))
  if (alert === null) return reject('ALERT_NOT_FOUND')
  const ok = office.id === alert.addressee || (assigneeToo && alert.assignee === office.id)
  if (!ok) return reject('FORBIDDEN_OFFICE', `alert is handled by office ${alert.addressee}`)
  return { alert, officeId: office.id }
}

async function save (ctx: ExecCtx, alert: Alert, action: string, officeId: number): Promise<void> {
  putRec(ctx.kv, AlertSchema, K.alert(alert.id), alert)
  await audit(ctx, Entity.alert(alert.id))
  emit(ctx.events, 'alert', { action, id: hex(alert.id), office: officeId, to: alert.addressee })
}

export async function alertAssign (ctx: ExecCtx, b: BodyOf<'alert.assign'>): Promise<Rejection | undefined> {
  const r = await loadForHandler(ctx, b.alertId, false)
  if ('rejected' in r) return r
  if (r.alert.status === 'resolved') return reject('ALERT_BAD_STATE', 'alert is resolved')
  const addressee = await loadOffice(ctx.kv, r.alert.addressee)
  const assignee = await loadOffice(ctx.kv, b.assigneeOfficeId)
  if (assignee === null || addressee === null || !regionContains(addressee.region, assignee.region) || assignee.id === addressee.id) {
    return reject('ALERT_BAD_ASSIGNEE')
  }
  await save(ctx, { ...r.alert, assignee: assignee.id }, 'assigned', r.officeId)
  return undefined
}

export async function alertAcknowledge (ctx: ExecCtx, b: BodyOf<'alert.acknowledge'>): Promise<Rejection | undefined> {
  const r = await loadForHandler(ctx, b.alertId, true)
  if ('rejected' in r) return r
  if (r.alert.status !== 'open') return reject('ALERT_BAD_STATE', `alert is ${r.alert.status}`)
  ctx.kv.delete(K.alertDue(r.alert.deadlineAt, r.alert.id))
  await save(ctx, { ...r.alert, status: 'acknowledged' }, 'acknowledged', r.officeId)
  return undefined
}

export async function alertResolve (ctx: ExecCtx, b: BodyOf<'alert.resolve'>): Promise<Rejection | undefined> {
  const r = await loadForHandler(ctx, b.alertId, true)
  if ('rejected' in r) return r
  if (r.alert.status === 'resolved') return reject('ALERT_BAD_STATE', 'alert is resolved')
  if (r.alert.status === 'open') ctx.kv.delete(K.alertDue(r.alert.deadlineAt, r.alert.id))
  ctx.kv.delete(K.alertOf(r.alert.addressee, r.alert.id))
  await save(ctx, { ...r.alert, status: 'resolved', outcome: b.outcome }, 'resolved', r.officeId)
  return undefined
}

/**
 * Block-boundary rule: every open alert whose deadline is before the block's header time
 * moves to its addressee's parent office. Reads the due index from the committed store
 * (the block's writes start empty), writes into the block overlay.
 */
export async function escalateDueAlerts (store: AppStore, kv: Kv, block: BlockCtx): Promise<void> {
  const due = await scanWhile(store, K.alertDuePrefix(), ESCALATIONS_PER_BLOCK, (key) => readU64be(key, 3) < block.time)
  for (const { key } of due) {
    const id = key.slice(11)
    kv.delete(key)
    const alert = await getRec(kv, AlertSchema, K.alert(id))
    if (alert === null || alert.status !== 'open') continue
    const cur = await loadOffice(kv, alert.addressee)
    const up = cur === null || cur.parentId === 0 ? null : await loadOffice(kv, cur.parentId)
    const deadlineAt = block.time + block.params.alertAckWindowMs
    const next: Alert = up === null ? { ...alert, deadlineAt } : { ...alert, addressee: up.id, escalations: alert.escalations + 1, deadlineAt }
    putRec(kv, AlertSchema, K.alert(id), next)
    if (up !== null) {
      kv.set(K.alertDue(deadlineAt, id), new Uint8Array(0))
      kv.delete(K.alertOf(alert.addressee, id))
      kv.set(K.alertOf(up.id, id), new Uint8Array(0))
    }
    // Audit line with officeId 0: a rule, not a signer, made this change.
    const entity = Entity.alert(id)
    const n = (await getRec(kv, CountSchema, K.auditCount(entity)))?.n ?? 0
    kv.set(K.audit(entity, n), encode(AuditEntrySchema, { height: block.height, time: block.time, opId: id, action: 'rule.alert-escalated', officeId: 0 }))
    kv.set(K.auditCount(entity), encode(CountSchema, { n: n + 1 }))
    emit(block.events, 'alert', up === null
      ? { action: 'escalation-exhausted', id: hex(id), to: alert.addressee }
      : { action: 'escalated', id: hex(id), from: alert.addressee, to: up.id, level: up.level })
  }
}

