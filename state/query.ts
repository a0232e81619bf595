/**
 * Queries (DESIGN §5, §6) through `abci_query`. Arguments are path segments; `data` is
 * unused. Every answer's `value` is the canonical encoding of
 *
 *   QueryEntries = [ entries: [ [key: bin, value: bin | nil], ... ] ]
 *
 * — the raw store entries that answer the question, in a fixed order, value nil where the
 * key is absent — so each entry can be checked on its own: with `prove`, `proofOps[i]` is
 * { type: "aidledger:store", key: entries[i].key, data: the store's membership or
 * non-membership proof }. `height` in the response is the block whose state answered (0
 * in the request means latest); its proofs verify against the app_hash in the header of
 * block height+1 (CometBFT convention), which equals the store root at that version.
 * `decodeQueryValue` turns a value into JSON-friendly records (bytes as hex) by key prefix.
 *
 *   /office/<id>                         office record
 *   /office-by-key/<pubkey hex>          key index entry, office record
 *   /program/<id>[/<region>]             program; with a region, plus standards set along the
 *                                        region's chain (the standard in force is their max)
 *   /budget/<program>/<year>/<region>    budget use: allocated, committed (sub-allocated), paid
 *   /household/<id hex>                  household record (members, regions, pending change)
 *   /subject/<id hex>                    person record, then its household (if any)
 *   /enrolled/<subject hex>/<group>      is-enrolled: exclusivity entry (nil = not enrolled,
 *                                        with a non-membership proof), then the enrollment
 *   /enrollments/<subject hex>           person record, then every enrollment of the subject
 *                                        in any province
 *   /enrollment/<id hex>                 enrollment record
 *   /disbursement/<enrollment hex>/<YYYYMM>
 *   /application/<id hex>                application with its full timeline
 *   /attestation/<subject hex>/<type>    latest attestation of the type
 *   /consent/<household hex>/<purpose>
 *   /alert/<id hex>   /emergency/<id hex>   /proposal/<id hex>
 *   /audit/<kind>/<id>[/<from>[/<limit>]]  audit trail: count entry, then entries from..from+limit
 *                                        (limit ≤ 100, default 100); kind is office|program|
 *                                        household|subject|application|enrollment|alert|
 *                                        emergency|proposal, or budget with id P-YYYY-REGION
 *   /count/<category>/<region>           active enrollments of the category in the region
 *   /alerts/<office id>                  unresolved alerts now addressed to the office (after
 *                                        escalation, too), up to 100 alert records
 *   /reviews-due/<county>/<time ms>      live enrollments of the county whose next review is at
 *                                        or before the time (overdue when it is now), up to 100
 *                                        The two listings answer at the latest height only;
 *                                        each listed record is proven, but the list's
 *                                        completeness is not (the store has no range proofs).
 *   /params   /validators   /meta
 *   /store/<key hex>                     any raw key (at most 256 bytes)
 */
import type { ProofOp, QueryRequest, QueryResponse } from '../src/abci.ts'
import { bytes, decode, encode, list, optional, struct, tryDecode, type Schema } from '../src/codec/index.ts'
import { CODESPACE, reject, type Rejection } from './codes.ts'
import { Entity, K, readU64be } from './keys.ts'
import * as R from './records.ts'
import { regionChain, regionLevel } from './regions.ts'
import { ATTESTATION_TYPES, CONSENT_PURPOSES, EXCLUSIVITY_GROUPS, CATEGORIES } from './schema.ts'
import type { ProofVerifier } from './store-api.ts'

export const PROOF_OP_TYPE = 'aidledger:store'

export const QueryEntriesSchema = struct('QueryEntries', {
  entries: list(struct('QueryEntry', { key: bytes({ max: 256 }), value: optional(bytes({ max: 1 << 20 })) }), { max: 1000 }),
})

export interface QueryReader {
  get: (key: Uint8Array) => Promise<Uint8Array | null>
  /** Keys under a prefix from `from`, at the latest height only (null at older heights). */
  scan: ((prefix: Uint8Array, limit: number) => Promise<Uint8Array[]>) | null
}

const HEX32 = /^[0-9a-fA-F]{64}$/
const UINT = /^[0-9]{1,10}$/

function h32 (s: string | undefined): Uint8Array | null {
  return s !== undefined && HEX32.test(s) ? new Uint8Array(Buffer.from(s, 'hex')) : null
}
function u (s: string | undefined): number | null {
  return s !== undefined && UINT.test(s) ? Number(s) : null
}
function region (s: string | undefined): string | null {
  return s !== undefined && regionLevel(s) !== null ? s : null
}

type Plan = Uint8Array[] | Rejection

const badArgs = (path: string): Rejection => reject('QUERY_BAD_ARGS', `bad arguments in ${path}`)

/** Resolves a path to the keys whose entries answer it; some paths read first to follow references. */
export async function planQuery (path: string, kv: QueryReader): Promise<Plan> {
  const seg = path.split('/').filter((s) => s !== '')
  const [head, a, b, c, d] = seg
  const id = async (key: Uint8Array): Promise<Uint8Array | null> => {
    const raw = await kv.get(key)
    return raw === null ? null : decode(R.IdRefSchema, raw).id
  }
  switch (head) {
    case 'office': { const n = u(a); return n === null ? badArgs(path) : [K.office(n)] }
    case 'office-by-key': {
      const k = h32(a)
      if (k === null) return badArgs(path)
      const raw = await kv.get(K.officeByKey(k))
      return raw === null ? [K.officeByKey(k)] : [K.officeByKey(k), K.office(decode(R.OfficeRefSchema, raw).id)]
    }
    case 'program': {
      const n = u(a)
      if (n === null) return badArgs(path)
      if (b === undefined) return [K.program(n)]
      const r = region(b)
      return r === null ? badArgs(path) : [K.program(n), ...regionChain(r).reverse().map((x) => K.standard(n, x))]
    }
    case 'budget': {
      const p = u(a); const y = u(b); const r = region(c)
      return p === null || y === null || r === null ? badArgs(path) : [K.budget(p, y, r)]
    }
    case 'household': { const k = h32(a); return k === null ? badArgs(path) : [K.household(k)] }
    case 'subject': {
      const k = h32(a)
      if (k === null) return badArgs(path)
      const raw = await kv.get(K.person(k))
      const hh = raw === null ? null : decode(R.PersonSchema, raw).householdId
      return hh === null ? [K.person(k)] : [K.person(k), K.household(hh)]
    }
    case 'enrolled': {
      const k = h32(a)
      if (k === null || b === undefined || !(EXCLUSIVITY_GROUPS as readonly string[]).includes(b)) return badArgs(path)
      const e = await id(K.exclusivity(k, b))
      return e === null ? [K.exclusivity(k, b)] : [K.exclusivity(k, b), K.enrollment(e)]
    }
    case 'enrollments': {
      const k = h32(a)
      if (k === null) return badArgs(path)
      const raw = await kv.get(K.person(k))
      const list = raw === null ? [] : decode(R.PersonSchema, raw).enrollments
      return [K.person(k), ...list.map((e) => K.enrollment(e))]
    }
    case 'enrollment': { const k = h32(a); return k === null ? badArgs(path) : [K.enrollment(k)] }
    case 'disbursement': { const k = h32(a); const p = u(b); return k === null || p === null ? badArgs(path) : [K.disbursement(k, p)] }
    case 'application': { const k = h32(a); return k === null ? badArgs(path) : [K.application(k)] }
    case 'attestation': {
      const k = h32(a)
      return k === null || b === undefined || !(ATTESTATION_TYPES as readonly string[]).includes(b) ? badArgs(path) : [K.attestation(k, b)]
    }
    case 'consent': {
      const k = h32(a)
      return k === null || b === undefined || !(CONSENT_PURPOSES as readonly string[]).includes(b) ? badArgs(path) : [K.consent(k, b)]
    }
    case 'alert': { const k = h32(a); return k === null ? badArgs(path) : [K.alert(k)] }
    case 'emergency': { const k = h32(a); return k === null ? badArgs(path) : [K.emergency(k)] }
    case 'proposal': { const k = h32(a); return k === null ? badArgs(path) : [K.proposal(k)] }
    case 'count': {
      const r = region(b)
      return a === undefined || !(CATEGORIES as readonly string[]).includes(a) || r === null ? badArgs(path) : [K.count(a, r)]
    }
    case 'alerts': {
      const n = u(a)
      if (n === null) return badArgs(path)
      if (kv.scan === null) return reject('QUERY_HEIGHT_UNAVAILABLE', 'listing queries answer at the latest height only')
      const keys = await kv.scan(K.alertsOfPrefix(n), 100)
      return keys.map((k) => K.alert(k.slice(7)))
    }
    case 'reviews-due': {
      const r = region(a)
      const until = u(b) ?? (b !== undefined && /^[0-9]{1,15}$/.test(b) ? Number(b) : null)
      if (r === null || regionLevel(r) !== 'county' || until === null) return badArgs(path)
      if (kv.scan === null) return reject('QUERY_HEIGHT_UNAVAILABLE', 'listing queries answer at the latest height only')
      const prefix = K.reviewPrefix(r)
      const keys = await kv.scan(prefix, 100)
      const out: Uint8Array[] = []
      for (const k of keys) {
        if (readU64be(k, prefix.length) > until) break
        out.push(K.enrollment(k.slice(prefix.length + 8)))
      }
      return out
    }
    case 'params': return [K.params()]
    case 'validators': return [K.validators()]
    case 'meta': return [K.meta()]
    case 'store': {
      if (a === undefined || !/^([0-9a-fA-F]{2}){1,256}$/.test(a)) return badArgs(path)
      return [new Uint8Array(Buffer.from(a, 'hex'))]
    }
    case 'audit': {
      const entity = auditEntity(a, b)
      if (entity === null) return badArgs(path)
      const from = c === undefined ? 0 : u(c)
      const limit = d === undefined ? 100 : u(d)
      if (from === null || limit === null || limit < 1 || limit > 100) return badArgs(path)
      const raw = await kv.get(K.auditCount(entity))
      const n = raw === null ? 0 : decode(R.CountSchema, raw).n
      const keys = [K.auditCount(entity)]
      for (let i = from; i < Math.min(n, from + limit); i++) keys.push(K.audit(entity, i))
      return keys
    }
    default: return reject('QUERY_UNKNOWN_PATH', `unknown query path ${path}`)
  }
}

function auditEntity (kind: string | undefined, idStr: string | undefined): Uint8Array | null {
  if (kind === undefined || idStr === undefined) return null
  const n = u(idStr)
  const k = h32(idStr)
  switch (kind) {
    case 'office': return n === null ? null : Entity.office(n)
    case 'program': return n === null ? null : Entity.program(n)
    case 'budget': {
      const m = /^([0-9]{1,10})-([0-9]{4})-([0-9]{6})$/.exec(idStr)
      return m === null ? null : Entity.budget(Number(m[1]), Number(m[2]), m[3] as string)
    }
    case 'household': return k === null ? null : Entity.household(k)
    case 'subject': return k === null ? null : Entity.subject(k)
    case 'application': return k === null ? null : Entity.application(k)
    case 'enrollment': return k === null ? null : Entity.enrollment(k)
    case 'alert': return k === null ? null : Entity.alert(k)
    case 'emergency': return k === null ? null : Entity.emergency(k)
    case 'proposal': return k === null ? null : Entity.proposal(k)
    default: return null
  }
}

export interface QueryDeps {
  /** Resolves a query height (0 = latest) to { height, version, latest } or a rejection. */
  resolveHeight: (height: number) => Promise<{ height: number, version: number, latest: boolean } | Rejection>
  /** Keys under a prefix in the latest committed state, in key order. */
  scan: (prefix: Uint8Array, limit: number) => Promise<Uint8Array[]>
  getAt: (key: Uint8Array, version: number) => Promise<Uint8Array | null>
  prove: (key: Uint8Array, version: number) => Promise<Uint8Array>
}

function fail (r: Rejection, height = 0): QueryResponse {
  return { code: r.code, codespace: CODESPACE, log: r.log, key: new Uint8Array(0), value: new Uint8Array(0), proofOps: [], height }
}

export async function runQuery (req: QueryRequest, deps: QueryDeps): Promise<QueryResponse> {
  const at = await deps.resolveHeight(req.height)
  if ('rejected' in at) return fail(at)
  const reader: QueryReader = { get: async (key) => await deps.getAt(key, at.version), scan: at.latest ? deps.scan : null }
  const plan = await planQuery(req.path, reader)
  if ('rejected' in plan) return fail(plan, at.height)
  const entries = []
  const proofOps: ProofOp[] = []
  for (const key of plan) {
    entries.push({ key, value: await reader.get(key) })
    if (req.prove) proofOps.push({ type: PROOF_OP_TYPE, key, data: await deps.prove(key, at.version) })
  }
  return {
    code: 0, codespace: '', log: '', key: plan[0] ?? new Uint8Array(0),
    value: encode(QueryEntriesSchema, { entries }), proofOps, height: at.height,
  }
}

/** Checks every entry of a query answer against an app_hash (that of header height+1); an empty listing carries nothing to check and gives false. */
export function verifyQueryResponse (resp: QueryResponse, appHash: Uint8Array, verifyProof: ProofVerifier): boolean {
  const r = tryDecode(QueryEntriesSchema, resp.value)
  if (!r.ok || r.value.entries.length !== resp.proofOps.length || r.value.entries.length === 0) return false
  return r.value.entries.every((e, i) => {
    const op = resp.proofOps[i] as ProofOp
    return op.type === PROOF_OP_TYPE && Buffer.compare(op.key, e.key) === 0 && verifyProof(appHash, e.key, e.value, op.data)
  })
}

const PREFIX_SCHEMAS: Array<[string, Schema<unknown>]> = [
  ['_/meta', R.MetaSchema], ['_/params', R.ParamsSchema], ['_/validators', R.ValidatorsSchema],
  ['aa/', R.PaidSchema], ['rv/', R.PaidSchema], ['ok/', R.OfficeRefSchema], ['os/', R.OfficeRefSchema], ['o/', R.OfficeSchema], ['ps/', R.StandardSchema], ['p/', R.ProgramSchema],
  ['b/', R.BudgetSchema], ['h/', R.HouseholdSchema], ['s/', R.PersonSchema], ['c/', R.ConsentSchema], ['ao/', R.IdRefSchema],
  ['a/', R.ApplicationSchema], ['t/', R.AttestationSchema], ['e/', R.EnrollmentSchema], ['x/', R.IdRefSchema],
  ['d/', R.DisbursementSchema], ['n/', R.CountSchema], ['al/', R.AlertSchema], ['em/', R.EmergencySchema],
  ['g/', R.ProposalSchema], ['r/', R.ReplaySchema], ['un/', R.CountSchema], ['u/', R.AuditEntrySchema],
] as Array<[string, Schema<unknown>]>

export function schemaForKey (key: Uint8Array): Schema<unknown> | null {
  const s = Buffer.from(key).toString('latin1')
  return PREFIX_SCHEMAS.find(([p]) => s.startsWith(p))?.[1] ?? null
}

export function toJsonFriendly (v: unknown): unknown {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex')
  if (Array.isArray(v)) return v.map(toJsonFriendly)
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJsonFriendly(x)]))
  return v
}

/** Decodes a query value into [{ key (hex), record (JSON-friendly or null) }]. */
export function decodeQueryValue (value: Uint8Array): Array<{ key: string, record: unknown }> {
  const { entries } = decode(QueryEntriesSchema, value)
  return entries.map((e) => {
    const schema = schemaForKey(e.key)
    const record = e.value === null ? null : schema === null || e.value.length === 0 ? Buffer.from(e.value).toString('hex') : toJsonFriendly(decode(schema, e.value))
    return { key: Buffer.from(e.key).toString('hex'), record }
  })
}
