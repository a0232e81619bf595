/**
 * Genesis app_state (the `app_state` object of genesis.json, passed to initChain as JSON
 * bytes). Format, keys as lowercase or uppercase hex (32 bytes = 64 hex digits):
 *
 *   {
 *     "params":    { "maxTxTtl": 1000, "publicityMinMs": 604800000, ... }   (optional, partial)
 *     "operators": [ { "operatorKey": "<hex>", "validatorPubKey": "<hex>" } ],
 *     "offices":   [ { "id": 1, "level": "ministry", "department": "civil-affairs",
 *                      "region": "000000", "pubKey": "<hex>", "parentId": 0,
 *                      "delegatedApproval": false } ],          (parentId 0 = root office)
 *     "programs":  [ { "id": 1001, "category": "dibao", "group": "basic-living",
 *                      "payment": "monthly", "standardFen": 80000,
 *                      "approvalLevel": "county", "ownerOfficeId": 1 } ],
 *     "budgets":   [ { "programId": 1001, "year": 2026, "region": "000000", "amountFen": 1e12 } ]
 *   }
 *
 * Offices, programs and budgets are applied in order with the same rules as the txs that
 * create them (a child office's parent must precede it; a program's owner must be a
 * ministry/province office of the owning department; a budget at the program's scope is
 * allocated by the finance office there, one below it is sub-allocated by the finance
 * office of its parent region), so genesis cannot hold a state txs could not reach.
 * Each genesis validator is run by the operator listing its key; a validator no operator
 * lists is its own operator (its consensus key signs its governance txs).
 * Errors are AidError ERR_GENESIS_INVALID with the JSON path of the offending value.
 */
import type { ValidatorUpdate } from '../src/types/validator.ts'
import { bool, struct, uint, oneOf, type Infer, type Schema } from '../src/codec/index.ts'
import { AidError, isAidError } from '../src/errors.ts'
import { equalBytes, fromHex, toHex, utf8 } from '../src/bytes.ts'
import { sha256 } from '../src/crypto/hash.ts'
import { DEFAULT_PARAMS } from './block.ts'
import type { Rejection } from './codes.ts'
import type { BlockCtx, ExecCtx } from './context.ts'
import { getRec, Overlay, putRec, type Kv } from './kv.ts'
import { K } from './keys.ts'
import { OfficeRefSchema, OfficeSchema, ParamsSchema, ProgramSchema, ValidatorsSchema, type Office, type Params } from './records.ts'
import { regionCode } from './regions.ts'
import {
  APPROVAL_LEVELS, CATEGORIES, DEPARTMENTS, EXCLUSIVITY_GROUPS, fen, id32, LEVELS, officeId, PAYMENT_MODES, programId, year,
  type Department,
} from './schema.ts'
import { checkNewOffice, officeRegister, writeNewOffice } from './ops/offices.ts'
import { programCreate } from './ops/programs.ts'
import { budgetAllocate, budgetSubAllocate } from './ops/budgets.ts'
import { parentRegion } from './regions.ts'
import { audit } from './context.ts'
import { Entity } from './keys.ts'

const GenesisOfficeSchema = struct('GenesisOffice', {
  id: officeId, level: oneOf(LEVELS), department: oneOf(DEPARTMENTS), region: regionCode, pubKey: id32,
  parentId: uint({ max: 0xffffffff }), delegatedApproval: bool,
})
const GenesisOperatorSchema = struct('GenesisOperator', { operatorKey: id32, validatorPubKey: id32 })
const GenesisProgramSchema = struct('GenesisProgram', {
  id: programId, category: oneOf(CATEGORIES), group: oneOf(EXCLUSIVITY_GROUPS), payment: oneOf(PAYMENT_MODES),
  standardFen: fen, approvalLevel: oneOf(APPROVAL_LEVELS), ownerOfficeId: officeId,
})
const GenesisBudgetSchema = struct('GenesisBudget', { programId, year, region: regionCode, amountFen: fen })

export interface AppState {
  params: Params
  operators: Array<Infer<typeof GenesisOperatorSchema>>
  offices: Array<Infer<typeof GenesisOfficeSchema>>
  programs: Array<Infer<typeof GenesisProgramSchema>>
  budgets: Array<Infer<typeof GenesisBudgetSchema>>
}

const HEX_FIELDS = new Set(['pubKey', 'operatorKey', 'validatorPubKey'])

function bad (at: string, detail: string): AidError {
  return new AidError('ERR_GENESIS_INVALID', detail, at)
}

function parseItem<T> (schema: Schema<T>, raw: unknown, at: string): T {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad(at, 'expected an object')
  const v: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(raw)) {
    if (HEX_FIELDS.has(k)) {
      if (typeof x !== 'string') throw bad(`${at}.${k}`, 'expected a hex string')
      try { v[k] = fromHex(x, `${at}.${k}`) } catch { throw bad(`${at}.${k}`, 'expected a hex string') }
    } else v[k] = x
  }
  try {
    schema.toWire(v as T, at)
  } catch (err) {
    if (isAidError(err)) throw bad(err.at ?? at, err.message)
    throw err
  }
  return v as T
}

function parseList<T> (schema: Schema<T>, raw: unknown, at: string): T[] {
  if (raw === undefined) return []
  if (!Array.isArray(raw)) throw bad(at, 'expected an array')
  return raw.map((x, i) => parseItem(schema, x, `${at}[${i}]`))
}

/**
 * Structural parse: types, enums, region codes, key lengths, unknown fields. `defaults`
 * replace the built-in parameter defaults (the node's configured maxTxTtl, for one) for
 * parameters app_state does not set.
 */
export function parseAppState (json: unknown, defaults: Partial<Params> = {}): AppState {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('app_state', 'expected an object')
  const o = json as Record<string, unknown>
  for (const k of Object.keys(o)) {
    if (!['params', 'operators', 'offices', 'programs', 'budgets'].includes(k)) throw bad(`app_state.${k}`, 'unknown field')
  }
  if (o.params !== undefined && (typeof o.params !== 'object' || o.params === null || Array.isArray(o.params))) throw bad('app_state.params', 'expected an object')
  const params = parseItem(ParamsSchema, { ...DEFAULT_PARAMS, ...defaults, ...(o.params as Partial<Params> | undefined) }, 'app_state.params')
  return {
    params,
    operators: parseList(GenesisOperatorSchema, o.operators, 'app_state.operators'),
    offices: parseList(GenesisOfficeSchema, o.offices, 'app_state.offices'),
    programs: parseList(GenesisProgramSchema, o.programs, 'app_state.programs'),
    budgets: parseList(GenesisBudgetSchema, o.budgets, 'app_state.budgets'),
  }
}

export function parseAppStateBytes (bytes: Uint8Array, defaults: Partial<Params> = {}): AppState {
  let json: unknown
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch (err) {
    throw bad('app_state', `not JSON: ${err instanceof Error ? err.message : String(err)}`)
  }
  return parseAppState(json, defaults)
}

function genesisCtx (kv: Kv, block: BlockCtx, office: Office, at: string): ExecCtx {
  return {
    kv, block, height: block.height, time: block.time, opId: sha256(utf8(`aidledger/genesis/${at}`)), action: 'genesis',
    signer: { kind: 'office', office }, params: block.params, events: block.events, data: new Uint8Array(0),
  }
}

function orThrow (r: Rejection | undefined, at: string): void {
  if (r !== undefined) throw bad(at, r.log)
}

async function seat (kv: Kv, region: string, dept: Department, at: string): Promise<Office> {
  const ref = await getRec(kv, OfficeRefSchema, K.officeSeat(region, dept))
  const office = ref === null ? null : await getRec(kv, OfficeSchema, K.office(ref.id))
  if (office === null) throw bad(at, `no ${dept} office at ${region}`)
  return office
}

/**
 * Writes the genesis state into `kv` (semantic checks included). `validators` are the
 * genesis validators from genesis.json; when given, every operator must run one of them.
 */
export async function applyGenesis (kv: Kv, state: AppState, block: BlockCtx, validators: readonly ValidatorUpdate[] | null): Promise<void> {
  putRec(kv, ParamsSchema, K.params(), state.params)
  if (validators !== null) {
    state.operators.forEach((op, i) => {
      if (!validators.some((v) => equalBytes(v.pubKey, op.validatorPubKey))) throw bad(`app_state.operators[${i}].validatorPubKey`, 'not a genesis validator')
    })
    const entries = validators.map((v) => ({
      pubKey: v.pubKey, power: v.power,
      operatorKey: state.operators.find((op) => equalBytes(op.validatorPubKey, v.pubKey))?.operatorKey ?? v.pubKey,
    })).sort((a, b) => Buffer.compare(a.pubKey, b.pubKey))
    putRec(kv, ValidatorsSchema, K.validators(), { entries })
  }
  for (const [i, o] of state.offices.entries()) {
    const at = `app_state.offices[${i}]`
    if (o.parentId === 0) {
      orThrow(await checkNewOffice(kv, o), at)
      if (validators !== null && state.operators.some((op) => equalBytes(op.operatorKey, o.pubKey))) throw bad(`${at}.pubKey`, 'key is an operator key')
      writeNewOffice(kv, { ...o, status: 'active', createdHeight: block.height })
      await audit(genesisCtx(kv, block, { ...o, status: 'active', createdHeight: block.height }, at), Entity.office(o.id))
    } else {
      const parent = await getRec(kv, OfficeSchema, K.office(o.parentId))
      if (parent === null) throw bad(`${at}.parentId`, `office ${o.parentId} is not defined before this one`)
      const { parentId: _p, ...body } = o
      orThrow(await officeRegister(genesisCtx(kv, block, parent, at), body), at)
    }
  }
  for (const [i, p] of state.programs.entries()) {
    const at = `app_state.programs[${i}]`
    const owner = await getRec(kv, OfficeSchema, K.office(p.ownerOfficeId))
    if (owner === null) throw bad(`${at}.ownerOfficeId`, `office ${p.ownerOfficeId} not defined`)
    const { ownerOfficeId: _o, ...body } = p
    orThrow(await programCreate(genesisCtx(kv, block, owner, at), body), at)
  }
  for (const [i, b] of state.budgets.entries()) {
    const at = `app_state.budgets[${i}]`
    const program = await getRec(kv, ProgramSchema, K.program(b.programId))
    if (program === null) throw bad(`${at}.programId`, `program ${b.programId} not defined`)
    if (b.region === program.scopeRegion) {
      const fin = await seat(kv, b.region, 'finance', at)
      orThrow(await budgetAllocate(genesisCtx(kv, block, fin, at), { programId: b.programId, year: b.year, amountFen: b.amountFen }), at)
    } else {
      const parent = parentRegion(b.region)
      if (parent === null) throw bad(`${at}.region`, 'national budget below a non-national program')
      const fin = await seat(kv, parent, 'finance', at)
      orThrow(await budgetSubAllocate(genesisCtx(kv, block, fin, at), b), at)
    }
  }
}

/** Full validation (structure and rules) on a throwaway state; returns the parsed app state. */
export async function validateAppState (json: unknown, validators: readonly ValidatorUpdate[] | null = null): Promise<AppState> {
  const state = parseAppState(json)
  const kv = new Overlay({ get: async () => null })
  const block: BlockCtx = { chainId: 'genesis-check', height: 1, time: 0, params: state.params, events: [], validatorUpdates: [] }
  await applyGenesis(kv, state, block, validators)
  return state
}

export interface DefaultAppStateOptions {
  operators: ReadonlyArray<{ operatorKey: Uint8Array, validatorPubKey: Uint8Array }>
  /** Keys of the ministry-level root offices to create (civil affairs, finance, ...). */
  ministryKeys?: Partial<Record<Department, Uint8Array>>
  /** Budget year for the national dibao program's starting allocation. */
  year?: number
}

/**
 * A starting app_state for `aidledger init` / `testnet`: the operators, one ministry root
 * office per given department key (ids 1, 2, ... in DEPARTMENTS order), and, when civil
 * affairs and finance are present, national dibao program 1001 (800 yuan/month standard,
 * county approval) with a 10-billion-yuan budget for `year`.
 */
export function defaultAppState (opts: DefaultAppStateOptions): Record<string, unknown> {
  const offices: Array<Record<string, unknown>> = []
  const ids: Partial<Record<Department, number>> = {}
  for (const d of DEPARTMENTS) {
    const key = opts.ministryKeys?.[d]
    if (key === undefined) continue
    ids[d] = offices.length + 1
    offices.push({ id: offices.length + 1, level: 'ministry', department: d, region: '000000', pubKey: toHex(key), parentId: 0, delegatedApproval: false })
  }
  const programs: Array<Record<string, unknown>> = []
  const budgets: Array<Record<string, unknown>> = []
  if (ids['civil-affairs'] !== undefined) {
    programs.push({ id: 1001, category: 'dibao', group: 'basic-living', payment: 'monthly', standardFen: 80_000, approvalLevel: 'county', ownerOfficeId: ids['civil-affairs'] })
    if (ids.finance !== undefined) budgets.push({ programId: 1001, year: opts.year ?? 2026, region: '000000', amountFen: 1_000_000_000_000 })
  }
  return {
    params: { ...DEFAULT_PARAMS },
    operators: opts.operators.map((o) => ({ operatorKey: toHex(o.operatorKey), validatorPubKey: toHex(o.validatorPubKey) })),
    offices,
    programs,
    budgets,
  }
}
