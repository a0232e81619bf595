/**
 * Budget allocations (DESIGN §6) per program × year × region, in integer fen.
 *
 *   budget.allocate      the finance office at the program's scope region sets the root total
 *   budget.sub-allocate  the finance office at region P sets the total of a direct child of P
 *                        (down to county level), drawing on P's budget
 *
 * Each budget keeps `committed` (the sum of its children's allocations) and `paid` (direct
 * disbursements, which happen at county level). Invariant, checked on every change:
 * committed + paid ≤ allocated at every node, so children ≤ parent and nothing is overdrawn.
 */
import { reject, type Rejection } from '../codes.ts'
import { audit, emit, requireOffice, type ExecCtx } from '../context.ts'
import { firstOf, needDepartment } from '../auth.ts'
import { getRec, putRec } from '../kv.ts'
import { Entity, K } from '../keys.ts'
import { BudgetSchema, type Budget } from '../records.ts'
import { parentRegion, regionContains, regionLevel } from '../regions.ts'
import type { BodyOf } from '../schema.ts'
import { loadProgram } from './programs.ts'

export async function budgetAllocate (ctx: ExecCtx, b: BodyOf<'budget.allocate'>): Promise<Rejection | undefined> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const program = await loadProgram(ctx.kv, b.programId)
  if (program === null) return reject('PROGRAM_NOT_FOUND', `program ${b.programId}`)
  const bad = needDepartment(office, ['finance'])
  if (bad !== undefined) return bad
  if (office.region !== program.scopeRegion) {
    return reject('BUDGET_NOT_ROOT', `root budget of program ${program.id} is allocated by finance at ${program.scopeRegion}`)
  }
  const key = K.budget(program.id, b.year, program.scopeRegion)
  const cur = await getRec(ctx.kv, BudgetSchema, key)
  const used = cur === null ? 0 : cur.committed + cur.paid
  if (b.amountFen < used) return reject('BUDGET_BELOW_USED', `${b.amountFen} < ${used} fen already committed or paid`)
  const next: Budget = cur === null
    ? { programId: program.id, year: b.year, region: program.scopeRegion, allocated: b.amountFen, committed: 0, paid: 0 }
    : { ...cur, allocated: b.amountFen }
  putRec(ctx.kv, BudgetSchema, key, next)
  await audit(ctx, Entity.budget(program.id, b.year, program.scopeRegion))
  emit(ctx.events, 'budget', { action: 'allocated', program: program.id, year: b.year, region: program.scopeRegion, amount_fen: b.amountFen, office: office.id })
  return undefined
}

export async function budgetSubAllocate (ctx: ExecCtx, b: BodyOf<'budget.sub-allocate'>): Promise<Rejection | undefined> {
  const office = requireOffice(ctx)
  if ('rejected' in office) return office
  const program = await loadProgram(ctx.kv, b.programId)
  if (program === null) return reject('PROGRAM_NOT_FOUND', `program ${b.programId}`)
  const lvl = regionLevel(b.region)
  if (lvl === 'township' || lvl === 'national') return reject('BUDGET_BAD_REGION', `${b.region} is not a province, city or county`)
  const parent = parentRegion(b.region) as string
  if (!regionContains(program.scopeRegion, parent)) return reject('PROGRAM_OUT_OF_SCOPE', `${b.region} is outside program scope ${program.scopeRegion}`)
  const bad = firstOf(needDepartment(office, ['finance']))
  if (bad !== undefined) return bad
  if (office.region !== parent) return reject('FORBIDDEN_REGION', `sub-allocation to ${b.region} is made by finance at ${parent}`)
  const pKey = K.budget(program.id, b.year, parent)
  const pb = await getRec(ctx.kv, BudgetSchema, pKey)
  if (pb === null) return reject('BUDGET_PARENT_MISSING', `no ${b.year} budget for program ${program.id} at ${parent}`)
  const cKey = K.budget(program.id, b.year, b.region)
  const cb = await getRec(ctx.kv, BudgetSchema, cKey)
  const old = cb?.allocated ?? 0
  const childUsed = cb === null ? 0 : cb.committed + cb.paid
  if (b.amountFen < childUsed) return reject('BUDGET_BELOW_USED', `${b.amountFen} < ${childUsed} fen already committed or paid at ${b.region}`)
  const parentCommitted = pb.committed - old + b.amountFen
  if (parentCommitted + pb.paid > pb.allocated) {
    return reject('BUDGET_EXCEEDED', `parent ${parent} would commit ${parentCommitted} + paid ${pb.paid} > allocated ${pb.allocated}`)
  }
  putRec(ctx.kv, BudgetSchema, pKey, { ...pb, committed: parentCommitted })
  putRec(ctx.kv, BudgetSchema, cKey, cb === null
    ? { programId: program.id, year: b.year, region: b.region, allocated: b.amountFen, committed: 0, paid: 0 }
    : { ...cb, allocated: b.amountFen })
  await audit(ctx, Entity.budget(program.id, b.year, b.region))
  await audit(ctx, Entity.budget(program.id, b.year, parent))
  emit(ctx.events, 'budget', { action: 'sub-allocated', program: program.id, year: b.year, region: b.region, parent_region: parent, amount_fen: b.amountFen, office: office.id })
  return undefined
}
