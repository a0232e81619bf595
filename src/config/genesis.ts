/**
 * genesis.json: the chain's starting point, in CometBFT's shape (types/genesis.go,
 * GenesisDoc and GenesisValidator; int64 fields as decimal strings, keys as
 * {type, value} with base64, addresses and app_hash as hex).
 *
 * The loader is strict where CometBFT is lenient: unknown keys, a missing genesis_time or
 * address, an address that does not match its key, duplicate validators and non-positive
 * powers are all errors (ERR_GENESIS_INVALID, `at` = "<file>: <field path>"). `app_state`
 * belongs to the application: it is kept as opaque JSON unless the caller injects a
 * `validateAppState` hook.
 *
 * Times are unix milliseconds (src/types/primitives.ts); a genesis_time with more than
 * millisecond precision is truncated to the millisecond.
 *
 * Genesis hash: SHA-256 of the RFC 8785 canonical JSON (./json.ts) of the normalised
 * document (as `genesisToJson` renders it, defaults filled in). Formatting, key order and
 * omitted defaults therefore do not change it; any change in meaning does. Nodes compare
 * it with their peers' before talking consensus.
 */
import { ADDRESS_LENGTH, addressFromPubKey } from '../crypto/address.ts'
import { sha256 } from '../crypto/hash.ts'
import { equalBytes, fromBase64, fromHex, toBase64, toHex, utf8 } from '../bytes.ts'
import { AidError, isAidError } from '../errors.ts'
import type { Schema } from '../codec/index.ts'
import { ConsensusParamsSchema, defaultConsensusParams, type ConsensusParams } from '../types/params.ts'
import { chainIdField, MAX_TOTAL_VOTING_POWER, MAX_VALIDATORS } from '../types/primitives.ts'
import { newValidatorSet, validateValidatorSet, type ValidatorSet } from '../types/validator.ts'
import { hasBadChars } from './fields.ts'
import { PUBLIC_FILE_MODE, readTextFile, writeFileAtomic } from './fsutil.ts'
import { canonicalJson, checkJsonValue, cloneJson, type JsonValue } from './json.ts'

export const PUBKEY_TYPE_ED25519 = 'tendermint/PubKeyEd25519'
/** genesis.json larger than this is refused before parsing. */
export const MAX_GENESIS_BYTES = 64 * 1024 * 1024
export const MAX_VALIDATOR_NAME_LENGTH = 128
/** 9999-12-31T23:59:59.999Z, the last time a four-digit RFC 3339 year can express. */
const MAX_GENESIS_TIME_MS = 253402300799999

export interface GenesisValidator {
  address: Uint8Array
  pubKey: Uint8Array
  power: number
  name: string
}

export interface Genesis {
  /** Unix milliseconds. */
  genesisTimeMs: number
  chainId: string
  initialHeight: number
  consensusParams: ConsensusParams
  /** As listed in the file. */
  validators: GenesisValidator[]
  /** The same validators as a core ValidatorSet (canonical order, zero priorities). */
  validatorSet: ValidatorSet
  appHash: Uint8Array
  /** Owned by the application; opaque here. */
  appState: JsonValue
}

/** What the application's genesis hooks see besides app_state itself. */
export interface AppStateContext {
  chainId: string
  genesisTimeMs: number
  initialHeight: number
  validators: readonly GenesisValidator[]
}

/**
 * The application's check of app_state: throw (or reject) to refuse it; the return value
 * is ignored. May be async (state/ replays genesis on a scratch store to check it).
 */
export type ValidateAppState = (appState: JsonValue, ctx: AppStateContext) => unknown
/** Builds the application's default app_state for a new chain (`init`, `testnet`). */
export type DefaultAppState = (ctx: AppStateContext) => JsonValue | Promise<JsonValue>

export interface ParseGenesisOptions {
  /** Named in error messages. */
  file?: string
}

export interface GenesisHookOptions {
  validateAppState?: ValidateAppState
}

type Json = Record<string, unknown>

class GenesisReader {
  constructor (readonly file: string) {}

  fail (path: string, detail: string): AidError {
    return new AidError('ERR_GENESIS_INVALID', detail, path === '' ? this.file : `${this.file}: ${path}`)
  }

  object (v: unknown, path: string, keys: { required: readonly string[], optional: readonly string[] }): Json {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw this.fail(path, `expected an object, got ${kind(v)}`)
    const o = v as Json
    const known = [...keys.required, ...keys.optional]
    for (const k of Object.keys(o)) {
      if (!known.includes(k)) throw this.fail(join(path, k), `unknown field ${JSON.stringify(k.slice(0, 60))} (known: ${known.join(', ')})`)
    }
    for (const k of keys.required) {
      if (!Object.prototype.hasOwnProperty.call(o, k)) throw this.fail(join(path, k), 'required field is missing')
    }
    return o
  }

  string (v: unknown, path: string, expected = 'a string'): string {
    if (typeof v !== 'string') throw this.fail(path, `expected ${expected}, got ${kind(v)}`)
    return v
  }

  /** An int64 carried as a decimal string, as CometBFT's JSON does. */
  intString (v: unknown, path: string, min: number, max: number, example: string): number {
    const s = this.string(v, path, `a decimal string like "${example}"`)
    if (!/^-?(0|[1-9]\d{0,18})$/.test(s)) throw this.fail(path, `expected a decimal string like "${example}", got ${JSON.stringify(s.slice(0, 40))}`)
    const n = BigInt(s)
    if (n < BigInt(min) || n > BigInt(max)) throw this.fail(path, `${s} is outside [${min}, ${max}]`)
    return Number(n)
  }

  /** Validate a value with a core-type schema, relabelling its error as a genesis error at `path`. */
  schema<T> (schema: Schema<T>, v: T, path: string): T {
    try {
      schema.toWire(v, path)
      return v
    } catch (err) {
      if (isAidError(err)) throw this.fail(path, err.message.replace(/^ERR_\w+: ([^:]*: )?/, ''))
      throw err
    }
  }
}

function join (path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`
}

function kind (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`
  if (typeof v === 'object') return 'an object'
  return `${typeof v} ${String(v)}`
}

// ---- time --------------------------------------------------------------------------------

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/

/** Parse an RFC 3339 timestamp to unix ms (sub-ms digits truncated). Returns a complaint on failure. */
export function parseRfc3339Ms (s: string): number | string {
  const m = RFC3339.exec(s)
  if (m === null) return 'expected an RFC 3339 time like "2026-01-02T03:04:05.678Z"'
  const [, y, mo, d, h, mi, sec, frac = '', zone = 'Z'] = m
  const year = Number(y)
  const month = Number(mo)
  const day = Number(d)
  if (month < 1 || month > 12) return `month ${mo} is out of range`
  const daysIn = new Date(Date.UTC(year, month, 0)).getUTCDate()
  if (day < 1 || day > daysIn) return `day ${d} is out of range for ${y}-${mo}`
  if (Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) return 'time of day is out of range'
  let offsetMin = 0
  if (zone !== 'Z') {
    const oh = Number(zone.slice(1, 3))
    const om = Number(zone.slice(4, 6))
    if (oh > 23 || om > 59) return `offset ${zone} is out of range`
    offsetMin = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om)
  }
  const ms = Number((frac + '000').slice(0, 3))
  const utc = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(sec), ms) - offsetMin * 60_000
  // Date.UTC maps years 0-99 to 1900-1999; the 1970 floor below rules those out anyway.
  if (!Number.isSafeInteger(utc) || utc < 0) return 'must not be before 1970-01-01T00:00:00Z'
  return utc
}

/** RFC 3339 in UTC with trailing zeros of the fraction dropped (Go's RFC3339Nano style). */
export function formatRfc3339Ms (ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z').replace(/(\.\d*?)0+Z$/, '$1Z')
}

// ---- consensus params (CometBFT JSON shape) ----------------------------------------------

const NS_PER_MS = 1_000_000n

/** CometBFT's consensus_params JSON (types/params.go), plus aidledger's validator.max_validators. */
export function consensusParamsToJson (p: ConsensusParams): Record<string, JsonValue> {
  return {
    block: { max_bytes: String(p.block.maxBytes), max_gas: p.block.maxGas === 0 ? '-1' : String(p.block.maxGas) },
    evidence: {
      max_age_num_blocks: String(p.evidence.maxAgeNumBlocks),
      max_age_duration: String(BigInt(p.evidence.maxAgeDurationMs) * NS_PER_MS),
      max_bytes: String(p.evidence.maxBytes),
    },
    validator: { pub_key_types: ['ed25519'], max_validators: String(p.validator.maxValidators) },
  }
}

function readConsensusParams (r: GenesisReader, v: unknown, path: string): ConsensusParams {
  const d = defaultConsensusParams()
  if (v === undefined) return d
  const o = r.object(v, path, { required: [], optional: ['block', 'evidence', 'validator'] })
  const F = ConsensusParamsSchema.fields
  const has = (x: Json, k: string): boolean => Object.prototype.hasOwnProperty.call(x, k)
  if (has(o, 'block')) {
    const p = join(path, 'block')
    const b = r.object(o.block, p, { required: [], optional: ['max_bytes', 'max_gas'] })
    if (has(b, 'max_bytes')) d.block.maxBytes = r.schema(F.block.fields.maxBytes, r.intString(b.max_bytes, join(p, 'max_bytes'), 1, Number.MAX_SAFE_INTEGER, '4194304'), join(p, 'max_bytes'))
    // CometBFT writes -1 for "no gas limit"; this app has no gas, and 0 means the same.
    if (has(b, 'max_gas')) d.block.maxGas = Math.max(0, r.intString(b.max_gas, join(p, 'max_gas'), -1, Number.MAX_SAFE_INTEGER, '-1'))
  }
  if (has(o, 'evidence')) {
    const p = join(path, 'evidence')
    const e = r.object(o.evidence, p, { required: [], optional: ['max_age_num_blocks', 'max_age_duration', 'max_bytes'] })
    if (has(e, 'max_age_num_blocks')) d.evidence.maxAgeNumBlocks = r.schema(F.evidence.fields.maxAgeNumBlocks, r.intString(e.max_age_num_blocks, join(p, 'max_age_num_blocks'), 1, Number.MAX_SAFE_INTEGER, '100000'), join(p, 'max_age_num_blocks'))
    if (has(e, 'max_age_duration')) {
      const at = join(p, 'max_age_duration')
      const s = r.string(e.max_age_duration, at, 'nanoseconds as a decimal string like "172800000000000"')
      if (!/^[1-9]\d{0,24}$/.test(s)) throw r.fail(at, `expected a positive number of nanoseconds as a decimal string, got ${JSON.stringify(s.slice(0, 40))}`)
      const ns = BigInt(s)
      if (ns % NS_PER_MS !== 0n) throw r.fail(at, 'must be a whole number of milliseconds (a multiple of 1000000 ns)')
      if (ns / NS_PER_MS > BigInt(Number.MAX_SAFE_INTEGER)) throw r.fail(at, 'too large')
      d.evidence.maxAgeDurationMs = Number(ns / NS_PER_MS)
    }
    if (has(e, 'max_bytes')) d.evidence.maxBytes = r.intString(e.max_bytes, join(p, 'max_bytes'), 0, Number.MAX_SAFE_INTEGER, '1048576')
  }
  if (has(o, 'validator')) {
    const p = join(path, 'validator')
    const v2 = r.object(o.validator, p, { required: [], optional: ['pub_key_types', 'max_validators'] })
    if (has(v2, 'pub_key_types')) {
      const t = v2.pub_key_types
      if (!Array.isArray(t) || t.length !== 1 || t[0] !== 'ed25519') throw r.fail(join(p, 'pub_key_types'), 'only ["ed25519"] is supported')
    }
    if (has(v2, 'max_validators')) d.validator.maxValidators = r.schema(F.validator.fields.maxValidators, r.intString(v2.max_validators, join(p, 'max_validators'), 1, Number.MAX_SAFE_INTEGER, '150'), join(p, 'max_validators'))
  }
  if (d.evidence.maxBytes > d.block.maxBytes) {
    throw r.fail(join(path, 'evidence.max_bytes'), `must not exceed block.max_bytes (${d.block.maxBytes})`)
  }
  return d
}

// ---- validators --------------------------------------------------------------------------

export function pubKeyToJson (pub: Uint8Array): { type: string, value: string } {
  return { type: PUBKEY_TYPE_ED25519, value: toBase64(pub) }
}

function readPubKey (r: GenesisReader, v: unknown, path: string): Uint8Array {
  const o = r.object(v, path, { required: ['type', 'value'], optional: [] })
  if (o.type !== PUBKEY_TYPE_ED25519) throw r.fail(join(path, 'type'), `expected "${PUBKEY_TYPE_ED25519}", got ${kind(o.type)}`)
  const s = r.string(o.value, join(path, 'value'), 'base64 of a 32-byte Ed25519 public key')
  let b: Uint8Array
  try {
    b = fromBase64(s)
  } catch {
    throw r.fail(join(path, 'value'), 'expected standard padded base64')
  }
  if (b.length !== 32) throw r.fail(join(path, 'value'), `expected a 32-byte Ed25519 public key, got ${b.length} bytes`)
  return b
}

function readValidators (r: GenesisReader, v: unknown, path: string): GenesisValidator[] {
  if (!Array.isArray(v)) throw r.fail(path, `expected an array of validators, got ${kind(v)}`)
  if (v.length === 0) throw r.fail(path, 'at least one validator is required')
  if (v.length > MAX_VALIDATORS) throw r.fail(path, `${v.length} validators, more than ${MAX_VALIDATORS}`)
  const seen = new Map<string, number>()
  let total = 0
  return v.map((item, i) => {
    const at = join(path, i)
    const o = r.object(item, at, { required: ['address', 'pub_key', 'power'], optional: ['name'] })
    const pubKey = readPubKey(r, o.pub_key, join(at, 'pub_key'))
    const addrText = r.string(o.address, join(at, 'address'), 'the upper-case hex address')
    if (!new RegExp(`^[0-9a-fA-F]{${ADDRESS_LENGTH * 2}}$`).test(addrText)) {
      throw r.fail(join(at, 'address'), `expected ${ADDRESS_LENGTH * 2} hex characters, got ${kind(addrText)}`)
    }
    const address = fromHex(addrText)
    const derived = addressFromPubKey(pubKey)
    if (!equalBytes(address, derived)) {
      throw r.fail(join(at, 'address'), `${addrText} does not match pub_key (whose address is ${toHex(derived).toUpperCase()})`)
    }
    const powerText = r.string(o.power, join(at, 'power'), 'a decimal string like "10"')
    if (/^(0|-\d+)$/.test(powerText)) throw r.fail(join(at, 'power'), `must be positive, got ${JSON.stringify(powerText)}`)
    const power = r.intString(powerText, join(at, 'power'), 1, MAX_TOTAL_VOTING_POWER, '10')
    const name = o.name === undefined ? '' : r.string(o.name, join(at, 'name'))
    if (name.length > MAX_VALIDATOR_NAME_LENGTH || hasBadChars(name)) {
      throw r.fail(join(at, 'name'), `expected at most ${MAX_VALIDATOR_NAME_LENGTH} characters without control characters`)
    }
    const key = toHex(address)
    const first = seen.get(key)
    if (first !== undefined) throw r.fail(at, `duplicate validator: same key as ${join(path, first)}`)
    seen.set(key, i)
    total += power
    if (total > MAX_TOTAL_VOTING_POWER) throw r.fail(path, `total voting power exceeds ${MAX_TOTAL_VOTING_POWER}`)
    return { address, pubKey, power, name }
  })
}

// ---- the document ------------------------------------------------------------------------

function positionHint (msg: string, text: string): string {
  const m = /position (\d+)/.exec(msg)
  if (m === null) return ''
  const pos = Number(m[1])
  const before = text.slice(0, pos)
  const line = before.split('\n').length
  return ` (line ${line}, column ${pos - before.lastIndexOf('\n')})`
}

function buildValidatorSet (r: GenesisReader, validators: readonly GenesisValidator[]): ValidatorSet {
  const set = newValidatorSet(validators.map((v) => ({ pubKey: v.pubKey, votingPower: v.power })))
  const res = validateValidatorSet(set)
  if (!res.ok) throw r.fail('validators', res.error.message)
  return set
}

/**
 * Parse genesis.json text into a Genesis (structure only; app_state stays opaque). Throws
 * ERR_GENESIS_INVALID naming the file and the field. `loadGenesis` also runs the app's
 * check (`checkAppState`).
 */
export function parseGenesis (text: string, opts: ParseGenesisOptions = {}): Genesis {
  const r = new GenesisReader(opts.file ?? 'genesis.json')
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err)
    throw r.fail('', `not valid JSON: ${msg}${positionHint(msg, text)}`)
  }
  const doc = r.object(raw, '', {
    required: ['genesis_time', 'chain_id', 'validators'],
    optional: ['initial_height', 'consensus_params', 'app_hash', 'app_state'],
  })
  const timeText = r.string(doc.genesis_time, 'genesis_time', 'an RFC 3339 time like "2026-01-02T03:04:05Z"')
  const genesisTimeMs = parseRfc3339Ms(timeText)
  if (typeof genesisTimeMs === 'string') throw r.fail('genesis_time', `${genesisTimeMs}, got ${JSON.stringify(timeText.slice(0, 40))}`)
  const chainId = r.schema(chainIdField, r.string(doc.chain_id, 'chain_id', 'a chain id like "aid-prod-1"'), 'chain_id')
  // CometBFT reads initial_height "0" (or none) as 1.
  const initialHeight = doc.initial_height === undefined ? 1 : Math.max(1, r.intString(doc.initial_height, 'initial_height', 0, Number.MAX_SAFE_INTEGER, '1'))
  const consensusParams = readConsensusParams(r, doc.consensus_params, 'consensus_params')
  const validators = readValidators(r, doc.validators, 'validators')
  if (validators.length > consensusParams.validator.maxValidators) {
    throw r.fail('validators', `${validators.length} validators, more than consensus_params.validator.max_validators (${consensusParams.validator.maxValidators})`)
  }
  let appHash: Uint8Array = new Uint8Array(0)
  if (doc.app_hash !== undefined) {
    const s = r.string(doc.app_hash, 'app_hash', 'a hex string ("" for none)')
    if (!/^([0-9a-fA-F]{2}){0,32}$/.test(s)) throw r.fail('app_hash', 'expected "" or hex of at most 32 bytes')
    appHash = fromHex(s)
  }
  const appState = (doc.app_state === undefined ? {} : doc.app_state) as JsonValue
  const why = checkJsonValue(appState)
  if (why !== undefined) throw r.fail('app_state', why)
  const genesis: Genesis = {
    genesisTimeMs, chainId, initialHeight, consensusParams, validators,
    validatorSet: buildValidatorSet(r, validators), appHash, appState,
  }
  return genesis
}

/**
 * Run the application's app_state check. Its error becomes ERR_GENESIS_INVALID at
 * `app_state` (or at the AidError's own `at`, under app_state), with the original as cause.
 */
export async function checkAppState (g: Genesis, hook: ValidateAppState | undefined, file = 'genesis.json'): Promise<void> {
  if (hook === undefined) return
  const r = new GenesisReader(file)
  try {
    await hook(g.appState, { chainId: g.chainId, genesisTimeMs: g.genesisTimeMs, initialHeight: g.initialHeight, validators: g.validators })
  } catch (err) {
    let e: AidError
    if (err instanceof AidError) {
      const at = err.at ?? ''
      const path = at === '' ? 'app_state' : at.startsWith('app_state') ? at : at.startsWith('[') ? `app_state${at}` : `app_state.${at}`
      e = r.fail(path, err.message.replace(/^ERR_\w+: /, '').replace(`${at}: `, ''))
    } else {
      e = r.fail('app_state', err instanceof Error ? err.message : String(err))
    }
    ;(e as { cause?: unknown }).cause = err
    throw e
  }
}

/** Read, parse and (with the hook) have the app check genesis.json. */
export async function loadGenesis (file: string, opts: GenesisHookOptions = {}): Promise<Genesis> {
  const text = await readTextFile(file, { code: 'ERR_GENESIS_INVALID', maxBytes: MAX_GENESIS_BYTES, what: 'genesis file' })
  const g = parseGenesis(text, { file })
  await checkAppState(g, opts.validateAppState, file)
  return g
}

/** The normalised CometBFT-shape document (every field present). */
export function genesisToJson (g: Genesis): Record<string, JsonValue> {
  return {
    genesis_time: formatRfc3339Ms(g.genesisTimeMs),
    chain_id: g.chainId,
    initial_height: String(g.initialHeight),
    consensus_params: consensusParamsToJson(g.consensusParams),
    validators: g.validators.map((v) => ({
      address: toHex(v.address).toUpperCase(),
      pub_key: pubKeyToJson(v.pubKey),
      power: String(v.power),
      name: v.name,
    })),
    app_hash: toHex(g.appHash).toUpperCase(),
    app_state: cloneJson(g.appState),
  }
}

/** genesis.json text: two-space indented, as CometBFT writes it. */
export function renderGenesis (g: Genesis): string {
  return JSON.stringify(genesisToJson(g), null, 2) + '\n'
}

/** The bytes the genesis hash covers: RFC 8785 canonical JSON of the normalised document. */
export function canonicalGenesisBytes (g: Genesis): Uint8Array {
  return utf8(canonicalJson(genesisToJson(g)))
}

export function genesisHash (g: Genesis): Uint8Array {
  return sha256(canonicalGenesisBytes(g))
}

/** Write genesis.json atomically (mode 0644), after checking that it parses back (and passes the hook). */
export async function writeGenesis (file: string, g: Genesis, opts: GenesisHookOptions = {}): Promise<void> {
  const text = renderGenesis(g)
  await checkAppState(parseGenesis(text, { file }), opts.validateAppState, file)
  await writeFileAtomic(file, text, PUBLIC_FILE_MODE)
}

export interface NewGenesisOptions {
  chainId: string
  genesisTimeMs: number
  validators: ReadonlyArray<{ pubKey: Uint8Array, power: number, name?: string }>
  initialHeight?: number
  consensusParams?: ConsensusParams
  appHash?: Uint8Array
  /** app_state, or a function building it from the chain's parameters; default `{}`. */
  appState?: JsonValue | DefaultAppState
  validateAppState?: ValidateAppState
}

/** Build and validate a Genesis (as `init` and `testnet` do). Rejects with ERR_GENESIS_INVALID. */
export async function newGenesis (o: NewGenesisOptions): Promise<Genesis> {
  if (!Number.isSafeInteger(o.genesisTimeMs) || o.genesisTimeMs < 0 || o.genesisTimeMs > MAX_GENESIS_TIME_MS) {
    throw new AidError('ERR_GENESIS_INVALID', `genesis time ${o.genesisTimeMs} is not a unix time in ms between 1970 and 9999`, 'genesis_time')
  }
  const validators = o.validators.map((v) => ({ address: addressFromPubKey(v.pubKey), pubKey: v.pubKey, power: v.power, name: v.name ?? '' }))
  const initialHeight = o.initialHeight ?? 1
  const ctx: AppStateContext = { chainId: o.chainId, genesisTimeMs: o.genesisTimeMs, initialHeight, validators }
  const appState = typeof o.appState === 'function' ? await o.appState(ctx) : (o.appState ?? {})
  const draft: Genesis = {
    genesisTimeMs: o.genesisTimeMs,
    chainId: o.chainId,
    initialHeight,
    consensusParams: o.consensusParams ?? defaultConsensusParams(),
    validators,
    validatorSet: { validators: [] },
    appHash: o.appHash ?? new Uint8Array(0),
    appState,
  }
  // Round-trip through the strict parser: whatever newGenesis returns, loadGenesis accepts.
  const g = parseGenesis(JSON.stringify(genesisToJson(draft)), { file: 'new genesis' })
  await checkAppState(g, o.validateAppState, 'new genesis')
  return g
}
