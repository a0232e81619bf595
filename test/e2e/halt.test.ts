/**
 * e2e (c): with 2 of 4 validators down (one SIGTERM, one kill -9) the other two hold 50% of
 * the power, short of +2/3: the chain halts — no height advances over many rounds — and
 * nothing forks (the two live nodes hold the same hashes). Restarting the two resumes it,
 * and all four agree at every height.
 */
import t from 'tap'
import { compareChains, compareStores, createTestnet, delay, type E2ENode } from './harness.ts'
import { rpcGet } from './probes.ts'

/** How long the halted pair is watched; ≥ 10 rounds' worth of round-0 timeouts (~2 s each). */
const HALT_WATCH_MS = 12_000

// Process start-up alone can take tens of seconds on a loaded machine; every wait inside is bounded.
t.setTimeout(600_000)

t.test('2 of 4 down: the chain halts without forking; restarted, it resumes', async (t) => {
  const started = Date.now()
  const net = await createTestnet({ validators: 4, label: 'halt' })
  t.teardown(async () => { await net.destroy({ printLogs: !t.passing(), print: (m) => t.comment(m) }) })
  const [a, b, c, d] = net.nodes
  if (a === undefined || b === undefined || c === undefined || d === undefined) throw new Error('4 nodes expected')
  const live = [a, b]

  await net.start()
  t.comment(`probe: ${a.probe.kind}; base port ${net.basePort}`)
  await net.waitHeight(3, { timeoutMs: 180_000 })

  const stopped = await c.stop()
  t.ok(stopped.clean, `${c.name} stopped cleanly (SIGTERM)`)
  await d.kill()
  t.pass(`${d.name} killed (SIGKILL)`)

  // A block whose precommits were already out may still commit; after that, nothing.
  const roundBefore = await roundState(a)
  let last = Math.max(...(await net.heights(live)))
  let quietSince = Date.now()
  const deadline = Date.now() + 60_000
  while (Date.now() - quietSince < HALT_WATCH_MS) {
    if (Date.now() > deadline) break
    await delay(500)
    const now = Math.max(...(await net.heights(live)))
    if (now !== last) {
      t.comment(`height moved ${last} → ${now} after the stop`)
      last = now
      quietSince = Date.now()
    }
    const f = net.failure()
    if (f !== undefined) throw new Error(f)
  }
  const haltedAt = last
  t.ok(Date.now() - quietSince >= HALT_WATCH_MS, `no height advanced for ${HALT_WATCH_MS / 1000} s with 2 of 4 validators (halted at ${haltedAt})`)
  const heightsAtHalt = await net.heights(live)
  t.ok(heightsAtHalt.every((h) => h >= haltedAt - 1 && h <= haltedAt), `live nodes at ${heightsAtHalt.join(' ')}`)
  const roundAfter = await roundState(a)
  if (roundBefore !== undefined && roundAfter !== undefined) {
    // Algorithm 1 moves past a round only on 2f+1 votes of some kind (L34/L47) or f+1
    // messages of a higher round (L55): with half the power up, round 0 of the next height
    // is where the live nodes wait, answering, for the rest to come back.
    t.equal(roundAfter.height, haltedAt + 1, `${a.name} is up and waiting at the next height (round state ${roundBefore.text} → ${roundAfter.text})`)
  }
  const duringHalt = await compareChains(live.map((n) => ({ name: n.name, probe: n.probe })), 1, haltedAt)
  t.same(duringHalt.mismatches, [], `no conflicting hashes on the live pair at heights 1..${haltedAt}`)

  const firstC = c.log.entries.length
  c.start()
  d.start()
  await Promise.all([c.ready(), d.ready()])
  await net.waitHeight(haltedAt + 3, { timeoutMs: 180_000, what: `all four to move past the halt height ${haltedAt}` })
  t.pass(`resumed: all four past ${haltedAt + 3}`)
  t.ok(c.logs.consensusCommits(firstC).some((h) => h > haltedAt), `${c.name} commits new heights through consensus`)

  const top = Math.max(...(await net.heights()))
  const all = await compareChains(net.nodes.map((n) => ({ name: n.name, probe: n.probe })), 1, top)
  t.same(all.mismatches, [], `live: same hashes at heights 1..${top}`)
  const stored = await compareStores(net.nodes)
  t.same(stored.mismatches, [], `stores: identical hashes and app hashes at heights 1..${Math.min(...stored.heights)}`)
  t.same(stored.cleanStops, [true, true, true, true], 'every node stops cleanly')
  t.comment(`took ${((Date.now() - started) / 1000).toFixed(1)} s`)
})

/** consensus_state's "height/round/step" over RPC (undefined with the log probe). */
async function roundState (n: E2ENode): Promise<{ height: number, round: number, text: string } | undefined> {
  if (n.probe.kind !== 'rpc') return undefined
  const r = await rpcGet(n.rpcUrl, '/consensus_state') as { round_state?: Record<string, unknown> }
  const text = String(r.round_state?.['height/round/step'] ?? '')
  const [h, round] = text.split('/').map(Number)
  return { height: h ?? 0, round: round ?? 0, text }
}
