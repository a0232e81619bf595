/**
 * Scraping a running node's /metrics over HTTP (issue: operators' view, tests item):
 * fetch, parse the exposition strictly, and check what an operator would look at.
 */
import { EXPECTED } from '../src/metrics-expected.ts'
import { type Family, parseExposition } from '../src/metrics-exposition.ts'

export type Scrape = Map<string, Family>

export async function scrapeMetrics (port: number): Promise<Scrape> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) })
  if (res.status !== 200) throw new Error(`GET /metrics on ${port}: HTTP ${res.status}`)
  return parseExposition(await res.text())
}

/** The sum of a family's samples named `sample` (default the family name). */
export function total (s: Scrape, family: string, sample = family): number {
  const f = s.get(family)
  if (f === undefined) throw new Error(`no family ${family}`)
  return f.samples.filter((x) => x.name === sample).reduce((a, x) => a + x.value, 0)
}

/** Every family of the catalogue that is missing, or has a type other than the catalogue's. */
export function missingFamilies (s: Scrape, namespace = 'aidledger'): string[] {
  const out: string[] = []
  for (const [name, type] of EXPECTED) {
    const f = s.get(`${namespace}_${name}`)
    if (f === undefined) out.push(`${namespace}_${name} (absent)`)
    else if (f.type !== type) out.push(`${namespace}_${name} (${f.type}, expected ${type})`)
  }
  return out
}

/** Samples whose chain_id label is not `chainId`. */
export function foreignChainSamples (s: Scrape, chainId: string): string[] {
  const out: string[] = []
  for (const f of s.values()) for (const x of f.samples) if (x.labels.chain_id !== chainId) out.push(x.name)
  return out
}
