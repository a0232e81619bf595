/**
 * From createMetrics to the alert rules: four devnet nodes' metrics objects are fed the
 * blocks of a chain in which validator D is killed at t = 60 s; the values the three
 * survivors export (scraped and parsed every 15 s, as Prometheus would) become promtool's
 * input series, and the shipped rules must raise AidledgerMissingValidators,
 * AidledgerValidatorMissedBlocks (naming D) and AidledgerPeersLow, and nothing before the
 * kill.
 */
import t from 'tap'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMetrics, type Metrics } from '../../src/metrics.ts'
import { parseExposition } from '../src/metrics-exposition.ts'
import { DEPLOY, NO_PROMTOOL, promtool, readDeploy, run, yamlParser } from './files.ts'

const TOOL = await promtool()
const YAML = await yamlParser()

const VALIDATORS = ['A', 'B', 'C', 'D'].map((c) => c.repeat(40))
const D = VALIDATORS[3]!
const TICKS = 40 // 10 minutes at 15 s
const KILL_TICK = 4 // t = 60 s
const FAMILIES = [
  'aidledger_consensus_missing_validators',
  'aidledger_consensus_missing_validators_power',
  'aidledger_consensus_validator_missed_blocks',
  'aidledger_consensus_latest_block_height',
  'aidledger_consensus_validators',
  'aidledger_p2p_peers',
  'aidledger_blocksync_syncing',
  'aidledger_consensus_byzantine_validators',
]

interface Rule { alert?: string, annotations?: Record<string, string> }

t.test('killing one of four devnet validators raises the missing-validator alerts', {
  skip: (TOOL === null && NO_PROMTOOL) || (YAML === null && 'the yaml package is not installed'),
}, async (t) => {
  const nodes: Metrics[] = [0, 1, 2, 3].map(() => createMetrics({ chainId: 'devnet', processMetrics: false }))
  const instance = (i: number): string => `127.0.0.1:${26660 + 100 * i}`
  /** series text → value per tick ('_' where the node was not scraped) */
  const series = new Map<string, string[]>()

  for (let tick = 0; tick < TICKS; tick++) {
    const dead = tick >= KILL_TICK
    const height = tick + 2
    const signatures = VALIDATORS.map((address, i) => ({ address, power: 10, signed: !(dead && i === 3) }))
    for (let i = 0; i < 4; i++) {
      if (dead && i === 3) continue
      const m = nodes[i]!
      m.observeBlock({
        height,
        numTxs: 0,
        sizeBytes: 600,
        intervalSeconds: 15,
        validators: { count: 4, power: 40 },
        lastCommit: { height: height - 1, signatures },
      })
      m.setPeers({ peers: dead ? 2 : 3 })
      const fams = parseExposition(await m.render())
      for (const name of FAMILIES) {
        for (const s of fams.get(name)?.samples ?? []) {
          const labels = { ...s.labels, instance: instance(i), job: 'aidledger' }
          const key = `${s.name}{${Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}="${v}"`).join(', ')}}`
          const values = series.get(key) ?? Array<string>(TICKS).fill('_')
          values[tick] = String(s.value)
          series.set(key, values)
        }
      }
    }
  }
  t.ok([...series.keys()].some((k) => k.includes(D) && k.startsWith('aidledger_consensus_validator_missed_blocks')), 'D\'s missed blocks exported')

  const rules = (YAML!(await readDeploy('prometheus/alerts.yml')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules)
  const annotations = (alert: string, labels: Record<string, string>): Record<string, string> => {
    const rule = rules.find((r) => r.alert === alert)!
    const out: Record<string, string> = {}
    for (const [k, v] of Object.entries(rule.annotations ?? {})) {
      out[k] = v.replace(/\{\{ \$labels\.([a-z_]+) \}\}/g, (_, l: string) => labels[l] ?? '')
    }
    return out
  }
  const expect = (alert: string, labels: Record<string, string>): Record<string, unknown> => ({
    exp_labels: labels,
    exp_annotations: annotations(alert, labels),
  })
  const survivors = [0, 1, 2].map((i) => ({ chain_id: 'devnet', instance: instance(i), job: 'aidledger' }))
  const cases = [
    { eval_time: '55s', alertname: 'AidledgerMissingValidators', exp_alerts: [] },
    { eval_time: '55s', alertname: 'AidledgerPeersLow', exp_alerts: [] },
    { eval_time: '3m', alertname: 'AidledgerMissingValidators', exp_alerts: [expect('AidledgerMissingValidators', { chain_id: 'devnet', severity: 'warning' })] },
    { eval_time: '6m', alertname: 'AidledgerValidatorMissedBlocks', exp_alerts: [expect('AidledgerValidatorMissedBlocks', { chain_id: 'devnet', validator_address: D, severity: 'warning' })] },
    { eval_time: '4m', alertname: 'AidledgerPeersLow', exp_alerts: survivors.map((l) => expect('AidledgerPeersLow', { ...l, severity: 'warning' })) },
    { eval_time: '6m', alertname: 'AidledgerByzantineValidator', exp_alerts: [] },
    { eval_time: '6m', alertname: 'AidledgerCatchingUp', exp_alerts: [] },
  ]
  const doc = {
    rule_files: [join(DEPLOY, 'prometheus', 'alerts.yml')],
    evaluation_interval: '15s',
    tests: [{
      interval: '15s',
      input_series: [...series].map(([s, values]) => ({ series: s, values: values.join(' ') })),
      alert_rule_test: cases,
    }],
  }
  const dir = await mkdtemp(join(tmpdir(), 'aidledger-kill-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  // JSON is YAML: promtool reads it as is
  await writeFile(join(dir, 'kill.test.yml'), JSON.stringify(doc, null, 1))
  const r = await run(TOOL!, ['test', 'rules', join(dir, 'kill.test.yml')])
  t.equal(r.code, 0, r.stdout + r.stderr)
})
