/**
 * The simulator catches a deliberately wrong engine: honest nodes run with the core's
 * `faults.prevoteIgnoringLock` (L22/L28 prevote the proposal without checking the lock, a
 * safety bug). Seeds 1..200 of the default scenario distribution are run in order until
 * one violates a safety check (lock discipline, agreement, validity, app hash, double
 * sign); the test asserts that one is found and names the seed. Liveness violations do
 * not count here: the point is that the bug itself is caught.
 */
import t from 'tap'
import { SimViolation, type ViolationKind } from './checks.ts'
import { runSeed } from './runner.ts'

const SAFETY: readonly ViolationKind[] = ['lock', 'agreement', 'validity', 'app-hash', 'double-sign']

t.test('honest prevoteIgnoringLock is caught within 200 seeds', async (t) => {
  let found: SimViolation | undefined
  let tried = 0
  for (let seed = 1; seed <= 200 && found === undefined; seed++) {
    const r = await runSeed(seed, { honestFault: 'prevoteIgnoringLock' })
    tried++
    const v = r.violations.find((x) => SAFETY.includes(x.kind))
    if (v !== undefined) found = new SimViolation(seed, v, r.description, r.replay)
  }
  t.ok(found !== undefined, found === undefined ? `not caught in ${tried} seeds` : `caught at seed ${found.seed} (${tried} seeds run): ${found.violation.kind}`)
  if (found !== undefined) t.comment(found.message)
})
