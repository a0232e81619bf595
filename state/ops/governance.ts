/**
 * Validator-set and parameter governance (DESIGN §4, §6). Validator operators (listed in
 * genesis app_state, each with the validator key it runs) propose a change — a validator's
 * power (0 removes it) with its operator key, or one application parameter — and approve
 * proposals. A proposal passes, in the tx that tips it, when the voting power of the
 * validators run by approving operators exceeds 2/3 of the total; it lapses after
 * proposalTtl blocks. A passed validator change is returned in finalizeBlock's
 * validatorUpdates (consensus applies it at H+2); a passed parameter change is stored and
 * takes effect from the next block.
 */
import { reject, type Rejection } from '../codes.ts'
import { audit, emit, hex, type ExecCtx } from '../context.ts'
import { encode } from '../../src/codec/index.ts'
import { compareBytes, equalBytes } from '../../src/bytes.ts'
import { getRec, putRec, type KvReader } from '../kv.ts'
import { Entity, K } from '../keys.ts'
import { ParamsSchema, ProposalSchema, ValidatorsSchema, type Params, type Proposal, type Validators } from '../records.ts'
import type { BodyOf, GovChange } from '../schema.ts'
import { isRejection } from '../codes.ts'

export async function loadValidators (kv: KvReader): Promise<Validators> {
  return (await getRec(kv, ValidatorsSchema, K.validators())) ?? { entries: [] }
}

export function operatorPower (vals: Validators, operatorKey: Uint8Array): number {
  let p = 0
  for (const e of vals.entries) if (equalBytes(e.operatorKey, operatorKey)) p += e.power
  return p
}

export function isOperator (vals: Validators, key: Uint8Array): boolean {
  return vals.entries.some((e) => equalBytes(e.operatorKey, key))
}

/** The validator list after a change, or a rejection if it would be invalid. */
function applyValidatorChange (vals: Validators, c: Extract<GovChange, { type: 'validator' }>['value'], params: Params): Validators | Rejection {
  const rest = vals.entries.filter((e) => !equalBytes(e.pubKey, c.pubKey))
  if (c.power === 0 && rest.length === vals.entries.length) return reject('GOV_INVALID_CHANGE', 'removes a validator that is not in the set')
  const entries = c.power === 0 ? rest : [...rest, { pubKey: c.pubKey, power: c.power, operatorKey: c.operatorKey }]
  entries.sort((a, b) => compareBytes(a.pubKey, b.pubKey))
  if (entries.length === 0) return reject('GOV_INVALID_CHANGE', 'would leave no validators')
  if (entries.length > params.maxValidators) return reject('GOV_INVALID_CHANGE', `more than ${params.maxValidators} validators`)
  return { entries }
}

function applyParamChange (params: Params, c: Extract<GovChange, { type: 'param' }>['value']): Params | Rejection {
  const next = { ...params, [c.name]: c.value }
  try {
    encode(ParamsSchema, next)
  } catch (err) {
    return reject('GOV_INVALID_CHANGE', err instanceof Error ? err.message : 'bad parameter')
  }
  return next
}

async function validate (ctx: ExecCtx, change: GovChange): Promise<Rejection | undefined> {
  if (change.type === 'validator') {
    if ((await ctx.kv.get(K.officeByKey(change.value.operatorKey))) !== null) return reject('KEY_IN_USE', 'operator key belongs to an office')
    const r = applyValidatorChange(await loadValidators(ctx.kv), change.value, ctx.params)
    return isRejection(r) ? r : undefined
  }
  const r = applyParamChange(ctx.params, change.value)
  return isRejection(r) ? r : undefined
}

async function tallyAndMaybeApply (ctx: ExecCtx, p: Proposal): Promise<Proposal | Rejection> {
  const vals = await loadValidators(ctx.kv)
  let total = 0
  for (const e of vals.entries) total += e.power
  let yes = 0
  for (const op of p.approvals) yes += operatorPower(vals, op)
  if (3 * yes <= 2 * total) return p
  const c = p.change
  if (c.type === 'validator') {
    const next = applyValidatorChange(vals, c.value, ctx.params)
    if (isRejection(next)) return next
    putRec(ctx.kv, ValidatorsSchema, K.validators(), next)
    const ups = ctx.block.validatorUpdates
    const i = ups.findIndex((u) => equalBytes(u.pubKey, c.value.pubKey))
    if (i >= 0) ups.splice(i, 1)
    ups.push({ pubKey: c.value.pubKey, power: c.value.power })
  } else {
    const next = applyParamChange(ctx.params, c.value)
    if (isRejection(next)) return next
    putRec(ctx.kv, ParamsSchema, K.params(), next)
  }
  emit(ctx.events, 'governance', { action: 'passed', id: hex(p.id), change: c.type })
  return { ...p, status: 'passed' }
}

function requireOperator (ctx: ExecCtx): Uint8Array | Rejection {
  if (ctx.signer.kind !== 'operator') return reject('SIGNER_NOT_OPERATOR')
  return ctx.signer.key
}

export async function govPropose (ctx: ExecCtx, b: BodyOf<'gov.propose'>): Promise<Rejection | undefined> {
  const op = requireOperator(ctx)
  if (isRejection(op)) return op
  const bad = await validate(ctx, b.change)
  if (bad !== undefined) return bad
  const p: Proposal = {
    id: ctx.opId, proposer: op, change: b.change, approvals: [op], status: 'open',
    createdHeight: ctx.height, expiresAtHeight: ctx.height + ctx.params.proposalTtl,
  }
  emit(ctx.events, 'governance', { action: 'proposed', id: hex(p.id), change: b.change.type })
  const after = await tallyAndMaybeApply(ctx, p)
  if (isRejection(after)) return after
  putRec(ctx.kv, ProposalSchema, K.proposal(p.id), after)
  await audit(ctx, Entity.proposal(p.id))
  ctx.data = p.id
  return undefined
}

export async function govApprove (ctx: ExecCtx, b: BodyOf<'gov.approve'>): Promise<Rejection | undefined> {
  const op = requireOperator(ctx)
  if (isRejection(op)) return op
  const p = await getRec(ctx.kv, ProposalSchema, K.proposal(b.proposalId))
  if (p === null) return reject('PROPOSAL_NOT_FOUND')
  if (p.status !== 'open' || ctx.height > p.expiresAtHeight) return reject('PROPOSAL_CLOSED')
  if (p.approvals.some((a) => equalBytes(a, op))) return reject('ALREADY_APPROVED')
  emit(ctx.events, 'governance', { action: 'approved', id: hex(p.id) })
  const after = await tallyAndMaybeApply(ctx, { ...p, approvals: [...p.approvals, op] })
  if (isRejection(after)) return after
  putRec(ctx.kv, ProposalSchema, K.proposal(p.id), after)
  await audit(ctx, Entity.proposal(p.id))
  return undefined
}
