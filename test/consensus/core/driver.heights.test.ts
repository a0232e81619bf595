// Driver over many heights with real proposer selection (proposer.ts), the way the shell
// wires them: one driver per height, proposer(h, r) = proposerForRound(set_h, r), the next
// height's set = nextValidatorSet(set_h, changes). Weighted powers, a crashed validator,
// and a validator-set change on the way.
import t from 'tap'
import { toHex } from '../../../src/bytes.ts'
import {
  createProposerSchedule, newValidatorSet, nextValidatorSet, proposerForRound, type PrioritizedValidator, type ProposerSet,
} from '../../../consensus/core/proposer.ts'
import type { VoterInfo } from '../../../consensus/core/types.ts'
import { Net } from './harness.ts'

const addr = (i: number): Uint8Array => { const a = new Uint8Array(20); a[0] = 0xa0 + i; return a }
const voters = (set: ProposerSet): VoterInfo[] =>
  set.validators.map((v) => ({ address: toHex(v.address), votingPower: v.votingPower }))

function runHeights (down: number | null): { proposers: string[], rounds: number[], values: string[] } {
  const created = newValidatorSet<PrioritizedValidator>([
    { address: addr(0), votingPower: 10 }, { address: addr(1), votingPower: 20 },
    { address: addr(2), votingPower: 30 }, { address: addr(3), votingPower: 40 },
  ])
  if (!created.ok) throw created.error
  let set = created.value
  const proposers: string[] = []
  const rounds: number[] = []
  const values: string[] = []
  for (let h = 1; h <= 20; h++) {
    const current = set
    const schedule = createProposerSchedule(current)
    const proposer = h % 2 === 0
      ? (r: number) => toHex(schedule.proposer(r).address)
      : (r: number) => toHex(proposerForRound(current, r).address)
    const net = new Net({ validators: voters(current), height: h, proposer })
    const downAddr = down === null ? null : toHex(addr(down))
    const downIndex = voters(current).findIndex((v) => v.address === downAddr)
    if (downIndex >= 0) net.down.add(downIndex)
    net.start()
    net.runToDecision()
    const decided = net.live().map((i) => net.decisions[i])
    const first = decided[0]
    if (first === undefined || !decided.every((d) => d?.valueId === first.valueId && d.round === first.round)) {
      throw new Error(`height ${h}: disagreement`)
    }
    proposers.push(first.proposal.proposer)
    rounds.push(first.round)
    values.push(first.valueId)
    // At height 6 the application adds a fifth validator (power 25) and drops validator 0.
    const changes = h === 6 ? [{ address: addr(4), votingPower: 25 }, { address: addr(0), votingPower: 0 }] : []
    const next = nextValidatorSet(set, changes)
    if (!next.ok) throw next.error
    set = next.value
  }
  return { proposers, rounds, values }
}

t.test('20 heights, weighted proposers, all decide in round 0', async (t) => {
  const { proposers, rounds } = runHeights(null)
  t.strictSame(rounds, Array(20).fill(0))
  // powers 10/20/30/40 (a0..a3): the highest power proposes first and most often
  t.equal(proposers[0], toHex(addr(3)))
  const counts = new Map<string, number>()
  for (const p of proposers.slice(0, 6)) counts.set(p, (counts.get(p) ?? 0) + 1)
  t.ok((counts.get(toHex(addr(3))) ?? 0) >= 2, 'the 40-power validator proposed at least twice in 6 heights')
  t.ok(proposers.slice(6).includes(toHex(addr(4))), 'the validator added at height 6 proposes later')
  t.notOk(proposers.slice(7).includes(toHex(addr(0))), 'the removed validator no longer proposes')
})

t.test('20 heights with validator a2 (power 30) down: its heights go to round 1', async (t) => {
  const { proposers, rounds } = runHeights(2)
  t.notOk(proposers.includes(toHex(addr(2))), 'a crashed validator never gets a block in')
  t.ok(rounds.some((r) => r > 0), 'some heights needed a second round')
  t.ok(rounds.every((r) => r <= 1), 'one round more is enough')
})

t.test('runs are deterministic', async (t) => {
  t.strictSame(runHeights(1), runHeights(1))
})
