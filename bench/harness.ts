/**
 * Tiny shared benchmark harness: a timing loop and table / JSON-lines output, reused by
 * every `npm run bench:*` script.
 *
 *   measure(fn, opts)           ops/s of a sync or async fn (warm-up, rounds, median)
 *   measureInterleaved(fns)     the same for several fns run in alternating rounds, so a
 *                               comparison (e.g. wrapper vs raw library) sees the same load
 *   runBench(cases, argv)       runs cases in order, printing each row as it completes:
 *                               a table by default, `--json` one {"name","unit","value"}
 *                               object per line; `--filter <substring>` selects cases.
 */
import { hrtime } from 'node:process'

export interface BenchRow {
  name: string
  unit: string
  value: number
}

/** A named case yielding one or more rows (e.g. hashes/s and MB/s of one measurement). */
export interface BenchCase {
  name: string
  run: () => Promise<BenchRow[]> | BenchRow[]
}

/** A group of cases sharing setup (keys, workers); `close` releases it after the run. */
export interface BenchGroup {
  cases: BenchCase[]
  close?: () => Promise<void> | void
}

export interface MeasureOptions {
  /** Operations one call of fn performs (a batch); default 1. */
  opsPerCall?: number
  /** Warm-up time before measuring; default 300 ms. */
  warmupMs?: number
  /** Measured time per round; default 300 ms. */
  roundMs?: number
  /** Rounds; the median round rate is reported. Default 5. */
  rounds?: number
}

type Fn = () => unknown

const nowMs = (): number => Number(hrtime.bigint()) / 1e6

function isThenable (v: unknown): v is PromiseLike<unknown> {
  return typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
}

/** Run fn for at least `ms`; returns calls per second. Awaits fn only if it returns a promise. */
async function timeFor (fn: Fn, ms: number): Promise<number> {
  let calls = 0
  const start = nowMs()
  let elapsed = 0
  while (elapsed < ms) {
    // Read the clock about once a millisecond: every call for slow fns, in bursts for fast ones.
    const burst = calls < 8 ? 1 : Math.min(1024, Math.max(1, Math.floor(calls / Math.max(elapsed, 1e-3))))
    for (let i = 0; i < burst; i++) {
      const r = fn()
      if (isThenable(r)) await r
    }
    calls += burst
    elapsed = nowMs() - start
  }
  return calls / (elapsed / 1000)
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2
}

/** Operations per second of fn (median of rounds). */
export async function measure (fn: Fn, opts: MeasureOptions = {}): Promise<number> {
  const [r] = await measureInterleaved([fn], opts)
  return r as number
}

/** Operations per second of each fn, rounds alternating between them (same load for all). */
export async function measureInterleaved (fns: Fn[], opts: MeasureOptions = {}): Promise<number[]> {
  const { opsPerCall = 1, warmupMs = 300, roundMs = 300, rounds = 5 } = opts
  for (const fn of fns) await timeFor(fn, warmupMs)
  const samples: number[][] = fns.map(() => [])
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < fns.length; i++) {
      (samples[i] as number[]).push(await timeFor(fns[i] as Fn, roundMs) * opsPerCall)
    }
  }
  return samples.map(median)
}

function formatValue (v: number): string {
  if (v >= 100) return Math.round(v).toLocaleString('en-US')
  if (v >= 1) return v.toFixed(2)
  return v.toPrecision(3)
}

export interface RunOptions {
  json: boolean
  filter: string | undefined
}

export function parseArgs (argv: readonly string[]): RunOptions {
  const fi = argv.indexOf('--filter')
  return { json: argv.includes('--json'), filter: fi >= 0 ? argv[fi + 1] : undefined }
}

/**
 * Run the groups' cases in order and print rows as they come; then the rows `derive`
 * computes from them (ratios against targets). Returns all rows.
 */
export async function runBench (
  groups: BenchGroup[],
  argv: readonly string[] = process.argv.slice(2),
  derive?: (rows: BenchRow[]) => BenchRow[],
): Promise<BenchRow[]> {
  const { json, filter } = parseArgs(argv)
  const all: BenchRow[] = []
  const print = (row: BenchRow): void => {
    all.push(row)
    if (json) console.log(JSON.stringify({ name: row.name, unit: row.unit, value: Number(row.value.toPrecision(6)) }))
    else console.log(`${row.name.padEnd(34)} ${formatValue(row.value).padStart(16)}  ${row.unit}`)
  }
  if (!json) {
    console.log(`${'name'.padEnd(34)} ${'value'.padStart(16)}  unit`)
    console.log(`${'-'.repeat(34)} ${'-'.repeat(16)}  ${'-'.repeat(8)}`)
  }
  try {
    for (const g of groups) {
      for (const c of g.cases) {
        if (filter !== undefined && !c.name.includes(filter)) continue
        for (const row of await c.run()) print(row)
      }
    }
  } finally {
    for (const g of groups) await g.close?.()
  }
  if (derive !== undefined) for (const row of derive([...all])) print(row)
  return all
}
