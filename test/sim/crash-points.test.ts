/**
 * Crash-restart at every write point: a node is killed exactly at each step of the
 * private validator's persistence (consensus/privval.ts PERSIST_POINTS, through its
 * faultHook), before and after each WAL fsync and end-of-height marker, before and after
 * each block-store and state-store batch, and around the app's commit; at the 1st and 2nd
 * hit after arming. It restarts from its durable pieces (stores, WAL, privval state file,
 * app disk) and must replay its way back: no honest double sign on the wire, agreement,
 * validity, and liveness after the restart. A final case kills every node at once.
 */
import t from 'tap'
import { CRASH_POINT_KINDS, type CrashSpec } from './scenario.ts'
import { runSeed } from './runner.ts'
import { SimViolation } from './checks.ts'

const OCCURRENCES = [1, 2]

CRASH_POINT_KINDS.forEach((point, i) => {
  t.test(`crash at ${point}`, async (t) => {
    for (const occurrence of OCCURRENCES) {
      const node = `n${(i + occurrence) % 4}`
      const seed = 7_000 + i * 10 + occurrence
      const crashes: CrashSpec[] = [{ node, atMs: 100 + 37 * i, downMs: 250, point, occurrence }]
      const r = await runSeed(seed, { validators: 4, mix: 'none', crashes, minHeights: 5 })
      const v = r.violations[0]
      t.equal(v, undefined, v === undefined ? `${node} at #${occurrence}` : new SimViolation(seed, v, r.description, r.replay).message)
      t.equal(r.crashes, 1, `${node} died at hit #${occurrence} of ${point} (hits: ${JSON.stringify(r.pointHits[node] ?? {})})`)
      t.equal(r.restarts, 1, 'and came back')
      t.ok(r.minHeight >= 5, `all nodes reached height ${r.minHeight}`)
    }
  })
})

t.test('every node killed at once (privval after-rename and WAL after-sync), all restart from disk', async (t) => {
  const crashes: CrashSpec[] = [
    { node: 'n0', atMs: 600, downMs: 300, point: 'privval:after-rename', occurrence: 1 },
    { node: 'n1', atMs: 600, downMs: 500, point: 'wal:after-sync', occurrence: 1 },
    { node: 'n2', atMs: 600, downMs: 200, point: 'privval:after-temp-fsync', occurrence: 1 },
    { node: 'n3', atMs: 600, downMs: 400, point: 'wal:before-end-height', occurrence: 1 },
  ]
  const r = await runSeed(7_500, { validators: 4, mix: 'none', crashes, minHeights: 6 })
  const v = r.violations[0]
  t.equal(v, undefined, v === undefined ? 'no violation' : new SimViolation(7_500, v, r.description, r.replay).message)
  t.equal(r.crashes, 4)
  t.equal(r.restarts, 4)
  t.ok(r.minHeight >= 6)
})
