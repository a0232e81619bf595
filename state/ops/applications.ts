/**
 * Applications and publicity (DESIGN §6): "one-door acceptance". Any civil-affairs
 * township (street) office may receive an application; the handling office is fixed by
 * rule as the civil-affairs office of the subject's hukou township, and the deadline
 * clock starts at submission (header time + applicationDeadlineMs). A receiving office
 * other than the handling one forwards; the handling office accepts, opens publicity,
 * and closes it no earlier than publicityMinMs (7 days by default) after opening and only
 * when every objection is resolved. Objections (content hashes only) may be lodged through
 * any office while publicity is open; the handling office or its county resolves them.
 * Every step appends to the application's timeline (its own record, so one proof covers
 * the whole history).
 */
import { reject, type Rejection } from '../codes.ts'
import { audit, emit, loadOffice, requireOffice, type ExecCtx } from '../context.ts'
import { firstOf, needDepartment, needLevel, needOffice } from '../auth.ts'
import { getRec, putRec, type KvReader } from '../kv.ts'
import { Entity, K } from '../keys.ts'
import { ApplicationSchema, IdRefSchema, MAX_OBJECTIONS, OfficeRefSchema, type Application, type Office, TIMELINE_ACTIONS } from '../records.ts'
import { regionContains } from '../regions.ts'
import type { BodyOf } from '../schema.ts'
import { loadHousehold, loadPerson } from './households.ts'
import { loadProgram } from './programs.ts'

export async function loadApplication (kv: KvReader, id: Uint8Array): Promise<Application | null> {
  return await getRec(kv, ApplicationSchema, K.application(id))
}

/**
 * Records one step of an application: appends `action` by `officeId` to its timeline (the
 * last 64 steps are kept), stores it, audits it and emits the `application` event.
 */
export async function saveApplication (ctx: ExecCtx, app: Application, action: typeof TIMELINE_ACTIONS[number], officeId: number): Promise<void> {
  const next = { ...app, timeline: [...app.timeline, { action, height: ctx.height, time: ctx.time, officeId, opId: ctx.opId }].slice(-64) }
  putRec(ctx.kv, ApplicationSchema, K.application(next.id), next)
  await audit(ctx, Entity.application(next.id))
  emit(ctx.events, 'application', { action, id: Buffer.from(next.id).toString('hex'), program: next.programId, office: officeId, handling_office: next.handlingOfficeId, status: next.status })
}

export async function applicationSubmit (ctx: ExecCtx, b: BodyOf<'application.submit'>): Promise<Rejection | undefined> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const bad = firstOf(needLevel(office, ['township']), needDepartment(office, ['civil-affairs']))
  if (bad !== undefined) return bad
  const program = await loadProgram(ctx.kv, b.programId)
  if (program === null) return reject('PROGRAM_NOT_FOUND', `program ${b.programId}`)
  const person = await loadPerson(ctx.kv, b.subjectId)
  if (person === null || person.householdId === null) return reject('SUBJECT_NOT_FOUND')
  if (person.deceased) return reject('SUBJECT_DECEASED')
  const hh = await loadHousehold(ctx.kv, person.householdId)
  if (hh === null) return reject('HOUSEHOLD_NOT_FOUND')
  if (!regionContains(program.scopeRegion, hh.hukouRegion)) {
    return reject('PROGRAM_OUT_OF_SCOPE', `hukou region ${hh.hukouRegion} is outside program scope ${program.scopeRegion}`)
  }
  const seat = await getRec(ctx.kv, OfficeRefSchema, K.officeSeat(hh.hukouRegion, 'civil-affairs'))
  if (seat === null) return reject('NO_HANDLING_OFFICE', `no civil-affairs office at ${hh.hukouRegion}`)
  const openKey = K.openApplication(b.subjectId, program.id)
  if ((await ctx.kv.get(openKey)) !== null) return reject('APPLICATION_DUPLICATE')
  const app: Application = {
    id: ctx.opId, subjectId: b.subjectId, householdId: hh.id, programId: program.id, hukouRegion: hh.hukouRegion,
    receivingOfficeId: office.id, handlingOfficeId: seat.id, status: 'submitted',
    submittedAt: ctx.time, deadlineAt: ctx.time + ctx.params.applicationDeadlineMs,
    publicityOpenedAt: null, publicityClosedAt: null, objections: [], rejectReason: null, waived: [], enrollmentId: null, timeline: [],
  }
  putRec(ctx.kv, IdRefSchema, openKey, { id: app.id })
  await audit(ctx, Entity.subject(b.subjectId))
  ctx.data = app.id
  await saveApplication(ctx, app, 'submitted', office.id)
  return undefined
}

/**
 * The signing office and the application a step acts on, or the first rejection. `signers`,
 * when given, lists the offices that may sign `step` on this application.
 */
async function loadForStep (
  ctx: ExecCtx, id: Uint8Array, step: string, signers?: (app: Application) => readonly number[] | Promise<readonly number[]>,
): Promise<{ office: Office, app: Application } | Rejection> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const app = await loadApplication(ctx.kv, id)
  if (app === null) return reject('APPLICATION_NOT_FOUND')
  if (signers === undefined) return { office, app }
  return needOffice(office, await signers(app), step) ?? { office, app }
}

function badState (app: Application, want: string): Rejection {
  return reject('APPLICATION_BAD_STATE', `application is ${app.status}; needs ${want}`)
}

export async function applicationForward (ctx: ExecCtx, b: BodyOf<'application.forward'>): Promise<Rejection | undefined> {
  const r = await loadForStep(ctx, b.applicationId, 'forward', (app) => [app.receivingOfficeId])
  if ('rejected' in r) return r
  const { office, app } = r
  if (app.status !== 'submitted' || app.receivingOfficeId === app.handlingOfficeId) return badState(app, 'submitted at a non-handling office')
  await saveApplication(ctx, { ...app, status: 'forwarded' }, 'forwarded', office.id)
  return undefined
}

export async function applicationAccept (ctx: ExecCtx, b: BodyOf<'application.accept'>): Promise<Rejection | undefined> {
  const r = await loadForStep(ctx, b.applicationId, 'accept', (app) => [app.handlingOfficeId])
  if ('rejected' in r) return r
  const { office, app } = r
  const ready = app.status === 'forwarded' || (app.status === 'submitted' && app.receivingOfficeId === app.handlingOfficeId)
  if (!ready) return badState(app, 'forwarded (or submitted at the handling office)')
  await saveApplication(ctx, { ...app, status: 'accepted' }, 'accepted', office.id)
  return undefined
}

export async function publicityOpen (ctx: ExecCtx, b: BodyOf<'publicity.open'>): Promise<Rejection | undefined> {
  const r = await loadForStep(ctx, b.applicationId, 'publicity.open', (app) => [app.handlingOfficeId])
  if ('rejected' in r) return r
  const { office, app } = r
  if (app.status !== 'accepted') return badState(app, 'accepted')
  await saveApplication(ctx, { ...app, status: 'publicity-open', publicityOpenedAt: ctx.time }, 'publicity-opened', office.id)
  return undefined
}

/** Any office may lodge an objection while publicity is open. */
export async function publicityObject (ctx: ExecCtx, b: BodyOf<'publicity.object'>): Promise<Rejection | undefined> {
  const r = await loadForStep(ctx, b.applicationId, 'publicity.object')
  if ('rejected' in r) return r
  const { office, app } = r
  if (app.status !== 'publicity-open') return badState(app, 'publicity-open')
  if (app.objections.length >= MAX_OBJECTIONS) return reject('TOO_MANY_OBJECTIONS')
  const objections = [...app.objections, { hash: b.objectionHash, raisedBy: office.id, time: ctx.time, outcome: null }]
  await saveApplication(ctx, { ...app, objections }, 'objection-raised', office.id)
  return undefined
}

/** The handling office or its parent (county) resolves an objection. */
async function handlingOrParent (ctx: ExecCtx, app: Application): Promise<number[]> {
  const handling = await loadOffice(ctx.kv, app.handlingOfficeId)
  return handling !== null && handling.parentId !== 0 ? [app.handlingOfficeId, handling.parentId] : [app.handlingOfficeId]
}

export async function publicityResolve (ctx: ExecCtx, b: BodyOf<'publicity.resolve'>): Promise<Rejection | undefined> {
  const r = await loadForStep(ctx, b.applicationId, 'publicity.resolve', async (app) => await handlingOrParent(ctx, app))
  if ('rejected' in r) return r
  const { office, app } = r
  if (app.status !== 'publicity-open') return badState(app, 'publicity-open')
  const obj = app.objections[b.index]
  if (obj === undefined || obj.outcome !== null) return reject('OBJECTION_NOT_FOUND')
  const objections = app.objections.map((o, i) => (i === b.index ? { ...o, outcome: b.outcome } : o))
  await saveApplication(ctx, { ...app, objections }, 'objection-resolved', office.id)
  return undefined
}

export async function publicityClose (ctx: ExecCtx, b: BodyOf<'publicity.close'>): Promise<Rejection | undefined> {
  const r = await loadForStep(ctx, b.applicationId, 'publicity.close', (app) => [app.handlingOfficeId])
  if ('rejected' in r) return r
  const { office, app } = r
  if (app.status !== 'publicity-open' || app.publicityOpenedAt === null) return badState(app, 'publicity-open')
  if (ctx.time < app.publicityOpenedAt + ctx.params.publicityMinMs) {
    return reject('PUBLICITY_TOO_EARLY', `open since ${app.publicityOpenedAt}; may close from ${app.publicityOpenedAt + ctx.params.publicityMinMs}`)
  }
  if (app.objections.some((o) => o.outcome === null)) return reject('PUBLICITY_OBJECTIONS_PENDING')
  await saveApplication(ctx, { ...app, status: 'publicity-closed', publicityClosedAt: ctx.time }, 'publicity-closed', office.id)
  return undefined
}
