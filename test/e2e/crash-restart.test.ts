/**
 * e2e (b): kill -9 one of four validators; the other three keep committing. Restarted, it
 * catches up by block sync (verified against commits), switches to consensus and commits
 * new heights itself (its own "committed block" lines, and its precommits in the blocks'
 * last_commit), and every node holds the same hashes at every height.
 */
import t from 'tap'
import { compareChains, compareStores, createTestnet, waitFor, type E2ENode } from './harness.ts'

// Process start-up alone can take tens of seconds on a loaded machine; every wait inside is bounded.
t.setTimeout(600_000)

t.test('kill -9 a validator: the rest commit; restarted, it block-syncs and rejoins', async (t) => {
  const started = Date.now()
  const net = await createTestnet({ validators: 4, label: 'crash' })
  t.teardown(async () => { await net.destroy({ printLogs: !t.passing(), print: (m) => t.comment(m) }) })
  const [a, b, c, victim] = net.nodes
  if (a === undefined || b === undefined || c === undefined || victim === undefined) throw new Error('4 nodes expected')
  const rest = [a, b, c]

  await net.start()
  t.comment(`probe: ${a.probe.kind}; base port ${net.basePort}`)
  await net.waitHeight(3, { timeoutMs: 180_000 })

  const killed = await victim.kill()
  t.equal(killed.signal, 'SIGKILL', `${victim.name} killed with SIGKILL`)
  const atKill = Math.max(...(await net.heights(rest)))
  const behind = atKill + 6
  await net.waitHeight(behind, { nodes: rest, timeoutMs: 120_000, what: `the three live validators to commit 6 more heights (from ${atKill})` })
  t.pass(`three validators went on from ${atKill} to ${behind} without ${victim.name}`)

  const firstEntry = victim.log.entries.length
  victim.start()
  await victim.ready()
  const tip = Math.max(...(await net.heights(rest)))
  await net.waitHeight(tip, { nodes: [victim], timeoutMs: 120_000, what: `${victim.name} to catch up to ${tip}` })
  const synced = victim.log.find((e) => e.msg === 'switching to block sync', firstEntry)
  t.ok(synced.length > 0, `${victim.name} switched to block sync after the restart`)
  // Its RPC height can reach the tip a moment before block sync hands over to consensus.
  const caughtUp = await waitFor(() => {
    const es = victim.log.find((e) => e.msg === 'block sync caught up; switching to consensus', firstEntry)
    return es.length > 0 ? es : undefined
  }, { timeoutMs: 120_000, what: `${victim.name} to switch from block sync to consensus`, abortIf: () => victim.failure() })
  t.pass(`${victim.name} logged "block sync caught up; switching to consensus" at ${String(caughtUp[0]?.height)}`)

  // Rejoined consensus: commits of its own, through consensus, above where sync left it.
  const syncTop = Number(caughtUp[0]?.height ?? tip)
  const own = await waitOwnCommits(victim, firstEntry, syncTop, 3)
  t.ok(own.length >= 3, `${victim.name} committed heights ${own.slice(0, 5).join(',')}… through consensus after the restart`)
  const rejoinedAt = own[0] ?? syncTop

  const top = Math.max(...(await net.heights()))
  await net.waitHeight(top + 5, { timeoutMs: 120_000 })
  const live = await compareChains(net.nodes.map((n) => ({ name: n.name, probe: n.probe })), 1, top)
  t.same(live.mismatches, [], `live: same hashes at every height 1..${top} (${live.checked} compared, ${live.unknown} unknown to a log probe)`)

  const stored = await compareStores(net.nodes)
  t.same(stored.mismatches, [], `stores: identical hashes and app hashes at heights 1..${Math.min(...stored.heights)}`)
  t.same(stored.cleanStops, [true, true, true, true], 'every node stops cleanly')
  // Its precommits reached the others: in some later block's last_commit.
  const store = await a.openStore()
  try {
    let signed = 0
    const h0 = await store.height()
    for (let h = rejoinedAt + 2; h <= h0; h++) {
      if ((await store.block(h))?.lastCommitSigners?.includes(victim.validatorAddress) === true) signed += 1
    }
    t.ok(signed >= 1, `${victim.name}'s precommits are in ${signed} of the last_commits of heights ${rejoinedAt + 2}..${h0}`)
  } finally {
    await store.close()
  }
  t.comment(`took ${((Date.now() - started) / 1000).toFixed(1)} s`)
})

async function waitOwnCommits (node: E2ENode, from: number, above: number, count: number): Promise<number[]> {
  return await waitFor(() => {
    const hs = node.logs.consensusCommits(from).filter((h) => h > above)
    return hs.length >= count ? hs : undefined
  }, { timeoutMs: 120_000, what: `${node.name} to commit ${count} heights above ${above} through consensus`, abortIf: () => node.failure() })
}
