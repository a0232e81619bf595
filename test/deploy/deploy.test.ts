import t from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { configKeys } from '../../src/config/config.ts'
import { testnetPorts } from '../../src/config/testnet.ts'
import { commandTable } from '../../src/cli/main.ts'
import { createMetrics } from '../../src/metrics.ts'
import { alertRules, DEPLOY, NO_PROMTOOL, promtool, readDeploy, run, scanRules, yamlParser } from './files.ts'
import { familyOf, metricNamesIn } from './promql.ts'

const TOOL = await promtool()
const YAML = await yamlParser()

/** Series Prometheus itself adds to every scrape. */
const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped'])

const ALERTS = [
  'AidledgerNodeDown', 'AidledgerNoNewBlock', 'AidledgerMissingValidators', 'AidledgerValidatorMissedBlocks',
  'AidledgerPeersLow', 'AidledgerMempoolNearFull', 'AidledgerCatchingUp', 'AidledgerByzantineValidator',
]

interface Panel { type: string, title: string, targets?: Array<{ expr: string }>, panels?: Panel[] }
interface Dashboard {
  title: string
  uid: string
  panels: Panel[]
  templating: { list: Array<{ name: string, type: string, query?: string | { query: string } }> }
}

async function dashboard (): Promise<Dashboard> {
  return JSON.parse(await readDeploy('grafana/aidledger.json')) as Dashboard
}

function panelsOf (d: Dashboard): Panel[] {
  const out: Panel[] = []
  const walk = (ps: Panel[] | undefined): void => { for (const p of ps ?? []) { out.push(p); walk(p.panels) } }
  walk(d.panels)
  return out
}

function dashboardExprs (d: Dashboard): string[] {
  return panelsOf(d).flatMap((p) => (p.targets ?? []).map((x) => x.expr))
}

/** Names the node exports (default namespace, process metrics included), and which are histograms. */
function exported (): { names: Set<string>, histograms: Set<string> } {
  const m = createMetrics({ chainId: 'check' })
  const arr = m.registry.getMetricsAsArray() as unknown as Array<{ name: string, type: string }>
  return { names: new Set(arr.map((x) => x.name)), histograms: new Set(arr.filter((x) => x.type === 'histogram').map((x) => x.name)) }
}

function unknownNames (exprs: readonly string[], recorded: ReadonlySet<string> = new Set()): string[] {
  const { names, histograms } = exported()
  const bad = new Set<string>()
  for (const e of exprs) {
    for (const n of metricNamesIn(e)) {
      const fam = familyOf(n, histograms)
      if (!names.has(fam) && !PROMETHEUS_SERIES.has(n) && !recorded.has(n)) bad.add(`${n} (in ${e.slice(0, 80)})`)
    }
  }
  return [...bad]
}

t.test('alerts.yml: the expected alerts, and every metric they use is exported', async (t) => {
  const rules = await alertRules(await readDeploy('prometheus/alerts.yml'))
  t.same(rules.filter((r) => r.kind === 'alert').map((r) => r.name), ALERTS)
  const recorded = new Set(rules.filter((r) => r.kind === 'record').map((r) => r.name))
  const used = new Set(rules.flatMap((r) => metricNamesIn(r.expr)))
  t.ok(used.has('aidledger_consensus_missing_validators'), 'the missing-validator alert uses consensus_missing_validators')
  t.ok(used.has('aidledger_blocksync_syncing') && used.has('aidledger_consensus_byzantine_validators'))
  t.same(unknownNames(rules.map((r) => r.expr), recorded), [], 'no metric outside createMetrics')
  // the line scanner (used when the yaml package is absent) reads the file the same way
  if (YAML !== null) t.same(scanRules(await readDeploy('prometheus/alerts.yml')), rules)
})

t.test('alerts.test.yml: every alert has a case where it fires', { skip: YAML === null && 'the yaml package is not installed' }, async (t) => {
  const doc = YAML!(await readDeploy('prometheus/alerts.test.yml')) as {
    rule_files: string[]
    tests: Array<{ alert_rule_test: Array<{ alertname: string, exp_alerts: unknown[] }> }>
  }
  t.same(doc.rule_files, ['alerts.yml'])
  const firing = new Set(doc.tests.flatMap((g) => g.alert_rule_test.filter((c) => c.exp_alerts.length > 0).map((c) => c.alertname)))
  const quiet = new Set(doc.tests.flatMap((g) => g.alert_rule_test.filter((c) => c.exp_alerts.length === 0).map((c) => c.alertname)))
  for (const a of ALERTS) {
    t.ok(firing.has(a), `${a} is shown firing`)
    t.ok(quiet.has(a), `${a} is shown quiet`)
  }
})

t.test('grafana dashboard: templated on chain_id and instance; every metric exported', async (t) => {
  const d = await dashboard()
  t.equal(d.uid, 'aidledger-node')
  const vars = new Map(d.templating.list.map((v) => [v.name, v]))
  t.ok(vars.has('datasource') && vars.has('chain_id') && vars.has('instance'))
  const titles = panelsOf(d).filter((p) => p.type === 'row').map((p) => p.title)
  for (const want of ['Consensus', 'Mempool', 'P2P', 'Application']) t.ok(titles.includes(want), `row ${want}`)

  const exprs = dashboardExprs(d)
  t.ok(exprs.length >= 40, `${exprs.length} expressions`)
  // template queries: label_values(<selector>, label)
  const varQueries = [...vars.values()].flatMap((v) => {
    const q = typeof v.query === 'object' ? v.query.query : v.query
    if (v.type !== 'query' || q === undefined) return []
    const m = /^label_values\((.*),\s*[a-zA-Z_]\w*\)$/.exec(q)
    t.ok(m !== null, `variable ${v.name} uses label_values(selector, label)`)
    return m === null ? [] : [m[1]!]
  })
  t.same(unknownNames([...exprs, ...varQueries]), [], 'no metric outside createMetrics')

  // every metric selector in a panel is filtered by both variables
  for (const e of exprs) {
    for (const m of e.matchAll(/\b(aidledger_[a-z0-9_]+)(\{[^}]*\})?/g)) {
      const sel = m[2] ?? ''
      if (!sel.includes('chain_id="$chain_id"') || !sel.includes('instance=~"$instance"')) t.fail(`${m[1]} not filtered by $chain_id and $instance in ${e}`)
    }
  }
  // the app panels touch only the bounded app labels
  const appExprs = exprs.filter((e) => e.includes('aidledger_app_'))
  t.ok(appExprs.length >= 4)
})

t.test('prometheus.yml: the devnet\'s four metrics ports, the shipped rules', async (t) => {
  const text = (await readDeploy('prometheus/prometheus.yml')).split('\n').filter((l) => !/^\s*#/.test(l)).join('\n')
  const targets = [...text.matchAll(/targets:\s*\['([^']+)'\]/g)].map((m) => m[1])
  t.same(targets, [0, 1, 2, 3].map((i) => `127.0.0.1:${testnetPorts(26656, i).metrics}`))
  t.same(targets, ['127.0.0.1:26660', '127.0.0.1:26760', '127.0.0.1:26860', '127.0.0.1:26960'])
  t.match(text, /rule_files:\s*\n\s*- alerts\.yml/)
  const interval = /scrape_interval:\s*(\d+)s/.exec(text)
  t.ok(interval !== null && Number(interval[1]) <= 10, 'scrape interval ≤ 10 s, as AidledgerNoNewBlock needs')
})

t.test('systemd unit: hardened, restarts on failure, stops with SIGTERM and a timeout', async (t) => {
  const unit = await readDeploy('systemd/aidledger.service')
  const want = [
    /^User=aidledger$/m, /^Group=aidledger$/m, /^NoNewPrivileges=yes$/m, /^ProtectSystem=strict$/m,
    /^ReadWritePaths=\/var\/lib\/aidledger$/m, /^LimitNOFILE=\d{5,}$/m, /^Restart=on-failure$/m, /^KillSignal=SIGTERM$/m,
    /^TimeoutStopSec=\d+s$/m, /^ExecStart=.* start --home \/var\/lib\/aidledger$/m, /^PrivateTmp=yes$/m, /^CapabilityBoundingSet=$/m,
  ]
  for (const re of want) t.match(unit, re, String(re))
  t.notMatch(unit, /^MemoryDenyWriteExecute=yes/m, 'V8 needs W^X off')
  const verify = await run('sh', ['-c', 'command -v systemd-analyze'])
  if (verify.code !== 0) return t.comment('systemd-analyze not installed: unit not verified')
  const r = await run('systemd-analyze', ['verify', join(DEPLOY, 'systemd/aidledger.service')])
  const complaints = (r.stdout + r.stderr).split('\n').filter((l) => /unknown|invalid|failed to parse|syntax/i.test(l) && !/not executable|no such file/i.test(l))
  t.same(complaints, [], 'systemd-analyze verify: no syntax complaints')
})

t.test('GUIDE.md names real config keys and CLI commands', async (t) => {
  const guide = await readDeploy('GUIDE.md')
  const keys = new Set(configKeys())
  const sections = new Set(configKeys().filter((k) => k.includes('.')).map((k) => k.split('.')[0]))
  const mentioned = [...guide.matchAll(/`([a-z_]+)\.([a-z_]+)(?: = [^`]*)?`/g)].filter((m) => sections.has(m[1]!)).map((m) => `${m[1]}.${m[2]}`)
  t.ok(mentioned.length >= 15, `${mentioned.length} config keys mentioned`)
  for (const k of mentioned) t.ok(keys.has(k), `config key ${k} exists`)
  const planned = new Set(['start', 'devnet', 'keys', 'tx', 'query'])
  const known = new Set(commandTable.map((c) => c.name.split(' ')[0]))
  const commands = new Set([...guide.matchAll(/`aidledger ([a-z][a-z-]*)/g)].map((m) => m[1]!))
  // and command lines inside ``` blocks
  for (const block of guide.matchAll(/```[a-z]*\n([^]*?)```/g)) {
    for (const m of block[1]!.matchAll(/^aidledger ([a-z][a-z-]*)/gm)) commands.add(m[1]!)
  }
  t.ok(commands.size >= 5)
  for (const c of commands) t.ok(known.has(c) || planned.has(c), `aidledger ${c} exists or is marked as being built`)
  for (const p of planned) if (!known.has(p) && guide.includes(`aidledger ${p}`)) t.match(guide, new RegExp(`Being built:[^]*\`${p}\``), `${p} is listed as being built`)
  for (const f of ['priv_validator_key.json', 'priv_validator_state.json', 'node_key.json', 'genesis.json', 'cs.wal']) t.ok(guide.includes(f), f)
  for (const port of ['26656', '26657', '26660']) t.ok(guide.includes(port), `port ${port}`)
})

t.test('promtool: config, rules, rule unit tests, dashboard PromQL', { skip: TOOL === null && NO_PROMTOOL }, async (t) => {
  const tool = TOOL!
  const cfg = await run(tool, ['check', 'config', 'prometheus.yml'], join(DEPLOY, 'prometheus'))
  t.equal(cfg.code, 0, `promtool check config\n${cfg.stdout}${cfg.stderr}`)
  const rules = await run(tool, ['check', 'rules', 'alerts.yml'], join(DEPLOY, 'prometheus'))
  t.equal(rules.code, 0, `promtool check rules\n${rules.stdout}${rules.stderr}`)
  t.match(rules.stdout, /SUCCESS: 8 rules found/)
  const unit = await run(tool, ['test', 'rules', 'alerts.test.yml'], join(DEPLOY, 'prometheus'))
  t.equal(unit.code, 0, `promtool test rules\n${unit.stdout}${unit.stderr}`)

  const exprs = dashboardExprs(await dashboard())
  const dir = await mkdtemp(join(tmpdir(), 'aidledger-dash-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const sub = (e: string): string => e.replaceAll('$__rate_interval', '1m').replaceAll('$chain_id', 'x').replaceAll('$instance', '.*')
  const lines = ['groups:', '  - name: dashboard', '    rules:']
  exprs.forEach((e, i) => lines.push(`      - record: dashboard:expr_${i}`, `        expr: ${JSON.stringify(sub(e))}`))
  await writeFile(join(dir, 'rules.yml'), lines.join('\n') + '\n')
  const dash = await run(tool, ['check', 'rules', join(dir, 'rules.yml')])
  t.equal(dash.code, 0, `dashboard PromQL parses\n${dash.stdout}${dash.stderr}`)

  // promtool catches a broken rule (the check above is not vacuous)
  await writeFile(join(dir, 'broken.yml'), 'groups:\n  - name: x\n    rules:\n      - alert: X\n        expr: sum(rate(m[5m])\n')
  t.not((await run(tool, ['check', 'rules', join(dir, 'broken.yml')])).code, 0)
})

t.test('deploy/check.sh passes (without installing anything)', { skip: TOOL === null && NO_PROMTOOL }, async (t) => {
  const r = await run('bash', [join(DEPLOY, 'check.sh')], DEPLOY, { ...process.env, AIDLEDGER_NO_INSTALL: '1' })
  t.equal(r.code, 0, r.stdout + r.stderr)
  t.match(r.stdout, /== deploy\/ OK/)
})
