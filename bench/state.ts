/**
 * Application benchmark: `npm run bench:state` (table) or `npm run bench:state -- --json`
 * (one {"name","unit","value"} per line, as bench:crypto).
 *
 *   npm run bench:state -- [--scales 1e4,1e6] [--data DIR] [--blocks 3] [--block-txs 1000]
 *                          [--no-sync] [--cpu-prof DIR] [--json] [--filter S]
 *
 * For each scale N (registered subjects): a world of N subjects with cases staged at every
 * step (bench/state-world.ts), then 1 warm-up block and 2·blocks measured blocks of
 * `block-txs` mixed, valid, pre-signed txs through `finalizeBlock` + `commit`, alternating
 * the two signature paths:
 *
 *   pre-verified  the node's path: verdicts cached by tx hash in the crypto pool
 *                 (src/crypto/pool.ts `verifyCached`, done outside the timed region, as
 *                 the mempool does on entry); finalizeBlock finds every verdict cached.
 *   cold          every signature verified in finalizeBlock, single-thread, on the app's
 *                 thread (ZIP-215 rule, default backend).
 *
 * Rows per scale L (1e4, 1e6, …), medians over the blocks of each kind:
 *   state.finalize.L        tx/s  pre-verified, wall time of finalizeBlock + the app's commit
 *                                 (finalizeBlock prepares the store version, commit writes
 *                                 it: together the work finalizeBlock did alone when the app
 *                                 wrote its store there, so the row's history stays comparable)
 *   state.finalize.cold.L   tx/s  the same with cold single-thread verification
 *   state.exec.L            tx/s  pre-verified, the same minus the store's two steps
 *   state.commit.L          ms    the store's two steps: prepare (tree update and root, in
 *                                 finalizeBlock) + the batch write (in commit), all measured blocks
 *   state.cpu.L             ms/block  process CPU (all threads) of a pre-verified
 *                                 finalizeBlock + commit: steadier than wall time on a loaded machine
 *   state.rss.L             MB    process RSS after the measured blocks (after gc)
 * and state.rss.ratio (x): RSS of the largest scale over the smallest (target ≤ 1.5).
 *
 * Each scale runs in two child processes: one builds the world (skipped when `--data DIR`
 * already holds it), one opens the store as a restarted node would and measures, so the
 * RSS of a scale is not inflated by the build or by the scale before it. Without --data
 * the world is built in a temp dir removed at the end; with --data it is kept there and
 * each run measures a hard-linked clone (LevelDB never rewrites a table file), leaving
 * the cached world untouched. Per-block times and the RSS split (anon / mapped files) go
 * to stderr. `--cpu-prof DIR` profiles the measuring process (node --cpu-prof) and writes
 * the measured blocks' time windows (windows-L.json, µs on the profile's clock) next to
 * the profile, so a profile can be cut down to finalizeBlock alone.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync, linkSync } from 'node:fs'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { runBench, type BenchRow } from './harness.ts'
import { WORLD_FORMAT, type Manifest, type WorldSpec } from './state-world.ts'

export interface StateBenchOptions {
  scales: number[]
  data: string | undefined
  blocks: number
  blockTxs: number
  sync: boolean
  cpuProf: string | undefined
  /** Child processes' stderr (progress, per-block detail) is dropped. */
  quiet: boolean
}

const THIS_FILE = fileURLToPath(import.meta.url)

function arg (argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 ? argv[i + 1] : undefined
}

export function parseStateArgs (argv: readonly string[]): StateBenchOptions {
  const num = (name: string, def: number): number => {
    const v = arg(argv, name)
    const n = v === undefined ? def : Number(v)
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`)
    return n
  }
  const scales = (arg(argv, 'scales') ?? '1e4,1e6').split(',').map(Number)
  if (scales.some((n) => !Number.isSafeInteger(n) || n < 1)) throw new Error('--scales takes positive integers, e.g. 1e4,1e6')
  const data = arg(argv, 'data')
  const cpuProf = arg(argv, 'cpu-prof')
  return {
    scales,
    data: data === undefined ? undefined : resolve(data),
    blocks: num('blocks', 3),
    blockTxs: num('block-txs', 1000),
    sync: !argv.includes('--no-sync'),
    cpuProf: cpuProf === undefined ? undefined : resolve(cpuProf),
    quiet: argv.includes('--quiet'),
  }
}

/** 10000 → '1e4'; other numbers as they are. */
export function scaleLabel (n: number): string {
  const e = Math.log10(n)
  return Number.isInteger(e) ? `1e${e}` : String(n)
}

function runChild (args: string[], o: StateBenchOptions, extraNodeArgs: string[] = []): Promise<string> {
  return new Promise((resolvePromise, rejectPromise) => {
    const child = spawn(process.execPath, [...process.execArgv, ...extraNodeArgs, THIS_FILE, ...args], {
      stdio: ['ignore', 'pipe', o.quiet ? 'ignore' : 'inherit'],
    })
    let out = ''
    child.stdout.setEncoding('utf8')
    child.stdout.on('data', (d: string) => { out += d })
    child.on('error', rejectPromise)
    child.on('exit', (code, signal) => {
      if (code === 0) resolvePromise(out)
      else rejectPromise(new Error(`bench/state child ${args.slice(0, 2).join(' ')} exited with ${code ?? signal}`))
    })
  })
}

/** A LevelDB directory clone: table files hard-linked (never rewritten), the rest copied. */
function cloneDb (from: string, to: string): void {
  mkdirSync(to, { recursive: true })
  for (const f of readdirSync(from)) {
    if (f === 'LOCK') continue
    if (f.endsWith('.ldb') || f.endsWith('.sst')) linkSync(join(from, f), join(to, f))
    else copyFileSync(join(from, f), join(to, f))
  }
}

/** Builds (or reuses) the world of one scale and measures it; returns its rows. */
async function runScale (n: number, o: StateBenchOptions): Promise<BenchRow[]> {
  const spec: WorldSpec = { n, blockTxs: o.blockTxs, slots: 2 * o.blocks + 1 }
  const label = scaleLabel(n)
  const base = o.data ?? mkdtempSync(join(tmpdir(), 'aid-bench-state-'))
  const worldDir = join(base, `world-${label}-t${o.blockTxs}-s${spec.slots}-f${WORLD_FORMAT}`)
  const workDir = o.data === undefined ? worldDir : join(base, `work-${process.pid}-${label}`)
  try {
    if (!existsSync(join(worldDir, 'manifest.json'))) {
      rmSync(worldDir, { recursive: true, force: true })
      mkdirSync(worldDir, { recursive: true })
      await runChild(['--child', 'build', '--dir', join(worldDir, 'db'), '--spec', JSON.stringify(spec)], o)
    } else if (!o.quiet) {
      process.stderr.write(`state ${label}: reusing the world in ${worldDir}\n`)
    }
    if (workDir !== worldDir) {
      rmSync(workDir, { recursive: true, force: true })
      cloneDb(join(worldDir, 'db'), join(workDir, 'db'))
      copyFileSync(join(worldDir, 'manifest.json'), join(workDir, 'manifest.json'))
    }
    if (o.cpuProf !== undefined) mkdirSync(o.cpuProf, { recursive: true })
    const prof = o.cpuProf === undefined ? [] : ['--cpu-prof', '--cpu-prof-dir', o.cpuProf]
    const windows = o.cpuProf === undefined ? [] : ['--windows', join(o.cpuProf, `windows-${label}.json`)]
    const out = await runChild(['--child', 'measure', '--dir', join(workDir, 'db'), '--label', label, ...windows, ...(o.sync ? [] : ['--no-sync'])], o, prof)
    return out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as BenchRow)
  } finally {
    if (o.data === undefined) rmSync(base, { recursive: true, force: true })
    else if (workDir !== worldDir) rmSync(workDir, { recursive: true, force: true })
  }
}

/** RSS of the largest scale over the smallest. */
export function ratioRows (rows: BenchRow[]): BenchRow[] {
  const rss = rows.filter((r) => r.name.startsWith('state.rss.') && r.unit === 'MB')
  const first = rss[0]
  const last = rss[rss.length - 1]
  if (first === undefined || last === undefined || rss.length < 2) return []
  return [{ name: 'state.rss.ratio', unit: 'x', value: last.value / first.value }]
}

/** Every scale's rows, in order, plus the ratio (no printing: the smoke test's entry). */
export async function runStateBench (o: StateBenchOptions): Promise<BenchRow[]> {
  const rows: BenchRow[] = []
  for (const n of o.scales) rows.push(...await runScale(n, o))
  return [...rows, ...ratioRows(rows)]
}

// ---- child processes ----------------------------------------------------------------------

async function childMain (argv: readonly string[]): Promise<void> {
  const mode = arg(argv, 'child')
  const dir = arg(argv, 'dir') as string
  const manifestPath = join(dir, '..', 'manifest.json')
  if (mode === 'build') {
    const { buildWorld } = await import('./state-world.ts')
    const { openAppStore } = await import('../state/store-adapter.ts')
    const spec = JSON.parse(arg(argv, 'spec') as string) as WorldSpec
    // Pruning after each commit bounds the garbage of the bulk commits (the store's
    // keepRecent auto-prune overflowed the call stack on versions this large); the
    // measured run keeps every version, as the store does by default.
    const inner = await openAppStore({ path: dir, sync: false })
    const store = {
      ...inner,
      commit: async () => {
        const r = await inner.commit()
        if (r.version > 1) await inner.inner.prune(r.version - 1)
        return r
      },
    }
    const log = (m: string): void => { process.stderr.write(`${m}\n`) }
    log(`state ${scaleLabel(spec.n)}: building the world (${spec.n} subjects, ${spec.slots} slots of ${spec.blockTxs} txs)`)
    const man = await buildWorld(store, spec, log)
    await inner.close()
    writeFileSync(manifestPath, JSON.stringify(man))
    log(`state ${scaleLabel(spec.n)}: built in ${man.buildSeconds.toFixed(1)} s, height ${man.height}`)
    return
  }
  if (mode === 'measure') {
    const { measureWorld } = await import('./state-measure.ts')
    const man = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest
    const rows = await measureWorld(dir, man, { label: arg(argv, 'label') as string, sync: !argv.includes('--no-sync'), windows: arg(argv, 'windows') })
    for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`)
    return
  }
  throw new Error(`unknown child mode ${mode}`)
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv.slice(2)
  if (argv.includes('--child')) {
    await childMain(argv)
  } else {
    const o = parseStateArgs(argv)
    await runBench([{
      cases: o.scales.map((n) => ({ name: `state.${scaleLabel(n)}`, run: async () => await runScale(n, o) })),
    }], argv, ratioRows)
  }
}
