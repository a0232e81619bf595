/**
 * A small, strict parser of the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), for tests: families with
 * HELP and TYPE, samples with labels (escapes \\ \" \n) and values (+Inf, -Inf, NaN).
 * Throws on anything malformed, so a test fails loudly rather than skipping lines.
 */

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export interface Family {
  name: string
  type: string
  help: string
  samples: Sample[]
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*/

function parseValue (s: string, line: string): number {
  if (s === '+Inf') return Infinity
  if (s === '-Inf') return -Infinity
  if (s === 'NaN') return NaN
  const v = Number(s)
  if (s === '' || Number.isNaN(v)) throw new Error(`bad sample value ${JSON.stringify(s)} in line ${JSON.stringify(line)}`)
  return v
}

function parseSample (line: string): Sample {
  const m = NAME.exec(line)
  if (m === null) throw new Error(`bad sample line ${JSON.stringify(line)}`)
  const name = m[0]
  let i = name.length
  const labels: Record<string, string> = {}
  if (line[i] === '{') {
    i++
    while (line[i] !== '}') {
      const lm = LABEL.exec(line.slice(i))
      if (lm === null) throw new Error(`bad label name in ${JSON.stringify(line)}`)
      const label = lm[0]
      i += label.length
      if (line[i] !== '=' || line[i + 1] !== '"') throw new Error(`expected =" after ${label} in ${JSON.stringify(line)}`)
      i += 2
      let v = ''
      for (;;) {
        const c = line[i]
        if (c === undefined) throw new Error(`unterminated label value in ${JSON.stringify(line)}`)
        i++
        if (c === '"') break
        if (c === '\\') {
          const e = line[i++]
          if (e === 'n') v += '\n'
          else if (e === '\\' || e === '"') v += e
          else throw new Error(`bad escape \\${String(e)} in ${JSON.stringify(line)}`)
        } else {
          v += c
        }
      }
      if (Object.prototype.hasOwnProperty.call(labels, label)) throw new Error(`label ${label} twice in ${JSON.stringify(line)}`)
      labels[label] = v
      if (line[i] === ',') i++
      else if (line[i] !== '}') throw new Error(`expected , or } in ${JSON.stringify(line)}`)
    }
    i++
  }
  if (line[i] !== ' ') throw new Error(`expected a space before the value in ${JSON.stringify(line)}`)
  const rest = line.slice(i + 1).trim().split(/\s+/)
  if (rest.length > 2) throw new Error(`trailing fields in ${JSON.stringify(line)}`)
  return { name, labels, value: parseValue(rest[0] ?? '', line) }
}

const SUFFIXES: Record<string, readonly string[]> = {
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count', ''],
}

/** Families by name, in order. A sample must belong to the family whose TYPE came last. */
export function parseExposition (text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  let current: Family | undefined
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      const [, kind, name, ...rest] = line.split(' ')
      if (name === undefined || NAME.exec(name)?.[0] !== name) throw new Error(`bad metadata line ${JSON.stringify(line)}`)
      let f = families.get(name)
      if (f === undefined) {
        f = { name, type: 'untyped', help: '', samples: [] }
        families.set(name, f)
      }
      if (kind === 'HELP') f.help = rest.join(' ')
      else f.type = rest[0] ?? ''
      current = f
      continue
    }
    if (line.startsWith('#')) continue
    const s = parseSample(line)
    if (current === undefined) throw new Error(`sample before any TYPE: ${JSON.stringify(line)}`)
    const ok = s.name === current.name || (SUFFIXES[current.type] ?? []).some((x) => s.name === current!.name + x)
    if (!ok) throw new Error(`sample ${s.name} outside its family (${current.name}, ${current.type})`)
    current.samples.push(s)
  }
  return families
}

/** The value of the one sample of `name` whose labels include `labels`; throws if not exactly one. */
export function sampleValue (families: Map<string, Family>, family: string, labels: Record<string, string> = {}, sampleName = family): number {
  const f = families.get(family)
  if (f === undefined) throw new Error(`no family ${family}`)
  const hits = f.samples.filter((s) => s.name === sampleName && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
  if (hits.length !== 1) throw new Error(`${hits.length} samples of ${sampleName} match ${JSON.stringify(labels)}`)
  return hits[0]!.value
}
