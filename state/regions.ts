/**
 * Region codes (GB/T 2260 administrative divisions, GB/T 10114 townships) and the
 * containment rule every authorization check uses.
 *
 *   national  000000                      (the ministry level)
 *   province  PP0000      PP ≠ 00
 *   city      PPCC00      CC ≠ 00         (prefecture; municipalities use PP01 etc.)
 *   county    PPCCNN      CC ≠ 00, NN ≠ 00
 *   township  PPCCNNTTT   the county code + TTT ≠ 000 (9 digits)
 *
 * `parentRegion` strips one level (township → county → city → province → national), and
 * `regionContains(a, b)` is true when a is b or one of b's ancestors. Containment is
 * reflexive; `strictlyContains` excludes equality. Codes are compared as strings, so no
 * lookup table is needed and nothing here depends on a real division list.
 */
import { AidError } from '../src/errors.ts'
import type { Schema } from '../src/codec/index.ts'

export type RegionLevel = 'national' | 'province' | 'city' | 'county' | 'township'

const SIX = /^\d{6}$/
const NINE = /^\d{9}$/

export function regionLevel (code: string): RegionLevel | null {
  if (NINE.test(code)) {
    if (code.slice(6) === '000') return null
    return regionLevel(code.slice(0, 6)) === 'county' ? 'township' : null
  }
  if (!SIX.test(code)) return null
  if (code === '000000') return 'national'
  const pp = code.slice(0, 2)
  const cc = code.slice(2, 4)
  const nn = code.slice(4, 6)
  if (pp === '00') return null
  if (cc === '00') return nn === '00' ? 'province' : null
  return nn === '00' ? 'city' : 'county'
}

export function parentRegion (code: string): string | null {
  switch (regionLevel(code)) {
    case 'township': return code.slice(0, 6)
    case 'county': return `${code.slice(0, 4)}00`
    case 'city': return `${code.slice(0, 2)}0000`
    case 'province': return '000000'
    default: return null
  }
}

/** The region and its ancestors, most specific first (at most 5 entries). */
export function regionChain (code: string): string[] {
  const out: string[] = []
  let cur: string | null = code
  while (cur !== null) {
    out.push(cur)
    cur = parentRegion(cur)
  }
  return out
}

export function regionContains (outer: string, inner: string): boolean {
  return regionChain(inner).includes(outer)
}

export function strictlyContains (outer: string, inner: string): boolean {
  return outer !== inner && regionContains(outer, inner)
}

/** The ancestor of `code` at `level`, or null when `code` is above that level. */
export function regionAt (code: string, level: RegionLevel): string | null {
  return regionChain(code).find((c) => regionLevel(c) === level) ?? null
}

/** The province code of any region below national; null for national. */
export function provinceOf (code: string): string | null {
  return regionAt(code, 'province')
}

/** A region code field: the decoder rejects anything that is not a well-formed code. */
export const regionCode: Schema<string> = {
  label: 'regionCode',
  toWire: (v, path) => check(v, path),
  fromWire: (w, path) => check(w, path),
}

function check (v: unknown, path: string): string {
  if (typeof v !== 'string') throw new AidError('ERR_CODEC_WRONG_TYPE', 'expected a region code string', path)
  if (v.length > 9 || regionLevel(v) === null) {
    throw new AidError('ERR_CODEC_BAD_VALUE', `${JSON.stringify(v.slice(0, 12))} is not a GB/T 2260 region or township code`, path)
  }
  return v
}
