/**
 * Ordered scans over the flat value table ('v' key → latest committed value), overlaid
 * with write sets not yet committed. The tree is keyed by SHA-256(key), so it has no
 * useful order; this table, kept in the commit batch, is what makes prefix scans cheap.
 */
import { TAG_VALUE, plain, valueKey } from './node.ts'
import { ENC, type Entry, type IterateOptions, type StoreDb } from './types.ts'

type Overlay = Map<string, { key: Uint8Array, value: Uint8Array | null }>

function cmp (a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b)
}

/** The smallest key greater than every key starting with `prefix`, or null if none. */
function prefixEnd (prefix: Uint8Array): Uint8Array | null {
  const out = prefix.slice()
  for (let i = out.length - 1; i >= 0; i--) {
    if ((out[i] as number) < 0xff) {
      out[i] = (out[i] as number) + 1
      return out.slice(0, i + 1)
    }
  }
  return null
}

/**
 * Up to `o.limit` entries with keys starting with `prefix`, in key order (or reverse),
 * from `o.from` on (inclusive). `overlays` are write sets, newest first; a null value in
 * them hides the committed entry. Arguments are checked by the caller.
 */
export async function scanFlat (db: StoreDb, prefix: Uint8Array, o: IterateOptions, overlays: Overlay[]): Promise<Entry[]> {
  const reverse = o.reverse === true
  const from = o.from
  const end = prefixEnd(prefix)
  const inRange = (k: Uint8Array): boolean =>
    cmp(k.subarray(0, prefix.length), prefix) === 0 &&
    (from === undefined || (reverse ? cmp(k, from) <= 0 : cmp(k, from) >= 0))
  const range: { gte: Uint8Array, lt?: Uint8Array, lte?: Uint8Array } = {
    gte: valueKey(!reverse && from !== undefined && cmp(from, prefix) > 0 ? from : prefix),
  }
  if (reverse && from !== undefined && (end === null || cmp(from, end) < 0)) range.lte = valueKey(from)
  else range.lt = end === null ? Uint8Array.of(TAG_VALUE + 1) : valueKey(end)

  const overlay: Array<{ key: Uint8Array, value: Uint8Array | null }> = []
  const seen = new Set<string>()
  for (const m of overlays) {
    for (const [hex, e] of m) {
      if (seen.has(hex) || !inRange(e.key)) continue
      seen.add(hex)
      overlay.push(e)
    }
  }
  overlay.sort((a, b) => (reverse ? cmp(b.key, a.key) : cmp(a.key, b.key)))

  const out: Entry[] = []
  const it = db.iterator({ ...ENC, ...range, reverse })
  try {
    let buf: Array<[Uint8Array, Uint8Array]> = []
    let bi = 0
    let oi = 0
    let dbDone = false
    while (out.length < o.limit) {
      if (bi >= buf.length && !dbDone) {
        buf = await it.nextv(Math.min(1000, o.limit - out.length + overlay.length - oi))
        bi = 0
        if (buf.length === 0) dbDone = true
      }
      const d = bi < buf.length ? buf[bi] : undefined
      const ov = overlay[oi]
      if (d === undefined && ov === undefined) break
      const dk = d === undefined ? undefined : d[0].subarray(1)
      const c = dk === undefined ? 1 : ov === undefined ? -1 : (reverse ? -1 : 1) * cmp(dk, ov.key)
      if (c < 0) {
        out.push({ key: plain(dk as Uint8Array).slice(), value: plain((d as [Uint8Array, Uint8Array])[1]) })
        bi++
      } else {
        if (c === 0) bi++
        const e = ov as { key: Uint8Array, value: Uint8Array | null }
        if (e.value !== null) out.push({ key: e.key.slice(), value: e.value.slice() })
        oi++
      }
    }
  } finally {
    await it.close()
  }
  return out
}
