/**
 * Byzantine behaviours, as wrappers around a node's Transport that intercept what its
 * (otherwise honest) engine sends and forge conflicting messages signed with the raw
 * validator key, bypassing the private validator (DESIGN §4, deterministic simulation):
 *
 *  - equivocate-proposer: for every proposal it makes, a second valid block (the first
 *    one minus its last tx, one millisecond later) with its own part set and a second
 *    signed proposal; peers in one half get the original, the other half the forgery;
 *  - double-prevote / double-precommit / double-vote (both types): for each own vote of that
 *    type, a conflicting vote (nil ↔ the block; a nil vote becomes a vote for a made-up
 *    block) goes to the other half.
 *
 * Amnesia (the core's `prevoteIgnoringLock` fault) and twins (two nodes with one key and
 * separate privval states) need no wrapper: the runner sets the fault or starts two nodes.
 *
 * Who gets which story is a seeded coin per message slot (height, round, kind) and peer:
 * each peer sees one consistent story within a slot, and the split changes from slot to
 * slot, so over a run every partition of the peers into "original" and "forged" occurs.
 */
import { equalBytes, toHex, utf8 } from '../../src/bytes.ts'
import { decode, encode } from '../../src/codec/index.ts'
import { sha256 } from '../../src/crypto/hash.ts'
import { sign, type Ed25519KeyPair } from '../../src/crypto/ed25519.ts'
import type { ChannelId, PeerId, Transport } from '../../src/transport.ts'
import {
  BlockSchema, dataHash, headerHash, isNilBlockId, makePartSet, proposalSignBytes, voteSignBytes,
  type Block, type BlockId, type Part, type PartSet, type Proposal, type Vote,
} from '../../src/types/index.ts'
import {
  decodeChannelMessage, encodeBlockPart, encodeConsensus, encodeVoteMessage,
} from '../../consensus/messages.ts'
import { peekTag } from './binding.ts'
import { streamSeed } from './rng.ts'
import type { ByzantineBehavior } from './scenario.ts'

export interface ByzantineStats {
  forgedProposals: number
  forgedVotes: number
}

export interface ByzantineOptions {
  behavior: ByzantineBehavior
  chainId: string
  key: Ed25519KeyPair
  /** This validator's address (20 bytes). */
  address: Uint8Array
  /** Run seed: with the node's name it decides, per message slot, which peers get the forgery. */
  seed: number
  stats?: ByzantineStats
}

interface Forgery {
  proposal: Proposal
  parts: PartSet
  blockId: BlockId
}

/** Bytes of one encoded block, from its parts once all are seen. */
class PartCollector {
  private readonly parts = new Map<string, Map<number, Part>>()

  add (blockKey: string, total: number, part: Part): Uint8Array | undefined {
    let m = this.parts.get(blockKey)
    if (m === undefined) {
      m = new Map()
      this.parts.set(blockKey, m)
    }
    m.set(part.index, part)
    if (m.size !== total) return undefined
    const chunks: Uint8Array[] = []
    for (let i = 0; i < total; i++) chunks.push((m.get(i) as Part).bytes)
    return new Uint8Array(Buffer.concat(chunks))
  }
}

function hrKey (height: number, round: number): string {
  return `${height}/${round}`
}

/** A second, different, valid block from `block`: its last tx dropped, time + 1 ms. */
export function equivocalBlock (block: Block): Block {
  const txs = block.txs.length > 0 ? block.txs.slice(0, -1) : block.txs
  const header = { ...block.header, time: block.header.time + 1, dataHash: dataHash(txs) }
  return { ...block, header, txs }
}

export function forgeProposal (chainId: string, key: Ed25519KeyPair, original: Proposal, block: Block): Forgery {
  const forged = equivocalBlock(block)
  const parts = makePartSet(encode(BlockSchema, forged))
  const blockId: BlockId = { hash: headerHash(forged.header), partSetHeader: parts.header }
  const timestamp = original.timestamp === block.header.time ? forged.header.time : original.timestamp
  // A fresh proposal (no proof-of-lock round), as if the proposer had no valid value: the
  // strongest test of the receivers' locks.
  const unsigned = { height: original.height, round: original.round, polRound: -1, blockId, timestamp }
  return { proposal: { ...unsigned, signature: sign(key, proposalSignBytes(chainId, unsigned)) }, parts, blockId }
}

/** A vote conflicting with `vote`: nil ↔ a block (a made-up one for a nil vote). */
export function forgeConflictingVote (chainId: string, key: Ed25519KeyPair, vote: Vote): Vote {
  let blockId: BlockId
  if (isNilBlockId(vote.blockId)) {
    const tag = utf8(`aidledger-sim/fake-block/${vote.height}/${vote.round}/${vote.type}`)
    blockId = { hash: sha256(tag), partSetHeader: { total: 1, hash: sha256(sha256(tag)) } }
  } else {
    blockId = { hash: new Uint8Array(0), partSetHeader: { total: 0, hash: new Uint8Array(0) } }
  }
  const unsigned = { type: vote.type, height: vote.height, round: vote.round, blockId, timestamp: vote.timestamp }
  return {
    ...unsigned,
    validatorAddress: vote.validatorAddress,
    validatorIndex: vote.validatorIndex,
    signature: sign(key, voteSignBytes(chainId, unsigned)),
  }
}

/** Wraps `inner` so that the byzantine `behavior` shows on the wire. */
export function byzantineTransport (inner: Transport, opts: ByzantineOptions): Transport {
  const { behavior, chainId, key, address } = opts
  const stats = opts.stats ?? { forgedProposals: 0, forgedVotes: 0 }
  if (behavior === 'amnesia' || behavior === 'twins') return inner

  /**
   * Whether `peer` gets the forged story for message slot `slot` (height/round/kind): a
   * seeded coin per (slot, peer), so the halves differ from slot to slot but each peer sees
   * one consistent story within a slot (a proposal and its parts share the slot).
   */
  const forgedFor = (peer: PeerId, slot: string): boolean =>
    (streamSeed(opts.seed, `${inner.localPeerId}|${slot}|${peer}`) & 1) === 1

  // ---- equivocating proposer ----
  const collector = new PartCollector()
  /** (h, r) → the original proposal we signed, waiting for its block. */
  const ownProposals = new Map<string, Proposal>()
  const forgeries = new Map<string, Forgery>()
  /** Proposals held back from second-half peers until the forgery exists. */
  const heldFor = new Map<string, Set<PeerId>>()

  /** Forged parts just sent with their proposal: the engine's own send of them is not repeated. */
  const justSent = new Set<string>()

  const sendForgery = (peer: PeerId, f: Forgery): void => {
    inner.send(peer, 'consensus', encodeConsensus({ type: 'proposal', value: f.proposal }))
    for (const part of f.parts.parts) {
      justSent.add(`${hrKey(f.proposal.height, f.proposal.round)}|${peer}|${part.index}`)
      inner.send(peer, 'block-parts', encodeBlockPart({
        type: 'part', value: { height: f.proposal.height, round: f.proposal.round, partSetHeader: f.parts.header, part },
      }))
    }
  }

  const tryForge = (hr: string, blockBytes: Uint8Array): void => {
    const original = ownProposals.get(hr)
    if (original === undefined || forgeries.has(hr)) return
    const block = decode(BlockSchema, blockBytes)
    const f = forgeProposal(chainId, key, original, block)
    forgeries.set(hr, f)
    stats.forgedProposals++
    for (const peer of heldFor.get(hr) ?? []) sendForgery(peer, f)
    heldFor.delete(hr)
  }

  /** What to send to `peer` instead of `data` (null: drop it; undefined: send as is). */
  const rewrite = (peer: PeerId, channel: ChannelId, data: Uint8Array): Uint8Array | null | undefined => {
    if (behavior === 'equivocate-proposer' ? channel === 'votes' : channel !== 'votes') return undefined
    if (channel !== 'consensus' && channel !== 'votes' && channel !== 'block-parts') return undefined
    if (channel === 'consensus' && peekTag(data) !== 'proposal') return undefined
    const r = decodeChannelMessage(channel, data)
    if (!r.ok) return undefined
    const m = r.value
    if (behavior === 'equivocate-proposer') {
      if (m.channel === 'consensus' && m.message.type === 'proposal') {
        const p = m.message.value
        const hr = hrKey(p.height, p.round)
        const forged = forgeries.get(hr)
        if (forged !== undefined && equalBytes(p.blockId.hash, forged.blockId.hash)) return undefined
        if (!ownProposals.has(hr)) ownProposals.set(hr, p)
        if (!equalBytes((ownProposals.get(hr) as Proposal).blockId.hash, p.blockId.hash)) return undefined
        if (!forgedFor(peer, `${hr}/proposal`)) return undefined
        if (forged !== undefined) return encodeConsensus({ type: 'proposal', value: forged.proposal })
        let s = heldFor.get(hr)
        if (s === undefined) heldFor.set(hr, s = new Set())
        s.add(peer)
        return null
      }
      if (m.channel === 'block-parts') {
        const bp = m.message.value
        const hr = hrKey(bp.height, bp.round)
        const own = ownProposals.get(hr)
        if (own === undefined || !equalBytes(own.blockId.partSetHeader.hash, bp.partSetHeader.hash)) return undefined
        const bytes = collector.add(toHex(bp.partSetHeader.hash), bp.partSetHeader.total, bp.part)
        if (bytes !== undefined) tryForge(hr, bytes)
        if (!forgedFor(peer, `${hr}/proposal`)) return undefined
        const forged = forgeries.get(hr)
        if (forged === undefined) return null
        if (justSent.delete(`${hr}|${peer}|${bp.part.index}`)) return null
        const part = forged.parts.parts[bp.part.index]
        if (part === undefined) return null
        return encodeBlockPart({ type: 'part', value: { height: bp.height, round: bp.round, partSetHeader: forged.parts.header, part } })
      }
      return undefined
    }
    // double votes
    if (m.channel !== 'votes') return undefined
    const v = m.message.value
    const wanted = behavior === 'double-vote' ? v.type : behavior === 'double-prevote' ? 'prevote' : 'precommit'
    if (v.type !== wanted || !equalBytes(v.validatorAddress, address) || !forgedFor(peer, `${v.height}/${v.round}/${v.type}`)) return undefined
    stats.forgedVotes++
    return encodeVoteMessage({ type: 'vote', value: forgeConflictingVote(chainId, key, v) })
  }

  const send = (peer: PeerId, channel: ChannelId, data: Uint8Array): boolean => {
    const out = rewrite(peer, channel, data)
    if (out === null) return true
    return inner.send(peer, channel, out ?? data)
  }

  return {
    localPeerId: inner.localPeerId,
    peers: () => inner.peers(),
    send,
    broadcast: (channel, data, except) => {
      for (const p of inner.peers()) if (p !== except) send(p, channel, data)
    },
    subscribe: (h) => inner.subscribe(h),
    reportMisbehavior: (peer, kind, detail) => inner.reportMisbehavior(peer, kind, detail),
  }
}
