/**
 * `npm run demo`: the State machine I scenario (test/state/scenario.test.ts) on a live
 * network, entirely through the CLI (`node bin/aidledger.js keys|tx|query …` child
 * processes) and the JSON-RPC client (rpc/client.ts via src/index.ts):
 *
 *   a ministry and two provinces (Hubei A, Guangdong B) with civil-affairs and finance
 *   offices down to township; national dibao 1001 budgets sub-allocated down to both
 *   counties and B's own dibao 2001; a person whose hukou is in A's township applies at
 *   B's township (one door); B forwards, A's township accepts and runs publicity; A's
 *   county attests income and approves (B's county may not); A's county finance pays one
 *   month (not twice); the hukou moves to B; B's application for 2001 is accepted and
 *   publicised, and B's county approval is refused with EXCLUSIVITY_CONFLICT.
 *
 * Every query is verified: proofs against the app_hash of the next header, that header
 * against its commit and the validator set (trusted from genesis).
 *
 *   npm run demo -- --start               own 4-node devnet in a temp dir, free ports,
 *                                         stopped and deleted at the end (--keep DIR keeps it)
 *   npm run demo -- --init DIR            writes a 4-node devnet (ports 26656…, --base-port) whose genesis
 *                                         holds the demo's ministry keys (DIR/keyring); then
 *                                         `aidledger devnet --home DIR` and
 *   npm run demo -- --node URL --keyring DIR/keyring
 *                                         runs against it (rerunnable: the setup is skipped
 *                                         once done; each run enrols a new person)
 *
 * Exits 0 when every step gave the expected result, 1 otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { randomBytes } from 'node:crypto'
import { connect, type AppClient, type NodeEvent } from '../index.ts'
import { fastConsensus, findFreeBasePort, generateTestnet } from '../config/testnet.ts'
import { defaultAppState, validateAppState } from '../../state/genesis.ts'
import { sha256 } from '../crypto/hash.ts'
import { toHex, utf8, fromHex } from '../bytes.ts'
import { A, B, DEMO_OFFICES, type OfficePlan } from './demo-world.ts'

const BIN = fileURLToPath(new URL('../../bin/aidledger.js', import.meta.url))
const DAY = 86_400_000
const CHAIN_ID = 'aidledger-demo'
/** Publicity minimum in the demo genesis: long enough to be visible, short enough to wait for. */
const DEMO_PUBLICITY_MS = 5_000
const MINISTRIES = { 'civil-affairs': 'mca', finance: 'mof', health: 'nhc' } as const

class DemoError extends Error { override name = 'DemoError' }
const FINISHED = 'demo finished: every step gave the expected result'

// ---- output --------------------------------------------------------------------------------

const t0 = Date.now()
const stamp = (): string => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s]`
function say (s = ''): void { process.stdout.write(s === '' ? '\n' : `${stamp()} ${s}\n`) }
function section (s: string): void { process.stdout.write(`\n${stamp()} ── ${s}\n`) }
const short = (h: string, n = 16): string => (h.length > n ? `${h.slice(0, n)}…` : h)

// ---- the CLI as child processes ------------------------------------------------------------

interface CliRun { code: number, out: string, err: string }

/**
 * 'process' (the default) runs each `aidledger` command as its own child process, as an
 * operator would; 'in-process' calls the same CLI entry (`main(argv)` of ./main.ts) inside
 * this process with captured output. The e2e test uses 'in-process': each child process
 * costs ~1.5–2 s of CPU in module loading alone, which the suite's budget cannot carry for
 * ~60 commands; test/src/cli covers the spawned binary.
 */
let cliMode: 'process' | 'in-process' = 'process'

function runCliProcess (args: string[], timeoutMs: number): Promise<CliRun> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new DemoError(`aidledger ${args.slice(0, 3).join(' ')} took more than ${timeoutMs} ms`)) }, timeoutMs)
    child.once('error', (e) => { clearTimeout(timer); reject(e) })
    child.once('exit', (code) => { clearTimeout(timer); resolvePromise({ code: code ?? 1, out, err }) })
  })
}

async function runCliInProcess (args: string[], timeoutMs: number): Promise<CliRun> {
  const { main } = await import('./main.ts')
  let out = ''
  let err = ''
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new DemoError(`aidledger ${args.slice(0, 3).join(' ')} took more than ${timeoutMs} ms`)) }, timeoutMs)
  })
  try {
    const code = await Promise.race([main(args, { io: { out: (x) => { out += x }, err: (x) => { err += x } } }), timeout])
    return { code, out, err }
  } finally {
    clearTimeout(timer)
  }
}

async function runCli (args: string[], timeoutMs = 240_000): Promise<CliRun> {
  return cliMode === 'process' ? await runCliProcess(args, timeoutMs) : await runCliInProcess(args, timeoutMs)
}

interface TxOutcome { phase: string, code: number, name: string, log: string, height: number, hash: string, data: string, opId: string }
interface TxStep { label: string, signer: string, op: string, fields: Record<string, string | boolean>, expect?: string }

class Cli {
  constructor (readonly node: string, readonly keyring: string) {}

  common (): string[] { return ['--node', this.node, '--keyring', this.keyring] }

  static flags (fields: TxStep['fields']): string[] {
    return Object.entries(fields).flatMap(([k, v]) => (v === true ? [`--${k}`] : v === false ? [] : [`--${k}`, v]))
  }

  static show (s: TxStep): string {
    const shown = Object.entries(s.fields).map(([k, v]) => (v === true ? `--${k}` : v === false ? '' : `--${k} ${v.split(',').map((x) => (/^[0-9a-f]{64}$/.test(x) ? short(x, 12) : x)).join(',')}`)).filter((x) => x !== '').join(' ')
    return `$ aidledger tx ${s.op} --from ${s.signer} ${shown}`
  }

  async tx (s: TxStep): Promise<TxOutcome> {
    const r = await runCli(['tx', ...s.op.split(' '), '--from', s.signer, ...Cli.flags(s.fields), '--json', ...this.common()])
    let o: TxOutcome
    try {
      o = JSON.parse(r.out.trim().split('\n').pop() ?? '') as TxOutcome
    } catch {
      throw new DemoError(`${s.label}: aidledger tx ${s.op} exited ${r.code}: ${(r.err || r.out).trim()}`)
    }
    const want = s.expect ?? 'OK'
    const where = o.phase === 'check' ? 'refused by CheckTx' : `height ${o.height}`
    const line = `${s.label}\n           ${Cli.show(s)}\n           → ${o.code} ${o.name}, ${where}${o.data === '' ? '' : `, data ${short(o.data)}`}${o.code !== 0 ? `: ${o.log.replace(/^\w+: /, '')}` : ''}`
    if (o.name !== want) throw new DemoError(`${line}\n  expected ${want}`)
    say(`${o.name === 'OK' ? '✓' : '✓ (refused as expected)'} ${line}`)
    return o
  }

  /** Independent txs at once (one block can hold them all: replay protection is per op id, not per-signer sequence). */
  async wave (steps: TxStep[]): Promise<TxOutcome[]> {
    const results = await Promise.allSettled(steps.map(async (s) => await runCli(['tx', ...s.op.split(' '), '--from', s.signer, ...Cli.flags(s.fields), '--json', ...this.common()])))
    const out: TxOutcome[] = []
    for (const [i, r] of results.entries()) {
      const s = steps[i] as TxStep
      if (r.status === 'rejected') throw r.reason
      let o: TxOutcome
      try { o = JSON.parse(r.value.out.trim().split('\n').pop() ?? '') as TxOutcome } catch { throw new DemoError(`${s.label}: exited ${r.value.code}: ${(r.value.err || r.value.out).trim()}`) }
      const line = `${s.label}\n           ${Cli.show(s)}\n           → ${o.code} ${o.name}, height ${o.height}`
      if (o.name !== (s.expect ?? 'OK')) throw new DemoError(`${line}: ${o.log}\n  expected ${s.expect ?? 'OK'}`)
      say(`✓ ${line}`)
      out.push(o)
    }
    return out
  }

  async query (args: string[], describe: (entries: Array<{ key: string, record: any }>) => string): Promise<Array<{ key: string, record: any }>> {
    const r = await runCli(['query', ...args, '--compact', '--node', this.node])
    let o: { verified?: boolean, height?: number, proof?: { height: number, appHash: string, signedPower: number, totalPower: number, trust: string }, entries?: Array<{ key: string, record: any }>, failedStep?: string, error?: string }
    try { o = JSON.parse(r.out.trim().split('\n').pop() ?? '') } catch { throw new DemoError(`aidledger query ${args.join(' ')} exited ${r.code}: ${(r.err || r.out).trim()}`) }
    if (r.code !== 0 || o.verified !== true || o.proof === undefined || o.entries === undefined) {
      throw new DemoError(`aidledger query ${args.join(' ')}: not verified (${o.failedStep ?? '?'}: ${o.error ?? r.err.trim()})`)
    }
    const shown = args.map((a) => (/^[0-9a-f]{64}$/.test(a) ? short(a, 12) : a)).join(' ')
    say(`✓ $ aidledger query ${shown}\n           → ${describe(o.entries)}\n             proven at height ${o.height} against header ${o.proof.height} app_hash ${short(o.proof.appHash)} (commit ${o.proof.signedPower}/${o.proof.totalPower} power, trust ${o.proof.trust})`)
    return o.entries
  }
}

// ---- a devnet of our own -------------------------------------------------------------------

/** Creates ministry keys through the CLI and a 4-validator testnet whose genesis holds them. */
async function createDemoNet (dir: string, basePort: number, fast: boolean): Promise<{ keyring: string, homes: string[], rpc: string }> {
  const keyring = join(dir, 'keyring')
  const names = Object.values(MINISTRIES)
  const r = await runCli(['keys', 'add', ...names, '--keyring', keyring, '--json'])
  if (r.code !== 0) throw new DemoError(`keys add: ${r.err}`)
  const pubs = Object.fromEntries(r.out.trim().split('\n').map((l) => JSON.parse(l) as { name: string, pubkey: string }).map((k) => [k.name, fromHex(k.pubkey)]))
  say(`✓ $ aidledger keys add ${names.join(' ')} --keyring ${keyring}   (ministry root offices, written into genesis)`)
  const year = cstYear(Date.now())
  const res = await generateTestnet({
    output: join(dir, 'net'),
    validators: 4,
    chainId: CHAIN_ID,
    basePort,
    appState: (ctx) => {
      const s = defaultAppState({
        operators: ctx.validators.map((v) => ({ operatorKey: v.pubKey, validatorPubKey: v.pubKey })),
        ministryKeys: Object.fromEntries(Object.entries(MINISTRIES).map(([dept, name]) => [dept, pubs[name] as Uint8Array])),
        year,
      })
      s.params = { ...(s.params as Record<string, unknown>), publicityMinMs: DEMO_PUBLICITY_MS }
      return s as never
    },
    validateAppState: async (appState, ctx) => { await validateAppState(appState, ctx.validators) },
    configure: (cfg) => { if (fast) fastConsensus(cfg); cfg.log_format = 'json' },
  })
  say(`✓ 4-validator network ${res.chainId} in ${res.output} (genesis ${short(res.genesisHash)}; ministries mca=1 mof=2 nhc=3, dibao 1001 with a ${year} budget, publicity minimum ${DEMO_PUBLICITY_MS} ms)`)
  return { keyring, homes: res.nodes.map((n) => n.paths.home), rpc: `http://127.0.0.1:${res.nodes[0]?.ports.rpc ?? 0}` }
}

interface Running { child: ChildProcess, home: string, exited: Promise<number | null> }

function startNodes (homes: string[]): Running[] {
  return homes.map((home) => {
    const fd = openSync(join(home, 'node.log'), 'a')
    const child = spawn(process.execPath, [BIN, 'start', '--home', home], { stdio: ['ignore', fd, fd] })
    closeSync(fd)
    return { child, home, exited: new Promise((res) => child.once('exit', (code) => res(code))) }
  })
}

async function stopNodes (nodes: Running[]): Promise<void> {
  for (const n of nodes) if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGTERM')
  await Promise.all(nodes.map(async (n) => {
    const timer = setTimeout(() => { n.child.kill('SIGKILL') }, 20_000)
    await n.exited
    clearTimeout(timer)
  }))
}

function tail (file: string, lines = 15): string {
  if (!existsSync(file)) return '(no log)'
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
}

// ---- time helpers ----------------------------------------------------------------------------

/** Year and YYYYMM period in China Standard Time (as the app computes payment periods). */
function cstYear (ms: number): number { return new Date(ms + 8 * 3_600_000).getUTCFullYear() }
function cstPeriod (ms: number): number {
  const d = new Date(ms + 8 * 3_600_000)
  return d.getUTCFullYear() * 100 + d.getUTCMonth() + 1
}

async function waitUntil<T> (what: string, ms: number, probe: () => Promise<T | null | undefined>): Promise<T> {
  const end = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await probe()
      if (v !== null && v !== undefined) return v
    } catch (err) {
      if (err instanceof DemoError) throw err
      last = err
    }
    if (Date.now() > end) throw new DemoError(`timed out after ${ms} ms waiting for ${what}${last === undefined ? '' : ` (${(last as Error).message})`}`)
    await new Promise((r) => setTimeout(r, 300))
  }
}

// ---- the scenario ----------------------------------------------------------------------------

async function ensureKeys (cli: Cli): Promise<Record<string, string>> {
  const list = await runCli(['keys', 'list', '--json', '--keyring', cli.keyring])
  if (list.code !== 0) throw new DemoError(`keys list: ${list.err}`)
  const have = new Set((JSON.parse(list.out) as Array<{ name: string }>).map((k) => k.name))
  for (const m of Object.values(MINISTRIES)) if (!have.has(m)) throw new DemoError(`the keyring ${cli.keyring} has no ${m} key; the network's genesis must hold the demo's ministry keys (use --start, or --init DIR)`)
  const missing = DEMO_OFFICES.map((o) => o.name).filter((n) => !have.has(n))
  if (missing.length > 0) {
    const r = await runCli(['keys', 'add', ...missing, '--keyring', cli.keyring, '--json'])
    if (r.code !== 0) throw new DemoError(`keys add: ${r.err}`)
    say(`✓ $ aidledger keys add ${missing.join(' ')}   (one key per office, mode 0600)`)
  }
  const all = await runCli(['keys', 'list', '--json', '--keyring', cli.keyring])
  return Object.fromEntries((JSON.parse(all.out) as Array<{ name: string, pubkey: string }>).map((k) => [k.name, k.pubkey]))
}

const officeStep = (o: OfficePlan, pubs: Record<string, string>): TxStep => ({
  label: `${o.signer} registers ${o.name} (office ${o.id}, ${o.level} ${o.department} ${o.region})`,
  signer: o.signer,
  op: 'office register',
  fields: { id: String(o.id), level: o.level, department: o.department, region: o.region, 'pub-key': pubs[o.name] as string },
})
const sub = (signer: string, program: number, region: string, amount: number, year: number): TxStep => ({
  label: `${signer} sub-allocates ${amount / 100} yuan of program ${program} (${year}) to ${region}`,
  signer, op: 'budget sub-allocate', fields: { 'program-id': String(program), year: String(year), region, 'amount-fen': String(amount) },
})

async function setup (cli: Cli, pubs: Record<string, string>, year: number): Promise<void> {
  section('1. Setup: two provinces under the ministries, budgets down to the counties (independent txs sent together)')
  const office = (name: string): TxStep => officeStep(DEMO_OFFICES.find((o) => o.name === name) as OfficePlan, pubs)
  await cli.wave([office('a-ca'), office('a-fin'), office('b-ca'), office('b-fin'), sub('mof', 1001, A.province, 100_000_000, year), sub('mof', 1001, B.province, 100_000_000, year)])
  await cli.wave([
    office('a-city-ca'), office('a-city-fin'), office('b-city-ca'), office('b-city-fin'), sub('a-fin', 1001, A.city, 50_000_000, year), sub('b-fin', 1001, B.city, 50_000_000, year),
    { label: "b-ca creates Guangdong's own dibao 2001 (900 yuan/month, county approval)", signer: 'b-ca', op: 'program create', fields: { id: '2001', category: 'dibao', group: 'basic-living', payment: 'monthly', 'standard-fen': '90000', 'approval-level': 'county' } },
  ])
  await cli.wave([
    office('a-county-ca'), office('a-county-fin'), office('b-county-ca'), office('b-county-fin'),
    sub('a-city-fin', 1001, A.county, 10_000_000, year), sub('b-city-fin', 1001, B.county, 10_000_000, year),
    { label: `b-fin allocates 200000 yuan to program 2001 (${year})`, signer: 'b-fin', op: 'budget allocate', fields: { 'program-id': '2001', year: String(year), 'amount-fen': '20000000' } },
  ])
  await cli.wave([office('a-town'), office('b-town'), sub('b-fin', 2001, B.city, 10_000_000, year)])
  await cli.wave([sub('b-city-fin', 2001, B.county, 5_000_000, year)])
}

export interface DemoOptions { node: string, keyring: string }

export async function runScenario (o: DemoOptions): Promise<void> {
  const cli = new Cli(o.node, o.keyring)
  const client: AppClient = connect({ url: o.node })
  try {
    const st = await client.status()
    say(`node ${o.node}: chain ${st.network}, height ${st.latestHeight}; every CLI call below also gets --node ${o.node} --keyring ${o.keyring}`)
    const pubs = await ensureKeys(cli)
    const params = (await cli.query(['params'], (e) => `publicityMinMs ${String(e[0]?.record?.publicityMinMs)}, maxTxTtl ${String(e[0]?.record?.maxTxTtl)}`))[0]?.record as { publicityMinMs: number }
    if (params.publicityMinMs > 120_000) throw new DemoError(`this network's publicity minimum is ${params.publicityMinMs} ms; the demo needs a short one (use --start or --init)`)
    const year = cstYear(st.latestBlockTime)
    const existing = await cli.query(['office', '10'], (e) => (e[0]?.record === null ? 'office 10 not registered yet' : `office 10 exists (${String(e[0]?.record?.region)})`))
    if (existing[0]?.record === null) await setup(cli, pubs, year)
    else if (existing[0]?.record?.pubKey !== pubs['a-ca']) throw new DemoError('office 10 exists with a key this keyring does not hold; use a fresh network')
    else say('setup already on the ledger (an earlier run): skipped')
    await cli.query(['budget', '1001', String(year), A.county], (e) => `budget 1001/${year}/${A.county}: allocated ${String(e[0]?.record?.allocated)} fen, paid ${String(e[0]?.record?.paid)}`)

    section("2. A person with hukou in Hubei (A) lives in Guangdong (B) and applies at B's township: one door")
    const run = toHex(randomBytes(8))
    const hh = toHex(sha256(utf8(`demo/household/${run}`)))
    const p1 = toHex(sha256(utf8(`demo/person-1/${run}`)))
    const p2 = toHex(sha256(utf8(`demo/person-2/${run}`)))
    say(`pseudonymous ids (keyed hashes computed off-ledger): household ${short(hh)} person ${short(p1)}`)
    const now = (await client.status()).latestBlockTime
    await cli.tx({ label: "A's township registers the household (hukou A, residence B)", signer: 'a-town', op: 'household register', fields: { 'household-id': hh, 'hukou-region': A.town, 'residence-region': B.town, members: `${p1},${p2}` } })
    await cli.query(['subject', p1], (e) => `person in household ${short(String(e[0]?.record?.householdId))}, hukou ${String(e[1]?.record?.hukouRegion)}`)
    await cli.tx({ label: "B's township records consent for the eligibility check", signer: 'b-town', op: 'consent record', fields: { 'household-id': hh, purpose: 'eligibility-check', scope: 'income-property', 'expires-at': String(now + 365 * DAY) } })
    const submitted = await cli.tx({ label: "B's township receives the application for national dibao 1001", signer: 'b-town', op: 'application submit', fields: { 'subject-id': p1, 'program-id': '1001' } })
    const appId = submitted.data
    if (appId !== submitted.opId) throw new DemoError('the application id (tx data) is not the op id')
    await cli.query(['application', appId], (e) => `status ${String(e[0]?.record?.status)}, receiving office ${String(e[0]?.record?.receivingOfficeId)}, handling office ${String(e[0]?.record?.handlingOfficeId)} (fixed by rule: the hukou township)`)

    section("3. B forwards, A's township accepts and publicises")
    await cli.tx({ label: "A's township tries to accept before B forwarded", signer: 'a-town', op: 'application accept', fields: { 'application-id': appId }, expect: 'APPLICATION_BAD_STATE' })
    await cli.tx({ label: "B's township forwards to the handling office", signer: 'b-town', op: 'application forward', fields: { 'application-id': appId } })
    await cli.tx({ label: "A's township accepts", signer: 'a-town', op: 'application accept', fields: { 'application-id': appId } })
    await cli.tx({ label: "A's township opens publicity", signer: 'a-town', op: 'publicity open', fields: { 'application-id': appId } })
    const opened = await cli.query(['application', appId], (e) => `status ${String(e[0]?.record?.status)}, publicity opened at ${new Date(Number(e[0]?.record?.publicityOpenedAt)).toISOString()}`)
    const closeAt = Number(opened[0]?.record?.publicityOpenedAt) + params.publicityMinMs
    say(`waiting for a block past the publicity minimum (${params.publicityMinMs} ms)…`)
    await waitUntil('the publicity period to pass', 120_000, async () => ((await client.status()).latestBlockTime > closeAt ? true : null))
    await cli.tx({ label: "A's township closes publicity", signer: 'a-town', op: 'publicity close', fields: { 'application-id': appId } })

    section("4. A's county: income check and approval")
    const review = String(now + 180 * DAY)
    const approve = (signer: string, expect?: string): TxStep => ({ label: `${signer} approves 700 yuan/month`, signer, op: 'decision approve', fields: { 'application-id': appId, 'amount-fen': '70000', 'next-review-at': review }, ...(expect === undefined ? {} : { expect }) })
    await cli.tx({ ...approve('a-county-ca', 'ATTESTATION_MISSING'), label: "A's county tries to approve without an income check" })
    await cli.tx({ label: "A's county civil affairs attests the income/property check (report hash only)", signer: 'a-county-ca', op: 'attestation issue', fields: { 'subject-id': p1, type: 'income-property', 'report-hash': toHex(sha256(utf8(`demo/report/${run}`))), 'valid-until-height': '0', 'valid-until-time': String(now + 90 * DAY) } })
    await cli.tx({ ...approve('b-county-ca', 'FORBIDDEN_REGION'), label: "B's county tries to decide A's case" })
    const decided = await cli.tx({ ...approve('a-county-ca'), label: "A's county approves 700 yuan/month" })
    const enrollmentId = decided.data
    await cli.query(['enrolled', p1, 'basic-living'], (e) => `enrolled: enrollment ${short(String(e[0]?.record?.id))}, ${String(e[1]?.record?.status)} in ${String(e[1]?.record?.region)}, ${String(e[1]?.record?.amountFen)} fen/month, program ${String(e[1]?.record?.programId)}`)

    section("5. A's county finance pays one month (the event arrives over WebSocket)")
    const period = cstPeriod((await client.status()).latestBlockTime)
    let event: NodeEvent | undefined
    const unsubscribe = await client.subscribe(`tm.event='Tx' AND disbursement.enrollment='${enrollmentId}'`, (ev) => { event = ev })
    const paid = await cli.tx({ label: `A's county finance pays period ${period}`, signer: 'a-county-fin', op: 'disbursement pay', fields: { 'enrollment-id': enrollmentId, period: String(period) } })
    await waitUntil('the disbursement event', 30_000, async () => event ?? null)
    const ev = event as unknown as NodeEvent
    say(`✓ event (subscribe "tm.event='Tx' AND disbursement.enrollment=…"): disbursement amount_fen=${ev.events['disbursement.amount_fen']?.join(',') ?? '?'} program=${ev.events['disbursement.program']?.join(',') ?? '?'} tx ${short(ev.events['tx.hash']?.[0] ?? '')}`)
    await unsubscribe()
    const indexed = await client.waitForTx(paid.hash, { timeoutMs: 30_000 })
    say(`✓ client.tx(${short(paid.hash)}): indexed at height ${indexed.height}, index ${indexed.index}, code ${indexed.txResult.code}`)
    await cli.tx({ label: 'A\'s county finance tries to pay the same month again', signer: 'a-county-fin', op: 'disbursement pay', fields: { 'enrollment-id': enrollmentId, period: String(period) }, expect: 'DISBURSEMENT_DUPLICATE' })
    await cli.query(['disbursement', enrollmentId, String(period)], (e) => `paid ${String(e[0]?.record?.amountFen)} fen by office ${String(e[0]?.record?.paidBy)}`)
    await cli.query(['budget', '1001', String(year), A.county], (e) => `budget 1001/${year}/${A.county}: allocated ${String(e[0]?.record?.allocated)}, paid ${String(e[0]?.record?.paid)}`)

    section('6. The hukou moves to B')
    await cli.tx({ label: "A's township proposes the hukou move", signer: 'a-town', op: 'household propose-change', fields: { 'household-id': hh, 'hukou-region': B.town } })
    await cli.tx({ label: "A's county approves the change", signer: 'a-county-ca', op: 'household decide-change', fields: { 'household-id': hh, approve: true } })
    await cli.query(['household', hh], (e) => `hukou ${String(e[0]?.record?.hukouRegion)}, residence ${String(e[0]?.record?.residenceRegion)}`)

    section("7. Guangdong's own dibao 2001 for the same person: refused across provinces")
    const submit2 = await cli.tx({ label: "B's township receives an application for 2001", signer: 'b-town', op: 'application submit', fields: { 'subject-id': p1, 'program-id': '2001' } })
    const app2 = submit2.data
    await cli.tx({ label: "B's township accepts (it is now the hukou township)", signer: 'b-town', op: 'application accept', fields: { 'application-id': app2 } })
    await cli.tx({ label: "B's township opens publicity", signer: 'b-town', op: 'publicity open', fields: { 'application-id': app2 } })
    const opened2 = await client.query(`/application/${app2}`)
    const close2 = Number((opened2.value[0]?.record as { publicityOpenedAt: number }).publicityOpenedAt) + params.publicityMinMs
    say(`✓ client.query('/application/${short(app2, 12)}') (library, verified=${String(opened2.verified)} at height ${opened2.height}); waiting out publicity…`)
    await waitUntil('the publicity period to pass', 120_000, async () => ((await client.status()).latestBlockTime > close2 ? true : null))
    await cli.tx({ label: "B's township closes publicity", signer: 'b-town', op: 'publicity close', fields: { 'application-id': app2 } })
    await cli.tx({ label: "B's county approves 800 yuan/month", signer: 'b-county-ca', op: 'decision approve', fields: { 'application-id': app2, 'amount-fen': '80000', 'next-review-at': String(now + 200 * DAY) }, expect: 'EXCLUSIVITY_CONFLICT' })

    section('8. What the ledger proves now')
    const still = await cli.query(['enrolled', p1, 'basic-living'], (e) => `the only live basic-living enrollment is ${short(String(e[0]?.record?.id))} in ${String(e[1]?.record?.region)}`)
    if (still[0]?.record?.id !== enrollmentId) throw new DemoError('the live enrollment is not the one A approved')
    const a2 = await cli.query(['application', app2], (e) => `application 2001: status ${String(e[0]?.record?.status)} (the refused decision left no trace)`)
    if (a2[0]?.record?.status !== 'publicity-closed') throw new DemoError('the second application changed state')
    const across = await cli.query(['enrollments', p1], (e) => `${e.length - 1} enrollment(s) of the person across provinces`)
    if (across.length !== 2) throw new DemoError(`expected exactly one enrollment, got ${across.length - 1}`)
    await cli.query(['count', 'dibao', A.province], (e) => `active dibao enrollments in ${A.province}: ${String(e[0]?.record?.n)}`)
    const trail = await cli.query(['audit', 'application', appId], (e) => `audit trail (${String(e[0]?.record?.n)} entries): ${e.slice(1).map((x) => String(x.record?.action)).join(' → ')}`)
    if (trail[0]?.record?.n !== 6) throw new DemoError(`expected 6 audit entries, got ${String(trail[0]?.record?.n)}`)
    const lib = await client.query(`/enrolled/${p1}/basic-living`)
    say(`✓ client.query('/enrolled/${short(p1, 12)}/basic-living') (library): verified=${String(lib.verified)}, height ${lib.height}, header ${lib.proof?.height ?? '?'} app_hash ${short(lib.proof?.appHash ?? '')}`)
  } finally {
    await client.close()
  }
}

// ---- main ------------------------------------------------------------------------------------

async function main (): Promise<string> {
  const { values } = parseArgs({
    options: {
      start: { type: 'boolean' }, node: { type: 'string' }, keyring: { type: 'string' }, keep: { type: 'string' }, init: { type: 'string' },
      'base-port': { type: 'string' }, 'in-process-cli': { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values['in-process-cli'] === true) cliMode = 'in-process'
  if (values.help === true) {
    process.stdout.write('Usage: npm run demo -- [--start [--keep DIR]] | [--node URL --keyring DIR] | [--init DIR]\n' +
      '  --start        create and run a 4-node devnet in a temp dir on free ports, stop and delete it at the end\n' +
      '  --keep DIR     with --start: create the devnet in DIR and keep it (nodes are still stopped)\n' +
      '  --init DIR     write a 4-node devnet (ports 26656…, or --base-port P) with the demo genesis and keyring into DIR, then exit\n' +
      '  --node URL     run against a running network (default http://127.0.0.1:26657)\n' +
      '  --in-process-cli  run each aidledger command through the CLI entry in this process, not a child process (tests)\n' +
      '  --keyring DIR  keyring holding the ministry keys of that network (mca, mof, nhc)\n')
    return ''
  }
  if (values.init !== undefined) {
    const dir = resolve(values.init)
    const base = Number(values['base-port'] ?? 26656)
    if (!Number.isSafeInteger(base) || base < 1 || base + 304 > 65535) throw new DemoError('--base-port: expected a port number')
    const net = await createDemoNet(dir, base, false)
    say(`next:  node bin/aidledger.js devnet --home ${join(dir, 'net')}${base === 26656 ? '' : ` --base-port ${base}`}\n        npm run demo -- --node ${net.rpc} --keyring ${net.keyring}`)
    return 'devnet written'
  }
  if (values.start !== true) {
    const keyring = values.keyring ?? process.env.AIDLEDGER_KEYRING
    if (keyring === undefined) throw new DemoError('give --keyring DIR (the keyring with the network\'s ministry keys), or use --start for a self-contained run')
    await runScenario({ node: values.node ?? 'http://127.0.0.1:26657', keyring: resolve(keyring) })
    return FINISHED
  }
  const dir = values.keep !== undefined ? resolve(values.keep) : await mkdtemp(join(tmpdir(), 'aidledger-demo-'))
  section(`0. A 4-validator devnet of our own in ${dir}`)
  const net = await createDemoNet(dir, await findFreeBasePort(4), true)
  const nodes = startNodes(net.homes)
  // Interrupted: stop the nodes, clean up, and leave (the scenario's pending calls die with us).
  const interrupted = (sig: NodeJS.Signals): void => {
    say(`${sig}: stopping the devnet`)
    void stopNodes(nodes).then(async () => {
      if (values.keep === undefined) await rm(dir, { recursive: true, force: true })
    }).finally(() => { process.exit(130) })
  }
  process.once('SIGINT', interrupted)
  process.once('SIGTERM', interrupted)
  // Last resort (an uncaught crash): no node outlives the demo.
  process.once('exit', () => { for (const n of nodes) if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill('SIGKILL') })
  let failed = false
  try {
    const probe = connect({ url: net.rpc })
    await waitUntil('the devnet to commit block 2', 180_000, async () => {
      const gone = nodes.find((n) => n.child.exitCode !== null)
      if (gone !== undefined) throw new DemoError(`a node exited early; its log:\n${tail(join(gone.home, 'node.log'))}`)
      return (await probe.status()).latestHeight >= 2 ? true : null
    })
    await probe.close()
    say(`✓ nodes started (pids ${nodes.map((n) => n.child.pid ?? '?').join(' ')}), committing; node0 RPC ${net.rpc}`)
    await runScenario({ node: net.rpc, keyring: net.keyring })
  } catch (err) {
    failed = true
    throw err
  } finally {
    section('Stopping the devnet')
    await stopNodes(nodes)
    if (failed) for (const h of net.homes.slice(0, 1)) process.stderr.write(`--- ${h}/node.log (tail) ---\n${tail(join(h, 'node.log'), 30)}\n`)
    if (values.keep === undefined) await rm(dir, { recursive: true, force: true })
    say(values.keep === undefined ? 'stopped; temp dir removed' : `stopped; kept ${dir}`)
  }
  return FINISHED
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)
if (isMain) {
  main().then((message) => {
    if (message !== '') say(message)
  }, (err: unknown) => {
    process.stderr.write(`\ndemo FAILED: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exitCode = 1
  })
}
