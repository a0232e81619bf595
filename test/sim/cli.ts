/**
 * Command line of the deterministic simulator (`npm run sim -- …`):
 *
 *   --seed S                 replay one seed verbosely (every delivery, engine logs, checks)
 *   --seeds N [--start K]    run seeds K..K+N−1 (K default 1) and print a summary
 *   --validators 4|7|10      fix n (default: mixed per seed)
 *   --mix none|network|crash|byzantine|all   fix the fault mix (default: cycled per seed)
 *   --honest-fault           run honest nodes with the core's prevoteIgnoringLock bug
 *   --log-level debug|info|warn|error        engine log level with --seed (default info)
 *   --quiet                  with --seed: only the result line
 *   --progress N             with --seeds: a progress line every N seeds (default 100)
 *
 * Exit status 1 when any seed violates a check (each violation prints its seed, the fault
 * mix and the replay command), 2 on a usage error.
 */
import { describeScenario, FAULT_MIXES, type FaultMix } from './scenario.ts'
import { runSeed, runSeeds, type RunSeedOptions, type SeedResult } from './runner.ts'
import { SimViolation } from './checks.ts'

interface Args {
  seed?: number
  seeds?: number
  start: number
  validators?: 4 | 7 | 10
  mix?: FaultMix
  honestFault: boolean
  logLevel: 'debug' | 'info' | 'warn' | 'error'
  quiet: boolean
  progress: number
}

function usage (msg: string): never {
  process.stderr.write(`sim: ${msg}\nusage: npm run sim -- --seed S | --seeds N [--start K] [--validators 4|7|10] [--mix ${FAULT_MIXES.join('|')}] [--honest-fault]\n`)
  process.exit(2)
}

function int (v: string | undefined, name: string): number {
  if (v === undefined || !/^\d+$/.test(v)) usage(`${name} needs a non-negative integer`)
  return Number(v)
}

function parse (argv: string[]): Args {
  const a: Args = { start: 1, honestFault: false, logLevel: 'info', quiet: false, progress: 100 }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const v = argv[i + 1]
    switch (k) {
      case '--seed': a.seed = int(v, k); i++; break
      case '--seeds': a.seeds = int(v, k); i++; break
      case '--start': a.start = int(v, k); i++; break
      case '--progress': a.progress = Math.max(1, int(v, k)); i++; break
      case '--validators': {
        const n = int(v, k)
        if (n !== 4 && n !== 7 && n !== 10) usage('--validators takes 4, 7 or 10')
        a.validators = n
        i++
        break
      }
      case '--mix':
        if (!(FAULT_MIXES as readonly string[]).includes(v ?? '')) usage(`--mix takes one of ${FAULT_MIXES.join(', ')}`)
        a.mix = v as FaultMix
        i++
        break
      case '--log-level':
        if (!['debug', 'info', 'warn', 'error'].includes(v ?? '')) usage('--log-level takes debug, info, warn or error')
        a.logLevel = v as Args['logLevel']
        i++
        break
      case '--honest-fault': a.honestFault = true; break
      case '--quiet': a.quiet = true; break
      default: usage(`unknown argument ${String(k)}`)
    }
  }
  if ((a.seed === undefined) === (a.seeds === undefined)) usage('give exactly one of --seed and --seeds')
  return a
}

function fmtMs (ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`
}

function resultLine (r: SeedResult): string {
  const v = r.violations[0]
  return `seed ${r.seed}: ${v === undefined ? 'ok' : `VIOLATION ${v.kind}`} heights ${r.minHeight}..${r.maxHeight} ` +
    `sim ${fmtMs(r.simMs)} wall ${fmtMs(r.wallMs)} events ${r.events} crashes ${r.crashes} ` +
    `forged ${r.byzantine.forgedProposals}p/${r.byzantine.forgedVotes}v trace ${r.traceHash.slice(0, 16)}`
}

async function main (): Promise<void> {
  const a = parse(process.argv.slice(2))
  const base: RunSeedOptions = {
    ...(a.validators === undefined ? {} : { validators: a.validators }),
    ...(a.mix === undefined ? {} : { mix: a.mix }),
    ...(a.honestFault ? { honestFault: 'prevoteIgnoringLock' as const } : {}),
  }
  if (a.seed !== undefined) {
    const out = (l: string): void => { process.stdout.write(l + '\n') }
    const r = await runSeed(a.seed, { ...base, ...(a.quiet ? {} : { verbose: out, logLevel: a.logLevel }) })
    out(`scenario: ${describeScenario(r.scenario)}`)
    out(resultLine(r))
    out(`network: ${JSON.stringify(r.network)}`)
    for (const v of r.violations) out(new SimViolation(r.seed, v, r.description, r.replay).message)
    if (r.knownIssue !== null) out(`known engine issue: ${r.knownIssue}; split views: ${JSON.stringify(r.splitViews)}`)
    if (r.engineHalts.length > 0) out(`engine halts: ${JSON.stringify(r.engineHalts)}`)
    process.exitCode = r.violations.length > 0 ? 1 : 0
    return
  }
  const count = a.seeds as number
  let done = 0
  const s = await runSeeds(a.start, count, base, (r) => {
    done++
    if (r.violations.length > 0) {
      for (const v of r.violations.slice(0, 1)) {
        process.stdout.write(new SimViolation(r.seed, v, r.description, r.replay).message + (r.knownIssue === null ? '' : `\n  known engine issue: ${r.knownIssue}`) + '\n')
      }
    }
    if (done % a.progress === 0) process.stdout.write(`… ${done}/${count} seeds, last: ${resultLine(r)}\n`)
  })
  const lines = [
    `seeds run:        ${s.seeds} (${a.start}..${a.start + s.seeds - 1}${a.validators === undefined ? ', n ∈ {4,7,10}' : `, n=${a.validators}`}, mix ${a.mix ?? 'cycled over none/network/crash/byzantine/all'}${a.honestFault ? ', HONEST FAULT prevoteIgnoringLock' : ''})`,
    `heights decided:  ${s.heights} (${(s.heights / Math.max(1, s.seeds)).toFixed(1)} per seed)`,
    `violations:       ${s.violations.length}${s.violations.length > 0 ? ` (seeds ${s.violations.map((v) => `${v.seed}:${v.violation.kind}${v.knownIssue === null ? '' : `[${v.knownIssue}]`}`).slice(0, 30).join(', ')}${s.violations.length > 30 ? ', …' : ''})` : ''}`,
    `  of which known engine issue: ${s.violations.filter((v) => v.knownIssue !== null).length}`,
    `crashes:          ${s.crashes}`,
    `byzantine forgeries: ${s.byzantineForgeries}`,
    `simulated time:   ${fmtMs(s.simMs)} (${fmtMs(s.simMs / Math.max(1, s.seeds))} per seed)`,
    `events:           ${s.events}`,
    `wall time:        ${fmtMs(s.wallMs)} (${fmtMs(s.wallMs / Math.max(1, s.seeds))} per seed; slowest seed ${s.slowest.seed}: ${fmtMs(s.slowest.wallMs)})`,
  ]
  process.stdout.write(lines.join('\n') + '\n')
  process.exitCode = s.violations.length > 0 ? 1 : 0
}

main().catch((err: unknown) => {
  process.stderr.write(`sim: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(2)
})
