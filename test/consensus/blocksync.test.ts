/**
 * Block sync: the pure request pool (consensus/blocksync.ts createBlockPool) and the
 * verification/application loop over stub stores and executor.
 */
import t from 'tap'
import { sha256 } from '../../src/crypto/hash.ts'
import { utf8 } from '../../src/bytes.ts'
import { AidError, fail, ok } from '../../src/errors.ts'
import { silentLogger } from '../../src/log.ts'
import type { ChannelId, MisbehaviorKind, PeerId } from '../../src/transport.ts'
import {
  commitHash, dataHash, defaultConsensusParams, encodeBlock, evidenceListHash, headerHash, makePartSet, nilBlockId,
  type Block, type ChainState, type Commit,
} from '../../src/types/index.ts'
import { createBlockPool, createBlocksync } from '../../consensus/blocksync.ts'
import { decodeChannelMessage, encodeBlocksync } from '../../consensus/messages.ts'

const h32 = (s: string): Uint8Array => sha256(utf8(s))

function block (height: number): Block {
  return {
    header: {
      chainId: 'bs-test', height, time: 1000 + height, lastBlockId: nilBlockId(), lastCommitHash: commitHash(null), dataHash: dataHash([]),
      validatorsHash: h32('v'), nextValidatorsHash: h32('v'), consensusHash: h32('c'), appHash: new Uint8Array(0), lastResultsHash: h32('r'),
      evidenceHash: evidenceListHash([]), proposerAddress: new Uint8Array(20).fill(1),
    },
    txs: [],
    evidence: [],
    lastCommit: null,
  }
}

function commitFor (b: Block): Commit {
  const ps = makePartSet(encodeBlock(b))
  return {
    height: b.header.height, round: 0, blockId: { hash: headerHash(b.header), partSetHeader: ps.header },
    signatures: [{ flag: 'commit', validatorAddress: new Uint8Array(20).fill(1), timestamp: 1, signature: new Uint8Array(64).fill(2) }],
  }
}

t.test('pool: requests go to peers that have the height, least loaded first, a window at a time', async (t) => {
  const pool = createBlockPool({ window: 3, requestTimeoutMs: 1000 })
  pool.setPeer('a', { base: 1, height: 10 })
  pool.setPeer('b', { base: 1, height: 2 })
  pool.setPeer('c', { base: 5, height: 10 })
  t.equal(pool.maxPeerHeight(), 10)
  t.same(pool.schedule(1, 0), [{ peer: 'a', height: 1 }, { peer: 'b', height: 2 }, { peer: 'a', height: 3 }], 'c lacks 1..3 (base 5), b stops at 2')
  t.same(pool.schedule(1, 10), [], 'nothing new while they are in flight')
  t.equal(pool.inFlight(), 3)
  t.notOk(pool.received('b', 1, block(1), commitFor(block(1))), 'a response from a peer not asked is ignored')
  t.ok(pool.received('a', 1, block(1), commitFor(block(1))))
  t.equal(pool.ready(1)?.peer, 'a')
  t.equal(pool.ready(2), undefined)
  pool.advance(1)
  t.same(pool.schedule(2, 20), [{ peer: 'a', height: 4 }], 'window 2..4: only a can serve 4 (b ends at 2, c starts at 5)')
})

t.test('pool: a timed-out or refused request goes to another peer, and lowers what we believe of the first', async (t) => {
  const pool = createBlockPool({ window: 1, requestTimeoutMs: 1000 })
  pool.setPeer('a', { base: 1, height: 10 })
  pool.setPeer('b', { base: 1, height: 10 })
  t.same(pool.schedule(5, 0), [{ peer: 'a', height: 5 }])
  t.same(pool.schedule(5, 999), [], 'not yet timed out')
  t.same(pool.schedule(5, 1000), [{ peer: 'b', height: 5 }], 'timed out: b')
  t.equal(pool.peers().get('a')?.height, 4, 'a is now believed to have only up to 4')
  pool.noBlock('b', 5)
  t.equal(pool.peers().get('b')?.height, 4)
  t.equal(pool.maxPeerHeight(), 4, 'nobody serves 5: a lying status cannot keep a node syncing')
  t.same(pool.schedule(5, 2000), [])
})

t.test('pool: a rejected response is never asked of that peer again for that height', async (t) => {
  const pool = createBlockPool({ window: 1, requestTimeoutMs: 1000 })
  pool.setPeer('a', { base: 1, height: 10 })
  pool.setPeer('b', { base: 1, height: 10 })
  t.same(pool.schedule(1, 0), [{ peer: 'a', height: 1 }])
  pool.received('a', 1, block(1), commitFor(block(1)))
  pool.reject(1, 'a')
  t.same(pool.schedule(1, 1), [{ peer: 'b', height: 1 }])
  pool.removePeer('b')
  t.equal(pool.inFlight(), 0, 'a removed peer takes its requests along')
  t.same(pool.schedule(1, 2), [], 'a is excluded for height 1')
})

interface Sent { peer: PeerId, channel: ChannelId, data: Uint8Array }

function harness (verifyOk: (peer: string) => boolean) {
  const sent: Sent[] = []
  const reports: Array<{ peer: PeerId, kind: MisbehaviorKind }> = []
  let state = { lastBlockHeight: 0, validators: { validators: [] } } as unknown as ChainState
  const applied: number[] = []
  const stored = new Map<number, Block>([[1, block(1)], [2, block(2)]])
  const sync = createBlocksync({ window: 2, requestTimeoutMs: 1000, statusIntervalMs: 500, lagThreshold: 2 }, {
    transport: {
      send: (peer, channel, data) => { sent.push({ peer, channel, data }); return true },
      broadcast: (channel, data) => { sent.push({ peer: '*', channel, data }) },
      reportMisbehavior: (peer, kind) => { reports.push({ peer, kind }) },
    },
    blockStore: {
      base: () => 1,
      height: () => 2,
      loadBlock: async (h) => stored.get(h),
      loadCommit: async (h) => (h === 1 ? commitFor(block(1)) : undefined),
      loadSeenCommit: async (h) => (stored.has(h) ? commitFor(block(h)) : undefined),
    },
    exec: {
      state: () => state,
      verifyCommit: async (_set, _id, _h, commit) => verifyOk(String(commit.signatures[0]?.timestamp)) ? ok({ signedPower: 1, totalPower: 1, neededPower: 0 }) : fail(new AidError('ERR_TYPES_INVALID', 'bad commit')),
      validateBlock: async () => ok(undefined),
      applyBlock: async (b, _parts, _commit) => {
        applied.push(b.header.height)
        state = { ...state, lastBlockHeight: b.header.height }
        return { state, blockId: { hash: headerHash(b.header), partSetHeader: makePartSet(encodeBlock(b)).header }, response: {} as never, processingMs: 0 }
      },
    },
    logger: silentLogger,
  })
  return { sync, sent, reports, applied }
}

t.test('blocksync: serves its store, syncs in order, reports a bad response and asks another peer', async (t) => {
  const { sync, sent, reports, applied } = harness((ts) => ts !== '99')
  await sync.handle('x', { type: 'blockRequest', value: { height: 1 } })
  await sync.handle('x', { type: 'blockRequest', value: { height: 7 } })
  const kinds = sent.map((s) => { const m = decodeChannelMessage(s.channel, s.data); return m.ok && m.value.channel === 'blocksync' ? m.value.message.type : '?' })
  t.same(kinds, ['blockResponse', 'noBlock'], 'a held block is served with its commit; a missing one gets noBlock')
  sent.length = 0

  await sync.handle('a', { type: 'status', value: { base: 1, height: 3 } })
  await sync.handle('b', { type: 'status', value: { base: 1, height: 3 } })
  t.ok(sync.lagging(), 'three ahead of height 0: lagging')
  sync.tick(0, true)
  const reqs = sent.filter((s) => s.channel === 'blocksync').map((s) => { const m = decodeChannelMessage(s.channel, s.data); return m.ok && m.value.channel === 'blocksync' && m.value.message.type === 'blockRequest' ? `${s.peer}:${m.value.message.value.height}` : '' }).filter((x) => x !== '')
  t.same(reqs, ['a:1', 'b:2'])
  // b answers 2 first: nothing applies until 1 is in
  await sync.handle('b', { type: 'blockResponse', value: { block: block(2), commit: commitFor(block(2)) } })
  t.same(await sync.applyReady(), [])
  // a answers 1 with a commit that does not verify
  const bad = commitFor(block(1))
  bad.signatures[0]!.timestamp = 99
  await sync.handle('a', { type: 'blockResponse', value: { block: block(1), commit: bad } })
  t.same(await sync.applyReady(), [])
  t.same(reports, [{ peer: 'a', kind: 'protocol' }], 'the bad response is reported')
  sent.length = 0
  sync.tick(10, true)
  t.ok(sent.some((s) => s.peer === 'b' && s.channel === 'blocksync'), 'height 1 is asked of b now')
  await sync.handle('b', { type: 'blockResponse', value: { block: block(1), commit: commitFor(block(1)) } })
  const done = await sync.applyReady()
  t.same(done.map((d) => d.block.header.height), [1, 2], 'both apply, in order')
  t.same(applied, [1, 2])
  t.notOk(sync.lagging(), 'at 2 of 3: not lagging')
  t.ok(sync.caughtUp(), 'within one height of the best peer')
})

t.test('blocksync: responses apply only in height order; a commit for another height does not decode', async (t) => {
  const { sync, reports } = harness(() => true)
  await sync.handle('a', { type: 'status', value: { base: 1, height: 5 } })
  sync.tick(0, true)
  await sync.handle('a', { type: 'blockResponse', value: { block: block(2), commit: commitFor(block(2)) } })
  t.same(await sync.applyReady(), [], 'block 2 is in, block 1 is not: nothing applies')
  t.same(reports, [])
  const enc = encodeBlocksync({ type: 'blockResponse', value: { block: block(1), commit: commitFor(block(2)) } })
  const m = decodeChannelMessage('blocksync', enc)
  t.notOk(m.ok, 'a commit for another height than the block does not even decode as valid')
})
