/**
 * The execution context a handler sees: the tx's write buffer, the block's height and
 * header time (the only clock), the signer, the current parameters, and collectors for
 * events and validator updates. Helpers here emit events, append audit-trail entries and
 * load the records most handlers need. Nothing here reads a wall clock or random source.
 */
import type { AppEvent } from '../src/abci.ts'
import type { ValidatorUpdate } from '../src/types/validator.ts'
import { encode } from '../src/codec/index.ts'
import { reject, type Rejection } from './codes.ts'
import { getRec, type Kv } from './kv.ts'
import { K } from './keys.ts'
import { AuditEntrySchema, CountSchema, OfficeSchema, type Office, type Params } from './records.ts'
import type { BodyType } from './schema.ts'

export type Signer = { kind: 'office', office: Office } | { kind: 'operator', key: Uint8Array }

export interface BlockCtx {
  chainId: string
  height: number
  time: number
  params: Params
  events: AppEvent[]
  validatorUpdates: ValidatorUpdate[]
}

export interface ExecCtx {
  kv: Kv
  block: BlockCtx
  height: number
  time: number
  /** SHA-256 of the tx sign bytes: the id of anything this tx creates. */
  opId: Uint8Array
  /** The body type, or 'genesis' while genesis is applied through the same handlers. */
  action: BodyType | 'genesis'
  signer: Signer
  params: Params
  events: AppEvent[]
  /** Result data (e.g. the created entity id) returned in TxResult.data. */
  data: Uint8Array
}

export const DAY_MS = 86_400_000
/** Periods (YYYYMM) are counted in China Standard Time, UTC+8, from header time. */
const CST_OFFSET_MS = 8 * 3600 * 1000

export function periodOf (timeMs: number): number {
  const d = new Date(timeMs + CST_OFFSET_MS)
  return d.getUTCFullYear() * 100 + (d.getUTCMonth() + 1)
}

export function validPeriod (p: number): boolean {
  const m = p % 100
  return m >= 1 && m <= 12
}

export const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/** Attribute keys apps filter by are indexed; everything in events is an id, code or enum. */
const INDEXED = new Set(['id', 'office', 'program', 'region', 'application', 'enrollment', 'alert', 'action', 'category', 'to', 'handling_office', 'period'])

export function emit (events: AppEvent[], type: string, attrs: Record<string, string | number | boolean>): void {
  events.push({
    type,
    attributes: Object.keys(attrs).map((key) => ({ key, value: String(attrs[key]), index: INDEXED.has(key) })),
  })
}

export function signerOfficeId (ctx: ExecCtx): number {
  return ctx.signer.kind === 'office' ? ctx.signer.office.id : 0
}

/** Appends one line to an entity's audit trail (u/<entity>/<seq>, count at un/<entity>). */
export async function audit (ctx: ExecCtx, entity: Uint8Array): Promise<void> {
  const countKey = K.auditCount(entity)
  const n = (await getRec(ctx.kv, CountSchema, countKey))?.n ?? 0
  ctx.kv.set(K.audit(entity, n), encode(AuditEntrySchema, {
    height: ctx.height, time: ctx.time, opId: ctx.opId, action: ctx.action, officeId: signerOfficeId(ctx),
  }))
  ctx.kv.set(countKey, encode(CountSchema, { n: n + 1 }))
}

export async function loadOffice (kv: Kv, id: number): Promise<Office | null> {
  return await getRec(kv, OfficeSchema, K.office(id))
}

export function requireOffice (ctx: ExecCtx): Office | Rejection {
  if (ctx.signer.kind !== 'office') return reject('SIGNER_NOT_OFFICE', `${ctx.action} must be signed by an office key`)
  return ctx.signer.office
}

export async function bumpCount (kv: Kv, key: Uint8Array, delta: number): Promise<void> {
  const n = (await getRec(kv, CountSchema, key))?.n ?? 0
  kv.set(key, encode(CountSchema, { n: Math.max(0, n + delta) }))
}
