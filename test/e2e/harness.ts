/**
 * End-to-end harness: real `aidledger start` processes on loopback (DESIGN §9 home layout,
 * §8 networking), driven from a test or the soak.
 *
 * - `createTestnet` writes an N-validator testnet (src/config/testnet.ts) into a temp dir
 *   on free ports with short consensus timeouts, and hands back one `E2ENode` per home.
 * - An `E2ENode` starts (`node bin/aidledger.js start --home … --log-format json`), stops
 *   (SIGTERM, SIGKILL after a grace period), kills (-9) and restarts its process; output is
 *   appended to `<home>/node.log`, with a harness marker line before every start.
 * - Heights and hashes are read through a `NodeProbe` (probes.ts): the JSON-RPC server when
 *   the node answers `/status`, else the JSON log lines; after a node has stopped, its
 *   stores can be read directly (`StoreProbe`).
 * - `destroy()` (register it with t.teardown) SIGKILLs every process still running, prints
 *   the tails of the logs when asked to (a failed test), and removes the temp dir.
 *
 * No fixed sleeps: everything waits on a condition with a generous bound (`waitFor`).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync, closeSync, existsSync, openSync, readFileSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Config } from '../../src/config/config.ts'
import type { DefaultAppState } from '../../src/config/genesis.ts'
import { fastConsensus, findFreeBasePort, generateTestnet, type NodePorts, type TestnetResult } from '../../src/config/testnet.ts'
import { defaultAppState, validateAppState } from '../../state/genesis.ts'
import { LogReader } from './logs.ts'
import { LogProbe, RpcProbe, StoreProbe, rpcAnswers, type NodeProbe } from './probes.ts'

export const BIN = fileURLToPath(new URL('../../bin/aidledger.js', import.meta.url))

// ---------------------------------------------------------------------------------------
// Waiting

export interface WaitOptions {
  timeoutMs: number
  /** What is being waited for, for the timeout message. */
  what: string
  intervalMs?: number
  /** Extra state for the timeout message (e.g. the nodes' heights). */
  describe?: () => Promise<string> | string
  /** Checked every round; a string fails the wait at once (e.g. "node2 exited"). */
  abortIf?: () => string | undefined
}

/** Polls `cond` until it returns a value other than undefined/false/null; never a fixed sleep. */
export async function waitFor<T> (cond: () => Promise<T | undefined | null | false> | T | undefined | null | false, o: WaitOptions): Promise<T> {
  const start = Date.now()
  const interval = o.intervalMs ?? 250
  let lastErr: unknown
  for (;;) {
    const abort = o.abortIf?.()
    if (abort !== undefined) throw new Error(`while waiting for ${o.what}: ${abort}`)
    try {
      const v = await cond()
      if (v !== undefined && v !== null && v !== false) return v
    } catch (err) {
      lastErr = err
    }
    if (Date.now() - start > o.timeoutMs) {
      const extra = o.describe === undefined ? '' : ` (${await o.describe()})`
      const why = lastErr === undefined ? '' : `; last error: ${(lastErr as Error).message}`
      throw new Error(`timed out after ${o.timeoutMs} ms waiting for ${o.what}${extra}${why}`)
    }
    await delay(interval)
  }
}

export async function delay (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

// ---------------------------------------------------------------------------------------
// Processes

/** Every child started by any harness in this process, SIGKILLed if the process exits. */
const allChildren = new Set<ChildProcess>()
let exitHookInstalled = false
function track (child: ChildProcess): void {
  allChildren.add(child)
  child.once('exit', () => allChildren.delete(child))
  if (!exitHookInstalled) {
    exitHookInstalled = true
    process.once('exit', () => {
      for (const c of allChildren) {
        try { c.kill('SIGKILL') } catch {}
      }
    })
  }
}

/**
 * A watchdog child (reaper.js) told about every node pid and the temp dir over a pipe; if
 * this process dies without cleaning up (tap's timeout kill, SIGKILL, a crash), the pipe
 * closes and the reaper SIGKILLs the nodes and removes the dir.
 */
export class Reaper {
  private readonly child: ChildProcess
  private closed = false

  constructor () {
    this.child = spawn(process.execPath, [REAPER], { stdio: ['pipe', 'ignore', 'ignore'], detached: true })
    this.child.unref()
    const stdin = this.child.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null
    stdin?.unref?.()
    this.child.stdin?.on('error', () => {})
  }

  private send (line: string): void {
    if (!this.closed) this.child.stdin?.write(`${line}\n`)
  }

  pid (pid: number | undefined): void { if (pid !== undefined) this.send(`pid ${pid}`) }
  forget (pid: number | undefined): void { if (pid !== undefined) this.send(`forget ${pid}`) }
  dir (path: string): void { this.send(`dir ${path}`) }
  /** Everything is cleaned up: the reaper exits without touching anything. */
  done (): void {
    this.send('done')
    this.closed = true
    this.child.stdin?.end()
  }
}

const REAPER = fileURLToPath(new URL('./reaper.js', import.meta.url))

export type ProbeMode = 'auto' | 'rpc' | 'log'

/**
 * AIDLEDGER_E2E_PROBE: `rpc` (default) reads heights and hashes over JSON-RPC and fails a
 * node that does not answer; `log` reads them from the JSON logs only; `auto` uses RPC when
 * the node answers and its log otherwise.
 */
export function probeModeFromEnv (): ProbeMode {
  const m = process.env.AIDLEDGER_E2E_PROBE
  return m === 'auto' || m === 'log' ? m : 'rpc'
}

export interface ExitInfo { code: number | null, signal: NodeJS.Signals | null }

export interface NodeSpec {
  index: number
  name: string
  home: string
  ports: NodePorts
  nodeId: string
  /** Upper-case hex; '' for a node that is not a validator. */
  validatorAddress: string
  /** Extra arguments for `start` (e.g. --log-level debug). */
  extraArgs?: string[]
  reaper?: Reaper
}

export class E2ENode {
  readonly index: number
  readonly name: string
  readonly home: string
  readonly ports: NodePorts
  readonly nodeId: string
  readonly validatorAddress: string
  readonly logFile: string
  readonly log: LogReader
  readonly rpcUrl: string
  private readonly extraArgs: string[]
  private readonly reaper: Reaper | undefined
  private child: ChildProcess | undefined
  private exitP: Promise<ExitInfo> | undefined
  /** Set while the harness expects the process to be running (an exit then is a failure). */
  private expectRunning = false
  private unexpectedExit: string | undefined
  /** How many times this node was started. */
  starts = 0
  /** Log entry index at which the current (or last) run begins. */
  runStartEntry = 0
  private probeMode: ProbeMode
  private chosen: NodeProbe | undefined
  private readonly logProbe: LogProbe

  constructor (spec: NodeSpec, probeMode: ProbeMode) {
    this.index = spec.index
    this.name = spec.name
    this.home = spec.home
    this.ports = spec.ports
    this.nodeId = spec.nodeId
    this.validatorAddress = spec.validatorAddress
    this.extraArgs = spec.extraArgs ?? []
    this.reaper = spec.reaper
    this.logFile = join(spec.home, 'node.log')
    this.log = new LogReader(this.logFile)
    this.rpcUrl = `http://127.0.0.1:${spec.ports.rpc}`
    this.probeMode = probeMode
    this.logProbe = new LogProbe(this.log)
  }

  get pid (): number | undefined { return this.child?.pid }
  running (): boolean { return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null }
  /** Why the process ended while it was expected to run, if it did. */
  failure (): string | undefined { return this.unexpectedExit }

  /** Spawns the node; returns at once (see `ready`). */
  start (): void {
    if (this.running()) throw new Error(`${this.name} is already running`)
    this.starts += 1
    this.log.refresh()
    this.runStartEntry = this.log.entries.length
    appendFileSync(this.logFile, `=== e2e harness: start #${this.starts} of ${this.name} at ${new Date().toISOString()} ===\n`)
    const fd = openSync(this.logFile, 'a')
    // Own process group: a terminal's Ctrl-C goes to the harness, which stops the nodes itself.
    const child = spawn(process.execPath, [BIN, 'start', '--home', this.home, '--log-format', 'json', ...this.extraArgs], {
      stdio: ['ignore', fd, fd],
      detached: true,
    })
    closeSync(fd)
    track(child)
    this.reaper?.pid(child.pid)
    this.child = child
    this.expectRunning = true
    this.unexpectedExit = undefined
    this.chosen = undefined
    this.exitP = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.reaper?.forget(child.pid)
        if (this.expectRunning) this.unexpectedExit = `${this.name} (pid ${child.pid ?? '?'}) exited unexpectedly: code ${String(code)} signal ${String(signal)}`
        resolve({ code, signal })
      })
    })
  }

  /** Waits until this run has logged "node started" (all services up) and picks the probe. */
  async ready (timeoutMs = 90_000): Promise<void> {
    await waitFor(() => {
      this.log.refresh()
      return this.log.entries.slice(this.runStartEntry).some((e) => e.msg === 'node started')
    }, { timeoutMs, what: `${this.name} to log "node started"`, abortIf: () => this.unexpectedExit })
    await this.chooseProbe()
  }

  private async chooseProbe (): Promise<void> {
    if (this.probeMode === 'log') {
      this.chosen = this.logProbe
      return
    }
    if (this.probeMode === 'rpc') {
      await waitFor(async () => await rpcAnswers(this.rpcUrl), {
        timeoutMs: 30_000, what: `${this.name} to answer ${this.rpcUrl}/status`, abortIf: () => this.unexpectedExit,
      })
      this.chosen = new RpcProbe(this.rpcUrl)
      return
    }
    this.chosen = await rpcAnswers(this.rpcUrl) ? new RpcProbe(this.rpcUrl) : this.logProbe
  }

  /** Running, and its probe chosen since the last start (it logged "node started"). */
  isReady (): boolean { return this.running() && this.chosen !== undefined }

  /** The live probe: RPC when the node serves it, else its log. */
  get probe (): NodeProbe {
    return this.chosen ?? this.logProbe
  }

  /** The log probe (always available, also while the node is down). */
  get logs (): LogProbe { return this.logProbe }

  /** Opens the node's stores directly; only while the process is not running. */
  async openStore (): Promise<StoreProbe> {
    if (this.running()) throw new Error(`${this.name} is running; stop it before reading its stores`)
    return await StoreProbe.open(this.home)
  }

  /** SIGTERM, wait for a clean exit (SIGKILL after `graceMs`); returns how it ended. */
  async stop (graceMs = 30_000): Promise<ExitInfo & { clean: boolean }> {
    const child = this.child
    this.expectRunning = false
    if (child === undefined || this.exitP === undefined) return { code: null, signal: null, clean: true }
    if (!this.running()) return { ...(await this.exitP), clean: false }
    child.kill('SIGTERM')
    let killed = false
    const timer = setTimeout(() => { killed = true; child.kill('SIGKILL') }, graceMs)
    const info = await this.exitP
    clearTimeout(timer)
    return { ...info, clean: !killed && info.code === 0 }
  }

  /** kill -9, and wait until the process is gone. */
  async kill (): Promise<ExitInfo> {
    const child = this.child
    this.expectRunning = false
    if (child === undefined || this.exitP === undefined) return { code: null, signal: null }
    if (this.running()) child.kill('SIGKILL')
    return await this.exitP
  }

  /** Last `lines` lines of the log file. */
  tail (lines = 40): string {
    if (!existsSync(this.logFile)) return '(no log)'
    const all = readFileSync(this.logFile, 'utf8').split('\n')
    return all.slice(Math.max(0, all.length - lines - 1)).join('\n')
  }
}

// ---------------------------------------------------------------------------------------
// Testnets

export interface TestnetOptions {
  validators: number
  /** Names the temp dir (aidledger-e2e-<label>-…). */
  label: string
  /** Genesis app_state; default: the validators as their own operators, no offices. */
  appState?: DefaultAppState
  /** Extra config changes after the harness defaults (fast timeouts, json logs). */
  configure?: (cfg: Config, index: number) => void
  probeMode?: ProbeMode
  /** Extra `start` arguments for every node. */
  extraArgs?: string[]
}

export interface Logger { (msg: string): void }

export class Testnet {
  readonly dir: string
  readonly result: TestnetResult
  readonly nodes: E2ENode[]
  readonly basePort: number
  private readonly extra: E2ENode[] = []
  private destroyed = false

  readonly reaper: Reaper

  constructor (dir: string, result: TestnetResult, basePort: number, nodes: E2ENode[], reaper: Reaper) {
    this.dir = dir
    this.result = result
    this.basePort = basePort
    this.nodes = nodes
    this.reaper = reaper
  }

  /** Every node the harness manages (the validators and any added later). */
  all (): E2ENode[] { return [...this.nodes, ...this.extra] }

  /** Adds a node built outside `createTestnet` (e.g. a stranger) so destroy() cleans it up. */
  adopt (node: E2ENode): E2ENode {
    this.extra.push(node)
    return node
  }

  /** First unexpected exit among the nodes, for `abortIf`. */
  failure (): string | undefined {
    for (const n of this.all()) {
      const f = n.failure()
      if (f !== undefined) return `${f}\n--- ${n.name} log tail ---\n${n.tail(30)}`
    }
    return undefined
  }

  /** Starts the given nodes (default all validators) and waits until each logged "node started". */
  async start (nodes: E2ENode[] = this.nodes, timeoutMs = 120_000): Promise<void> {
    for (const n of nodes) n.start()
    await Promise.all(nodes.map(async (n) => { await n.ready(timeoutMs) }))
  }

  /** Heights of the given nodes through their live probes (-1 when not answering). */
  async heights (nodes: E2ENode[] = this.nodes): Promise<number[]> {
    return await Promise.all(nodes.map(async (n) => await n.probe.height().catch(() => -1)))
  }

  async describeHeights (nodes: E2ENode[] = this.all()): Promise<string> {
    const hs = await this.heights(nodes)
    return nodes.map((n, i) => `${n.name}=${!n.running() ? 'down' : !n.isReady() ? 'starting' : String(hs[i] ?? -1)}`).join(' ')
  }

  /** Waits until every given node is at or above `height`. */
  async waitHeight (height: number, o: { nodes?: E2ENode[], timeoutMs?: number, what?: string } = {}): Promise<number[]> {
    const nodes = o.nodes ?? this.nodes
    return await waitFor(async () => {
      const hs = await this.heights(nodes)
      return hs.every((h) => h >= height) ? hs : undefined
    }, {
      timeoutMs: o.timeoutMs ?? 120_000,
      what: o.what ?? `${nodes.map((n) => n.name).join(',')} to reach height ${height}`,
      describe: async () => await this.describeHeights(),
      abortIf: () => this.failure(),
    })
  }

  /** SIGKILLs whatever still runs, optionally prints log tails, removes the temp dir. */
  async destroy (o: { printLogs?: boolean, print?: Logger, keep?: boolean } = {}): Promise<void> {
    if (this.destroyed) return
    this.destroyed = true
    await Promise.all(this.all().map(async (n) => await n.kill()))
    if (o.printLogs === true) {
      const print = o.print ?? ((m: string) => { process.stderr.write(m + '\n') })
      for (const n of this.all()) print(`--- ${n.name} (${n.logFile}) last lines ---\n${n.tail(60)}`)
      // The whole logs outlive the temp dir, for a closer look.
      const saved = join(tmpdir(), 'aidledger-e2e-logs', basename(this.dir))
      try {
        await mkdir(saved, { recursive: true })
        for (const n of this.all()) if (existsSync(n.logFile)) await copyFile(n.logFile, join(saved, `${n.name}.log`))
        print(`e2e: full logs saved in ${saved}`)
      } catch (err) {
        print(`e2e: could not save the logs: ${(err as Error).message}`)
      }
    }
    const keep = o.keep ?? keepFromEnv()
    if (keep) {
      process.stderr.write(`e2e: kept ${this.dir}\n`)
    } else {
      await rm(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 })
    }
    this.reaper.done()
  }
}

/** The validators as their own operators, no offices (what `aidledger testnet` writes). */
export const operatorsOnlyAppState: DefaultAppState = (ctx) =>
  defaultAppState({ operators: ctx.validators.map((v) => ({ operatorKey: v.pubKey, validatorPubKey: v.pubKey })) }) as never

/**
 * Writes an N-validator testnet into a fresh temp dir on free ports. Nothing runs yet:
 * call `net.start()`. The caller owns `destroy()` (register it as a teardown first thing).
 */
const keepFromEnv = (): boolean => process.env.AIDLEDGER_E2E_KEEP === '1'

export async function createTestnet (o: TestnetOptions & { keep?: boolean }): Promise<Testnet> {
  const dir = await mkdtemp(join(tmpdir(), `aidledger-e2e-${o.label}-`))
  const reaper = new Reaper()
  if (!(o.keep ?? keepFromEnv())) reaper.dir(dir)
  try {
    const basePort = await findFreeBasePort(o.validators + 1)
    const result = await generateTestnet({
      output: dir,
      validators: o.validators,
      chainId: `e2e-${o.label}`.slice(0, 40),
      basePort,
      appState: o.appState ?? operatorsOnlyAppState,
      validateAppState: async (json, ctx) => await validateAppState(json, ctx.validators),
      configure: (cfg, i) => {
        cfg.log_format = 'json'
        cfg.log_level = 'info'
        cfg.rpc.rate_limit_per_ip = 0 // every test client is 127.0.0.1
        fastConsensus(cfg)
        o.configure?.(cfg, i)
      },
    })
    const mode = o.probeMode ?? probeModeFromEnv()
    const nodes = result.nodes.map((n) => new E2ENode({
      index: n.index,
      name: n.moniker,
      home: n.paths.home,
      ports: n.ports,
      nodeId: n.nodeId,
      validatorAddress: n.validatorAddress,
      ...(o.extraArgs === undefined ? {} : { extraArgs: o.extraArgs }),
      reaper,
    }, mode))
    return new Testnet(dir, result, basePort, nodes, reaper)
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    reaper.done()
    throw err
  }
}

// ---------------------------------------------------------------------------------------
// Agreement checks

export interface ChainReport {
  /** Heights compared (on at least two nodes). */
  checked: number
  /** Heights some node could not tell about (a log probe for block-synced heights). */
  unknown: number
  /** Node-app-hash comparisons made (probes that know the node's own app hash). */
  appHashesChecked: number
  mismatches: string[]
}

/**
 * Compares, at every height in [from, to], the block hash, the header's app hash and each
 * node's own app hash after executing the block (block_results / its finalize response),
 * across every probe that knows them. A probe that should know a height (RPC, store) but
 * does not is a mismatch; a log probe that does not is counted as unknown.
 */
export async function compareChains (probes: Array<{ name: string, probe: NodeProbe }>, from: number, to: number): Promise<ChainReport> {
  const report: ChainReport = { checked: 0, unknown: 0, appHashesChecked: 0, mismatches: [] }
  for (let h = from; h <= to; h++) {
    const infos = await Promise.all(probes.map(async (p) => ({ name: p.name, kind: p.probe.kind, info: await p.probe.block(h) })))
    const known = infos.filter((x) => x.info !== undefined)
    for (const x of infos) {
      if (x.info === undefined) {
        if (x.kind === 'log') report.unknown += 1
        else report.mismatches.push(`height ${h}: ${x.name} (${x.kind}) has no block`)
      }
    }
    if (known.length < 2) continue
    report.checked += 1
    const field = (label: string, get: (i: NonNullable<typeof known[number]['info']>) => string | undefined): void => {
      const vals = known.map((x) => ({ name: x.name, v: x.info === undefined ? undefined : get(x.info) })).filter((x) => x.v !== undefined)
      if (label === 'app hash' && vals.length >= 2) report.appHashesChecked += 1
      if (new Set(vals.map((x) => x.v)).size > 1) {
        report.mismatches.push(`height ${h}: ${label} differs: ${vals.map((x) => `${x.name}=${x.v ?? '?'}`).join(' ')}`)
      }
    }
    field('block hash', (i) => i.hash)
    field('header app hash', (i) => i.headerAppHash)
    field('app hash', (i) => i.appHash)
  }
  return report
}

/** Stops every running node cleanly and compares all of their stores from 1 to the lowest height. */
export async function compareStores (nodes: E2ENode[]): Promise<ChainReport & { heights: number[], cleanStops: boolean[] }> {
  const stops = await Promise.all(nodes.map(async (n) => await n.stop()))
  const stores: StoreProbe[] = []
  try {
    for (const n of nodes) stores.push(await n.openStore())
    const heights = await Promise.all(stores.map(async (s) => await s.height()))
    const low = Math.min(...heights)
    const report = await compareChains(stores.map((s, i) => ({ name: nodes[i]?.name ?? `node${i}`, probe: s })), 1, low)
    return { ...report, heights, cleanStops: stops.map((s) => s.clean) }
  } finally {
    for (const s of stores) await s.close()
  }
}
