/**
 * The event query language of CometBFT v0.38 (libs/pubsub/query and query/syntax): a real
 * scanner and recursive-descent parser for
 *
 *   query      = condition { "AND" condition } EOF
 *   condition  = tag ( "=" (string | number | time | date)
 *                    | ("<" | "<=" | ">" | ">=") (number | time | date)
 *                    | "CONTAINS" string
 *                    | "EXISTS" )
 *   tag        = [_\p{L}][\p{L}\p{N}._-]*          e.g. tm.event, tx.height, disbursement.program
 *   string     = '...'   (no escapes; a quote ends it)
 *   number     = \d+(\.\d+)?
 *   time       = TIME 2006-01-02T15:04:05Z07:00    (RFC 3339, year 1900..2999)
 *   date       = DATE 2006-01-02
 *
 * and the matcher over CometBFT's flattened events (`{"type.key": [values]}`): every
 * condition must hold for at least one value of its tag (a tag equal to an event type
 * alone is matched against ""), and a query never matches an empty event set.
 *
 * Numbers are compared exactly as decimals (CometBFT uses big.Float; here digit strings,
 * so no float ever decides a match). As in CometBFT an attribute value counts as a number
 * by its leading `\d+(\.\d+)?` ("8atom" is 8); negative values never compare. Times are
 * compared at nanosecond precision (BigInt), dates at midnight UTC.
 *
 * Errors are ERR_RPC_BAD_QUERY with the offset, like CometBFT's "offset 9: got …, wanted …".
 */
import { AidError } from '../src/errors.ts'

/** CometBFT rpc/core's maxQueryLength. */
export const MAX_QUERY_LENGTH = 512

export type QueryOp = '=' | '<' | '<=' | '>' | '>=' | 'CONTAINS' | 'EXISTS'
export type ArgType = 'string' | 'number' | 'time' | 'date'

export interface QueryArg {
  type: ArgType
  /** The literal text (without quotes or the TIME/DATE label). */
  text: string
}

export interface Condition {
  tag: string
  op: QueryOp
  /** Absent only for EXISTS. */
  arg?: QueryArg
}

export interface Query {
  readonly conditions: readonly Condition[]
  /** Canonical text (CometBFT's Query.String()); subscriptions are keyed by it. */
  readonly text: string
  /** Does the flattened event map satisfy every condition? */
  matches: (events: Readonly<Record<string, readonly string[]>>) => boolean
}

type Tok =
  | { kind: 'tag' | 'string' | 'number' | 'time' | 'date', text: string, pos: number }
  | { kind: 'AND' | 'CONTAINS' | 'EXISTS' | '=' | '<' | '<=' | '>' | '>=' | 'EOF', text: string, pos: number }

const TOKEN_LABEL: Record<Tok['kind'], string> = {
  tag: 'tag', string: 'string', number: 'number', time: 'timestamp', date: 'datestamp',
  AND: 'AND operator', CONTAINS: 'CONTAINS operator', EXISTS: 'EXISTS operator',
  '=': '= operator', '<': '< operator', '<=': '<= operator', '>': '> operator', '>=': '>= operator', EOF: 'end of query',
}

const bad = (pos: number, detail: string): AidError => new AidError('ERR_RPC_BAD_QUERY', `offset ${pos}: ${detail}`, 'query')

const isDigit = (c: string): boolean => c >= '0' && c <= '9'
const isLetter = (c: string): boolean => /\p{L}/u.test(c)
const isFirstTagChar = (c: string): boolean => c === '_' || isLetter(c) || /\p{N}/u.test(c)
const isTagChar = (c: string): boolean => c === '.' || c === '_' || c === '-' || isLetter(c) || /\p{N}/u.test(c)
const isSpace = (c: string): boolean => /\s/u.test(c)

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/

/** Nanoseconds since the epoch, or undefined when `s` is not RFC 3339 (as Go's time.Parse(RFC3339)). */
export function parseTimeNs (s: string): bigint | undefined {
  const m = RFC3339.exec(s)
  if (m === null) return undefined
  const [, y, mo, d, h, mi, sec, frac = '', zone = 'Z'] = m
  const ms = civilMs(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(sec))
  if (ms === undefined) return undefined
  let offsetMin = 0
  if (zone !== 'Z') {
    const oh = Number(zone.slice(1, 3))
    const om = Number(zone.slice(4, 6))
    if (oh > 23 || om > 59) return undefined
    offsetMin = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om)
  }
  return (BigInt(ms) - BigInt(offsetMin) * 60_000n) * 1_000_000n + BigInt((frac + '000000000').slice(0, 9))
}

/** Midnight UTC of a yyyy-mm-dd date in ns, or undefined. */
export function parseDateNs (s: string): bigint | undefined {
  const m = DATE.exec(s)
  if (m === null) return undefined
  const ms = civilMs(Number(m[1]), Number(m[2]), Number(m[3]), 0, 0, 0)
  return ms === undefined ? undefined : BigInt(ms) * 1_000_000n
}

function civilMs (y: number, mo: number, d: number, h: number, mi: number, s: number): number | undefined {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return undefined
  const t = new Date(0)
  t.setUTCFullYear(y, mo - 1, d)
  t.setUTCHours(h, mi, s, 0)
  if (t.getUTCDate() !== d || t.getUTCMonth() !== mo - 1) return undefined // 2021-02-30
  return t.getTime()
}

function scan (src: string): Tok[] {
  const chars = Array.from(src) // code points, so offsets count runes as CometBFT's scanner does
  const toks: Tok[] = []
  let i = 0
  const peek = (k = 0): string => chars[i + k] ?? ''
  while (i < chars.length) {
    const c = peek()
    if (isSpace(c)) { i++; continue }
    const pos = i
    if (isDigit(c)) {
      let text = ''
      while (isDigit(peek())) text += chars[i++]
      if (peek() === '.') {
        text += chars[i++]
        while (isDigit(peek())) text += chars[i++]
      }
      toks.push({ kind: 'number', text, pos })
      continue
    }
    if (isFirstTagChar(c)) {
      let text = ''
      while (isTagChar(peek())) text += chars[i++]
      if ((text === 'TIME' || text === 'DATE') && peek() === ' ') {
        i++
        let lit = ''
        const ok = text === 'TIME' ? (ch: string) => isDigit(ch) || '-T:+Z.'.includes(ch) : (ch: string) => isDigit(ch) || ch === '-'
        while (peek() !== '' && ok(peek())) lit += chars[i++]
        if (text === 'TIME') {
          const ns = parseTimeNs(lit)
          if (ns === undefined || lit.includes('.')) throw bad(pos, `invalid TIME value ${JSON.stringify(lit)}: want RFC 3339 like 2021-11-23T22:04:19-09:00`)
          const year = Number(lit.slice(0, 4))
          if (year < 1900 || year > 2999) throw bad(pos, `timestamp year ${year} out of range`)
          toks.push({ kind: 'time', text: lit, pos })
        } else {
          if (parseDateNs(lit) === undefined) throw bad(pos, `invalid DATE value ${JSON.stringify(lit)}: want 2006-01-02`)
          const year = Number(lit.slice(0, 4))
          if (year < 1900 || year > 2999) throw bad(pos, `datestamp year ${year} out of range`)
          toks.push({ kind: 'date', text: lit, pos })
        }
        continue
      }
      if (text === 'AND' || text === 'EXISTS' || text === 'CONTAINS') toks.push({ kind: text, text, pos })
      else toks.push({ kind: 'tag', text, pos })
      continue
    }
    if (c === "'") {
      i++
      let text = ''
      while (i < chars.length && peek() !== "'") text += chars[i++]
      if (i >= chars.length) throw bad(pos, 'unterminated string (missing closing \')')
      i++
      toks.push({ kind: 'string', text, pos })
      continue
    }
    if (c === '=') { i++; toks.push({ kind: '=', text: '=', pos }); continue }
    if (c === '<' || c === '>') {
      i++
      if (peek() === '=') { i++; toks.push({ kind: c === '<' ? '<=' : '>=', text: c + '=', pos }) } else toks.push({ kind: c, text: c, pos })
      continue
    }
    throw bad(pos, `invalid input ${JSON.stringify(c)}`)
  }
  toks.push({ kind: 'EOF', text: '', pos: chars.length })
  return toks
}

function want (tok: Tok, kinds: ReadonlyArray<Tok['kind']>): void {
  if (kinds.includes(tok.kind)) return
  const labels = kinds.map((k) => TOKEN_LABEL[k])
  const wanted = labels.length === 1 ? labels[0] : `${labels.slice(0, -1).join(', ')} or ${labels[labels.length - 1] ?? ''}`
  throw bad(tok.pos, `got ${TOKEN_LABEL[tok.kind]}${tok.kind === 'EOF' ? '' : ` ${JSON.stringify(tok.text)}`}, wanted ${wanted ?? ''}`)
}

/** Parses the query text into its conditions (the AST of CometBFT's syntax.Parse). */
export function parseConditions (src: string): Condition[] {
  if (typeof src !== 'string') throw new AidError('ERR_RPC_BAD_QUERY', 'query must be a string', 'query')
  const toks = scan(src)
  let k = 0
  const next = (): Tok => toks[k++] ?? { kind: 'EOF', text: '', pos: src.length }
  const conds: Condition[] = []
  for (;;) {
    const tagTok = next()
    want(tagTok, ['tag'])
    const opTok = next()
    want(opTok, ['<=', '>=', '<', '>', '=', 'CONTAINS', 'EXISTS'])
    const op = opTok.kind as QueryOp
    if (op === 'EXISTS') {
      conds.push({ tag: tagTok.text, op })
    } else {
      const argTok = next()
      if (op === '=') want(argTok, ['number', 'time', 'date', 'string'])
      else if (op === 'CONTAINS') want(argTok, ['string'])
      else want(argTok, ['number', 'time', 'date'])
      conds.push({ tag: tagTok.text, op, arg: { type: argTok.kind as ArgType, text: argTok.text } })
    }
    const sep = next()
    if (sep.kind === 'EOF') return conds
    want(sep, ['AND'])
  }
}

export function conditionText (c: Condition): string {
  if (c.arg === undefined) return `${c.tag} ${c.op}`
  const a = c.arg
  const arg = a.type === 'string' ? `'${a.text}'` : a.type === 'time' ? `TIME ${a.text}` : a.type === 'date' ? `DATE ${a.text}` : a.text
  return `${c.tag} ${c.op} ${arg}`
}

// ---- exact decimal comparison ------------------------------------------------------------

interface Decimal { int: string, frac: string }

const LEADING_NUMBER = /^(\d+)(?:\.(\d+))?/

/** The leading decimal of a value ("8atom" → 8), as CometBFT's extractNum; undefined if none. */
export function leadingDecimal (s: string): Decimal | undefined {
  const m = LEADING_NUMBER.exec(s)
  if (m === null) return undefined
  return { int: (m[1] ?? '0').replace(/^0+(?=\d)/, ''), frac: (m[2] ?? '').replace(/0+$/, '') }
}

export function compareDecimal (a: Decimal, b: Decimal): number {
  if (a.int.length !== b.int.length) return a.int.length < b.int.length ? -1 : 1
  if (a.int !== b.int) return a.int < b.int ? -1 : 1
  const n = Math.max(a.frac.length, b.frac.length)
  const fa = a.frac.padEnd(n, '0')
  const fb = b.frac.padEnd(n, '0')
  return fa === fb ? 0 : fa < fb ? -1 : 1
}

function orderHolds (op: QueryOp, cmp: number): boolean {
  switch (op) {
    case '=': return cmp === 0
    case '<': return cmp < 0
    case '<=': return cmp <= 0
    case '>': return cmp > 0
    case '>=': return cmp >= 0
    default: return false
  }
}

/** A compiled value matcher for one condition (CometBFT's opTypeMap). */
export function valueMatcher (c: Condition): (value: string) => boolean {
  if (c.op === 'EXISTS') return () => true
  const arg = c.arg
  if (arg === undefined) throw new AidError('ERR_RPC_BAD_QUERY', `missing argument for ${c.op}`, 'query')
  switch (arg.type) {
    case 'string':
      if (c.op === 'CONTAINS') return (v) => v.includes(arg.text)
      if (c.op === '=') return (v) => v === arg.text
      break
    case 'number': {
      const want = leadingDecimal(arg.text)
      if (want === undefined) break
      return (v) => {
        const got = leadingDecimal(v)
        return got !== undefined && orderHolds(c.op, compareDecimal(got, want))
      }
    }
    case 'time':
    case 'date': {
      const parse = arg.type === 'time' ? parseTimeNs : parseDateNs
      const want = parse(arg.text)
      if (want === undefined) break
      return (v) => {
        const got = parse(v)
        return got !== undefined && orderHolds(c.op, got === want ? 0 : got < want ? -1 : 1)
      }
    }
  }
  throw new AidError('ERR_RPC_BAD_QUERY', `invalid op/arg combination (${c.op}, ${arg.type})`, 'query')
}

/** Does one condition hold for the flattened events (any value of its tag; a bare event type matches ""). */
export function conditionHolds (
  c: Condition, match: (v: string) => boolean, events: Readonly<Record<string, readonly string[]>>,
): boolean {
  const values = Object.prototype.hasOwnProperty.call(events, c.tag) ? events[c.tag] : undefined
  if (values !== undefined && values.length > 0) return values.some(match)
  for (const key of Object.keys(events)) {
    const dot = key.lastIndexOf('.')
    if (dot > 0 && key.slice(0, dot) === c.tag) return match('')
  }
  return false
}

/** Parse and compile a query. Throws ERR_RPC_BAD_QUERY with the offset of the problem. */
export function parseQuery (src: string, maxLength = MAX_QUERY_LENGTH): Query {
  if (typeof src !== 'string') throw new AidError('ERR_RPC_BAD_QUERY', 'query must be a string', 'query')
  if (src.length > maxLength) throw new AidError('ERR_RPC_BAD_QUERY', 'maximum query length exceeded', 'query')
  const conditions = parseConditions(src)
  const compiled = conditions.map((c) => ({ c, match: valueMatcher(c) }))
  return {
    conditions,
    text: conditions.map(conditionText).join(' AND '),
    matches: (events) => {
      if (Object.keys(events).length === 0) return false
      return compiled.every(({ c, match }) => conditionHolds(c, match, events))
    },
  }
}

/** The flattened event map of CometBFT's event bus: "type.key" → values, empty types/keys skipped. */
export function flattenEvents (
  events: ReadonlyArray<{ type: string, attributes: ReadonlyArray<{ key: string, value: string }> }>,
  into: Record<string, string[]> = {},
): Record<string, string[]> {
  for (const ev of events) {
    if (ev.type === '') continue
    for (const a of ev.attributes) {
      if (a.key === '') continue
      const tag = `${ev.type}.${a.key}`
      const list = Object.prototype.hasOwnProperty.call(into, tag) ? into[tag] : undefined
      if (list === undefined) into[tag] = [a.value]
      else list.push(a.value)
    }
  }
  return into
}
