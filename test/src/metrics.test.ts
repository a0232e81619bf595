import t from 'tap'
import { register as globalRegistry } from 'prom-client'
import { createLogger } from '../../src/log.ts'
import { createMetrics, metricCatalogue, type Metrics } from '../../src/metrics.ts'
import { exponentialBucketsRange, METRIC_DEFS } from '../../src/metrics/defs.ts'
import { labelValue } from '../../src/metrics/handles.ts'
import { type Family, parseExposition, sampleValue } from './metrics-exposition.ts'
import { EXPECTED } from './metrics-expected.ts'

async function scrape (m: Metrics): Promise<Map<string, Family>> {
  return parseExposition(await m.render())
}

t.test('exports CometBFT\'s metric names and types under the namespace, plus the app\'s own', async (t) => {
  const m = createMetrics({ chainId: 'devnet' })
  const names = new Set(m.names())
  const catalogue = new Map(metricCatalogue().map((c) => [c.name, c]))
  for (const [name, type, labels] of EXPECTED) {
    const full = `aidledger_${name}`
    t.ok(names.has(full), `${full} exported`)
    t.equal(catalogue.get(full)?.type, type, `${full} is a ${type}`)
    t.same(catalogue.get(full)?.labels, labels, `${full} labels`)
  }
  // every table entry is registered, and nothing else besides the process metrics
  for (const c of catalogue.keys()) t.ok(names.has(c), `${c} registered`)
  for (const n of names) t.ok(catalogue.has(n) || /^aidledger_(process|nodejs)_/.test(n), `${n} expected`)
  t.ok(names.has('aidledger_process_cpu_seconds_total') && names.has('aidledger_nodejs_eventloop_lag_seconds'), 'process metrics with the prefix')
  // counters own to aidledger end in _total; CometBFT's keep their exact names
  for (const s of Object.values(METRIC_DEFS)) {
    for (const d of Object.values(s) as Array<{ type: string, name: string, own?: boolean }>) {
      if (d.own === true && d.type === 'counter') t.match(d.name, /_total$/, `${d.name}: own counter ends in _total`)
    }
  }
  // the types the scrape declares are the table's
  const fam = await scrape(m)
  for (const [name, type] of EXPECTED) t.equal(fam.get(`aidledger_${name}`)?.type, type, `# TYPE aidledger_${name} ${type}`)
})

t.test('namespace, chain_id on every sample, own registry per call', async (t) => {
  const a = createMetrics({ namespace: 'ledger_b', chainId: 'chain-a', processMetrics: false })
  const b = createMetrics({ namespace: 'ledger_b', chainId: 'chain-b' })
  a.observeBlock({ height: 1, numTxs: 1, sizeBytes: 10 })
  a.observeTx('submit-application', 0)
  a.setPeers({ peers: 1, perPeer: { peerA: { channels: { votes: { bytesSent: 5, bytesReceived: 6 } } } } })
  const fa = await scrape(a)
  const fb = await scrape(b)
  t.ok(fa.has('ledger_b_consensus_height') && !fa.has('aidledger_consensus_height'))
  t.notOk([...fa.keys()].some((n) => n.includes('process_')), 'processMetrics: false')
  let samples = 0
  for (const f of fa.values()) {
    for (const s of f.samples) {
      samples++
      t.equal(s.labels.chain_id, 'chain-a', `${s.name} has chain_id`)
    }
  }
  t.ok(samples > 50)
  for (const f of fb.values()) for (const s of f.samples) if (s.labels.chain_id !== 'chain-b') t.fail(`${s.name} chain_id`)
  t.equal(sampleValue(fa, 'ledger_b_consensus_height'), 1)
  t.equal(sampleValue(fb, 'ledger_b_consensus_height'), 0, 'instances are independent')
  t.notOk((await globalRegistry.metrics()).includes('ledger_b_'), 'the global prom-client registry is untouched')
  t.throws(() => createMetrics({ namespace: 'bad-name', chainId: 'x' }), /namespace/)
})

t.test('disabled: same shape, no-op handles, nothing rendered', async (t) => {
  const on = createMetrics({ chainId: 'x', processMetrics: false })
  const off = createMetrics({ chainId: 'x', enabled: false })
  t.equal(off.enabled, false)
  t.same(Object.keys(off).sort(), Object.keys(on).sort())
  for (const s of Object.keys(METRIC_DEFS) as Array<keyof typeof METRIC_DEFS>) {
    t.same(Object.keys(off[s]).sort(), Object.keys(on[s]).sort(), `${s} handles`)
    for (const [k, hnd] of Object.entries(off[s])) {
      t.same(Object.keys(hnd).sort(), Object.keys((on[s] as Record<string, object>)[k]!).sort(), `${s}.${k} methods`)
    }
  }
  off.observeBlock({ height: 3, numTxs: 1, sizeBytes: 1, lastCommit: { height: 2, signatures: [{ address: 'AA', power: 1, signed: false }] } })
  off.enterStep(1, 0, 'propose')
  off.setMempool({ size: 1, sizeBytes: 1, counters: { failed: 1, rejected: 1, evicted: 1, recheck: 1 } })
  off.setPeers({ peers: 1 })
  off.observeTx('x', 1)
  off.addDisbursed('dibao', 5n)
  off.setApplications({ submitted: 1 })
  off.consensus.height.set(5)
  off.p2p.peerSendBytesTotal.inc({ peer_id: 'p', chID: 'votes' }, 3)
  t.equal(await off.render(), '')
  t.same(off.names(), [])
  t.equal(off.registry.getMetricsAsArray().length, 0)
})

t.test('observeBlock: heights, txs, sizes, intervals, validators, missing and byzantine', async (t) => {
  const m = createMetrics({ chainId: 'c', processMetrics: false })
  const A = 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
  const B = new Uint8Array(20).fill(0xbb)
  const Bhex = 'BB'.repeat(20)
  const C = 'CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC'
  m.setCommittedHeight(9, 100)
  let f = await scrape(m)
  t.equal(sampleValue(f, 'aidledger_consensus_latest_block_height'), 9, 'restored at start')
  t.equal(sampleValue(f, 'aidledger_consensus_total_txs'), 100)

  m.observeBlock({
    height: 10,
    numTxs: 3,
    sizeBytes: 2048,
    intervalSeconds: 1.5,
    processingMs: 12,
    validators: { count: 3, power: 30n },
    lastCommit: { height: 9, signatures: [{ address: A, power: 10, signed: true }, { address: B, power: 10n, signed: false }, { address: C, power: 10, signed: true }] },
    validatorUpdates: 1,
  })
  m.observeBlock({
    height: 11,
    numTxs: 2,
    sizeBytes: 1024,
    intervalSeconds: 0.5,
    lastCommit: { height: 10, signatures: [{ address: A, power: 10, signed: true }, { address: B, power: 10, signed: false }, { address: C, power: 10, signed: false }] },
    byzantine: { count: 1, power: 10 },
  })
  f = await scrape(m)
  const v = (n: string, l: Record<string, string> = {}, s?: string): number => sampleValue(f, `aidledger_${n}`, l, s === undefined ? undefined : `aidledger_${s}`)
  t.equal(v('consensus_height'), 11)
  t.equal(v('consensus_latest_block_height'), 11)
  t.equal(v('consensus_num_txs'), 2)
  t.equal(v('consensus_total_txs'), 105, 'running total from the restored one')
  t.equal(v('consensus_block_size_bytes'), 1024)
  t.equal(v('consensus_chain_size_bytes'), 3072)
  t.equal(v('consensus_block_interval_seconds', {}, 'consensus_block_interval_seconds_count'), 2)
  t.equal(v('consensus_block_interval_seconds', {}, 'consensus_block_interval_seconds_sum'), 2)
  t.equal(v('consensus_block_interval_seconds', { le: '1' }, 'consensus_block_interval_seconds_bucket'), 1)
  t.equal(v('state_block_processing_time', {}, 'state_block_processing_time_sum'), 12, 'milliseconds, as CometBFT')
  t.equal(v('state_validator_set_updates'), 1)
  t.equal(v('consensus_validators'), 3)
  t.equal(v('consensus_validators_power'), 30)
  t.equal(v('consensus_missing_validators'), 2)
  t.equal(v('consensus_missing_validators_power'), 20)
  t.equal(v('consensus_byzantine_validators'), 1)
  t.equal(v('consensus_byzantine_validators_power'), 10)
  t.equal(v('consensus_validator_last_signed_height', { validator_address: A }), 10)
  t.equal(v('consensus_validator_last_signed_height', { validator_address: C }), 9)
  t.equal(v('consensus_validator_missed_blocks', { validator_address: Bhex }), 2, 'bytes addresses shown as upper-case hex')
  t.equal(v('consensus_validator_missed_blocks', { validator_address: C }), 1)
  t.equal(v('consensus_validator_missed_blocks', { validator_address: A }), 0)
  t.equal(v('consensus_validator_power', { validator_address: A }), 10)

  // a replayed height moves nothing cumulative; byzantine resets at the next block; C leaves the set
  m.observeBlock({ height: 11, numTxs: 2, sizeBytes: 1024, intervalSeconds: 9 })
  m.observeBlock({ height: 12, numTxs: 0, sizeBytes: 500, lastCommit: { height: 11, signatures: [{ address: A, power: 10, signed: true }, { address: B, power: 10, signed: true }] } })
  f = await scrape(m)
  t.equal(v('consensus_total_txs'), 105)
  t.equal(v('consensus_block_interval_seconds', {}, 'consensus_block_interval_seconds_count'), 2)
  t.equal(v('consensus_chain_size_bytes'), 3572)
  t.equal(v('consensus_byzantine_validators'), 0)
  t.equal(v('consensus_missing_validators'), 0)
  t.notOk(f.get('aidledger_consensus_validator_power')!.samples.some((s) => s.labels.validator_address === C), 'series of a departed validator removed')
  t.equal(v('consensus_validator_last_signed_height', { validator_address: Bhex }), 11)

  // block sync: blocksync_* and the latest height move, consensus_height does not
  m.setSyncing(true)
  m.observeBlock({ height: 13, numTxs: 4, sizeBytes: 700, source: 'blocksync', processingMs: 3 })
  f = await scrape(m)
  t.equal(v('blocksync_syncing'), 1)
  t.equal(v('blocksync_latest_block_height'), 13)
  t.equal(v('blocksync_num_txs'), 4)
  t.equal(v('blocksync_block_size_bytes'), 700)
  t.equal(v('blocksync_total_txs'), 109, 'one running total for both sources')
  t.equal(v('consensus_latest_block_height'), 13)
  t.equal(v('consensus_height'), 12)
  t.equal(v('state_block_processing_time', {}, 'state_block_processing_time_count'), 2)
  m.setSyncing(false)
  f = await scrape(m)
  t.equal(v('blocksync_syncing'), 0)
})

t.test('enterStep: rounds, round and step durations from the injected clock', async (t) => {
  let now = 1000
  const m = createMetrics({ chainId: 'c', processMetrics: false }, { now: () => now })
  m.enterStep(5, 0, 'propose')
  now += 3000
  m.enterStep(5, 0, 'prevote')
  now += 1000
  m.enterStep(5, 0, 'prevote') // repeated event: nothing new
  m.enterStep(5, 1, 'propose')
  now += 500
  m.enterStep(5, 1, 'prevote')
  now += 250
  m.enterStep(6, 0, 'propose')
  const f = await scrape(m)
  const step = (s: string, suffix: string): number => sampleValue(f, 'aidledger_consensus_step_duration_seconds', { step: s }, `aidledger_consensus_step_duration_seconds_${suffix}`)
  t.equal(step('propose', 'sum'), 3.5)
  t.equal(step('propose', 'count'), 2)
  t.equal(step('prevote', 'sum'), 1.25)
  t.equal(sampleValue(f, 'aidledger_consensus_round_duration_seconds', {}, 'aidledger_consensus_round_duration_seconds_sum'), 4.75)
  t.equal(sampleValue(f, 'aidledger_consensus_round_duration_seconds', {}, 'aidledger_consensus_round_duration_seconds_count'), 2)
  t.equal(sampleValue(f, 'aidledger_consensus_rounds'), 0)
  t.same(exponentialBucketsRange(0.1, 100, 8).map((b) => Number(b.toFixed(4))), [0.1, 0.2683, 0.7197, 1.9307, 5.1795, 13.895, 37.2759, 100])
})

t.test('mempool and p2p: cumulative totals become counter increments', async (t) => {
  const m = createMetrics({ chainId: 'c', processMetrics: false })
  m.setMempool({ size: 10, sizeBytes: 5000, sizeLimit: 5000, sizeBytesLimit: 1 << 30, counters: { failed: 2, rejected: 1, evicted: 0, recheck: 4, alreadyReceived: 7 } })
  m.setMempool({ size: 12, sizeBytes: 6000, counters: { failed: 5, rejected: 1, evicted: 3, recheck: 4, alreadyReceived: 7 } })
  m.observeMempoolTx(300)
  m.observeMempoolTx(900)
  let f = await scrape(m)
  t.equal(sampleValue(f, 'aidledger_mempool_size'), 12)
  t.equal(sampleValue(f, 'aidledger_mempool_size_bytes'), 6000)
  t.equal(sampleValue(f, 'aidledger_mempool_size_limit'), 5000)
  t.equal(sampleValue(f, 'aidledger_mempool_failed_txs'), 5)
  t.equal(sampleValue(f, 'aidledger_mempool_rejected_txs'), 1)
  t.equal(sampleValue(f, 'aidledger_mempool_evicted_txs'), 3)
  t.equal(sampleValue(f, 'aidledger_mempool_recheck_times'), 4)
  t.equal(sampleValue(f, 'aidledger_mempool_already_received_txs'), 7)
  t.equal(sampleValue(f, 'aidledger_mempool_tx_size_bytes', {}, 'aidledger_mempool_tx_size_bytes_count'), 2)
  t.equal(sampleValue(f, 'aidledger_mempool_tx_size_bytes', { le: '729' }, 'aidledger_mempool_tx_size_bytes_bucket'), 1)
  // a recreated mempool starts its totals from 0 again: counted as a restart, never a decrease
  m.setMempool({ size: 0, sizeBytes: 0, counters: { failed: 1, rejected: 0, evicted: 0, recheck: 0 } })
  f = await scrape(m)
  t.equal(sampleValue(f, 'aidledger_mempool_failed_txs'), 6)

  const stats = (sent: number, recv: number): Parameters<Metrics['setPeers']>[0] => ({
    peers: 2,
    channels: { votes: { bytesSent: sent, bytesReceived: recv }, mempool: { bytesSent: 1, bytesReceived: 1 } },
    perPeer: {
      '12D3KooWPeerA': { channels: { votes: { bytesSent: sent, bytesReceived: recv } } },
      '12D3KooWPeerB': { channels: { mempool: { bytesSent: 1, bytesReceived: 1 } } },
    },
  })
  m.setPeers(stats(100, 200))
  m.setPeers(stats(150, 260))
  f = await scrape(m)
  t.equal(sampleValue(f, 'aidledger_p2p_peers'), 2)
  t.equal(sampleValue(f, 'aidledger_p2p_peer_send_bytes_total', { peer_id: '12D3KooWPeerA', chID: 'votes' }), 150)
  t.equal(sampleValue(f, 'aidledger_p2p_peer_receive_bytes_total', { peer_id: '12D3KooWPeerA', chID: 'votes' }), 260)
  t.equal(sampleValue(f, 'aidledger_p2p_peer_receive_bytes_total', { peer_id: '12D3KooWPeerB', chID: 'mempool' }), 1)
  t.equal(sampleValue(f, 'aidledger_p2p_message_send_bytes_total', { message_type: 'votes' }), 150)
  t.equal(sampleValue(f, 'aidledger_p2p_message_receive_bytes_total', { message_type: 'mempool' }), 1)
})

t.test('app metrics: bounded labels only, snapshots zero what disappeared', async (t) => {
  const m = createMetrics({ chainId: 'c', processMetrics: false })
  m.observeTx('submit-application', 0)
  m.observeTx('submit-application', 0)
  m.observeTx('disburse', 101)
  m.addDisbursed('dibao', 120_000)
  m.addDisbursed('dibao', 30_000n)
  m.setApplications({ submitted: 4, approved: 2 })
  m.setApplications({ submitted: 5 })
  m.setOpenEscalations({ county: 2, city: 1 })
  // a wiring mistake that passes a subject id or office key as a label value
  m.observeTx('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 0)
  m.addDisbursed('person 42', 1)
  const f = await scrape(m)
  t.equal(sampleValue(f, 'aidledger_app_txs_total', { operation: 'submit-application', code: '0' }), 2)
  t.equal(sampleValue(f, 'aidledger_app_txs_total', { operation: 'disburse', code: '101' }), 1)
  t.equal(sampleValue(f, 'aidledger_app_txs_total', { operation: 'redacted', code: '0' }), 1)
  t.equal(sampleValue(f, 'aidledger_app_disbursed_fen_total', { category: 'dibao' }), 150_000)
  t.equal(sampleValue(f, 'aidledger_app_disbursed_fen_total', { category: 'invalid' }), 1)
  t.equal(sampleValue(f, 'aidledger_app_applications', { status: 'submitted' }), 5)
  t.equal(sampleValue(f, 'aidledger_app_applications', { status: 'approved' }), 0)
  t.equal(sampleValue(f, 'aidledger_app_open_escalations', { level: 'county' }), 2)
  const text = await m.render()
  t.notMatch(text, /9f86d081884c7d65/, 'the id never reaches the scrape')
  // only bounded label names on app metrics
  for (const n of ['app_txs_total', 'app_applications', 'app_disbursed_fen_total', 'app_open_escalations']) {
    for (const s of f.get(`aidledger_${n}`)!.samples) {
      for (const l of Object.keys(s.labels)) t.ok(['chain_id', 'operation', 'code', 'status', 'category', 'level'].includes(l), `${n}: label ${l}`)
    }
  }
})

t.test('label values are checked; series are capped; handles never throw', async (t) => {
  t.equal(labelValue('validator_address', 'ABCDEF0123456789ABCDEF0123456789ABCDEF01'), 'ABCDEF0123456789ABCDEF0123456789ABCDEF01', 'ids may be hex')
  t.equal(labelValue('peer_id', '12D3KooWGzBvq9ELtQpUAvL8JQj4oL3VNYPHxqqmVaa1m6Q5d1t5'), '12D3KooWGzBvq9ELtQpUAvL8JQj4oL3VNYPHxqqmVaa1m6Q5d1t5')
  t.equal(labelValue('peer_id', 'x"y'), 'invalid')
  t.equal(labelValue('status', 'publicity-open'), 'publicity-open')
  t.equal(labelValue('code', 42), '42')
  t.equal(labelValue('status', 'z'.repeat(65)), 'invalid')
  t.equal(labelValue('level', 'county\n'), 'invalid')
  t.equal(labelValue('operation', 'x-00112233445566778899'), 'redacted')

  const lines: string[] = []
  const m = createMetrics({ chainId: 'c', processMetrics: false, maxSeriesPerMetric: 3 }, { logger: createLogger({ write: (l) => lines.push(l) }) })
  for (let i = 0; i < 10; i++) m.observeTx(`op${i}`, 0)
  let f = await scrape(m)
  t.equal(f.get('aidledger_app_txs_total')!.samples.length, 3, 'series past the cap dropped')
  t.equal(lines.filter((l) => l.includes('series cap')).length, 1, 'one warning per metric')
  m.observeTx('op1', 0)
  f = await scrape(m)
  t.equal(sampleValue(f, 'aidledger_app_txs_total', { operation: 'op1', code: '0' }), 2, 'known series still count')

  t.doesNotThrow(() => {
    m.consensus.height.set(NaN)
    m.consensus.duplicateVote.inc(-1)
    m.mempool.txSizeBytes.observe(Infinity)
    m.app.txs.inc({ operation: 'op0', code: 0 }, -5)
  })
  f = await scrape(m)
  t.equal(sampleValue(f, 'aidledger_consensus_height'), 0)
  t.equal(sampleValue(f, 'aidledger_consensus_duplicate_vote'), 0)
  m.observeDuplicateVote()
  m.observeDuplicateBlockPart()
  m.observeConflictingVote()
  m.setReady(true)
  f = await scrape(m)
  t.equal(sampleValue(f, 'aidledger_consensus_duplicate_vote'), 1)
  t.equal(sampleValue(f, 'aidledger_consensus_duplicate_block_part'), 1)
  t.equal(sampleValue(f, 'aidledger_consensus_conflicting_votes_total'), 1)
  t.equal(sampleValue(f, 'aidledger_node_ready'), 1)
})
