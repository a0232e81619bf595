/**
 * Deterministic simulation, seeds 51..100 of the default suite's 500 (ten files so
 * tap runs them in parallel): n ∈ {4, 7, 10} and the fault mixes cycled per seed (none,
 * network, crash, byzantine, all). Any violation fails with its seed and replay command.
 */
import t from 'tap'
import { checkSeeds } from './harness.ts'

t.test('seeds 51..100: agreement, validity, locks, no honest double sign, liveness after healing', async (t) => {
  await checkSeeds(t, 51, 50)
})
