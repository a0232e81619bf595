/**
 * Smoke test of `npm run bench:state` (bench/state.ts): the same code path — world build
 * and measurement in child processes, pre-verified and cold blocks, every row — at a tiny
 * scale (10^3 and 2·10^3 subjects, 100-tx blocks, one block of each kind). It checks that
 * every row is there with a positive value, never how fast anything is.
 */
import t from 'tap'
import { runStateBench, scaleLabel } from '../../bench/state.ts'

t.test('bench:state produces every row at a tiny scale', async (t) => {
  const scales = [1000, 2000]
  const rows = await runStateBench({ scales, data: undefined, blocks: 1, blockTxs: 100, sync: false, cpuProf: undefined, quiet: true })
  const want: Array<[string, string]> = []
  for (const n of scales) {
    const l = scaleLabel(n)
    want.push(
      [`state.finalize.${l}`, 'tx/s'], [`state.finalize.cold.${l}`, 'tx/s'], [`state.exec.${l}`, 'tx/s'],
      [`state.commit.${l}`, 'ms'], [`state.cpu.${l}`, 'ms/block'], [`state.rss.${l}`, 'MB'],
    )
  }
  want.push(['state.rss.ratio', 'x'])
  t.same(rows.map((r) => [r.name, r.unit]), want, 'all rows, in order, with their units')
  for (const r of rows) t.ok(Number.isFinite(r.value) && r.value > 0, `${r.name} = ${r.value} ${r.unit}`)
})
