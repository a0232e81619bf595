/**
 * Determinism of the simulator: one seed run twice gives the identical trace hash (every
 * delivered message with its time and ends, every finalized block, every crash and
 * restart), the same event count, heights and simulated time; another seed gives another
 * trace. Seeds chosen to exercise everything at once: the 'all' mix (network faults and
 * partitions, crash-restarts with WAL replay, byzantine validators).
 */
import t from 'tap'
import { runSeed, type SeedResult } from './runner.ts'

function fingerprint (r: SeedResult): Record<string, unknown> {
  return {
    traceHash: r.traceHash,
    events: r.events,
    simMs: r.simMs,
    minHeight: r.minHeight,
    maxHeight: r.maxHeight,
    crashes: r.crashes,
    restarts: r.restarts,
    byzantine: r.byzantine,
    network: r.network,
    violations: r.violations.map((v) => `${v.kind}@${v.time}`),
  }
}

for (const { seed, validators } of [{ seed: 4, validators: 4 as const }, { seed: 9, validators: 7 as const }, { seed: 14, validators: 4 as const }]) {
  t.test(`seed ${seed} (n=${validators}, mix all) replays identically`, async (t) => {
    const a = await runSeed(seed, { mix: 'all', validators })
    const b = await runSeed(seed, { mix: 'all', validators })
    t.ok(a.events > 100, `${a.events} events, heights ${a.minHeight}..${a.maxHeight}, ${a.crashes} crashes, ${a.byzantine.forgedProposals + a.byzantine.forgedVotes} forgeries`)
    t.strictSame(fingerprint(b), fingerprint(a), `trace ${a.traceHash.slice(0, 16)} both times`)
  })
}

t.test('different seeds give different traces', async (t) => {
  const a = await runSeed(21, { mix: 'network', validators: 4 })
  const b = await runSeed(22, { mix: 'network', validators: 4 })
  t.not(a.traceHash, b.traceHash)
})
