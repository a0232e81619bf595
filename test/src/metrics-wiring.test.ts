/**
 * The helpers take what the components already produce: p2p `stats()`, the mempool's
 * `counters()`, the engine's events, a block's last commit against its validator set.
 * These types are imported only here (src/metrics.ts imports none of consensus/ or p2p/),
 * so tsc fails this file if a component's shape drifts away from the helpers'.
 */
import t from 'tap'
import type { ConsensusEvent } from '../../consensus/engine-types.ts'
import type { MempoolCounters } from '../../consensus/mempool.ts'
import type { P2PStats } from '../../p2p/transport.ts'
import type { ChannelId } from '../../src/transport.ts'
import type { Commit, ValidatorSet } from '../../src/types/index.ts'
import { type CommitSignatureObservation, createMetrics } from '../../src/metrics.ts'
import { parseExposition, sampleValue } from './metrics-exposition.ts'

/** A block's last_commit, slot by slot against the validator set of its height (the node assembly's adapter). */
function commitParticipation (commit: Commit, set: ValidatorSet): CommitSignatureObservation[] {
  return set.validators.map((v, i) => ({ address: v.address, power: v.votingPower, signed: commit.signatures[i]?.flag === 'commit' }))
}

const CHANNELS: ChannelId[] = ['consensus', 'votes', 'block-parts', 'mempool', 'evidence', 'blocksync']
const counters = (n: number): Record<ChannelId, { bytesSent: number, bytesReceived: number, messagesSent: number, messagesReceived: number, drops: number }> =>
  Object.fromEntries(CHANNELS.map((c) => [c, { bytesSent: n, bytesReceived: 2 * n, messagesSent: 1, messagesReceived: 1, drops: 0 }])) as never

t.test('p2p stats(), mempool counters(), engine events and commits feed the helpers as they are', async (t) => {
  const m = createMetrics({ chainId: 'w', processMetrics: false })

  const stats: P2PStats = {
    peers: 1,
    channels: counters(10),
    perPeer: {
      '12D3KooWPeer': {
        connected: true, score: 0, offenses: 0, bannedUntil: null, dials: 1, dialFailures: 0,
        channels: Object.fromEntries(CHANNELS.map((c) => [c, { ...counters(10)[c], queued: 0 }])) as never,
      },
    },
    misbehaviorDisconnects: 0,
    bans: 0,
    refusedInbound: 0,
  }
  m.setPeers(stats)

  const mc: MempoolCounters = { failed: 1, rejected: 2, evicted: 3, recheck: 4, alreadyReceived: 5 }
  m.setMempool({ size: 0, sizeBytes: 0, counters: mc })

  const events: ConsensusEvent[] = [
    { type: 'new-round-step', height: 2, round: 0, step: 'propose' },
    { type: 'new-round-step', height: 2, round: 0, step: 'prevote' },
    { type: 'catching-up', catchingUp: false },
  ]
  for (const e of events) {
    if (e.type === 'new-round-step') m.enterStep(e.height, e.round, e.step)
    if (e.type === 'catching-up') m.setSyncing(e.catchingUp)
  }

  const addr = (b: number): Uint8Array => new Uint8Array(20).fill(b)
  const set: ValidatorSet = { validators: [1, 2].map((b) => ({ address: addr(b), pubKey: new Uint8Array(32), votingPower: 10, proposerPriority: 0n as never })) }
  const sig = (b: number, flag: 'commit' | 'absent'): Commit['signatures'][number] =>
    ({ flag, validatorAddress: addr(b), timestamp: 0, signature: new Uint8Array(flag === 'commit' ? 64 : 0) }) as never
  const commit = { height: 1, round: 0, blockId: {} as never, signatures: [sig(1, 'commit'), sig(2, 'absent')] } as Commit
  m.observeBlock({ height: 2, numTxs: 0, sizeBytes: 100, lastCommit: { height: commit.height, signatures: commitParticipation(commit, set) } })

  const f = parseExposition(await m.render())
  t.equal(sampleValue(f, 'aidledger_p2p_peer_receive_bytes_total', { peer_id: '12D3KooWPeer', chID: 'block-parts' }), 20)
  t.equal(sampleValue(f, 'aidledger_p2p_message_send_bytes_total', { message_type: 'blocksync' }), 10)
  t.equal(sampleValue(f, 'aidledger_mempool_already_received_txs'), 5)
  t.equal(sampleValue(f, 'aidledger_consensus_step_duration_seconds', { step: 'propose' }, 'aidledger_consensus_step_duration_seconds_count'), 1)
  t.equal(sampleValue(f, 'aidledger_consensus_missing_validators'), 1)
  t.equal(sampleValue(f, 'aidledger_consensus_validator_missed_blocks', { validator_address: '02'.repeat(20) }), 1)
})
