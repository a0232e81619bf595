/**
 * verifyCommit against CometBFT VerifyCommit semantics: slot count and order, height and
 * block id, addresses, every non-absent signature checked, and > 2/3 of the total power in
 * `commit` slots (got > floor(2·total/3)). The batch variant must reach the same verdicts.
 */
import t from 'tap'
import { toHex } from '../../../src/bytes.ts'
import {
  type BlockId, type Commit, type CommitFlag, type VerifyFn, commitSignatureChecks, commitSigToVote, finishCommitVerification,
  nilBlockId, verifyCommit, voteSignBytes, voteToCommitSig,
} from '../../../src/types/index.ts'
import { CHAIN_ID, type Keyed, makeChain, makeCommit, makeValidators, signVote, verify } from './fixtures.ts'

const keyed = makeValidators([1, 1, 1, 1])
const [c1, c2] = makeChain(2, keyed) as [ReturnType<typeof makeChain>[0], ReturnType<typeof makeChain>[0]]
const blockId: BlockId = c1.blockId

/** Both entry points, which must agree. */
function both (k: Keyed, id: BlockId, height: number, commit: Commit, v: VerifyFn = verify): { ok: boolean, at: string, msg: string } {
  const direct = verifyCommit(CHAIN_ID, k.set, id, height, commit, v)
  const pending = commitSignatureChecks(CHAIN_ID, k.set, id, height, commit)
  const batch = pending.ok ? finishCommitVerification(pending.value, pending.value.checks.map((c) => v(c.pub, c.msg, c.sig))) : pending
  if (direct.ok !== batch.ok || (!direct.ok && !batch.ok && direct.error.message !== batch.error.message)) {
    throw new Error(`entry points disagree: ${JSON.stringify([direct.ok, batch.ok])}`)
  }
  return direct.ok ? { ok: true, at: '', msg: '' } : { ok: false, at: direct.error.at ?? '', msg: direct.error.message }
}

t.test('a full commit verifies and reports its tally', async (t) => {
  const commit = makeCommit(keyed, blockId, 1)
  const r = verifyCommit(CHAIN_ID, keyed.set, blockId, 1, commit, verify)
  t.ok(r.ok)
  t.same(r.ok ? r.value : undefined, { signedPower: 4, totalPower: 4, neededPower: 2 })
  t.ok(verifyCommit(CHAIN_ID, keyed.set, c2.blockId, 2, c2.seenCommit, verify).ok, 'a seen commit from round 1')
  t.ok(verifyCommit(CHAIN_ID, keyed.set, c1.blockId, 1, c2.block.lastCommit!, verify).ok, 'the last commit in block 2')
})

t.test('the +2/3 threshold is strict, counts only commit slots, and weighs power', async (t) => {
  const cases: Array<[number[], CommitFlag[], boolean]> = [
    [[1, 1, 1, 1], ['commit', 'commit', 'commit', 'absent'], true], // 3 > floor(8/3)=2
    [[1, 1, 1, 1], ['commit', 'commit', 'absent', 'absent'], false], // 2 = 2
    [[1, 1, 1, 1], ['commit', 'commit', 'nil', 'nil'], false], // nil slots do not count
    [[1, 1, 1], ['commit', 'commit', 'absent'], false], // exactly 2/3 is not enough
    [[1, 1, 1], ['commit', 'commit', 'commit'], true],
    [[100, 1, 1, 1], ['commit', 'absent', 'absent', 'absent'], true], // 100 > floor(206/3)=68
    [[30, 30, 30, 10], ['commit', 'commit', 'nil', 'commit'], true], // 70 > floor(200/3)=66
    [[30, 30, 30, 10], ['commit', 'commit', 'absent', 'nil'], false], // 60 > 66 no
    [[3, 3, 3], ['commit', 'commit', 'nil'], false], // 6 > 6 no
    [[2, 1], ['commit', 'nil'], false], // 2 > 2 no
    [[3, 1], ['commit', 'nil'], true], // 3 > 2
  ]
  for (const [powers, flags, expect] of cases) {
    const k = makeValidators(powers, `p${powers.join('-')}`)
    // flags are given for the canonical order (power desc), which makeValidators returns
    const commit = makeCommit(k, blockId, 1, 0, flags)
    const r = both(k, blockId, 1, commit)
    t.equal(r.ok, expect, `${powers.join(',')} with ${flags.join(',')}`)
    if (!r.ok) t.match(r.msg, /insufficient voting power: commit slots hold \d+ of \d+, need more than \d+/)
  }
})

t.test('structure: size, height, block id, address order', async (t) => {
  const commit = makeCommit(keyed, blockId, 1)
  const rows: Array<[string, () => { ok: boolean, at: string, msg: string }, string, RegExp]> = [
    ['one slot short', () => both(keyed, blockId, 1, { ...commit, signatures: commit.signatures.slice(1) }), 'commit.signatures', /3 slots, the validator set has 4/],
    ['one slot too many', () => both(keyed, blockId, 1, { ...commit, signatures: [...commit.signatures, commit.signatures[0]!] }), 'commit.signatures', /5 slots/],
    ['wrong height', () => both(keyed, blockId, 2, commit), 'commit.height', /for height 1, expected 2/],
    ['wrong block id', () => both(keyed, c2.blockId, 1, commit), 'commit.blockId', /expected/],
    ['nil block id expected', () => both(keyed, nilBlockId(), 1, commit), 'commit.blockId', /expected/],
    ['slots swapped', () => {
      const s = [...commit.signatures]
      ;[s[0], s[1]] = [s[1]!, s[0]!]
      return both(keyed, blockId, 1, { ...commit, signatures: s })
    }, 'commit.signatures[0].validatorAddress', /signed by [0-9a-f]{40}, but validator 0 of the set is/],
    ['malformed commit', () => both(keyed, blockId, 1, { ...commit, signatures: [] }), 'commit.signatures', /no signatures/],
    ['empty validator set', () => both({ set: { validators: [] }, keys: [] }, blockId, 1, commit), 'validators', /empty/],
  ]
  for (const [what, run, at, msg] of rows) {
    const r = run()
    t.equal(r.ok, false, what)
    t.equal(r.at, at, `${what}: at`)
    t.match(r.msg, msg, `${what}: message`)
  }
})

t.test('every non-absent signature is checked, nil slots included', async (t) => {
  const commit = makeCommit(keyed, blockId, 1, 0, ['commit', 'commit', 'commit', 'nil'])
  t.ok(both(keyed, blockId, 1, commit).ok)
  // a bad signature in the nil slot fails the commit even though the power is there
  const badNil = structuredClone(commit)
  badNil.signatures[3]!.signature[0]! ^= 1
  const r = both(keyed, blockId, 1, badNil)
  t.equal(r.ok, false)
  t.equal(r.at, 'commit.signatures[3].signature')
  t.match(r.msg, /wrong signature from validator 3/)
  // a nil-vote signature presented as a commit slot signs the wrong block id
  const flipped = structuredClone(commit)
  flipped.signatures[3]!.flag = 'commit'
  t.equal(both(keyed, blockId, 1, flipped).at, 'commit.signatures[3].signature')
  // a commit-slot signature presented as nil
  const asNil = structuredClone(makeCommit(keyed, blockId, 1))
  asNil.signatures[0]!.flag = 'nil'
  t.equal(both(keyed, blockId, 1, asNil).at, 'commit.signatures[0].signature')
  // a slot's timestamp is covered by its signature
  const retimed = structuredClone(makeCommit(keyed, blockId, 1))
  retimed.signatures[2]!.timestamp += 1
  t.equal(both(keyed, blockId, 1, retimed).at, 'commit.signatures[2].signature')
  // signatures are bound to the chain id: a commit signed for another chain fails
  const otherChain = makeCommit(keyed, blockId, 1, 0, undefined, 'other-chain')
  t.equal(both(keyed, blockId, 1, otherChain).at, 'commit.signatures[0].signature')
  // and to the round
  const otherRound = { ...makeCommit(keyed, blockId, 1, 0), round: 1 }
  t.equal(both(keyed, blockId, 1, otherRound).at, 'commit.signatures[0].signature')
})

t.test('power is checked before any signature work', async (t) => {
  const commit = makeCommit(keyed, blockId, 1, 0, ['commit', 'nil', 'nil', 'absent'])
  let calls = 0
  const r = verifyCommit(CHAIN_ID, keyed.set, blockId, 1, commit, () => { calls++; return true })
  t.equal(r.ok, false)
  t.equal(calls, 0)
})

t.test('the batch variant lists exactly the non-absent slots with their sign bytes', async (t) => {
  const k = makeValidators([10, 10, 1, 1], 'batch')
  const commit = makeCommit(k, blockId, 1, 0, ['commit', 'commit', 'absent', 'nil'])
  const pending = commitSignatureChecks(CHAIN_ID, k.set, blockId, 1, commit)
  if (!pending.ok) { t.fail(pending.error.message); return }
  t.same(pending.value.checks.map((c) => c.index), [0, 1, 3])
  const nilCheck = pending.value.checks[2]!
  t.equal(toHex(nilCheck.pub), toHex(k.set.validators[3]!.pubKey))
  t.equal(toHex(nilCheck.msg), toHex(voteSignBytes(CHAIN_ID, { type: 'precommit', height: 1, round: 0, blockId: nilBlockId(), timestamp: commit.signatures[3]!.timestamp })))
  t.equal(toHex(nilCheck.sig), toHex(commit.signatures[3]!.signature))
  const { signedPower, totalPower, neededPower } = pending.value
  t.same({ signedPower, totalPower, neededPower }, { signedPower: 20, totalPower: 22, neededPower: 14 })
  t.ok(finishCommitVerification(pending.value, [true, true, true]).ok)
  const bad = finishCommitVerification(pending.value, [true, false, true])
  t.equal(bad.ok ? '' : bad.error.at, 'commit.signatures[1].signature')
  t.throws(() => finishCommitVerification(pending.value, [true]), RangeError, 'verdicts must match the checks')
})

t.test('the batch checks go through the crypto worker pool as they are', async (t) => {
  const { createVerifyPool } = await import('../../../src/crypto/pool.ts')
  const pool = createVerifyPool({ size: 1 })
  t.teardown(() => pool.close())
  const commit = makeCommit(keyed, blockId, 1, 0, ['commit', 'commit', 'nil', 'commit'])
  const pending = commitSignatureChecks(CHAIN_ID, keyed.set, blockId, 1, commit)
  if (!pending.ok) { t.fail(pending.error.message); return }
  t.ok(finishCommitVerification(pending.value, await pool.verifyBatch(pending.value.checks)).ok)
  const bad = structuredClone(commit)
  bad.signatures[1]!.signature[5]! ^= 0x10
  const pendingBad = commitSignatureChecks(CHAIN_ID, keyed.set, blockId, 1, bad)
  if (!pendingBad.ok) { t.fail(pendingBad.error.message); return }
  const r = finishCommitVerification(pendingBad.value, await pool.verifyBatch(pendingBad.value.checks))
  t.equal(r.ok ? '' : r.error.at, 'commit.signatures[1].signature')
})

t.test('a commit built from precommits with voteToCommitSig verifies; a vote for another block is absent', async (t) => {
  const votes = keyed.set.validators.map((v, i) => signVote(CHAIN_ID, keyed.keys[i]!, {
    type: 'precommit', height: 1, round: 2, blockId: i === 1 ? nilBlockId() : i === 2 ? c2.blockId : blockId, timestamp: 50 + i, validatorAddress: v.address, validatorIndex: i,
  }))
  const signatures = votes.map((v) => voteToCommitSig(v, blockId))
  t.same(signatures.map((s) => s.flag), ['commit', 'nil', 'absent', 'commit'])
  t.same(commitSigToVote({ height: 1, round: 2, blockId, signatures }, 1)?.blockId, nilBlockId())
  const r = verifyCommit(CHAIN_ID, keyed.set, blockId, 1, { height: 1, round: 2, blockId, signatures }, verify)
  t.equal(r.ok, false, '2 of 4 commit slots is not enough')
  const all = keyed.set.validators.map((v, i) => voteToCommitSig(signVote(CHAIN_ID, keyed.keys[i]!, {
    type: 'precommit', height: 1, round: 2, blockId: i === 1 ? nilBlockId() : blockId, timestamp: 50 + i, validatorAddress: v.address, validatorIndex: i,
  }), blockId))
  t.ok(verifyCommit(CHAIN_ID, keyed.set, blockId, 1, { height: 1, round: 2, blockId, signatures: all }, verify).ok)
})
