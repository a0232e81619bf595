/**
 * Client-side helpers of the social-assistance app (DESIGN §1, app developers): what a
 * client needs from state/ and nothing that touches a store.
 *
 *   body.officeRegister({...})           canonical body bytes of one operation (BodySchema)
 *   tx.officeRegister({...}, signOpts)   the signed envelope (src/types/tx.ts) around it
 *   appQueryCodec                        proof check (state/store verifyProof, per entry)
 *                                        and decoder (decodeQueryValue) for rpc/client.ts
 *   bodyFields / bodyFromPlain           the schema as data, for generic front ends (the
 *                                        CLI's `tx` flags): field kinds read off the codec
 *                                        schemas, and plain values (hex strings for bytes,
 *                                        decimal strings or numbers for integers, comma
 *                                        lists) turned into a Body that encode() then checks.
 *
 * Builder names are the operation names in camelCase: 'office.rotate-key' → officeRotateKey.
 * rpc/ does not import state/, so the client library (rpc/client.ts) takes encoded bodies;
 * the package entry (src/index.ts) puts the two together.
 */
import type { QueryResponse } from '../src/abci.ts'
import { decode, encode, tryDecode, type Schema } from '../src/codec/index.ts'
import { createSigner, type Ed25519KeyPair, type Ed25519Signer } from '../src/crypto/ed25519.ts'
import { sha256 } from '../src/crypto/hash.ts'
import { toHex } from '../src/bytes.ts'
import { txHash, txSignBytes, TxEnvelopeSchema, type TxEnvelope } from '../src/types/tx.ts'
import { decodeQueryValue, PROOF_OP_TYPE, QueryEntriesSchema, toJsonFriendly } from './query.ts'
import { BODY_TYPES, BodySchema, type Body, type BodyOf, type BodyType } from './schema.ts'
import { verifyProof } from './store/verify.ts'

// ---- names -------------------------------------------------------------------------------

type Camel<S extends string> = S extends `${infer A}.${infer B}` ? `${A}${Capitalize<Camel<B>>}`
  : S extends `${infer A}-${infer B}` ? `${A}${Capitalize<Camel<B>>}` : S

export type OpName = Camel<BodyType>

export function opName<T extends BodyType> (type: T): Camel<T> {
  return type.replace(/[.-]([a-z])/g, (_m, c: string) => c.toUpperCase()) as Camel<T>
}

// ---- bodies and signed txs -----------------------------------------------------------------

export function encodeBody (b: Body): Uint8Array {
  return encode(BodySchema, b)
}

export function decodeBody (bytes: Uint8Array): Body {
  return decode(BodySchema, bytes)
}

export interface SignOptions {
  signer: Ed25519KeyPair | Ed25519Signer
  chainId: string
  expiresAtHeight: number
  /** Default: 48 random bits (so the same body can be sent twice on purpose). */
  nonce?: number
}

export interface SignedAppTx {
  bytes: Uint8Array
  /** Upper-case hex SHA-256 of the bytes (the CometBFT tx hash). */
  hash: string
  /** SHA-256 of the sign bytes: the id of what the tx creates, returned as TxResult.data. */
  opId: Uint8Array
  envelope: TxEnvelope
  body: Body
}

function randomNonce (): number {
  const b = new Uint8Array(6)
  globalThis.crypto.getRandomValues(b)
  return b.reduce((n, x) => n * 256 + x, 0)
}

export function signBody (b: Body, o: SignOptions): SignedAppTx {
  const signer = 'sign' in o.signer ? o.signer : createSigner(o.signer)
  const unsigned = { chainId: o.chainId, signer: signer.publicKey, expiresAtHeight: o.expiresAtHeight, nonce: o.nonce ?? randomNonce(), body: encodeBody(b) }
  const sb = txSignBytes(unsigned)
  const envelope: TxEnvelope = { ...unsigned, signature: signer.sign(sb) }
  const bytes = encode(TxEnvelopeSchema, envelope)
  return { bytes, hash: toHex(txHash(bytes)).toUpperCase(), opId: sha256(sb), envelope, body: b }
}

/** Decodes a signed tx back into its envelope and body (strict, as the node does). */
export function decodeAppTx (bytes: Uint8Array): { envelope: TxEnvelope, body: Body, opId: Uint8Array, hash: string } {
  const envelope = decode(TxEnvelopeSchema, bytes)
  return { envelope, body: decodeBody(envelope.body), opId: sha256(txSignBytes(envelope)), hash: toHex(txHash(bytes)).toUpperCase() }
}

export type BodyBuilders = { [K in BodyType as Camel<K>]: (value: BodyOf<K>) => Uint8Array }
export type TxBuilders = { [K in BodyType as Camel<K>]: (value: BodyOf<K>, o: SignOptions) => SignedAppTx }

/** `body.officeRegister({...})`: the canonical body bytes (throws AidError on a bad value). */
export const body: BodyBuilders = Object.fromEntries(BODY_TYPES.map((t) => [opName(t), (value: unknown) => encodeBody({ type: t, value } as Body)])) as BodyBuilders

/** `tx.officeRegister({...}, { signer, chainId, expiresAtHeight })`: the signed envelope. */
export const tx: TxBuilders = Object.fromEntries(BODY_TYPES.map((t) => [opName(t), (value: unknown, o: SignOptions) => signBody({ type: t, value } as Body, o)])) as TxBuilders

// ---- verified queries ----------------------------------------------------------------------

export type QueryEntry = ReturnType<typeof decodeQueryValue>[number]

/**
 * The app's QueryCodec (rpc/client-verify.ts): every entry of a QueryEntries answer must
 * come with a proof op for its key that verifies (membership for a value, non-membership
 * for nil) against the app_hash. An empty listing has nothing to verify and passes; a
 * listing's completeness is never proven (the store has no range proofs).
 */
export const appQueryCodec = {
  verify (resp: QueryResponse, appHash: Uint8Array): string | null {
    const r = tryDecode(QueryEntriesSchema, resp.value)
    if (!r.ok) return `value is not a QueryEntries answer: ${r.error.message}`
    const { entries } = r.value
    if (entries.length !== resp.proofOps.length) return `${entries.length} entries but ${resp.proofOps.length} proof ops`
    for (const [i, e] of entries.entries()) {
      const op = resp.proofOps[i]
      if (op === undefined || op.type !== PROOF_OP_TYPE) return `proof op ${i} has type ${JSON.stringify(op?.type)}, expected ${PROOF_OP_TYPE}`
      if (Buffer.compare(op.key, e.key) !== 0) return `proof op ${i} is for key ${toHex(op.key)}, entry ${i} is key ${toHex(e.key)}`
      if (!verifyProof(appHash, e.key, e.value, op.data)) {
        return `entry ${i} (key ${toHex(e.key)}, ${e.value === null ? 'absent' : `${e.value.length}-byte value`}) does not verify against the app hash`
      }
    }
    return null
  },
  decode: (value: Uint8Array): QueryEntry[] => decodeQueryValue(value),
}

// ---- the schema as data ----------------------------------------------------------------------

export type FieldKind =
  | { kind: 'int' }
  | { kind: 'bool' }
  | { kind: 'bytes', len?: number, max?: number }
  | { kind: 'enum', values: string[] }
  | { kind: 'region' }
  | { kind: 'string' }
  | { kind: 'list', item: FieldKind, max: number }
  | { kind: 'optional', inner: FieldKind }
  | { kind: 'struct', name: string, fields: Record<string, FieldKind> }
  | { kind: 'union', name: string, variants: Record<string, FieldKind> }

/** A leaf or wrapper kind from a codec label (the labels src/codec/schema.ts builds). */
export function kindOfLabel (label: string): FieldKind {
  let m: RegExpExecArray | null
  if (label === 'uint' || label === 'int') return { kind: 'int' }
  if (label === 'bool') return { kind: 'bool' }
  if (label === 'regionCode') return { kind: 'region' }
  if ((m = /^bytes\[(\d+)\]$/.exec(label)) !== null) return { kind: 'bytes', len: Number(m[1]) }
  if ((m = /^bytes\[<=(\d+)\]$/.exec(label)) !== null) return { kind: 'bytes', max: Number(m[1]) }
  if ((m = /^string\[<=(\d+)\]$/.exec(label)) !== null) return { kind: 'string' }
  if ((m = /^oneOf\((.*)\)$/.exec(label)) !== null) return { kind: 'enum', values: (m[1] as string).split('|') }
  if ((m = /^list<(.*)>\[<=(\d+)\]$/.exec(label)) !== null) return { kind: 'list', item: kindOfLabel(m[1] as string), max: Number(m[2]) }
  if ((m = /^optional<(.*)>$/.exec(label)) !== null) return { kind: 'optional', inner: kindOfLabel(m[1] as string) }
  throw new TypeError(`no field kind for codec label ${JSON.stringify(label)}`)
}

export function kindOf (schema: Schema<unknown>): FieldKind {
  const s = schema as Schema<unknown> & { fields?: Record<string, Schema<unknown>>, variants?: Record<string, Schema<unknown>> }
  if (s.variants !== undefined) return { kind: 'union', name: s.label, variants: Object.fromEntries(Object.entries(s.variants).map(([k, v]) => [k, kindOf(v)])) }
  if (s.fields !== undefined) return { kind: 'struct', name: s.label, fields: Object.fromEntries(Object.entries(s.fields).map(([k, v]) => [k, kindOf(v)])) }
  return kindOfLabel(s.label)
}

/** The fields of one operation's body, in wire order. */
export function bodyFields (type: BodyType): Record<string, FieldKind> {
  const k = kindOf(BodySchema.variants[type] as Schema<unknown>)
  if (k.kind !== 'struct') throw new TypeError(`${type} body is not a struct`)
  return k.fields
}

/** Describes a kind for help texts: `hex32`, `int`, `one of a|b`, `list of hex32 (≤ 32)`. */
export function describeKind (k: FieldKind): string {
  switch (k.kind) {
    case 'int': return 'int'
    case 'bool': return 'bool'
    case 'bytes': return k.len !== undefined ? `hex${k.len}` : `hex (≤ ${k.max ?? 0} bytes)`
    case 'enum': return k.values.join('|')
    case 'region': return 'region code'
    case 'string': return 'string'
    case 'list': return `comma-separated ${describeKind(k.item)} (≤ ${k.max})`
    case 'optional': return `${describeKind(k.inner)}, optional`
    case 'struct': return `JSON ${k.name}`
    case 'union': return `JSON {"type": ${Object.keys(k.variants).join('|')}, "value": {...}}`
  }
}

export class PlainValueError extends Error {
  override name = 'PlainValueError'
  constructor (readonly at: string, detail: string) { super(`${at}: ${detail}`) }
}

/**
 * A plain value (what a flag or JSON gives) into the typed value for `k`; encode() then
 * checks ranges and lengths. Integers: numbers or decimal strings; bools: true/false or
 * "true"/"false"; bytes: hex (0x optional); lists: arrays or comma-separated strings
 * ("" or absent = empty); optional: null, undefined or "" = absent; structs: objects; unions:
 * {type, value}.
 */
export function fromPlain (k: FieldKind, v: unknown, at: string): unknown {
  const fail = (detail: string): never => { throw new PlainValueError(at, detail) }
  switch (k.kind) {
    case 'int': {
      if (typeof v === 'number' && Number.isSafeInteger(v)) return v
      if (typeof v === 'string' && /^\d{1,16}$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v)
      return fail(`expected a non-negative integer, got ${JSON.stringify(v)}`)
    }
    case 'bool':
      if (typeof v === 'boolean') return v
      if (v === 'true' || v === 'false') return v === 'true'
      return fail(`expected true or false, got ${JSON.stringify(v)}`)
    case 'bytes': {
      const s = typeof v === 'string' ? v.replace(/^0x/i, '') : fail('expected a hex string')
      if (!/^(?:[0-9a-fA-F]{2})*$/.test(s)) fail(`expected hex, got ${JSON.stringify(v).slice(0, 80)}`)
      const b = new Uint8Array(Buffer.from(s, 'hex'))
      if (k.len !== undefined && b.length !== k.len) fail(`expected ${k.len} bytes (${2 * k.len} hex digits), got ${b.length}`)
      return b
    }
    case 'enum':
      if (typeof v === 'string' && k.values.includes(v)) return v
      return fail(`expected one of ${k.values.join(', ')}, got ${JSON.stringify(v)}`)
    case 'region':
    case 'string':
      return typeof v === 'string' ? v : typeof v === 'number' && k.kind === 'region' ? String(v) : fail('expected a string')
    case 'list': {
      const items = v === undefined ? [] : Array.isArray(v) ? v : typeof v === 'string' ? (v.trim() === '' ? [] : v.split(',').map((x) => x.trim())) : fail('expected a list')
      if (items.length > k.max) fail(`at most ${k.max} items, got ${items.length}`)
      return items.map((x, i) => fromPlain(k.item, x, `${at}[${i}]`))
    }
    case 'optional':
      return v === null || v === undefined || v === '' ? null : fromPlain(k.inner, v, at)
    case 'struct': {
      const o = typeof v === 'string' ? parseJson(v, at) : v
      if (typeof o !== 'object' || o === null || Array.isArray(o)) return fail(`expected a JSON object for ${k.name}`)
      for (const key of Object.keys(o)) if (!(key in k.fields)) fail(`${k.name} has no field ${JSON.stringify(key)} (fields: ${Object.keys(k.fields).join(', ')})`)
      return Object.fromEntries(Object.entries(k.fields).map(([f, fk]) => [f, fromPlain(fk, (o as Record<string, unknown>)[f], `${at}.${f}`)]))
    }
    case 'union': {
      const o = typeof v === 'string' ? parseJson(v, at) : v
      if (typeof o !== 'object' || o === null || Array.isArray(o)) return fail('expected a JSON object {"type": ..., "value": {...}}')
      const { type, value, ...rest } = o as Record<string, unknown>
      if (Object.keys(rest).length > 0) fail(`unexpected field ${JSON.stringify(Object.keys(rest)[0])}; expected {"type", "value"}`)
      const vk = typeof type === 'string' && Object.prototype.hasOwnProperty.call(k.variants, type) ? k.variants[type] : undefined
      if (vk === undefined) return fail(`type must be one of ${Object.keys(k.variants).join(', ')}`)
      return { type, value: fromPlain(vk, value, `${at}.${String(type)}`) }
    }
  }
}

function parseJson (s: string, at: string): unknown {
  try {
    return JSON.parse(s)
  } catch (err) {
    throw new PlainValueError(at, `not JSON: ${err instanceof Error ? err.message : String(err)}`)
  }
}

/** A Body from plain field values (see fromPlain); encode(BodySchema, …) does the final checks. */
export function bodyFromPlain (type: BodyType, values: Record<string, unknown>): Body {
  const fields = bodyFields(type)
  for (const k of Object.keys(values)) if (!(k in fields)) throw new PlainValueError(k, `${type} has no field ${k}`)
  const value = Object.fromEntries(Object.entries(fields).map(([f, k]) => [f, fromPlain(k, values[f], f)]))
  return { type, value } as Body
}

/** A Body as JSON-friendly data (bytes as hex), e.g. for printing a decoded tx. */
export function bodyToPlain (b: Body): { type: string, value: unknown } {
  return { type: b.type, value: toJsonFriendly(b.value) }
}

export { BODY_TYPES, type Body, type BodyType, type BodyOf }
