/**
 * Evidence pool (consensus/evidence-pool.ts): each verification rule of CometBFT
 * evidence/verify.go (plus the validator-index rule), pending order and byte limits,
 * commit-once, block evidence checks, the consensus buffer, expiry pruning, and
 * persistence across a restart.
 */
import t from 'tap'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { encode } from '../../src/codec/index.ts'
import { createLogger } from '../../src/log.ts'
import { createSigner, keyPairFromSeed } from '../../src/crypto/ed25519.ts'
import {
  blockIdKey, DuplicateVoteEvidenceSchema, evidenceHash, newDuplicateVoteEvidence, newValidatorSet, voteSignBytes,
  type DuplicateVoteEvidence, type ValidatorSet, type Vote, type VoteType,
} from '../../src/types/index.ts'
import {
  openEvidencePool, type EvidenceDb, type EvidencePool, type EvidencePoolState,
} from '../../consensus/evidence-pool.ts'
import { blockId, tempDir } from './shell-fixtures.ts'

const CHAIN = 'evidence-test'
const keys = [1, 2, 3, 4].map((i) => keyPairFromSeed(new Uint8Array(32).fill(i)))
const signers = keys.map((k) => createSigner(k))
const powers = [40, 30, 20, 10]
const valSet: ValidatorSet = newValidatorSet(keys.map((k, i) => ({ pubKey: k.publicKey, votingPower: powers[i] as number })))
const T0 = 1_700_000_000_000
const blockTimeOf = (h: number): number => T0 + h * 1000

/** The signer of the validator at `index` in the (sorted) set. */
function signerAt (index: number): ReturnType<typeof createSigner> {
  const v = valSet.validators[index]
  const i = keys.findIndex((k) => Buffer.compare(k.publicKey, v?.pubKey ?? new Uint8Array()) === 0)
  return signers[i] as ReturnType<typeof createSigner>
}

function signedVote (h: number, index: number, label: string, o: { type?: VoteType, round?: number, signWith?: number, timestamp?: number } = {}): Vote {
  const v = {
    type: o.type ?? 'prevote', height: h, round: o.round ?? 0, blockId: blockId(label), timestamp: o.timestamp ?? blockTimeOf(h) + 1,
    validatorAddress: valSet.validators[index]?.address as Uint8Array, validatorIndex: index,
  }
  return { ...v, signature: signerAt(o.signWith ?? index).sign(voteSignBytes(CHAIN, v)) }
}

function makeEvidence (h: number, index = 1, labels: [string, string] = ['a', 'b']): DuplicateVoteEvidence {
  const total = powers.reduce((a, b) => a + b, 0)
  return newDuplicateVoteEvidence(signedVote(h, index, labels[0]), signedVote(h, index, labels[1]), total, valSet.validators[index]?.votingPower ?? 0, blockTimeOf(h))
}

interface Chain { state: EvidencePoolState, sets: Map<number, ValidatorSet> }

function chainAt (height: number): Chain {
  return {
    state: {
      chainId: CHAIN,
      lastBlockHeight: height,
      lastBlockTime: blockTimeOf(height),
      evidenceParams: { maxAgeNumBlocks: 100, maxAgeDurationMs: 100_000, maxBytes: 4096 },
    },
    sets: new Map(Array.from({ length: height }, (_, i) => [i + 1, valSet])),
  }
}

async function openPool (t: { teardown: (fn: () => Promise<void>) => void }, chain: Chain, path?: string): Promise<{ pool: EvidencePool, path: string, warnings: string[] }> {
  const p = path ?? join(await tempDir(t), 'evidence.db')
  const warnings: string[] = []
  const pool = await openEvidencePool({ path: p }, {
    validatorSet: (h) => chain.sets.get(h),
    blockTime: async (h) => (h >= 1 && h <= chain.state.lastBlockHeight ? blockTimeOf(h) : undefined),
    state: () => chain.state,
    log: createLogger({ write: (line) => { warnings.push(line) } }),
  })
  t.teardown(() => pool.close())
  return { pool, path: p, warnings }
}

t.test('valid evidence from a peer joins the pending list once', async (t) => {
  const chain = chainAt(10)
  const { pool } = await openPool(t, chain)
  const added: DuplicateVoteEvidence[] = []
  pool.onEvidenceAdded((ev) => added.push(ev))
  const ev = makeEvidence(5)
  t.same(await pool.addEvidence(ev), { status: 'added' })
  t.ok(pool.isPending(ev))
  t.same(await pool.addEvidence(ev), { status: 'pending' })
  t.strictSame(pool.pendingEvidence(-1).evidence, [ev])
  t.equal(added.length, 1)
  t.notOk(await pool.isCommitted(ev))
})

t.test('every verification rule rejects what it should', async (t) => {
  const chain = chainAt(10)
  const { pool } = await openPool(t, chain)
  const good = makeEvidence(5)
  const total = good.totalVotingPower
  const cases: Array<[string, DuplicateVoteEvidence, string, RegExp]> = [
    ['not committed yet', makeEvidence(11), 'ERR_EVIDENCE_UNKNOWN_HEIGHT', /not committed/],
    ['timestamp is not the block time', { ...good, timestamp: good.timestamp + 1 }, 'ERR_EVIDENCE_INVALID', /not the time of block/],
    ['validator power differs', { ...good, validatorPower: good.validatorPower + 1 }, 'ERR_EVIDENCE_INVALID', /validator power/],
    ['total power differs', { ...good, totalVotingPower: total + 1 }, 'ERR_EVIDENCE_INVALID', /total voting power/],
    ['voteA signed by someone else', { ...good, voteA: signedVote(5, 1, labelOf(good.voteA), { signWith: 2 }) }, 'ERR_EVIDENCE_INVALID', /voteA signature/],
    ['voteB signature broken', { ...good, voteB: { ...good.voteB, signature: good.voteA.signature } }, 'ERR_EVIDENCE_INVALID', /voteB signature/],
    ['index not the validator\'s', { ...good, voteA: { ...good.voteA, validatorIndex: 3 }, voteB: { ...good.voteB, validatorIndex: 3 } }, 'ERR_EVIDENCE_INVALID', /validator index/],
    ['same block ids', { ...good, voteB: good.voteA }, 'ERR_EVIDENCE_INVALID', /same block id/],
    ['not in canonical order', { ...good, voteA: good.voteB, voteB: good.voteA }, 'ERR_EVIDENCE_INVALID', /canonical order/],
    ['different rounds', { ...good, voteB: signedVote(5, 1, labelOf(good.voteB), { round: 1 }) }, 'ERR_EVIDENCE_INVALID', /height, round or type/],
    ['different types', { ...good, voteB: signedVote(5, 1, labelOf(good.voteB), { type: 'precommit' }) }, 'ERR_EVIDENCE_INVALID', /height, round or type/],
    ['different validators', { ...good, voteB: signedVote(5, 2, labelOf(good.voteB)) }, 'ERR_EVIDENCE_INVALID', /different validators/],
  ]
  for (const [name, ev, code, why] of cases) {
    const r = await pool.addEvidence(ev)
    t.equal(r.status, 'invalid', name)
    if (r.status === 'invalid') {
      t.equal(r.error.code, code, `${name}: code`)
      t.match(r.error.message, why, `${name}: reason`)
    }
  }
  // a validator outside the set of that height, and a height without a set
  const outsider = keyPairFromSeed(new Uint8Array(32).fill(9))
  chain.sets.set(4, newValidatorSet([...keys.slice(0, 3), outsider].map((k, i) => ({ pubKey: k.publicKey, votingPower: powers[i] as number }))))
  const ev4 = makeEvidence(4, 3)
  const r4 = await pool.addEvidence(ev4)
  t.match(r4.status === 'invalid' ? r4.error.message : '', /was not a validator/, 'validator not in that height\'s set')
  chain.sets.delete(3)
  const r3 = await pool.addEvidence(makeEvidence(3))
  t.equal(r3.status === 'invalid' ? r3.error.code : r3.status, 'ERR_EVIDENCE_UNKNOWN_HEIGHT')
  t.same(pool.pendingEvidence(-1).evidence, [], 'nothing got in')
  t.same(await pool.addEvidence(good), { status: 'added' }, 'the good one still does')
})

function labelOf (v: Vote): string {
  for (const l of ['a', 'b']) if (blockIdKey(blockId(l)) === blockIdKey(v.blockId)) return l
  return '?'
}

t.test('expiry needs both limits exceeded (CometBFT isExpired)', async (t) => {
  const chain = chainAt(300)
  const { pool } = await openPool(t, chain)
  const params = chain.state.evidenceParams
  // 200 blocks old (> 100) and 200 s old (> 100 s): expired
  const r = await pool.addEvidence(makeEvidence(100))
  t.equal(r.status === 'invalid' ? r.error.code : r.status, 'ERR_EVIDENCE_EXPIRED')
  // old in blocks, young in time
  params.maxAgeDurationMs = 1_000_000
  t.same(await pool.addEvidence(makeEvidence(101)), { status: 'added' })
  // old in time, young in blocks
  params.maxAgeDurationMs = 100_000
  params.maxAgeNumBlocks = 1000
  t.same(await pool.addEvidence(makeEvidence(102)), { status: 'added' })
})

t.test('commit once: committed evidence is dropped from pending and refused afterwards', async (t) => {
  const chain = chainAt(10)
  const { pool } = await openPool(t, chain)
  const [e1, e2] = [makeEvidence(5, 1), makeEvidence(6, 2)]
  await pool.addEvidence(e1)
  await pool.addEvidence(e2)
  chain.state = { ...chain.state, lastBlockHeight: 11, lastBlockTime: blockTimeOf(11) }
  chain.sets.set(11, valSet)
  await pool.markCommitted(11, [e1])
  t.strictSame(pool.pendingEvidence(-1).evidence, [e2])
  t.ok(await pool.isCommitted(e1))
  t.same(await pool.addEvidence(e1), { status: 'committed' })
  const r = await pool.checkBlockEvidence([e1])
  t.equal(r.ok ? 'ok' : r.error.code, 'ERR_EVIDENCE_COMMITTED')
})

t.test('checkBlockEvidence: duplicates, invalid pieces, byte limit; new valid pieces become pending', async (t) => {
  const chain = chainAt(10)
  const { pool } = await openPool(t, chain)
  const [e1, e2] = [makeEvidence(5, 1), makeEvidence(7, 0)]
  await pool.addEvidence(e1)
  t.same(await pool.checkBlockEvidence([]), { ok: true, value: undefined })
  const dup = await pool.checkBlockEvidence([e1, e2, e1])
  t.equal(dup.ok ? 'ok' : dup.error.code, 'ERR_EVIDENCE_DUPLICATE')
  const bad = await pool.checkBlockEvidence([e1, { ...e2, validatorPower: 1 }])
  t.equal(bad.ok ? 'ok' : bad.error.code, 'ERR_EVIDENCE_INVALID')
  t.ok((await pool.checkBlockEvidence([e2, e1])).ok)
  t.ok(pool.isPending(e2), 'verified in the block: now pending too (CometBFT CheckEvidence)')
  chain.state.evidenceParams.maxBytes = pool.pendingEvidence(-1).bytes - 1
  const big = await pool.checkBlockEvidence([e1, e2])
  t.equal(big.ok ? 'ok' : big.error.code, 'ERR_EVIDENCE_INVALID')
})

t.test('pendingEvidence: (height, hash) order and a byte limit that stops at the first misfit', async (t) => {
  const chain = chainAt(20)
  const { pool } = await openPool(t, chain)
  const evs = [makeEvidence(9, 0), makeEvidence(3, 2), makeEvidence(9, 3), makeEvidence(3, 1), makeEvidence(12, 1)]
  for (const ev of evs) t.same(await pool.addEvidence(ev), { status: 'added' })
  const hex = (ev: DuplicateVoteEvidence): string => Buffer.from(evidenceHash(ev)).toString('hex')
  const expected = [...evs].sort((a, b) => a.voteA.height - b.voteA.height || (hex(a) < hex(b) ? -1 : 1))
  const all = pool.pendingEvidence(-1)
  t.strictSame(all.evidence, expected)
  t.equal(all.bytes, evs.reduce((n, ev) => n + sizeOf(ev), 0))
  const firstTwo = expected.slice(0, 2)
  const twoBytes = firstTwo.reduce((n, ev) => n + sizeOf(ev), 0)
  t.strictSame(pool.pendingEvidence(twoBytes).evidence, firstTwo)
  t.strictSame(pool.pendingEvidence(twoBytes + sizeOf(expected[2] as DuplicateVoteEvidence) - 1).evidence, firstTwo)
  t.strictSame(pool.pendingEvidence(0).evidence, [])
})

/** The pool counts the canonical encoding of each piece. */
function sizeOf (ev: DuplicateVoteEvidence): number {
  return encode(DuplicateVoteEvidenceSchema, ev).length
}

t.test('conflicting votes from consensus wait for their block, then become evidence', async (t) => {
  const chain = chainAt(10)
  const { pool } = await openPool(t, chain)
  const a = signedVote(11, 2, 'x', { type: 'precommit' })
  const b = signedVote(11, 2, 'y', { type: 'precommit' })
  await pool.reportConflictingVotes(b, a)
  t.same(pool.pendingEvidence(-1).evidence, [], 'height 11 is not committed: buffered')
  chain.state = { ...chain.state, lastBlockHeight: 11, lastBlockTime: blockTimeOf(11) }
  chain.sets.set(11, valSet)
  await pool.markCommitted(11, [])
  const [ev] = pool.pendingEvidence(-1).evidence
  t.ok(ev, 'evidence made at commit')
  t.equal(ev?.timestamp, blockTimeOf(11), 'with the block time')
  t.equal(ev?.validatorPower, valSet.validators[2]?.votingPower)
  t.ok(blockIdKey(ev?.voteA.blockId ?? blockId('?')) < blockIdKey(ev?.voteB.blockId ?? blockId('?')), 'canonical order')
  // an old height is processed at once; a repeat is not added twice
  await pool.reportConflictingVotes(signedVote(4, 0, 'p'), signedVote(4, 0, 'q'))
  await pool.reportConflictingVotes(signedVote(4, 0, 'p'), signedVote(4, 0, 'q'))
  t.equal(pool.pendingEvidence(-1).evidence.length, 2)
})

t.test('expired pending evidence is pruned when blocks commit', async (t) => {
  const chain = chainAt(10)
  const { pool } = await openPool(t, chain)
  const [old, young] = [makeEvidence(2), makeEvidence(9)]
  await pool.addEvidence(old)
  await pool.addEvidence(young)
  chain.state = { ...chain.state, lastBlockHeight: 105, lastBlockTime: blockTimeOf(2) + 100_001 }
  await pool.markCommitted(105, [])
  t.strictSame(pool.pendingEvidence(-1).evidence, [young], '103 blocks and 100.001 s: gone; 96 blocks: kept')
})

t.test('pending and committed evidence survive a restart', async (t) => {
  const chain = chainAt(10)
  const { pool, path } = await openPool(t, chain)
  const [e1, e2] = [makeEvidence(5, 1), makeEvidence(6, 0)]
  await pool.addEvidence(e1)
  await pool.addEvidence(e2)
  chain.state = { ...chain.state, lastBlockHeight: 11, lastBlockTime: blockTimeOf(11) }
  await pool.markCommitted(11, [e1])
  await pool.close()
  await t.rejects(pool.addEvidence(e2), { code: 'ERR_STORE_CLOSED' })
  const { pool: again } = await openPool(t, chain, path)
  t.strictSame(again.pendingEvidence(-1).evidence, [e2])
  t.same(await again.addEvidence(e1), { status: 'committed' })
})

t.test('a passed database is used and left open', async (t) => {
  const dir = await tempDir(t)
  const level = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, 'shared.db'), { keyEncoding: 'view', valueEncoding: 'view' })
  await level.open()
  t.teardown(() => level.close())
  const chain = chainAt(10)
  const deps = { validatorSet: (h: number) => chain.sets.get(h), blockTime: (h: number) => blockTimeOf(h), state: () => chain.state }
  const pool = await openEvidencePool({ db: level as unknown as EvidenceDb }, deps)
  await pool.addEvidence(makeEvidence(5))
  await pool.close()
  t.equal(level.status, 'open')
  const again = await openEvidencePool({ db: level as unknown as EvidenceDb }, deps)
  t.equal(again.pendingEvidence(-1).evidence.length, 1)
  await again.close()
})
