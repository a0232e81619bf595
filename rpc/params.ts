/**
 * Route parameter decoding, after CometBFT rpc/jsonrpc/server (http_json_handler.go
 * jsonParamsToArgs, http_uri_handler.go httpParamsToArgs/nonJSONStringToArg) and
 * libs/json's decoder:
 *
 * JSON-RPC `params` is an object by name (unknown names ignored, null = absent) or an
 * array with exactly one value per declared argument. Values by Go type:
 *   int64/int/uint   decimal string "5" (libs/json's rule); a plain JSON integer is also
 *                    accepted (lenient: clients often send numbers)
 *   bool             true / false
 *   string           a JSON string
 *   []byte           standard padded base64 (tx, tx hash, block_by_hash hash)
 *   HexBytes         hex without 0x (header_by_hash hash, abci_query data)
 *   evidence         the {type, value} JSON object
 *
 * URI (GET /route?name=value) arguments, as CometBFT: empty = absent; integers as digits
 * (or a quoted "5"); 0x-prefixed hex for bytes, HexBytes and strings; a "quoted" string
 * gives its UTF-8 bytes for bytes args; bool as true/false; anything else is read as JSON.
 * Lenient where CometBFT errors: an unquoted string argument (order_by=asc) is taken as is.
 */
export type ArgType = 'int64' | 'int' | 'uint' | 'bool' | 'string' | 'bytes' | 'hexbytes' | 'json'
export interface ArgSpec { name: string, type: ArgType }
export type Args = Record<string, unknown>

/** A parameter problem; the server answers -32602 Invalid params with `message` as data. */
export class ParamError extends Error {
  override name = 'ParamError'
}

const INT_RE = /^-?[0-9]+$/
const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/
const B64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

const GO_TYPE: Record<ArgType, string> = {
  int64: 'int64', int: 'int', uint: 'uint', bool: 'bool', string: 'string', bytes: '[]uint8', hexbytes: 'bytes.HexBytes', json: 'object',
}

function describe (v: unknown): string {
  let s: string
  try {
    s = JSON.stringify(v) ?? String(v)
  } catch {
    s = Array.isArray(v) ? 'an array' : typeof v // too deep to print
  }
  return s.length > 60 ? s.slice(0, 60) + '…' : s
}

function intFrom (name: string, t: ArgType, text: string): number {
  if (!INT_RE.test(text)) throw new ParamError(`${name}: invalid ${GO_TYPE[t]} ${describe(text)}`)
  const n = Number(text)
  if (!Number.isSafeInteger(n)) throw new ParamError(`${name}: ${text} is out of range`)
  if (t === 'uint' && n < 0) throw new ParamError(`${name}: ${text} is negative, expected uint`)
  return n
}

function hexBytes (name: string, s: string): Uint8Array {
  if (!HEX_RE.test(s)) throw new ParamError(`${name}: invalid hex string ${describe(s)}`)
  return new Uint8Array(Buffer.from(s, 'hex'))
}

function base64Bytes (name: string, s: string): Uint8Array {
  if (!B64_RE.test(s)) throw new ParamError(`${name}: illegal base64 data ${describe(s)}`)
  return new Uint8Array(Buffer.from(s, 'base64'))
}

/** One JSON value to a typed argument (libs/json decoding, with the integer leniency above). */
export function jsonArg (spec: ArgSpec, v: unknown): unknown {
  if (v === null || v === undefined) return undefined
  const { name, type } = spec
  switch (type) {
    case 'int64':
    case 'int':
    case 'uint':
      if (typeof v === 'string') return intFrom(name, type, v)
      if (typeof v === 'number' && Number.isSafeInteger(v)) return intFrom(name, type, String(v))
      throw new ParamError(`${name}: invalid 64-bit integer encoding ${describe(v)}, expected string`)
    case 'bool':
      if (typeof v === 'boolean') return v
      throw new ParamError(`${name}: cannot unmarshal ${describe(v)} into Go value of type bool`)
    case 'string':
      if (typeof v === 'string') return v
      throw new ParamError(`${name}: cannot unmarshal ${describe(v)} into Go value of type string`)
    case 'bytes':
      if (typeof v === 'string') return base64Bytes(name, v)
      throw new ParamError(`${name}: cannot unmarshal ${describe(v)} into Go value of type []uint8 (want base64)`)
    case 'hexbytes':
      if (typeof v === 'string') return hexBytes(name, v)
      throw new ParamError(`${name}: invalid hex string ${describe(v)}`)
    case 'json':
      if (typeof v === 'object' && !Array.isArray(v)) return v
      throw new ParamError(`${name}: expected a JSON object, got ${describe(v)}`)
  }
}

/** JSON-RPC `params` (object, array, null or absent) to arguments by name. */
export function jsonParams (specs: readonly ArgSpec[], params: unknown): Args {
  const args: Args = {}
  if (params === undefined || params === null) return args
  if (Array.isArray(params)) {
    if (params.length !== specs.length) {
      throw new ParamError(`expected ${specs.length} parameters ([${specs.map((s) => s.name).join(' ')}]), got ${params.length}`)
    }
    specs.forEach((s, i) => { args[s.name] = jsonArg(s, params[i]) })
    return args
  }
  if (typeof params !== 'object') {
    throw new ParamError(`unknown type for JSON params: ${describe(params)}. Expected map or array`)
  }
  const obj = params as Record<string, unknown>
  for (const s of specs) {
    if (Object.prototype.hasOwnProperty.call(obj, s.name)) args[s.name] = jsonArg(s, obj[s.name])
  }
  return args
}

/** One URI query argument to a typed argument (CometBFT's nonJSONStringToArg, then JSON). */
export function uriArg (spec: ArgSpec, raw: string): unknown {
  if (raw === '') return undefined
  const { name, type } = spec
  const isInt = INT_RE.test(raw)
  const isQuoted = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"')
  const isHex = raw.slice(0, 2).toLowerCase() === '0x'
  const expectsInt = type === 'int64' || type === 'int' || type === 'uint'
  const expectsBytes = type === 'bytes' || type === 'hexbytes'
  if (isInt && expectsInt) return intFrom(name, type, raw)
  if (isHex) {
    if (type !== 'string' && !expectsBytes) throw new ParamError(`${name}: got a hex string arg, but expected '${GO_TYPE[type]}'`)
    const b = hexBytes(name, raw.slice(2))
    return type === 'string' ? Buffer.from(b).toString('utf8') : b
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    if (type === 'string') return raw // lenient: an unquoted string argument
    throw new ParamError(`${name}: invalid character in ${describe(raw)} (quote strings, use 0x for hex bytes)`)
  }
  if (isQuoted && expectsBytes) {
    if (typeof parsed !== 'string') throw new ParamError(`${name}: invalid quoted string ${describe(raw)}`)
    return new Uint8Array(Buffer.from(parsed, 'utf8'))
  }
  if (type === 'string' && typeof parsed !== 'string') return raw // lenient: e.g. order_by=5 is just a string
  return jsonArg(spec, parsed)
}

/** URI search params to arguments by name. */
export function uriParams (specs: readonly ArgSpec[], search: URLSearchParams): Args {
  const args: Args = {}
  for (const s of specs) {
    const raw = search.get(s.name)
    if (raw !== null) args[s.name] = uriArg(s, raw)
  }
  return args
}

export function isParamError (e: unknown): e is ParamError {
  return e instanceof ParamError
}

