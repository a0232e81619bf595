/**
 * e2e (a): four validator processes on loopback reach height 10 with the same block hash,
 * header app hash and app hash (each node's own, after executing the block) at every
 * height 1..10 — read live (RPC or logs), then from the stores after a clean shutdown.
 */
import t from 'tap'
import { compareChains, compareStores, createTestnet } from './harness.ts'

const TARGET = 10

// Process start-up alone can take tens of seconds on a loaded machine; every wait inside is bounded.
t.setTimeout(600_000)

t.test('4 validators agree on every block and app hash up to height 10', async (t) => {
  const started = Date.now()
  const net = await createTestnet({ validators: 4, label: 'agree' })
  t.teardown(async () => { await net.destroy({ printLogs: !t.passing(), print: (m) => t.comment(m) }) })

  await net.start()
  t.comment(`probe: ${net.nodes[0]?.probe.kind ?? '?'}; base port ${net.basePort}`)
  const hs = await net.waitHeight(TARGET, { timeoutMs: 180_000 })
  t.ok(hs.every((h) => h >= TARGET), `all at ≥ ${TARGET}: ${hs.join(' ')}`)

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
