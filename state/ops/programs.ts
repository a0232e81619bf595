/**
 * Programs (DESIGN §6): create (a ministry or province office of the department that owns
 * the category; the program's scope is the creator's region) and set standard (an office
 * of the owning department at province, city or county level, for its own region inside
 * the scope, or at the scope itself for the base standard). A standard may never be below
 * the one in force at the level above; the standard in force for a region is the highest
 * of the program's base standard and those set along the region's chain (so it can only
 * rise going down, whatever the order in which standards were set).
 */
import { reject, type Rejection } from '../codes.ts'
import { audit, emit, requireOffice, type ExecCtx } from '../context.ts'
import { firstOf, needDepartment, needLevel, needRegion } from '../auth.ts'
import { getRec, putRec, type KvReader } from '../kv.ts'
import { Entity, K } from '../keys.ts'
import { ProgramSchema, StandardSchema, type Program } from '../records.ts'
import { regionChain, regionContains, regionLevel } from '../regions.ts'
import { CATEGORY_OWNER, type BodyOf } from '../schema.ts'

export async function loadProgram (kv: KvReader, id: number): Promise<Program | null> {
  return await getRec(kv, ProgramSchema, K.program(id))
}

/** The standard in force for `region` (max over the program base and the region chain, within scope). */
export async function standardFor (kv: KvReader, program: Program, region: string): Promise<number> {
  let best = program.standardFen
  for (const r of regionChain(region)) {
    if (r === program.scopeRegion) break
    const s = await getRec(kv, StandardSchema, K.standard(program.id, r))
    if (s !== null && s.amountFen > best) best = s.amountFen
  }
  return best
}

export async function programCreate (ctx: ExecCtx, b: BodyOf<'program.create'>): Promise<Rejection | undefined> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const bad = needLevel(office, ['ministry', 'province'])
  if (bad !== undefined) return bad
  const owner = CATEGORY_OWNER[b.category]
  if (office.department !== owner) return reject('PROGRAM_WRONG_DEPARTMENT', `${b.category} programs belong to ${owner}`)
  if (b.standardFen <= 0) return reject('PROGRAM_BAD_AMOUNT')
  if ((await ctx.kv.get(K.program(b.id))) !== null) return reject('PROGRAM_EXISTS', `program ${b.id} exists`)
  const program: Program = {
    id: b.id, category: b.category, group: b.group, payment: b.payment, standardFen: b.standardFen,
    approvalLevel: b.approvalLevel, department: owner, scopeRegion: office.region, ownerOfficeId: office.id, createdHeight: ctx.height,
  }
  putRec(ctx.kv, ProgramSchema, K.program(b.id), program)
  await audit(ctx, Entity.program(b.id))
  emit(ctx.events, 'program', { action: 'created', id: b.id, category: b.category, group: b.group, region: office.region, office: office.id })
  return undefined
}

export async function programSetStandard (ctx: ExecCtx, b: BodyOf<'program.set-standard'>): Promise<Rejection | undefined> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const program = await loadProgram(ctx.kv, b.programId)
  if (program === null) return reject('PROGRAM_NOT_FOUND', `program ${b.programId}`)
  if (b.amountFen <= 0) return reject('PROGRAM_BAD_AMOUNT')
  const lvl = regionLevel(b.region)
  if (lvl === 'township') return reject('PROGRAM_BAD_REGION')
  if (!regionContains(program.scopeRegion, b.region)) return reject('PROGRAM_OUT_OF_SCOPE', `${b.region} is outside program scope ${program.scopeRegion}`)
  const bad = firstOf(needDepartment(office, [program.department]), needRegion(office, b.region))
  if (bad !== undefined) return bad
  if (office.region !== b.region) return reject('FORBIDDEN_REGION', `office ${office.id} sets standards for its own region ${office.region} only`)
  if (b.region === program.scopeRegion) {
    putRec(ctx.kv, ProgramSchema, K.program(program.id), { ...program, standardFen: b.amountFen })
  } else {
    // The level above: the standard in force at the parent region.
    const parent = regionChain(b.region)[1] as string
    const above = await standardFor(ctx.kv, program, parent)
    if (b.amountFen < above) return reject('STANDARD_BELOW_PARENT', `${b.amountFen} fen < ${above} fen in force above ${b.region}`)
    putRec(ctx.kv, StandardSchema, K.standard(program.id, b.region), { programId: program.id, region: b.region, amountFen: b.amountFen, setBy: office.id, height: ctx.height })
  }
  await audit(ctx, Entity.program(program.id))
  emit(ctx.events, 'program', { action: 'standard-set', id: program.id, region: b.region, amount_fen: b.amountFen, office: office.id })
  return undefined
}
