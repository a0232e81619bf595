/**
 * JSON values and their canonical bytes: RFC 8785 (JSON Canonicalization Scheme) for the
 * values JSON.parse can produce — object keys sorted by UTF-16 code units, no whitespace,
 * strings and numbers serialised as ECMAScript's JSON.stringify does (which is how RFC 8785
 * defines them). Used for the genesis document hash, so any tool implementing RFC 8785 can
 * reproduce it.
 *
 * Objects here may carry a "__proto__" key as an own property (JSON.parse makes one); the
 * serialiser only reads own keys and never assigns through them.
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** Deeper nesting is refused before any recursive walk can exhaust the stack. */
export const MAX_JSON_DEPTH = 128

/** Returns a complaint if `v` is not plain JSON data (finite numbers, plain objects, arrays) within the depth limit. */
export function checkJsonValue (v: unknown, depth = 0): string | undefined {
  if (depth > MAX_JSON_DEPTH) return `nested deeper than ${MAX_JSON_DEPTH} levels`
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return undefined
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : 'contains a non-finite number'
  if (Array.isArray(v)) {
    for (const x of v) {
      const why = checkJsonValue(x, depth + 1)
      if (why !== undefined) return why
    }
    return undefined
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v) as unknown
    if (proto !== Object.prototype && proto !== null) return 'contains a non-plain object'
    for (const k of Object.keys(v)) {
      const why = checkJsonValue((v as Record<string, unknown>)[k], depth + 1)
      if (why !== undefined) return why
    }
    return undefined
  }
  return `contains a ${typeof v}`
}

function compareUtf16 (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function write (v: JsonValue, out: string[]): void {
  if (v === null || typeof v !== 'object') {
    out.push(JSON.stringify(v))
    return
  }
  if (Array.isArray(v)) {
    out.push('[')
    v.forEach((x, i) => {
      if (i > 0) out.push(',')
      write(x, out)
    })
    out.push(']')
    return
  }
  out.push('{')
  Object.keys(v).sort(compareUtf16).forEach((k, i) => {
    if (i > 0) out.push(',')
    out.push(JSON.stringify(k), ':')
    write(v[k] as JsonValue, out)
  })
  out.push('}')
}

/** RFC 8785 canonical JSON text of `v` (which must pass checkJsonValue). */
export function canonicalJson (v: JsonValue): string {
  const out: string[] = []
  write(v, out)
  return out.join('')
}

/** Deep copy of a JSON value (own keys only; safe for "__proto__" keys). */
export function cloneJson<T extends JsonValue> (v: T): T {
  if (v === null || typeof v !== 'object') return v
  if (Array.isArray(v)) return v.map((x) => cloneJson(x)) as T
  const out: Record<string, JsonValue> = {}
  for (const k of Object.keys(v)) {
    Object.defineProperty(out, k, { value: cloneJson((v as Record<string, JsonValue>)[k] as JsonValue), enumerable: true, writable: true, configurable: true })
  }
  return out as T
}
