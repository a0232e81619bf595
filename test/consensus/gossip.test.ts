/**
 * The pure gossip choices (consensus/gossip.ts): what a peer is sent, given what it
 * announced, what it sent us and what we sent it within the resend window.
 */
import t from 'tap'
import { sha256 } from '../../src/crypto/hash.ts'
import { utf8 } from '../../src/bytes.ts'
import {
  blockIdKey, makePartSet, nilBlockId, type BlockId, type PartSet, type Proposal, type Vote, type VoteType,
} from '../../src/types/index.ts'
import {
  applyStatus, buildStatus, markHas, newPeerGossipState, partItem, partSetKey, peerHas, pickForPeer, proposalItem, pruneHas, quorumVoteItem,
  voteItem, type HeldBlock, type OurView, type Outgoing, type PeerGossipState,
} from '../../consensus/gossip.ts'
import { ConsensusStatusSchema, newBits, setBit, type ConsensusStatusMessage } from '../../consensus/messages.ts'
import { encode, decode } from '../../src/codec/index.ts'

const N = 4
const H = 5
const NOW = 1_000_000
const LIMITS = { maxVotes: 64, maxParts: 16 }

function partSet (label: string): PartSet {
  return makePartSet(sha256Bytes(label, 150), 64) // 3 parts: 64, 64, 22 bytes
}

function sha256Bytes (label: string, n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i += 32) out.set(sha256(utf8(`${label}/${i}`)).subarray(0, Math.min(32, n - i)), i)
  return out
}

function blockIdOf (label: string, ps: PartSet): BlockId {
  return { hash: sha256(utf8(`header/${label}`)), partSetHeader: ps.header }
}

function held (ps: PartSet, have: number[] = [0, 1, 2]): HeldBlock {
  return {
    psh: ps.header,
    pshKey: partSetKey(ps.header),
    hasPart: (i) => have.includes(i),
    getPart: (i) => (have.includes(i) ? ps.parts[i] : undefined),
  }
}

function proposal (round: number, blockId: BlockId, polRound = -1, height = H): Proposal {
  return { height, round, polRound, blockId, timestamp: 1, signature: new Uint8Array(64).fill(round + 1) }
}

function vote (type: VoteType, round: number, index: number, blockId: BlockId | null, height = H): Vote {
  return {
    type, height, round, blockId: blockId ?? nilBlockId(), timestamp: 1, validatorAddress: new Uint8Array(20).fill(index + 1),
    validatorIndex: index, signature: new Uint8Array(64).fill(index),
  }
}

const psA = partSet('A')
const idA = blockIdOf('A', psA)
const psB = partSet('B')
const idB = blockIdOf('B', psB)

interface ViewSpec {
  round?: number
  proposals?: Proposal[]
  blocks?: HeldBlock[]
  votes?: Vote[]
  commitRound?: number | null
  lastCommit?: OurView['lastCommit']
  height?: number
  maj23?: OurView['maj23']
}

function view (s: ViewSpec = {}): OurView {
  const votes = s.votes ?? []
  const byKey = new Map<string, Array<Vote | undefined>>()
  for (const v of votes) {
    const k = `${v.round}/${v.type}`
    const arr = byKey.get(k) ?? new Array<Vote | undefined>(N).fill(undefined)
    arr[v.validatorIndex] = v
    byKey.set(k, arr)
  }
  return {
    height: s.height ?? H,
    round: s.round ?? 0,
    step: 'prevote',
    validatorCount: N,
    proposals: (s.proposals ?? []).map((p) => ({ proposal: p, blockKey: blockIdKey(p.blockId) })),
    blocks: new Map((s.blocks ?? []).map((b) => [b.pshKey, b])),
    votes: (round, type) => byKey.get(`${round}/${type}`) ?? [],
    voteRounds: [...new Set(votes.map((v) => v.round))].sort((a, b) => a - b),
    commitRound: s.commitRound ?? null,
    lastCommit: s.lastCommit ?? null,
    maj23: s.maj23 ?? [],
  }
}

function bits (n: number, set: number[]): Uint8Array {
  const b = newBits(n)
  for (const i of set) setBit(b, i)
  return b
}

function status (o: Partial<ConsensusStatusMessage> = {}): ConsensusStatusMessage {
  return { height: H, round: 0, step: 'prevote', proposals: [], parts: [], votes: [], lastCommit: null, maj23: [], ...o }
}

function peerWith (s: ConsensusStatusMessage): PeerGossipState {
  const p = newPeerGossipState('peer')
  applyStatus(p, s)
  return p
}

function describe (outs: Outgoing[]): string[] {
  return outs.map((o) => o.kind === 'proposal'
    ? `proposal r${o.proposal.round}`
    : o.kind === 'part' ? `part ${o.part.index}` : `${o.vote.type} r${o.vote.round} v${o.vote.validatorIndex}`)
}

const fullView = view({
  proposals: [proposal(0, idA)],
  blocks: [held(psA)],
  votes: [vote('prevote', 0, 0, idA), vote('prevote', 0, 1, idA), vote('prevote', 0, 2, null)],
})

t.test('table: what one tick sends a peer', async (t) => {
  const cases: Array<{ name: string, v: OurView, peer: PeerGossipState | null, want: string[] }> = [
    { name: 'a peer that never announced anything gets nothing', v: fullView, peer: null, want: [] },
    {
      name: 'a peer at our height without the proposal: proposal, all parts, the votes',
      v: fullView,
      peer: peerWith(status()),
      want: ['proposal r0', 'part 0', 'part 1', 'part 2', 'prevote r0 v0', 'prevote r0 v1', 'prevote r0 v2'],
    },
    {
      name: 'it announced the proposal and parts 0 and 2: part 1 only, and the votes',
      v: fullView,
      peer: peerWith(status({ proposals: [{ round: 0, blockId: idA }], parts: [{ partSetHeader: psA.header, bits: bits(3, [0, 2]) }] })),
      want: ['part 1', 'prevote r0 v0', 'prevote r0 v1', 'prevote r0 v2'],
    },
    {
      name: 'it announced prevotes 0 and 2: prevote 1 only',
      v: fullView,
      peer: peerWith(status({
        proposals: [{ round: 0, blockId: idA }],
        parts: [{ partSetHeader: psA.header, bits: bits(3, [0, 1, 2]) }],
        votes: [{ round: 0, type: 'prevote', bits: bits(N, [0, 2]) }],
      })),
      want: ['prevote r0 v1'],
    },
    {
      name: 'a peer holding another proposal for the round is not sent ours, nor its parts',
      v: fullView,
      peer: peerWith(status({ proposals: [{ round: 0, blockId: idB }], parts: [{ partSetHeader: psB.header, bits: bits(3, []) }] })),
      want: ['prevote r0 v0', 'prevote r0 v1', 'prevote r0 v2'],
    },
    {
      name: '... unless the network committed ours in that round',
      v: view({ proposals: [proposal(0, idA)], blocks: [held(psA)], commitRound: 0, votes: [vote('precommit', 0, 3, idA)] }),
      peer: peerWith(status({ proposals: [{ round: 0, blockId: idB }] })),
      want: ['proposal r0', 'part 0', 'part 1', 'part 2', 'precommit r0 v3'],
    },
    {
      name: 'a peer lagging rounds gets our round\'s votes too (L55 needs f+1 of them)',
      v: view({ round: 2, votes: [vote('prevote', 2, 0, null), vote('prevote', 2, 1, null), vote('prevote', 0, 3, null)] }),
      peer: peerWith(status({ round: 0 })),
      want: ['prevote r0 v3', 'prevote r2 v0', 'prevote r2 v1'],
    },
    {
      name: 'a peer ahead in rounds gets nothing of our lower round',
      v: view({ round: 0, votes: [vote('prevote', 0, 0, null)] }),
      peer: peerWith(status({ round: 3 })),
      want: [],
    },
    {
      name: 'the POL round\'s prevotes go to a peer deciding on a proposal with polRound 1',
      v: view({ round: 2, proposals: [proposal(2, idA, 1)], blocks: [held(psA)], votes: [vote('prevote', 1, 2, idA)] }),
      peer: peerWith(status({ round: 2, proposals: [{ round: 2, blockId: idA }], parts: [{ partSetHeader: psA.header, bits: bits(3, [0, 1, 2]) }] })),
      want: ['prevote r1 v2'],
    },
    {
      name: 'parts we do not hold are not sent',
      v: view({ proposals: [proposal(0, idA)], blocks: [held(psA, [1])] }),
      peer: peerWith(status({ proposals: [{ round: 0, blockId: idA }], parts: [{ partSetHeader: psA.header, bits: bits(3, []) }] })),
      want: ['part 1'],
    },
    {
      name: 'a peer one height behind: the previous proposal, block and commit precommits',
      v: view({
        lastCommit: {
          height: H - 1, round: 1, valueKey: blockIdKey(idB), since: NOW, proposal: proposal(1, idB, -1, H - 1), block: held(psB),
          precommits: [vote('precommit', 1, 0, idB, H - 1), undefined, vote('precommit', 1, 2, idB, H - 1), vote('precommit', 1, 3, idB, H - 1)],
        },
      }),
      peer: peerWith(status({ height: H - 1, round: 1, votes: [{ round: 1, type: 'precommit', bits: bits(N, [2]) }] })),
      want: ['proposal r1', 'part 0', 'part 1', 'part 2', 'precommit r1 v0', 'precommit r1 v3'],
    },
    {
      name: 'a peer two heights behind gets nothing from consensus (block sync is for it)',
      v: view({ lastCommit: { height: H - 1, round: 0, valueKey: blockIdKey(idB), since: NOW, proposal: null, block: held(psB), precommits: [vote('precommit', 0, 0, idB, H - 1)] } }),
      peer: peerWith(status({ height: H - 2 })),
      want: [],
    },
    {
      name: 'a peer ahead of us gets nothing',
      v: fullView,
      peer: peerWith(status({ height: H + 1 })),
      want: [],
    },
  ]
  for (const c of cases) {
    const peer = c.peer ?? newPeerGossipState('peer')
    t.same(describe(pickForPeer(c.v, peer, NOW, LIMITS)), c.want, c.name)
  }
})

t.test('items sent count as held for the resend window, then go again; items received never go back', async (t) => {
  const peer = peerWith(status())
  const first = pickForPeer(fullView, peer, NOW, LIMITS)
  for (const o of first) markHas(peer, o.item, NOW + 500)
  t.same(pickForPeer(fullView, peer, NOW + 100, LIMITS), [], 'nothing again within the window')
  t.same(describe(pickForPeer(fullView, peer, NOW + 500, LIMITS)), describe(first), 'all of it again once the window passed unannounced')
  const p2 = peerWith(status())
  markHas(p2, voteItem(H, 0, 'prevote', 1), Infinity)
  markHas(p2, proposalItem(H, 0, blockIdKey(idA)), Infinity)
  markHas(p2, partItem(H, partSetKey(psA.header), 0), Infinity)
  t.same(describe(pickForPeer(fullView, p2, NOW + 1e9, LIMITS)), ['part 1', 'part 2', 'prevote r0 v0', 'prevote r0 v2'], 'what it sent us is never sent back')
  pruneHas(peer, NOW + 1000)
  t.equal(peer.has.size, 0, 'expired marks are pruned')
  t.ok(peerHas(p2, voteItem(H, 0, 'prevote', 1), NOW + 1e12), 'received marks do not expire')
})

t.test('limits cap what one tick sends', async (t) => {
  const votes = [0, 1, 2, 3].flatMap((i) => [vote('prevote', 0, i, idA), vote('precommit', 0, i, idA)])
  const v = view({ proposals: [proposal(0, idA)], blocks: [held(psA)], votes })
  const outs = pickForPeer(v, peerWith(status()), NOW, { maxVotes: 3, maxParts: 2 })
  t.same(describe(outs), ['proposal r0', 'part 0', 'part 1', 'prevote r0 v0', 'prevote r0 v1', 'prevote r0 v2'])
})

t.test('a peer that announces everything we hold is sent nothing (status round trip through the codec)', async (t) => {
  const v = view({
    round: 1,
    proposals: [proposal(0, idA), proposal(1, idB)],
    blocks: [held(psA), held(psB, [0, 2])],
    votes: [vote('prevote', 0, 0, idA), vote('prevote', 1, 3, idB), vote('precommit', 1, 2, null)],
    lastCommit: { height: H - 1, round: 0, valueKey: blockIdKey(idA), since: NOW, proposal: null, block: null, precommits: [undefined, vote('precommit', 0, 1, idA, H - 1), undefined, undefined] },
  })
  const s = buildStatus(v)
  const wire = decode(ConsensusStatusSchema, encode(ConsensusStatusSchema, s))
  const peer = peerWith(wire)
  t.same(pickForPeer(v, peer, NOW, LIMITS), [])
  t.same(wire.lastCommit?.bits, bits(N, [1]), 'last commit bits')
  t.same(wire.parts.map((p) => [...p.bits]), [[0b111], [0b101]], 'part bits')
})

t.test('a new height forgets what the peer held two heights back', async (t) => {
  const p = peerWith(status({ height: H }))
  markHas(p, voteItem(H - 2, 0, 'prevote', 0), Infinity)
  markHas(p, voteItem(H - 1, 0, 'prevote', 0), Infinity)
  markHas(p, voteItem(H, 0, 'prevote', 0), Infinity)
  applyStatus(p, status({ height: H + 1 }))
  t.notOk(p.has.has(voteItem(H - 2, 0, 'prevote', 0)))
  t.notOk(p.has.has(voteItem(H - 1, 0, 'prevote', 0)))
  t.ok(p.has.has(voteItem(H, 0, 'prevote', 0)), 'the previous height is kept (it serves a peer one behind)')
})

t.test('maj23: a quorum the peer does not claim is sent again whatever its bitmaps say (an equivocator\'s other vote)', async (t) => {
  const votesA = [vote('prevote', 0, 0, idA), vote('prevote', 0, 1, idA), vote('prevote', 0, 3, idA)]
  const v = (since: number): OurView => view({
    votes: [...votesA, vote('prevote', 0, 2, null)],
    maj23: [{ round: 0, type: 'prevote', blockId: idA, valueKey: blockIdKey(idA), since, votes: votesA }],
  })
  const holdsAll = (maj23: ConsensusStatusMessage['maj23'] = []): PeerGossipState =>
    peerWith(status({ votes: [{ round: 0, type: 'prevote', bits: bits(N, [0, 1, 2, 3]) }], maj23 }))
  const limits = { ...LIMITS, maj23DelayMs: 500 }
  t.same(describe(pickForPeer(v(NOW - 500), holdsAll(), NOW, limits)), ['prevote r0 v0', 'prevote r0 v1', 'prevote r0 v3'],
    'it holds a vote from everyone yet claims no quorum: the quorum\'s votes go again')
  t.same(pickForPeer(v(NOW - 499), holdsAll(), NOW, limits), [], 'not before the delay (ordinary gossip gets there first)')
  t.same(pickForPeer(v(NOW - 500), holdsAll([{ round: 0, type: 'prevote', blockId: idA }]), NOW, limits), [], 'not once it claims the quorum')
  const p = holdsAll()
  markHas(p, quorumVoteItem(H, 0, 'prevote', 1, blockIdKey(idA)), Infinity) // it sent us v1's vote for A
  markHas(p, voteItem(H, 0, 'prevote', 3), Infinity) // it sent us some vote of v3 (not necessarily for A)
  t.same(describe(pickForPeer(v(NOW - 500), p, NOW, limits)), ['prevote r0 v0', 'prevote r0 v3'], 'a vote for A it sent us is not sent back; another vote of v3 does not count')
})

t.test('maj23: a peer one height behind holding an equivocator\'s nil precommit gets the committed one', async (t) => {
  const pc = [vote('precommit', 0, 0, idB, H - 1), vote('precommit', 0, 1, idB, H - 1), undefined, vote('precommit', 0, 3, idB, H - 1)]
  const v = view({ lastCommit: { height: H - 1, round: 0, valueKey: blockIdKey(idB), since: NOW - 1000, proposal: null, block: null, precommits: pc } })
  const peer = peerWith(status({ height: H - 1, votes: [{ round: 0, type: 'precommit', bits: bits(N, [0, 1, 2, 3]) }] }))
  markHas(peer, quorumVoteItem(H - 1, 0, 'precommit', 0, blockIdKey(idB)), Infinity)
  markHas(peer, quorumVoteItem(H - 1, 0, 'precommit', 1, blockIdKey(idB)), Infinity)
  t.same(describe(pickForPeer(v, peer, NOW, { ...LIMITS, maj23DelayMs: 500 })), ['precommit r0 v3'])
  const claims = peerWith(status({ height: H - 1, votes: [{ round: 0, type: 'precommit', bits: bits(N, [0, 1, 2, 3]) }], maj23: [{ round: 0, type: 'precommit', blockId: idB }] }))
  t.same(pickForPeer(v, claims, NOW, { ...LIMITS, maj23DelayMs: 500 }), [], 'nothing once it claims the commit quorum')
})
