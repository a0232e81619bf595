/**
 * Metric names referenced by a PromQL expression, for checking the shipped alert rules and
 * dashboard against what the node exports. Understands enough PromQL for that: strings,
 * label matchers `{…}`, ranges and subqueries `[…]`, comments, numbers and durations,
 * Grafana variables (`$x`, `${x}`, `[[x]]`), function calls `f(…)`, aggregation operators
 * and the label lists after by / without / on / ignoring / group_left / group_right.
 * An identifier that is none of those is a metric name (or a recording rule name).
 */

/** Keywords and aggregation operators: never metric names, with or without `(` after them. */
const KEYWORDS = new Set([
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'atan2',
  'sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile',
  'limitk', 'limit_ratio', 'inf', 'nan',
])
/** Keywords followed by a parenthesised list of label names. */
const LABEL_LIST = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'])

const IDENT_START = /[a-zA-Z_:]/
const IDENT = /[a-zA-Z0-9_:]/

function skipString (s: string, i: number): number {
  const q = s[i]
  i++
  while (i < s.length && s[i] !== q) i += s[i] === '\\' && q !== '`' ? 2 : 1
  if (i >= s.length) throw new Error(`unterminated string in ${JSON.stringify(s)}`)
  return i + 1
}

/** Index just past the bracket that closes the one at `i`, skipping strings inside. */
function skipBracket (s: string, i: number, open: string, close: string): number {
  let depth = 0
  while (i < s.length) {
    const c = s[i]!
    if (c === '"' || c === '\'' || c === '`') { i = skipString(s, i); continue }
    if (c === open) depth++
    else if (c === close && --depth === 0) return i + 1
    i++
  }
  throw new Error(`unbalanced ${open}${close} in ${JSON.stringify(s)}`)
}

function nextNonSpace (s: string, i: number): number {
  while (i < s.length && /\s/.test(s[i]!)) i++
  return i
}

export function metricNamesIn (expr: string): string[] {
  const out = new Set<string>()
  const s = expr
  let i = 0
  while (i < s.length) {
    const c = s[i]!
    if (c === '"' || c === '\'' || c === '`') { i = skipString(s, i); continue }
    if (c === '#') { while (i < s.length && s[i] !== '\n') i++; continue }
    if (c === '{') { i = skipBracket(s, i, '{', '}'); continue }
    if (c === '[') {
      // Grafana's old [[var]] syntax, or a range / subquery
      i = s[i + 1] === '[' ? skipBracket(s, i + 1, '[', ']') + 1 : skipBracket(s, i, '[', ']')
      continue
    }
    if (c === '$') {
      i++
      if (s[i] === '{') i = skipBracket(s, i, '{', '}')
      else while (i < s.length && IDENT.test(s[i]!)) i++
      continue
    }
    if (/[0-9.]/.test(c)) { while (i < s.length && /[0-9a-zA-Z_.]/.test(s[i]!)) i++; continue }
    if (IDENT_START.test(c)) {
      const start = i
      while (i < s.length && IDENT.test(s[i]!)) i++
      const word = s.slice(start, i)
      const j = nextNonSpace(s, i)
      if (LABEL_LIST.has(word)) {
        if (s[j] === '(') i = skipBracket(s, j, '(', ')')
        continue
      }
      if (KEYWORDS.has(word.toLowerCase())) continue
      if (s[j] === '(') continue // a function call
      out.add(word)
      continue
    }
    i++
  }
  return [...out]
}

/** A histogram's series names `x_bucket`, `x_sum`, `x_count` → `x` when `x` is a known histogram. */
export function familyOf (name: string, histograms: ReadonlySet<string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix) && histograms.has(name.slice(0, -suffix.length))) return name.slice(0, -suffix.length)
  }
  return name
}
