/**
 * Table-driven tests of the basic validation of votes, proposals, commits, headers, blocks
 * and tx envelopes: each row breaks one rule and names the field the error must point at.
 */
import t from 'tap'
import { utf8 } from '../../../src/bytes.ts'
import type { Result } from '../../../src/errors.ts'
import {
  type Block, type Commit, type Header, type Proposal, type TxEnvelope, type Vote, absentCommitSig, commitHash,
  dataHash, evidenceListHash, newDuplicateVoteEvidence, nilBlockId, validateBlock, validateCommit, validateCommitSig,
  validateHeader, validateProposal, validateTxEnvelope, validateVote,
} from '../../../src/types/index.ts'
import { CHAIN_ID, blockIdOf, keyFor, makeBlock, makeChain, makeCommit, makeValidators, signVote } from './fixtures.ts'

const clone = <T>(v: T): T => structuredClone(v)
type Row<T> = [string, (v: T) => void, string, RegExp?]

function runTable<T> (t: Tap, name: string, base: T, validate: (v: T) => Result<T>, rows: Array<Row<T>>): void {
  t.test(name, async (t) => {
    const r0 = validate(base)
    t.ok(r0.ok, `the base ${name} is valid${r0.ok ? '' : `: ${r0.error.message}`}`)
    for (const [what, mutate, at, msg] of rows) {
      const v = clone(base)
      mutate(v)
      const r = validate(v)
      if (r.ok) { t.fail(`${what}: accepted`); continue }
      t.equal(r.error.code, 'ERR_TYPES_INVALID', what)
      t.equal(r.error.at, at, `${what}: at`)
      t.match(r.error.message, `: ${at}: `, `${what}: the message names ${at}`)
      if (msg !== undefined) t.match(r.error.message, msg, `${what}: message`)
    }
  })
}
type Tap = typeof t

const keyed = makeValidators([10, 20, 30, 40])
const chain = makeChain(3, keyed)
const [b1, b2] = chain as [typeof chain[0], typeof chain[0]]
const blockId = b1.blockId

const vote: Vote = signVote(CHAIN_ID, keyed.keys[0]!, {
  type: 'prevote', height: 5, round: 2, blockId, timestamp: 1_700_000_000_000, validatorAddress: keyed.set.validators[0]!.address, validatorIndex: 0,
})

runTable<Vote>(t, 'vote', vote, (v) => validateVote(v), [
  ['height 0', (v) => { v.height = 0 }, 'vote.height', /at least 1/],
  ['negative height', (v) => { v.height = -1 }, 'vote.height'],
  ['fractional round', (v) => { v.round = 1.5 }, 'vote.round'],
  ['round beyond int32', (v) => { v.round = 2 ** 31 }, 'vote.round'],
  ['unknown type', (v) => { (v as { type: string }).type = 'propose' }, 'vote.type'],
  ['block id with hash but no parts', (v) => { v.blockId.partSetHeader = { total: 0, hash: new Uint8Array(0) } }, 'vote.blockId', /nil or complete/],
  ['block id with parts but no hash', (v) => { v.blockId.hash = new Uint8Array(0) }, 'vote.blockId', /nil or complete/],
  ['block hash of 31 bytes', (v) => { v.blockId.hash = new Uint8Array(31) }, 'vote.blockId.hash', /32 bytes, got 31/],
  ['part set hash of 33 bytes', (v) => { v.blockId.partSetHeader.hash = new Uint8Array(33) }, 'vote.blockId.partSetHeader.hash'],
  ['negative time', (v) => { v.timestamp = -1 }, 'vote.timestamp'],
  ['short address', (v) => { v.validatorAddress = new Uint8Array(19) }, 'vote.validatorAddress', /20 bytes/],
  ['index out of range', (v) => { v.validatorIndex = 1000 }, 'vote.validatorIndex'],
  ['empty signature', (v) => { v.signature = new Uint8Array(0) }, 'vote.signature', /64 bytes, got 0/],
  ['signature not bytes', (v) => { (v as { signature: unknown }).signature = 'sig' }, 'vote.signature'],
])

t.test('a nil vote is valid', async (t) => {
  t.ok(validateVote({ ...vote, blockId: nilBlockId() }).ok)
})

const proposal: Proposal = { height: 5, round: 2, polRound: 1, blockId, timestamp: 1_700_000_000_000, signature: new Uint8Array(64) }
runTable<Proposal>(t, 'proposal', proposal, (p) => validateProposal(p), [
  ['height 0', (p) => { p.height = 0 }, 'proposal.height'],
  ['polRound below -1', (p) => { p.polRound = -2 }, 'proposal.polRound'],
  ['polRound equal to round', (p) => { p.polRound = 2 }, 'proposal.polRound', /\[0, round=2\)/],
  ['polRound above round', (p) => { p.polRound = 3 }, 'proposal.polRound'],
  ['nil block id', (p) => { p.blockId = nilBlockId() }, 'proposal.blockId', /complete block id, got nil/],
  ['partial block id', (p) => { p.blockId.partSetHeader.total = 0 }, 'proposal.blockId', /partial/],
  ['short signature', (p) => { p.signature = new Uint8Array(63) }, 'proposal.signature'],
])

t.test('a proposal with polRound -1 is valid', async (t) => {
  t.ok(validateProposal({ ...proposal, polRound: -1 }).ok)
  t.ok(validateProposal({ ...proposal, round: 0, polRound: -1 }).ok)
})

const commit: Commit = makeCommit(keyed, blockId, 1, 0, ['commit', 'nil', 'absent', 'commit'])
runTable<Commit>(t, 'commit', commit, (c) => validateCommit(c), [
  ['height 0', (c) => { c.height = 0 }, 'commit.height'],
  ['negative round', (c) => { c.round = -1 }, 'commit.round'],
  ['nil block id', (c) => { c.blockId = nilBlockId() }, 'commit.blockId', /complete block id, got nil/],
  ['no signatures', (c) => { c.signatures = [] }, 'commit.signatures', /no signatures/],
  ['absent slot with an address', (c) => { c.signatures[2]!.validatorAddress = new Uint8Array(20).fill(1) }, 'commit.signatures[2].validatorAddress', /zero address/],
  ['absent slot with a time', (c) => { c.signatures[2]!.timestamp = 5 }, 'commit.signatures[2].timestamp', /time 0/],
  ['absent slot with a signature', (c) => { c.signatures[2]!.signature = new Uint8Array(64) }, 'commit.signatures[2].signature', /empty signature/],
  ['commit slot with an empty signature', (c) => { c.signatures[0]!.signature = new Uint8Array(0) }, 'commit.signatures[0].signature', /commit slot's signature must be 64 bytes/],
  ['nil slot with a short signature', (c) => { c.signatures[1]!.signature = new Uint8Array(10) }, 'commit.signatures[1].signature', /nil slot/],
  ['unknown flag', (c) => { (c.signatures[3] as { flag: string }).flag = 'maybe' }, 'commit.signatures[3].flag'],
  ['short address', (c) => { c.signatures[3]!.validatorAddress = new Uint8Array(0) }, 'commit.signatures[3].validatorAddress'],
])

t.test('commit sig validation on its own', async (t) => {
  t.ok(validateCommitSig(absentCommitSig()).ok)
  const r = validateCommitSig({ ...absentCommitSig(), timestamp: 1 }, 'slot')
  t.equal(r.ok ? '' : r.error.at, 'slot.timestamp')
})

const header: Header = b2.block.header
runTable<Header>(t, 'header', header, (h) => validateHeader(h), [
  ['empty chain id', (h) => { h.chainId = '' }, 'header.chainId', /empty/],
  ['chain id too long', (h) => { h.chainId = 'c'.repeat(51) }, 'header.chainId', /51 chars/],
  ['chain id with a space', (h) => { h.chainId = 'a b' }, 'header.chainId'],
  ['height 0', (h) => { h.height = 0 }, 'header.height'],
  ['unsafe height', (h) => { h.height = 2 ** 53 }, 'header.height'],
  ['fractional time', (h) => { h.time = 1.5 }, 'header.time'],
  ['last block hash 5 bytes', (h) => { h.lastBlockId.hash = new Uint8Array(5) }, 'header.lastBlockId.hash'],
  ['short last commit hash', (h) => { h.lastCommitHash = new Uint8Array(0) }, 'header.lastCommitHash'],
  ['short data hash', (h) => { h.dataHash = new Uint8Array(31) }, 'header.dataHash'],
  ['short validators hash', (h) => { h.validatorsHash = new Uint8Array(1) }, 'header.validatorsHash'],
  ['short next validators hash', (h) => { h.nextValidatorsHash = new Uint8Array(1) }, 'header.nextValidatorsHash'],
  ['short consensus hash', (h) => { h.consensusHash = new Uint8Array(1) }, 'header.consensusHash'],
  ['app hash of 20 bytes', (h) => { h.appHash = new Uint8Array(20) }, 'header.appHash', /0 or 32 bytes/],
  ['short results hash', (h) => { h.lastResultsHash = new Uint8Array(1) }, 'header.lastResultsHash'],
  ['short evidence hash', (h) => { h.evidenceHash = new Uint8Array(1) }, 'header.evidenceHash'],
  ['proposer address of 32 bytes', (h) => { h.proposerAddress = new Uint8Array(32) }, 'header.proposerAddress'],
])

/** Re-derives the header hashes after a content mutation, so that only the intended rule breaks. */
function rehash (b: Block): void {
  b.header.dataHash = dataHash(b.txs)
  b.header.evidenceHash = evidenceListHash(b.evidence)
  b.header.lastCommitHash = commitHash(b.lastCommit)
}

const block2: Block = b2.block
runTable<Block>(t, 'block', block2, (b) => validateBlock(b), [
  ['header rule', (b) => { b.header.chainId = '' }, 'block.header.chainId'],
  ['tx added without updating dataHash', (b) => { b.txs.push(utf8('extra')) }, 'block.header.dataHash', /contents hash to/],
  ['txs reordered', (b) => { b.txs.reverse() }, 'block.header.dataHash'],
  ['empty tx', (b) => { b.txs.push(new Uint8Array(0)); rehash(b) }, 'block.txs[2]'],
  ['evidence hash off', (b) => { b.header.evidenceHash = new Uint8Array(32) }, 'block.header.evidenceHash'],
  ['last commit hash off', (b) => { b.header.lastCommitHash = new Uint8Array(32) }, 'block.header.lastCommitHash'],
  ['last commit slot changed', (b) => { b.lastCommit!.signatures[0]!.timestamp += 1 }, 'block.header.lastCommitHash'],
  ['no last commit above the initial height', (b) => { b.lastCommit = null; rehash(b) }, 'block.lastCommit', /needs a last commit/],
  ['last commit for the wrong height', (b) => { b.lastCommit!.height = 5; rehash(b) }, 'block.lastCommit.height', /expected 1/],
  ['last commit malformed', (b) => { b.lastCommit!.signatures = []; rehash(b) }, 'block.lastCommit.signatures'],
  ['last commit for another block', (b) => { b.lastCommit!.blockId = b2.blockId; rehash(b) }, 'block.lastCommit.blockId', /another block/],
  ['nil last block id above the initial height', (b) => { b.header.lastBlockId = nilBlockId() }, 'block.header.lastBlockId'],
])

t.test('block at the initial height', async (t) => {
  t.ok(validateBlock(b1.block).ok, 'block 1 with no last commit')
  const withCommit = clone(b1.block)
  withCommit.lastCommit = b2.block.lastCommit
  withCommit.header.lastCommitHash = commitHash(withCommit.lastCommit)
  const r = validateBlock(withCommit)
  t.equal(r.ok ? '' : r.error.at, 'block.lastCommit')
  const withLast = clone(b1.block)
  withLast.header.lastBlockId = blockId
  const r2 = validateBlock(withLast)
  t.equal(r2.ok ? '' : r2.error.at, 'block.header.lastBlockId')
  // a chain starting at 100: block 100 has no last commit, block 101 needs one
  const c100 = makeChain(2, keyed, 100)
  t.ok(validateBlock(c100[0]!.block, { initialHeight: 100 }).ok)
  t.ok(validateBlock(c100[1]!.block, { initialHeight: 100 }).ok)
  const r3 = validateBlock(c100[0]!.block)
  t.equal(r3.ok ? '' : r3.error.at, 'block.lastCommit', 'with the default initial height 1, block 100 needs a last commit')
  const r4 = validateBlock(b1.block, { initialHeight: 2 })
  t.equal(r4.ok ? '' : r4.error.at, 'block.header.height', 'a block below the initial height')
})

t.test('block evidence is checked and may not repeat', async (t) => {
  const a = signVote(CHAIN_ID, keyed.keys[1]!, { type: 'precommit', height: 1, round: 0, blockId, timestamp: 1, validatorAddress: keyed.set.validators[1]!.address, validatorIndex: 1 })
  const b = { ...a, blockId: nilBlockId() }
  const ev = newDuplicateVoteEvidence(a, b, 100, 30, 1)
  const withEv = clone(block2)
  withEv.evidence = [ev]
  rehash(withEv)
  t.ok(validateBlock(withEv).ok, 'one item')
  withEv.evidence = [ev, ev]
  rehash(withEv)
  const r = validateBlock(withEv)
  t.equal(r.ok ? '' : r.error.at, 'block.evidence[1]')
  t.match(r.ok ? '' : r.error.message, /duplicates evidence\[0\]/)
  withEv.evidence = [newDuplicateVoteEvidence(a, a, 100, 30, 1)]
  rehash(withEv)
  const r2 = validateBlock(withEv)
  t.equal(r2.ok ? '' : r2.error.at, 'block.evidence[0]')
})

const tx: TxEnvelope = {
  chainId: CHAIN_ID, signer: keyFor('office').publicKey, expiresAtHeight: 10, nonce: 1, body: utf8('op'), signature: new Uint8Array(64),
}
runTable<TxEnvelope>(t, 'tx envelope', tx, (x) => validateTxEnvelope(x), [
  ['empty chain id', (x) => { x.chainId = '' }, 'tx.chainId'],
  ['short signer', (x) => { x.signer = new Uint8Array(31) }, 'tx.signer'],
  ['expiry 0', (x) => { x.expiresAtHeight = 0 }, 'tx.expiresAtHeight'],
  ['negative nonce', (x) => { x.nonce = -1 }, 'tx.nonce'],
  ['empty body', (x) => { x.body = new Uint8Array(0) }, 'tx.body'],
  ['oversize body', (x) => { x.body = new Uint8Array(32 * 1024) }, 'tx.body'],
  ['short signature', (x) => { x.signature = new Uint8Array(0) }, 'tx.signature'],
])

t.test('the fixtures themselves: every block of a chain and its id check out', async (t) => {
  for (const { block, blockId: id } of chain) {
    t.ok(validateBlock(block).ok, `block ${block.header.height}`)
    t.same(blockIdOf(block).blockId, id)
  }
})
