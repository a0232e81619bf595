/**
 * Consensus gossip as pure logic (DESIGN §8: "per-peer gossip state is pure logic; sockets
 * are a thin loop"), after CometBFT consensus/reactor.go (PeerState, gossipDataRoutine,
 * gossipVotesRoutine, pickVoteToSend, queryMaj23Routine) reshaped for lossy networks:
 *
 *  - What a peer holds is learned from its status announcements (height, round, step and
 *    bitmaps of its proposals, block parts and votes; consensus/messages.ts) and from what
 *    it sent us. What we sent it counts as held only for a resend window: if its next
 *    announcements do not show the item, the item is picked again. So loss, duplication,
 *    reordering and partitions only delay; nothing relies on a message arriving once.
 *  - `pickForPeer` chooses, for one peer and one tick, the proposals, block parts and votes
 *    it lacks: for its height and round, the round it may lock/commit on (our decision
 *    round, its proposal's POL round), our own round when it lags rounds (L55 needs f+1 of
 *    a higher round), and for a peer one height behind the previous height's proposal,
 *    block and precommits (the catch-up commit).
 *
 * No I/O, no clock (time is an argument), no randomness: the engine calls these functions
 * on every gossip tick and sends what they return.
 */
import { toHex } from '../src/bytes.ts'
import type { PeerId } from '../src/transport.ts'
import type { Part, PartSetHeader, Proposal, Vote, VoteType } from '../src/types/index.ts'
import { blockIdKey } from '../src/types/index.ts'
import { getBit, newBits, setBit, type ConsensusStatusMessage, type StatusStep, type VoteBits } from './messages.ts'

// ---- item keys ----

export function partSetKey (psh: PartSetHeader): string {
  return `${psh.total}:${toHex(psh.hash)}`
}

export function proposalItem (height: number, round: number, blockKey: string): string {
  return `p/${height}/${round}/${blockKey}`
}

export function partItem (height: number, pshKey: string, index: number): string {
  return `b/${height}/${pshKey}/${index}`
}

export function voteItem (height: number, round: number, type: VoteType, index: number): string {
  return `v/${height}/${round}/${type}/${index}`
}

/** A vote sent because its value has a quorum the peer does not claim (keyed by value: an equivocator has several). */
export function quorumVoteItem (height: number, round: number, type: VoteType, index: number, valueKey: string): string {
  return `w/${height}/${round}/${type}/${index}/${valueKey}`
}

export function maj23Key (round: number, type: VoteType, valueKey: string): string {
  return `${round}/${type}/${valueKey}`
}

// ---- our side ----

/** A block whose parts we hold (complete or not). */
export interface HeldBlock {
  readonly psh: PartSetHeader
  readonly pshKey: string
  hasPart: (index: number) => boolean
  getPart: (index: number) => Part | undefined
}

/** What we hold for the previous height: what a peer one height behind needs to commit it. */
export interface LastCommitView {
  readonly height: number
  readonly round: number
  /** Key of the committed block id. */
  readonly valueKey: string
  /** Precommits of `round` by validator index (of that height's set); for the committed block where the validator signed one. */
  readonly precommits: ReadonlyArray<Vote | undefined>
  readonly block: HeldBlock | null
  readonly proposal: Proposal | null
  /** When we committed it (the maj23 path waits a little for ordinary gossip first). */
  readonly since: number
}

/** A value we hold +2/3 votes for (counting every signed vote for it). */
export interface Maj23View {
  readonly round: number
  readonly type: VoteType
  readonly blockId: import('../src/types/index.ts').BlockId
  readonly valueKey: string
  /** When we first held the quorum. */
  readonly since: number
  /** Its votes, one per validator. */
  readonly votes: readonly Vote[]
}

/** A snapshot of our consensus state, as the pick functions read it. */
export interface OurView {
  readonly height: number
  readonly round: number
  readonly step: StatusStep
  readonly validatorCount: number
  /** Proposals held for `height` (at most a few per round), in the order received. */
  readonly proposals: ReadonlyArray<{ readonly proposal: Proposal, readonly blockKey: string }>
  /** Blocks of `height` we hold parts of, by part-set key. */
  readonly blocks: ReadonlyMap<string, HeldBlock>
  /** Votes held for (round, type), by validator index. */
  votes: (round: number, type: VoteType) => ReadonlyArray<Vote | undefined>
  /** Rounds with at least one vote held, ascending. */
  readonly voteRounds: readonly number[]
  /** The round of a +2/3 precommit quorum for a block (the commit round), if any. */
  readonly commitRound: number | null
  readonly lastCommit: LastCommitView | null
  /** Values of `height` with +2/3 votes (at most 16 announced). */
  readonly maj23: readonly Maj23View[]
}

/** Our status announcement (consensus channel), bounded as the schema requires. */
export function buildStatus (v: OurView): ConsensusStatusMessage {
  const proposals = v.proposals.slice(-16).map((p) => ({ round: p.proposal.round, blockId: p.proposal.blockId }))
  const parts = [...v.blocks.values()].slice(-8).map((b) => {
    const bits = newBits(b.psh.total)
    for (let i = 0; i < b.psh.total; i++) if (b.hasPart(i)) setBit(bits, i)
    return { partSetHeader: b.psh, bits }
  })
  const rounds = [...new Set([...v.voteRounds.slice(-14), v.round, ...(v.commitRound === null ? [] : [v.commitRound])])].sort((a, b) => a - b).slice(-16)
  const votes: VoteBits[] = []
  for (const round of rounds) {
    for (const type of ['prevote', 'precommit'] as const) {
      const held = v.votes(round, type)
      if (!held.some((x) => x !== undefined)) continue
      const bits = newBits(v.validatorCount)
      held.forEach((x, i) => { if (x !== undefined) setBit(bits, i) })
      votes.push({ round, type, bits })
    }
  }
  let lastCommit: VoteBits | null = null
  if (v.lastCommit !== null) {
    const bits = newBits(v.lastCommit.precommits.length)
    v.lastCommit.precommits.forEach((x, i) => { if (x !== undefined) setBit(bits, i) })
    lastCommit = { round: v.lastCommit.round, type: 'precommit', bits }
  }
  const maj23 = v.maj23.slice(-16).map((m) => ({ round: m.round, type: m.type, blockId: m.blockId }))
  return { height: v.height, round: v.round, step: v.step, proposals, parts, votes, lastCommit, maj23 }
}

// ---- the peer's side ----

export interface PeerRoundState {
  readonly height: number
  readonly round: number
  readonly step: StatusStep
  /** round → block key of the proposal it holds */
  readonly proposals: ReadonlyMap<number, string>
  /** part-set key → bits of the parts it holds */
  readonly parts: ReadonlyMap<string, Uint8Array>
  /** `${round}/${type}` → bits of the votes it holds at `height` */
  readonly votes: ReadonlyMap<string, Uint8Array>
  /** precommits it holds for height − 1 */
  readonly lastCommit: { readonly round: number, readonly bits: Uint8Array } | null
  /** maj23Key(round, type, blockKey) of the values it holds +2/3 for at `height` */
  readonly maj23: ReadonlySet<string>
}

export interface PeerGossipState {
  readonly peer: PeerId
  /** Its last announcement; null until it sends one. */
  round: PeerRoundState | null
  /** item key → until when the peer counts as holding it (Infinity: it sent it to us). */
  readonly has: Map<string, number>
}

export function newPeerGossipState (peer: PeerId): PeerGossipState {
  return { peer, round: null, has: new Map() }
}

/** Takes in a status announcement; items of heights the peer left are forgotten. */
export function applyStatus (p: PeerGossipState, s: ConsensusStatusMessage): void {
  const prevHeight = p.round?.height
  if (prevHeight !== undefined && prevHeight !== s.height) {
    for (const k of [...p.has.keys()]) {
      const h = Number(k.split('/')[1])
      if (h < s.height - 1) p.has.delete(k)
    }
  }
  const proposals = new Map<number, string>()
  for (const x of s.proposals) proposals.set(x.round, blockIdKey(x.blockId))
  const parts = new Map<string, Uint8Array>()
  for (const x of s.parts) parts.set(partSetKey(x.partSetHeader), x.bits)
  const votes = new Map<string, Uint8Array>()
  for (const x of s.votes) votes.set(`${x.round}/${x.type}`, x.bits)
  p.round = {
    height: s.height,
    round: s.round,
    step: s.step,
    proposals,
    parts,
    votes,
    lastCommit: s.lastCommit === null ? null : { round: s.lastCommit.round, bits: s.lastCommit.bits },
    maj23: new Set(s.maj23.map((m) => maj23Key(m.round, m.type, blockIdKey(m.blockId)))),
  }
}

/** The peer sent us `item` (so it holds it), or we sent it (held for the resend window). */
export function markHas (p: PeerGossipState, item: string, until: number): void {
  const cur = p.has.get(item)
  if (cur === undefined || cur < until) p.has.set(item, until)
}

export function peerHas (p: PeerGossipState, item: string, now: number): boolean {
  const until = p.has.get(item)
  return until !== undefined && until > now
}

/** Drops expired sent-marks (keeps the map small). */
export function pruneHas (p: PeerGossipState, now: number): void {
  for (const [k, until] of p.has) if (until <= now) p.has.delete(k)
}

// ---- picking ----

export type Outgoing =
  | { readonly kind: 'proposal', readonly item: string, readonly proposal: Proposal }
  | { readonly kind: 'part', readonly item: string, readonly height: number, readonly round: number, readonly psh: PartSetHeader, readonly part: Part }
  | { readonly kind: 'vote', readonly item: string, readonly vote: Vote }

export interface PickLimits {
  readonly maxVotes: number
  readonly maxParts: number
  /** How long a quorum must have been ours before its votes go to a peer that does not claim it regardless of bitmaps (default 0). */
  readonly maj23DelayMs?: number
}

function roundsOfInterest (v: OurView, prs: PeerRoundState): number[] {
  const out: number[] = []
  const add = (r: number | null | undefined): void => { if (r !== null && r !== undefined && r >= 0 && !out.includes(r)) out.push(r) }
  add(v.commitRound)
  add(prs.round)
  const ours = v.proposals.find((p) => p.proposal.round === prs.round)
  add(ours?.proposal.polRound)
  if (v.round > prs.round) add(v.round)
  return out
}

function pickProposal (v: OurView, peer: PeerGossipState, prs: PeerRoundState, rounds: readonly number[], now: number, out: Outgoing[]): void {
  for (const r of rounds) {
    for (const { proposal, blockKey } of v.proposals) {
      if (proposal.round !== r) continue
      const item = proposalItem(v.height, r, blockKey)
      const theirs = prs.proposals.get(r)
      if (theirs === blockKey || peerHas(peer, item, now)) continue
      // A peer holding another proposal for this round needs ours only if the network agreed on ours.
      if (theirs !== undefined && r !== v.commitRound) continue
      out.push({ kind: 'proposal', item, proposal })
    }
  }
}

function partsFor (height: number, round: number, block: HeldBlock, peer: PeerGossipState, prs: PeerRoundState | null,
  now: number, budget: number, out: Outgoing[]): number {
  const bits = prs?.parts.get(block.pshKey)
  let n = 0
  for (let i = 0; i < block.psh.total && n < budget; i++) {
    if (bits !== undefined && getBit(bits, i)) continue
    const item = partItem(height, block.pshKey, i)
    if (peerHas(peer, item, now)) continue
    const part = block.getPart(i)
    if (part === undefined) continue
    out.push({ kind: 'part', item, height, round, psh: block.psh, part })
    n++
  }
  return n
}

/** Whether the peer is collecting the parts of `block` (announced it, or holds / was sent a proposal for it). */
function wantsBlock (height: number, block: HeldBlock, peer: PeerGossipState, prs: PeerRoundState,
  proposals: ReadonlyArray<{ readonly proposal: Proposal, readonly blockKey: string }>, now: number): { round: number } | null {
  if (prs.parts.has(block.pshKey)) {
    const p = proposals.find((x) => partSetKey(x.proposal.blockId.partSetHeader) === block.pshKey)
    return { round: p?.proposal.round ?? prs.round }
  }
  for (const { proposal, blockKey } of proposals) {
    if (partSetKey(proposal.blockId.partSetHeader) !== block.pshKey) continue
    if (prs.proposals.get(proposal.round) === blockKey || peerHas(peer, proposalItem(height, proposal.round, blockKey), now)) {
      return { round: proposal.round }
    }
  }
  return null
}

function votesFor (height: number, round: number, type: VoteType, held: ReadonlyArray<Vote | undefined>, bits: Uint8Array | undefined,
  peer: PeerGossipState, now: number, budget: number, out: Outgoing[]): number {
  let n = 0
  for (let i = 0; i < held.length && n < budget; i++) {
    const vote = held[i]
    if (vote === undefined) continue
    if (bits !== undefined && getBit(bits, i)) continue
    const item = voteItem(height, round, type, i)
    if (peerHas(peer, item, now)) continue
    out.push({ kind: 'vote', item, vote })
    n++
  }
  return n
}

/** The votes of a quorum the peer does not claim, whatever its bitmaps say (CometBFT VoteSetMaj23 / VoteSetBits by block). */
function quorumVotesFor (height: number, round: number, type: VoteType, valueKey: string, votes: ReadonlyArray<Vote | undefined>,
  peer: PeerGossipState, now: number, budget: number, out: Outgoing[]): number {
  let n = 0
  for (const vote of votes) {
    if (n >= budget) break
    if (vote === undefined || blockIdKey(vote.blockId) !== valueKey) continue
    // Only the value's own item counts: the peer may hold this validator's OTHER vote (the plain item says it holds one).
    const item = quorumVoteItem(height, round, type, vote.validatorIndex, valueKey)
    if (peerHas(peer, item, now)) continue
    out.push({ kind: 'vote', item, vote })
    n++
  }
  return n
}

/** The plain item of a vote we may have sent (or received from the peer) through ordinary gossip. */
function voteItemOfValue (v: Vote): string {
  return voteItem(v.height, v.round, v.type, v.validatorIndex)
}

/**
 * What to send `peer` this tick: missing proposals, then block parts, then votes, within
 * the limits. The caller sends them and marks each item with `markHas(peer, item, now + resend)`.
 */
export function pickForPeer (v: OurView, peer: PeerGossipState, now: number, limits: PickLimits): Outgoing[] {
  const prs = peer.round
  const out: Outgoing[] = []
  // Nothing before it announced itself, nothing while it block-syncs (it ignores consensus then).
  if (prs === null || prs.step === 'sync') return out

  if (prs.height === v.height) {
    const rounds = roundsOfInterest(v, prs)
    pickProposal(v, peer, prs, rounds, now, out)
    // Parts count the proposals just picked as held by the peer.
    const justSent = new Set(out.map((o) => o.item))
    const peerView: PeerGossipState = justSent.size === 0 ? peer : { ...peer, has: new Map([...peer.has, ...[...justSent].map((k) => [k, Infinity] as const)]) }
    let partBudget = limits.maxParts
    for (const block of v.blocks.values()) {
      if (partBudget <= 0) break
      const want = wantsBlock(v.height, block, peerView, prs, v.proposals, now)
      if (want === null) continue
      partBudget -= partsFor(v.height, want.round, block, peer, prs, now, partBudget, out)
    }
    let voteBudget = limits.maxVotes
    const order: Array<[number, VoteType]> = []
    if (v.commitRound !== null) order.push([v.commitRound, 'precommit'])
    for (const r of rounds) order.push([r, 'prevote'], [r, 'precommit'])
    const done = new Set<string>()
    for (const [r, type] of order) {
      const k = `${r}/${type}`
      if (done.has(k) || voteBudget <= 0) continue
      done.add(k)
      voteBudget -= votesFor(v.height, r, type, v.votes(r, type), prs.votes.get(k), peer, now, voteBudget, out)
    }
    const delay = limits.maj23DelayMs ?? 0
    const sent = new Set(out.map((o) => (o.kind === 'vote' ? voteItemOfValue(o.vote) : '')))
    for (const m of v.maj23) {
      if (voteBudget <= 0) break
      if (now - m.since < delay || prs.maj23.has(maj23Key(m.round, m.type, m.valueKey))) continue
      const fresh = m.votes.filter((x) => !sent.has(voteItemOfValue(x)))
      voteBudget -= quorumVotesFor(v.height, m.round, m.type, m.valueKey, fresh, peer, now, voteBudget, out)
    }
    return out
  }

  const lc = v.lastCommit
  if (lc !== null && prs.height === lc.height) {
    // The peer is one height behind: what it needs to commit that height.
    if (lc.proposal !== null) {
      const blockKey = blockIdKey(lc.proposal.blockId)
      const item = proposalItem(lc.height, lc.proposal.round, blockKey)
      if (prs.proposals.get(lc.proposal.round) !== blockKey && !peerHas(peer, item, now)) out.push({ kind: 'proposal', item, proposal: lc.proposal })
    }
    if (lc.block !== null) {
      const interested = prs.parts.has(lc.block.pshKey) ||
        (lc.proposal !== null && (prs.proposals.get(lc.proposal.round) === blockIdKey(lc.proposal.blockId) || out.length > 0))
      if (interested) partsFor(lc.height, lc.round, lc.block, peer, prs, now, limits.maxParts, out)
    }
    const n = votesFor(lc.height, lc.round, 'precommit', lc.precommits, prs.votes.get(`${lc.round}/precommit`), peer, now, limits.maxVotes, out)
    if (n === 0 && now - lc.since >= (limits.maj23DelayMs ?? 0) && !prs.maj23.has(maj23Key(lc.round, 'precommit', lc.valueKey))) {
      // It holds a precommit from everyone we have one from, yet no commit: some are an equivocator's other vote.
      quorumVotesFor(lc.height, lc.round, 'precommit', lc.valueKey, lc.precommits, peer, now, limits.maxVotes, out)
    }
  }
  return out
}
