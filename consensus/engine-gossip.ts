/**
 * The engine's send loop (CometBFT consensus/reactor.go gossip routines, mempool/reactor.go
 * broadcastTxRoutine, evidence/reactor.go broadcastEvidenceRoutine) over the pure choices of
 * consensus/gossip.ts. The engine calls `tick` from its serial queue on every gossip timer
 * and `broadcastOwn` for its own proposal, parts and votes; everything here is synchronous
 * (transport.send queues), so it adds no work the engine's idle() could miss.
 *
 *  - consensus: our status goes out when it changed, at least every statusRefreshMs, and at
 *    once to a peer that connects; then per peer what `pickForPeer` returns, each item
 *    marked as held by the peer for `resendMs`.
 *  - mempool: per peer a cursor into the mempool's arrival order; txs the peer sent us are
 *    never sent back; at most maxTxBytes per peer per tick (one message). Every txResendMs
 *    the cursor starts over, so a tx lost in transit reaches the peer later (the peer's
 *    seen-cache makes the repeats cheap).
 *  - evidence: pending evidence to every peer not known to hold it, again every
 *    evidenceResendMs until it is committed (then the pool no longer lists it).
 */
import { equalBytes, toHex } from '../src/bytes.ts'
import type { Logger } from '../src/log.ts'
import type { PeerId, Transport } from '../src/transport.ts'
import { evidenceHash, type DuplicateVoteEvidence } from '../src/types/index.ts'
import type { EvidencePool } from './evidence-pool.ts'
import {
  applyStatus, buildStatus, markHas, newPeerGossipState, pickForPeer, pruneHas, type OurView, type PeerGossipState,
} from './gossip.ts'
import { encodedTxBytes, type Mempool } from './mempool.ts'
import {
  encodeBlockPart, encodeConsensus, encodeEvidence, encodeMempool, encodeVoteMessage, MAX_EVIDENCE_PER_MESSAGE,
  MAX_TXS_PER_MESSAGE, type ConsensusStatusMessage,
} from './messages.ts'

export interface GossipLoopOptions {
  resendMs: number
  maxVotesPerTick: number
  maxPartsPerTick: number
  maxTxBytesPerTick: number
  statusRefreshMs: number
  evidenceResendMs: number
  /** Every this often a peer's mempool cursor goes back to the start, so txs lost in transit are sent again (0: never). */
  txResendMs: number
}

export interface GossipLoopDeps {
  transport: Pick<Transport, 'peers' | 'send' | 'broadcast'>
  mempool: Pick<Mempool, 'txsAfter'>
  evidencePool: Pick<EvidencePool, 'pendingEvidence'>
  logger: Logger
}

interface PeerExtra {
  gossip: PeerGossipState
  txCursor: number
  txCursorResetAt: number
}

export interface GossipLoop {
  peerUp: (peer: PeerId, view: OurView) => void
  peerDown: (peer: PeerId) => void
  onStatus: (peer: PeerId, status: ConsensusStatusMessage) => void
  /** The peer sent us `item`, so it holds it. */
  received: (peer: PeerId, item: string) => void
  /** Broadcasts one of our own messages at once and marks every peer as holding it. */
  broadcastOwn: (channel: 'consensus' | 'votes' | 'block-parts', data: Uint8Array, item: string, now: number) => void
  /** Sends our status to everyone now (on a new round or step). */
  announce: (view: OurView, now: number) => void
  tick: (view: OurView, now: number, consensus: boolean) => void
  /** The gossip state of a peer (tests). */
  peerState: (peer: PeerId) => PeerGossipState | undefined
}

export function createGossipLoop (opts: GossipLoopOptions, deps: GossipLoopDeps): GossipLoop {
  const { transport, mempool, evidencePool } = deps
  const peers = new Map<PeerId, PeerExtra>()
  let lastStatus: Uint8Array | null = null
  let lastStatusAt = -Infinity

  const extra = (peer: PeerId): PeerExtra => {
    let p = peers.get(peer)
    if (p === undefined) {
      p = { gossip: newPeerGossipState(peer), txCursor: 0, txCursorResetAt: -Infinity }
      peers.set(peer, p)
    }
    return p
  }

  const sendStatus = (view: OurView, now: number, force: boolean): void => {
    const bytes = encodeConsensus({ type: 'status', value: buildStatus(view) })
    if (!force && lastStatus !== null && equalBytes(bytes, lastStatus) && now - lastStatusAt < opts.statusRefreshMs) return
    lastStatus = bytes
    lastStatusAt = now
    transport.broadcast('consensus', bytes)
  }

  const sendConsensus = (peer: PeerId, p: PeerExtra, view: OurView, now: number): void => {
    pruneHas(p.gossip, now)
    const outs = pickForPeer(view, p.gossip, now, { maxVotes: opts.maxVotesPerTick, maxParts: opts.maxPartsPerTick, maj23DelayMs: opts.resendMs })
    for (const o of outs) {
      let sent = false
      switch (o.kind) {
        case 'proposal':
          sent = transport.send(peer, 'consensus', encodeConsensus({ type: 'proposal', value: o.proposal }))
          break
        case 'part':
          sent = transport.send(peer, 'block-parts', encodeBlockPart({
            type: 'part', value: { height: o.height, round: Math.max(0, o.round), partSetHeader: o.psh, part: o.part },
          }))
          break
        case 'vote':
          sent = transport.send(peer, 'votes', encodeVoteMessage({ type: 'vote', value: o.vote }))
          break
      }
      if (sent) markHas(p.gossip, o.item, now + opts.resendMs)
    }
  }

  const sendTxs = (peer: PeerId, p: PeerExtra, now: number): void => {
    if (opts.txResendMs > 0 && now - p.txCursorResetAt >= opts.txResendMs) {
      // Over a lossy network (the simulator; not TCP) a tx sent once may never have arrived.
      p.txCursor = 0
      p.txCursorResetAt = now
    }
    const txs: Uint8Array[] = []
    let bytes = 0
    let cursor = p.txCursor
    for (const tx of mempool.txsAfter(p.txCursor)) {
      if (tx.peers.has(peer)) {
        cursor = tx.seq
        continue
      }
      const size = encodedTxBytes(tx.tx.length)
      if (txs.length > 0 && (bytes + size > opts.maxTxBytesPerTick || txs.length >= MAX_TXS_PER_MESSAGE)) break
      txs.push(tx.tx)
      bytes += size
      cursor = tx.seq
    }
    if (txs.length > 0 && !transport.send(peer, 'mempool', encodeMempool({ type: 'txs', value: txs }))) return
    p.txCursor = cursor
  }

  const sendEvidence = (peer: PeerId, p: PeerExtra, pending: readonly DuplicateVoteEvidence[], now: number): void => {
    const out: DuplicateVoteEvidence[] = []
    const items: string[] = []
    for (const ev of pending) {
      const item = evidenceItem(ev)
      if ((p.gossip.has.get(item) ?? 0) > now) continue
      out.push(ev)
      items.push(item)
      if (out.length >= MAX_EVIDENCE_PER_MESSAGE) break
    }
    if (out.length === 0) return
    if (transport.send(peer, 'evidence', encodeEvidence({ type: 'evidence', value: out }))) {
      for (const item of items) p.gossip.has.set(item, now + opts.evidenceResendMs)
    }
  }

  return {
    peerUp: (peer, view) => {
      extra(peer)
      transport.send(peer, 'consensus', encodeConsensus({ type: 'status', value: buildStatus(view) }))
    },
    peerDown: (peer) => { peers.delete(peer) },
    onStatus: (peer, status) => { applyStatus(extra(peer).gossip, status) },
    received: (peer, item) => { markHas(extra(peer).gossip, item, Infinity) },
    broadcastOwn: (channel, data, item, now) => {
      transport.broadcast(channel, data)
      for (const id of transport.peers()) markHas(extra(id).gossip, item, now + opts.resendMs)
    },
    announce: (view, now) => { sendStatus(view, now, true) },
    tick: (view, now, consensus) => {
      sendStatus(view, now, false)
      const ids = transport.peers()
      const live = new Set(ids)
      for (const id of [...peers.keys()]) if (!live.has(id)) peers.delete(id)
      const pending = evidencePool.pendingEvidence(-1).evidence
      for (const id of ids) {
        const p = extra(id)
        if (consensus) sendConsensus(id, p, view, now)
        sendTxs(id, p, now)
        if (pending.length > 0) sendEvidence(id, p, pending, now)
      }
    },
    peerState: (peer) => peers.get(peer)?.gossip,
  }
}

/** Gossip item of a piece of evidence (its height field is past any height, so it outlives height changes). */
export function evidenceItem (ev: DuplicateVoteEvidence): string {
  return `e/${Number.MAX_SAFE_INTEGER}/${toHex(evidenceHash(ev))}`
}
