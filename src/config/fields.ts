/**
 * Typed config.toml fields: each kind checks one TOML value, says what it expected when it
 * fails, and renders a value back to TOML. The config schema (config.ts) is a table of
 * these, so loading, defaults and the commented file writer share one source of truth.
 *
 * Durations follow Go's `time.ParseDuration` syntax (CometBFT config/config.go writes
 * "3s", "500ms", "1m30s") restricted to ms/s/m/h and parsed to integer milliseconds with
 * integer arithmetic only; anything finer than a millisecond is rejected, not rounded.
 */

/** Thrown by a field's `parse`; config.ts turns it into ERR_CONFIG_INVALID with file and path. */
export class FieldError extends Error {
  /** Sub-path inside the field, e.g. `[2]` for a list item. */
  readonly sub: string
  constructor (message: string, sub = '') {
    super(message)
    this.sub = sub
  }
}

export interface Field<T> {
  /** What the field expects, for messages and comments: `a duration like "3s"`. */
  readonly expected: string
  readonly defaultValue: T
  /** One or more comment lines written above the key. */
  readonly doc: string
  parse: (raw: unknown) => T
  /** TOML literal for the value. */
  render: (value: T) => string
}

export function describeToml (raw: unknown): string {
  if (typeof raw === 'bigint') return `integer ${raw}`
  if (typeof raw === 'number') return Number.isInteger(raw) ? `float ${raw.toFixed(1)}` : `float ${raw}`
  if (typeof raw === 'string') return `string ${JSON.stringify(raw.length > 40 ? raw.slice(0, 40) + '…' : raw)}`
  if (typeof raw === 'boolean') return `boolean ${raw}`
  if (Array.isArray(raw)) return `array of ${raw.length}`
  if (raw === null || raw === undefined) return 'nothing'
  if (typeof raw === 'object' && raw.constructor?.name === 'TomlDate') return 'a date-time'
  return 'a table'
}

function mismatch (expected: string, raw: unknown): FieldError {
  return new FieldError(`expected ${expected}, got ${describeToml(raw)}`)
}

/** A TOML basic string: JSON escapes are valid TOML escapes; DEL must be escaped too. */
export function tomlString (s: string): string {
  return JSON.stringify(s).replace(/\u007f/g, '\\u007F')
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/

/** Control characters and lone surrogates have no place in a config value (nor a TOML file). */
export function hasBadChars (s: string): boolean {
  return CONTROL.test(s) || LONE_SURROGATE.test(s)
}

export interface StringOptions {
  doc: string
  default: string
  /** Whole-string pattern; `expected` should describe it. */
  pattern?: RegExp
  expected?: string
  max?: number
  /** Extra check returning a complaint or undefined. */
  check?: (s: string) => string | undefined
}

export function stringField (o: StringOptions): Field<string> {
  const max = o.max ?? 256
  const expected = o.expected ?? `a string of at most ${max} characters`
  return {
    expected,
    defaultValue: o.default,
    doc: o.doc,
    parse (raw) {
      if (typeof raw !== 'string') throw mismatch(expected, raw)
      if (raw.length > max) throw new FieldError(`expected ${expected}, got ${raw.length} characters`)
      if (hasBadChars(raw)) throw new FieldError(`expected ${expected}, got a string with control characters`)
      if (o.pattern !== undefined && !o.pattern.test(raw)) throw mismatch(expected, raw)
      const why = o.check?.(raw)
      if (why !== undefined) throw new FieldError(`expected ${expected}: ${why}`)
      return raw
    },
    render: tomlString,
  }
}

export function enumField<const V extends readonly string[]> (values: V, o: { doc: string, default: V[number] }): Field<V[number]> {
  const expected = `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`
  return {
    expected,
    defaultValue: o.default,
    doc: o.doc,
    parse (raw) {
      if (typeof raw !== 'string' || !values.includes(raw)) throw mismatch(expected, raw)
      return raw
    },
    render: tomlString,
  }
}

export function boolField (o: { doc: string, default: boolean }): Field<boolean> {
  return {
    expected: 'true or false',
    defaultValue: o.default,
    doc: o.doc,
    parse (raw) {
      if (typeof raw !== 'boolean') throw mismatch('true or false', raw)
      return raw
    },
    render: (v) => (v ? 'true' : 'false'),
  }
}

export function intField (o: { doc: string, default: number, min?: number, max?: number }): Field<number> {
  const min = o.min ?? 0
  const max = o.max ?? Number.MAX_SAFE_INTEGER
  const expected = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer in [${min}, ${max}]`
  return {
    expected,
    defaultValue: o.default,
    doc: o.doc,
    parse (raw) {
      // The loader parses integers as bigint, so a float such as 1.0 stays distinguishable.
      if (typeof raw !== 'bigint') throw mismatch(expected, raw)
      if (raw < BigInt(min) || raw > BigInt(max)) throw mismatch(expected, raw)
      return Number(raw)
    },
    render: (v) => String(v),
  }
}

const DURATION_UNITS: Record<string, bigint> = { ms: 1n, s: 1000n, m: 60_000n, h: 3_600_000n }
const DURATION_PART = /(\d+)(?:\.(\d+))?(ms|h|m|s)/y

/**
 * Parse "3s", "500ms", "1m30s", "1.5s", "0" to integer milliseconds. Returns a complaint
 * string instead of throwing so callers can label it.
 */
export function parseDurationMs (s: string): number | string {
  if (s === '0') return 0
  if (s.length === 0 || s.length > 64) return 'empty or too long'
  let total = 0n
  let pos = 0
  while (pos < s.length) {
    DURATION_PART.lastIndex = pos
    const m = DURATION_PART.exec(s)
    if (m === null) return `cannot read "${s.slice(pos, pos + 12)}" (units: ms, s, m, h)`
    const [, whole = '', frac = '', unit = ''] = m
    const scale = DURATION_UNITS[unit] ?? 0n
    // value = (whole + frac / 10^len) * scale, which must come out whole in ms.
    const denom = 10n ** BigInt(frac.length)
    const num = (BigInt(whole) * denom + BigInt(frac === '' ? '0' : frac)) * scale
    if (num % denom !== 0n) return `"${m[0]}" is not a whole number of milliseconds`
    total += num / denom
    pos = DURATION_PART.lastIndex
  }
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) return 'too large'
  return Number(total)
}

/** Render milliseconds the way Go's Duration.String() would for whole ms: "1m30s", "500ms", "0s". */
export function formatDurationMs (ms: number): string {
  if (ms === 0) return '0s'
  if (ms < 1000) return `${ms}ms`
  let rest = ms
  let out = ''
  const h = Math.floor(rest / 3_600_000)
  rest -= h * 3_600_000
  const m = Math.floor(rest / 60_000)
  rest -= m * 60_000
  if (h > 0) out += `${h}h`
  if (h > 0 || m > 0) out += `${m}m`
  const sec = Math.floor(rest / 1000)
  const milli = rest - sec * 1000
  out += milli === 0 ? `${sec}s` : `${sec}.${String(milli).padStart(3, '0').replace(/0+$/, '')}s`
  return out
}

export function durationField (o: { doc: string, default: number, min?: number, max?: number }): Field<number> {
  const min = o.min ?? 0
  const max = o.max ?? 24 * 3_600_000
  const expected = `a duration like "500ms", "3s" or "1m30s" in [${formatDurationMs(min)}, ${formatDurationMs(max)}]`
  return {
    expected,
    defaultValue: o.default,
    doc: o.doc,
    parse (raw) {
      if (typeof raw !== 'string') throw mismatch(expected, raw)
      const ms = parseDurationMs(raw)
      if (typeof ms === 'string') throw new FieldError(`expected ${expected}, got ${JSON.stringify(raw.slice(0, 40))}: ${ms}`)
      if (ms < min || ms > max) throw mismatch(expected, raw)
      return ms
    },
    render: (v) => tomlString(formatDurationMs(v)),
  }
}

export function stringListField (o: { doc: string, default: string[], item: Field<string>, max?: number, unique?: boolean }): Field<string[]> {
  const max = o.max ?? 1000
  const expected = `an array of strings, each ${o.item.expected}`
  return {
    expected,
    defaultValue: o.default,
    doc: o.doc,
    parse (raw) {
      if (!Array.isArray(raw)) throw mismatch(expected, raw)
      if (raw.length > max) throw new FieldError(`expected at most ${max} items, got ${raw.length}`)
      const seen = new Set<string>()
      return raw.map((item, i) => {
        let v: string
        try {
          v = o.item.parse(item)
        } catch (err) {
          if (err instanceof FieldError) throw new FieldError(err.message, `[${i}]`)
          throw err
        }
        if (o.unique === true && seen.has(v)) throw new FieldError(`duplicate entry ${JSON.stringify(v)}`, `[${i}]`)
        seen.add(v)
        return v
      })
    },
    // One item per line once there are several: easier to read and to diff.
    render: (v) => (v.length === 0 ? '[]' : v.length === 1 ? `[${tomlString(v[0] ?? '')}]` : `[\n${v.map((x) => `  ${tomlString(x)},\n`).join('')}]`),
  }
}

// ---- addresses ---------------------------------------------------------------------------

const HOSTNAME = /^(?=.{1,253}$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const IPV6_BRACKETED = /^\[[0-9a-fA-F:.]{2,45}\]$/

export interface HostPort { host: string, port: number }

/** Split "host:port" / "[v6]:port"; returns a complaint on failure. */
export function parseHostPort (s: string, allowEmptyHost = false): HostPort | string {
  const i = s.lastIndexOf(':')
  if (i < 0) return 'missing ":port"'
  const host = s.slice(0, i)
  const portText = s.slice(i + 1)
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return `bad port ${JSON.stringify(portText)}`
  if (host === '' && !allowEmptyHost) return 'missing host'
  if (host !== '' && !IPV4.test(host) && !IPV6_BRACKETED.test(host) && !HOSTNAME.test(host)) {
    return `bad host ${JSON.stringify(host.slice(0, 40))}`
  }
  return { host, port: Number(portText) }
}

/** A listen address "tcp://host:port" (CometBFT laddr); port 0 picks a free port. */
export function tcpAddrField (o: { doc: string, default: string }): Field<string> {
  return stringField({
    doc: o.doc,
    default: o.default,
    expected: 'an address like "tcp://127.0.0.1:26657"',
    check: (s) => {
      if (!s.startsWith('tcp://')) return 'must start with tcp://'
      const hp = parseHostPort(s.slice('tcp://'.length))
      return typeof hp === 'string' ? hp : undefined
    },
  })
}

/** A plain "host:port" listen address (prometheus_listen_addr). */
export function hostPortField (o: { doc: string, default: string }): Field<string> {
  return stringField({
    doc: o.doc,
    default: o.default,
    expected: 'an address like "127.0.0.1:26660"',
    check: (s) => {
      const hp = parseHostPort(s)
      return typeof hp === 'string' ? hp : undefined
    },
  })
}

/**
 * Node id: the libp2p peer id of an Ed25519 node key (base58btc of an identity multihash,
 * always `12D3KooW` + 44 characters). The p2p layer parses it fully at start.
 */
export const NODE_ID_PATTERN = /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/

export const nodeIdItem = stringField({
  doc: '',
  default: '',
  pattern: NODE_ID_PATTERN,
  expected: 'a node id (a libp2p Ed25519 peer id, 12D3KooW…)',
})

export interface PeerAddress { id: string, host: string, port: number }

/** Parse "id@host:port" (CometBFT persistent_peers entry). */
export function parsePeerAddress (s: string): PeerAddress | string {
  const at = s.indexOf('@')
  if (at < 0) return 'missing "id@"'
  const id = s.slice(0, at)
  if (!NODE_ID_PATTERN.test(id)) return 'the id must be a libp2p Ed25519 peer id (12D3KooW…, see `aidledger show-node-id`)'
  const hp = parseHostPort(s.slice(at + 1))
  if (typeof hp === 'string') return hp
  if (hp.port === 0) return 'port 0 cannot be dialled'
  return { id, ...hp }
}

export const peerItem = stringField({
  doc: '',
  default: '',
  expected: 'a peer address "id@host:port"',
  check: (s) => {
    const p = parsePeerAddress(s)
    return typeof p === 'string' ? p : undefined
  },
})
