/**
 * e2e (a): four validator processes on loopback reach height 10 with the same block hash,
 * header app hash and app hash (each node's own, after executing the block) at every
 * height 1..10 — read live (RPC or logs), then from the stores after a clean shutdown.
 * Along the way each node's /metrics is scraped over HTTP twice (near the start, at the
 * target): every catalogued family is exported, values are sensible, and they move.
 */
import t, { type Test } from 'tap'
import { compareChains, compareStores, createTestnet } from './harness.ts'
import { foreignChainSamples, missingFamilies, type Scrape, scrapeMetrics, total } from './metrics.ts'

const TARGET = 10

// Process start-up alone can take tens of seconds on a loaded machine; every wait inside is bounded.
t.setTimeout(600_000)

t.test('4 validators agree on every block and app hash up to height 10', async (t) => {
  const started = Date.now()
  const net = await createTestnet({ validators: 4, label: 'agree' })
  t.teardown(async () => { await net.destroy({ printLogs: !t.passing(), print: (m) => t.comment(m) }) })

  await net.start()
  t.comment(`probe: ${net.nodes[0]?.probe.kind ?? '?'}; base port ${net.basePort}`)
  await net.waitHeight(2, { timeoutMs: 180_000 })
  const early = await Promise.all(net.nodes.map(async (n) => await scrapeMetrics(n.ports.metrics)))
  const hs = await net.waitHeight(TARGET, { timeoutMs: 180_000 })
  t.ok(hs.every((h) => h >= TARGET), `all at ≥ ${TARGET}: ${hs.join(' ')}`)
  const late = await Promise.all(net.nodes.map(async (n) => await scrapeMetrics(n.ports.metrics)))
  net.nodes.forEach((n, i) => { checkMetrics(t, n.name, net.result.chainId, early[i]!, late[i]!, net.nodes.map((x) => x.validatorAddress)) })

  const live = await compareChains(net.nodes.map((n) => ({ name: n.name, probe: n.probe })), 1, TARGET)
  t.same(live.mismatches, [], 'live: no differing hashes')
  t.ok(live.checked >= TARGET - 1, `live: compared ${live.checked} heights (${live.unknown} unknown to a log probe)`)

  const stored = await compareStores(net.nodes)
  t.same(stored.cleanStops, [true, true, true, true], 'every node stops cleanly on SIGTERM (exit 0)')
  t.ok(Math.min(...stored.heights) >= TARGET, `stores hold ≥ ${TARGET} blocks: ${stored.heights.join(' ')}`)
  t.same(stored.mismatches, [], 'stores: identical block hash, header app hash and app hash at every height')
  t.ok(stored.appHashesChecked >= TARGET, `stores: compared the nodes' own app hashes at ${stored.appHashesChecked} heights`)
  t.comment(`took ${((Date.now() - started) / 1000).toFixed(1)} s`)
})

/** What an operator reads off one node's two scrapes, a few blocks apart. */
function checkMetrics (t: Test, name: string, chainId: string, early: Scrape, late: Scrape, validators: string[]): void {
  const m = (s: Scrape, family: string, sample?: string): number => total(s, `aidledger_${family}`, sample === undefined ? undefined : `aidledger_${sample}`)
  t.same(missingFamilies(late), [], `${name}: every catalogued metric family is exported with its type`)
  t.same(foreignChainSamples(late, chainId), [], `${name}: every sample carries chain_id="${chainId}"`)
  t.ok(late.has('aidledger_process_cpu_seconds_total') && late.has('aidledger_nodejs_heap_size_used_bytes'), `${name}: the process's default metrics`)
  t.equal(m(late, 'consensus_validators'), 4, `${name}: 4 validators`)
  t.ok(m(late, 'consensus_validators_power') > 0, `${name}: validator power > 0`)
  t.equal(m(late, 'p2p_peers'), 3, `${name}: 3 peers`)
  t.equal(m(late, 'blocksync_syncing'), 0, `${name}: not block-syncing`)
  t.equal(m(late, 'consensus_byzantine_validators'), 0, `${name}: no byzantine validators`)
  t.ok(m(late, 'consensus_height') > m(early, 'consensus_height'), `${name}: consensus_height moved ${m(early, 'consensus_height')} → ${m(late, 'consensus_height')}`)
  t.ok(m(late, 'consensus_latest_block_height') >= TARGET, `${name}: latest_block_height ${m(late, 'consensus_latest_block_height')} ≥ ${TARGET}`)
  const intervals = m(late, 'consensus_block_interval_seconds', 'consensus_block_interval_seconds_count')
  const intervalSum = m(late, 'consensus_block_interval_seconds', 'consensus_block_interval_seconds_sum')
  t.ok(intervals > m(early, 'consensus_block_interval_seconds', 'consensus_block_interval_seconds_count'), `${name}: block intervals observed (${intervals})`)
  t.ok(intervalSum / intervals > 0 && intervalSum / intervals < 30, `${name}: mean block interval ${(intervalSum / intervals).toFixed(2)} s`)
  t.ok(m(late, 'state_block_processing_time', 'state_block_processing_time_count') > m(early, 'state_block_processing_time', 'state_block_processing_time_count'), `${name}: block processing observed`)
  t.ok(m(late, 'p2p_peer_send_bytes_total') > m(early, 'p2p_peer_send_bytes_total'), `${name}: bytes sent to peers grew`)
  t.ok(m(late, 'p2p_message_receive_bytes_total') > m(early, 'p2p_message_receive_bytes_total'), `${name}: message bytes received grew`)
  const signed = late.get('aidledger_consensus_validator_last_signed_height')?.samples ?? []
  for (const v of validators) {
    const h = signed.find((x) => x.labels.validator_address === v)?.value ?? -1
    t.ok(h >= TARGET - 2, `${name}: validator ${v.slice(0, 8)}… last signed at ${h}`)
  }
}
