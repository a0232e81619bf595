/**
 * Wire messages (consensus/messages.ts): every channel's messages round-trip; decoding is
 * strict (trailing bytes, unknown variants, a message on the wrong channel, oversize
 * frames) and then checks ValidateBasic; each failure says what to report.
 */
import t from 'tap'
import { concatBytes } from '../../src/bytes.ts'
import { sha256 } from '../../src/crypto/hash.ts'
import { utf8 } from '../../src/bytes.ts'
import { CHANNEL_MAX_BYTES, type ChannelId } from '../../src/transport.ts'
import {
  commitHash, dataHash, evidenceListHash, makePartSet, nilBlockId, type Block, type Commit, type Proposal, type Vote,
} from '../../src/types/index.ts'
import {
  decodeChannelMessage, encodeBlockPart, encodeBlocksync, encodeConsensus, encodeEvidence, encodeMempool, encodeVoteMessage,
  getBit, newBits, setBit,
} from '../../consensus/messages.ts'

const h32 = (s: string): Uint8Array => sha256(utf8(s))
const blockId = { hash: h32('b'), partSetHeader: { total: 1, hash: h32('p') } }
const vote: Vote = {
  type: 'prevote', height: 3, round: 1, blockId, timestamp: 5, validatorAddress: new Uint8Array(20).fill(1), validatorIndex: 2, signature: new Uint8Array(64).fill(3),
}
const proposal: Proposal = { height: 3, round: 1, polRound: 0, blockId, timestamp: 5, signature: new Uint8Array(64).fill(4) }
const block: Block = {
  header: {
    chainId: 'm', height: 1, time: 1, lastBlockId: nilBlockId(), lastCommitHash: commitHash(null), dataHash: dataHash([]), validatorsHash: h32('v'),
    nextValidatorsHash: h32('v'), consensusHash: h32('c'), appHash: new Uint8Array(0), lastResultsHash: h32('r'), evidenceHash: evidenceListHash([]),
    proposerAddress: new Uint8Array(20).fill(1),
  },
  txs: [],
  evidence: [],
  lastCommit: null,
}
const commit: Commit = {
  height: 1, round: 0, blockId, signatures: [{ flag: 'commit', validatorAddress: new Uint8Array(20).fill(1), timestamp: 1, signature: new Uint8Array(64).fill(1) }],
}
const ps = makePartSet(new Uint8Array(100).fill(9), 64)

t.test('every message round-trips on its channel', async (t) => {
  const cases: Array<[ChannelId, Uint8Array, string]> = [
    ['consensus', encodeConsensus({ type: 'proposal', value: proposal }), 'proposal'],
    ['consensus', encodeConsensus({ type: 'status', value: { height: 3, round: 1, step: 'prevote', proposals: [{ round: 1, blockId }], parts: [{ partSetHeader: ps.header, bits: new Uint8Array([3]) }], votes: [{ round: 1, type: 'prevote', bits: new Uint8Array([5]) }], lastCommit: null, maj23: [{ round: 1, type: 'prevote', blockId }] } }), 'status'],
    ['votes', encodeVoteMessage({ type: 'vote', value: vote }), 'vote'],
    ['block-parts', encodeBlockPart({ type: 'part', value: { height: 3, round: 1, partSetHeader: ps.header, part: ps.parts[1]! } }), 'part'],
    ['mempool', encodeMempool({ type: 'txs', value: [utf8('a'), utf8('b')] }), 'txs'],
    ['evidence', encodeEvidence({ type: 'evidence', value: [] }), 'evidence'],
    ['blocksync', encodeBlocksync({ type: 'statusRequest', value: {} }), 'statusRequest'],
    ['blocksync', encodeBlocksync({ type: 'status', value: { base: 1, height: 9 } }), 'status'],
    ['blocksync', encodeBlocksync({ type: 'blockRequest', value: { height: 4 } }), 'blockRequest'],
    ['blocksync', encodeBlocksync({ type: 'blockResponse', value: { block, commit } }), 'blockResponse'],
    ['blocksync', encodeBlocksync({ type: 'noBlock', value: { height: 4 } }), 'noBlock'],
  ]
  for (const [channel, data, type] of cases) {
    const r = decodeChannelMessage(channel, data)
    t.ok(r.ok && r.value.channel === channel && r.value.message.type === type, `${channel}/${type}`)
  }
})

t.test('strict decoding and basic validation say what to report', async (t) => {
  const good = encodeVoteMessage({ type: 'vote', value: vote })
  const cases: Array<[string, ChannelId, Uint8Array, string]> = [
    ['trailing bytes', 'votes', concatBytes(good, new Uint8Array([0])), 'malformed'],
    ['not msgpack', 'votes', new Uint8Array([0xc1]), 'malformed'],
    ['a vote on the consensus channel', 'consensus', good, 'malformed'],
    ['unknown variant', 'blocksync', encodeConsensus({ type: 'proposal', value: proposal }), 'malformed'],
    ['oversize frame', 'votes', new Uint8Array(CHANNEL_MAX_BYTES.votes + 1), 'oversize'],
    ['a vote for a partial block id', 'votes', encodeVoteMessage({ type: 'vote', value: { ...vote, blockId: { ...blockId, partSetHeader: { total: 0, hash: new Uint8Array(0) } } } }), 'protocol'],
    ['a proposal with polRound ≥ round', 'consensus', encodeConsensus({ type: 'proposal', value: { ...proposal, polRound: 1 } }), 'protocol'],
    ['a nil proposal', 'consensus', encodeConsensus({ type: 'proposal', value: { ...proposal, blockId: nilBlockId() } }), 'protocol'],
    ['a part index beyond the total', 'block-parts', encodeBlockPart({ type: 'part', value: { height: 3, round: 0, partSetHeader: { ...ps.header, total: 1 }, part: ps.parts[1]! } }), 'protocol'],
    ['an empty tx', 'mempool', encodeMempool({ type: 'txs', value: [new Uint8Array(0)] }), 'protocol'],
    ['a status with base above height', 'blocksync', encodeBlocksync({ type: 'status', value: { base: 5, height: 4 } }), 'protocol'],
    ['a commit for another height than the block', 'blocksync', encodeBlocksync({ type: 'blockResponse', value: { block, commit: { ...commit, height: 2 } } }), 'protocol'],
  ]
  for (const [name, channel, data, kind] of cases) {
    const r = decodeChannelMessage(channel, data)
    t.equal(r.ok ? 'accepted' : r.error.kind, kind, name)
  }
  const first = decodeChannelMessage('blocksync', encodeBlocksync({ type: 'blockResponse', value: { block: { ...block, header: { ...block.header, height: 5 } }, commit: { ...commit, height: 5 } } }), { initialHeight: 5 })
  t.ok(first.ok, 'the initial height is honoured: block 5 of a chain starting at 5 has no last commit')
})

t.test('bitmaps', async (t) => {
  const b = newBits(10)
  t.equal(b.length, 2)
  setBit(b, 0)
  setBit(b, 9)
  setBit(b, 99) // out of range: ignored
  t.same([0, 1, 8, 9].map((i) => getBit(b, i)), [true, false, false, true])
  t.notOk(getBit(b, 200))
})
