/**
 * Wire messages of the consensus shell, one tagged union per transport channel (DESIGN §8;
 * after CometBFT consensus/msgs.go, blocksync/msgs.go, mempool and evidence reactors).
 *
 *   consensus    proposal | status (the sender's round state: height, round, step, which
 *                proposals, block parts and votes it holds, which values it saw +2/3 for —
 *                CometBFT's NewRoundStep, HasVote, VoteSetBits, VoteSetMaj23 and
 *                NewValidBlock folded into one announcement)
 *   votes        vote
 *   block-parts  part {height, round, partSetHeader, part}
 *   mempool      txs
 *   evidence     evidence
 *   blocksync    statusRequest | status {base, height} | blockRequest {height}
 *                | blockResponse {block, commit} | noBlock {height}
 *
 * Decoding is the canonical codec's strict decode (one value, canonical bytes, no unknown
 * fields, every length bounded) under the channel's size cap, followed by the types'
 * ValidateBasic checks (src/types/validate.ts). Anything that fails comes back as data with
 * the misbehavior kind to report; nothing here throws on peer input.
 */
import { bytes, encode, list, oneOf, optional, struct, tryDecode, uint, union, type Infer } from '../src/codec/index.ts'
import { AidError, type Result, fail, ok } from '../src/errors.ts'
import { CHANNEL_MAX_BYTES, type ChannelId, type MisbehaviorKind } from '../src/transport.ts'
import {
  BlockIdSchema, BlockSchema, CommitSchema, DuplicateVoteEvidenceSchema, MAX_TX_BYTES, PartSchema, PartSetHeaderSchema,
  ProposalSchema, VOTE_TYPES, VoteSchema, height, round, validateBlock, validateCommit, validateDuplicateVoteEvidence,
  validateProposal, validateVote,
} from '../src/types/index.ts'

/** Most validators a bitmap can describe (MAX_VALIDATORS) → 125 bytes; parts of one block ≤ 2^16 → 8 KiB. */
const MAX_VOTE_BITS_BYTES = 125
const MAX_PART_BITS_BYTES = 8192

export const STATUS_STEPS = ['unstarted', 'propose', 'prevote', 'precommit', 'commit', 'sync'] as const
export type StatusStep = typeof STATUS_STEPS[number]

/** Which votes of one (round, type) the sender holds: bit i = validator i of the height's set. */
export const VoteBitsSchema = struct('VoteBits', {
  round,
  type: oneOf(VOTE_TYPES),
  bits: bytes({ max: MAX_VOTE_BITS_BYTES }),
})
export type VoteBits = Infer<typeof VoteBitsSchema>

/** Which parts of one block the sender holds (it is assembling or has that block). */
export const PartBitsSchema = struct('PartBits', {
  partSetHeader: PartSetHeaderSchema,
  bits: bytes({ max: MAX_PART_BITS_BYTES }),
})
export type PartBits = Infer<typeof PartBitsSchema>

/**
 * The sender's consensus state: what it works on and what it holds, so that peers send it
 * only what it lacks (and again what got lost: an item sent but not announced back within
 * the resend window is sent again).
 */
export const ConsensusStatusSchema = struct('ConsensusStatus', {
  height,
  round,
  step: oneOf(STATUS_STEPS),
  /** Rounds of `height` for which it holds a proposal, with the proposed block id. */
  proposals: list(struct('HeldProposal', { round, blockId: BlockIdSchema }), { max: 16 }),
  parts: list(PartBitsSchema, { max: 8 }),
  votes: list(VoteBitsSchema, { max: 32 }),
  /** Precommits it holds for the commit of height − 1 (what a peer one height behind needs). */
  lastCommit: optional(VoteBitsSchema),
  /**
   * Values of `height` it holds +2/3 votes for, counting every validator's signed vote for
   * the value even when that validator also signed another (CometBFT VoteSetMaj23). A peer
   * that holds such a quorum and does not see it claimed sends the value's votes again,
   * whatever the bitmaps say: an equivocator's vote for it may be the one missing.
   */
  maj23: list(struct('Maj23', { round, type: oneOf(VOTE_TYPES), blockId: BlockIdSchema }), { max: 16 }),
})
export type ConsensusStatusMessage = Infer<typeof ConsensusStatusSchema>

export const ConsensusMessageSchema = union('ConsensusMessage', {
  proposal: ProposalSchema,
  status: ConsensusStatusSchema,
})

export const VoteMessageSchema = union('VoteMessage', { vote: VoteSchema })

export const BlockPartSchema = struct('BlockPart', { height, round, partSetHeader: PartSetHeaderSchema, part: PartSchema })
export type BlockPart = Infer<typeof BlockPartSchema>

export const BlockPartMessageSchema = union('BlockPartMessage', { part: BlockPartSchema })

/** About one mempool channel frame (64 KiB) of small txs; a single tx up to MAX_TX_BYTES. */
export const MAX_TXS_PER_MESSAGE = 1024
export const MempoolMessageSchema = union('MempoolMessage', {
  txs: list(bytes({ max: MAX_TX_BYTES }), { max: MAX_TXS_PER_MESSAGE }),
})

export const MAX_EVIDENCE_PER_MESSAGE = 64
export const EvidenceMessageSchema = union('EvidenceMessage', {
  evidence: list(DuplicateVoteEvidenceSchema, { max: MAX_EVIDENCE_PER_MESSAGE }),
})

export const BlocksyncMessageSchema = union('BlocksyncMessage', {
  statusRequest: struct('BlocksyncStatusRequest', {}),
  /** The sender's block store holds heights base..height (0, 0 when empty). */
  status: struct('BlocksyncStatus', { base: uint(), height: uint() }),
  blockRequest: struct('BlockRequest', { height }),
  /** A block and a commit for it (the next block's last commit, or the seen commit at the tip). */
  blockResponse: struct('BlockResponse', { block: BlockSchema, commit: CommitSchema }),
  noBlock: struct('NoBlockResponse', { height }),
})

export type ConsensusMessage = Infer<typeof ConsensusMessageSchema>
export type VoteMessage = Infer<typeof VoteMessageSchema>
export type BlockPartMessage = Infer<typeof BlockPartMessageSchema>
export type MempoolMessage = Infer<typeof MempoolMessageSchema>
export type EvidenceMessage = Infer<typeof EvidenceMessageSchema>
export type BlocksyncMessage = Infer<typeof BlocksyncMessageSchema>

/** A decoded message with the channel it came on. */
export type ChannelMessage =
  | { channel: 'consensus', message: ConsensusMessage }
  | { channel: 'votes', message: VoteMessage }
  | { channel: 'block-parts', message: BlockPartMessage }
  | { channel: 'mempool', message: MempoolMessage }
  | { channel: 'evidence', message: EvidenceMessage }
  | { channel: 'blocksync', message: BlocksyncMessage }

/** Why a peer's message was refused, and what to report. */
export interface MessageRejection {
  kind: MisbehaviorKind
  error: AidError
}

const SCHEMAS = {
  consensus: ConsensusMessageSchema,
  votes: VoteMessageSchema,
  'block-parts': BlockPartMessageSchema,
  mempool: MempoolMessageSchema,
  evidence: EvidenceMessageSchema,
  blocksync: BlocksyncMessageSchema,
} as const

export function encodeConsensus (m: ConsensusMessage): Uint8Array { return encode(ConsensusMessageSchema, m) }
export function encodeVoteMessage (m: VoteMessage): Uint8Array { return encode(VoteMessageSchema, m) }
export function encodeBlockPart (m: BlockPartMessage): Uint8Array { return encode(BlockPartMessageSchema, m) }
export function encodeMempool (m: MempoolMessage): Uint8Array { return encode(MempoolMessageSchema, m) }
export function encodeEvidence (m: EvidenceMessage): Uint8Array { return encode(EvidenceMessageSchema, m) }
export function encodeBlocksync (m: BlocksyncMessage): Uint8Array { return encode(BlocksyncMessageSchema, m) }

function rejected (kind: MisbehaviorKind, error: AidError): Result<never, MessageRejection> {
  return fail({ kind, error })
}

function invalid (detail: string, at: string): AidError {
  return new AidError('ERR_TYPES_INVALID', detail, at)
}

/** ValidateBasic of what a decoded message carries; undefined when it is fine. */
function semanticProblem (m: ChannelMessage, initialHeight: number): AidError | undefined {
  switch (m.channel) {
    case 'consensus': {
      const { message } = m
      if (message.type === 'proposal') {
        const r = validateProposal(message.value)
        return r.ok ? undefined : r.error
      }
      const s = message.value
      if (s.height < 1) return invalid('height must be at least 1', 'status.height')
      return undefined
    }
    case 'votes': {
      const r = validateVote(m.message.value)
      return r.ok ? undefined : r.error
    }
    case 'block-parts': {
      const p = m.message.value
      if (p.height < 1) return invalid('height must be at least 1', 'part.height')
      if (p.partSetHeader.total < 1 || p.partSetHeader.hash.length !== 32) return invalid('incomplete part set header', 'part.partSetHeader')
      if (p.part.index >= p.partSetHeader.total) return invalid(`index ${p.part.index} ≥ total ${p.partSetHeader.total}`, 'part.index')
      return undefined
    }
    case 'mempool':
      for (const [i, tx] of m.message.value.entries()) if (tx.length === 0) return invalid('empty tx', `txs[${i}]`)
      return undefined
    case 'evidence':
      for (const [i, ev] of m.message.value.entries()) {
        const r = validateDuplicateVoteEvidence(ev)
        if (!r.ok) return invalid(r.error.message, `evidence[${i}]`)
      }
      return undefined
    case 'blocksync': {
      const { message } = m
      if (message.type === 'status' && message.value.base > message.value.height) return invalid('base above height', 'status.base')
      if (message.type === 'blockResponse') {
        const b = validateBlock(message.value.block, { initialHeight }, 'blockResponse.block')
        if (!b.ok) return b.error
        const c = validateCommit(message.value.commit, 'blockResponse.commit')
        if (!c.ok) return c.error
        if (message.value.commit.height !== message.value.block.header.height) {
          return invalid('commit is for another height than the block', 'blockResponse.commit.height')
        }
      }
      return undefined
    }
  }
}

/**
 * Strict decode of a frame from `channel`, then basic validation. A failure is the peer's
 * fault (honest peers only send canonical, valid messages) and says what to report.
 */
export function decodeChannelMessage (channel: ChannelId, data: Uint8Array, opts: { initialHeight?: number } = {}): Result<ChannelMessage, MessageRejection> {
  const schema = SCHEMAS[channel]
  if (schema === undefined) return rejected('protocol', invalid(`unknown channel ${String(channel)}`, 'channel'))
  const maxBytes = CHANNEL_MAX_BYTES[channel]
  if (data.length > maxBytes) return rejected('oversize', new AidError('ERR_CODEC_TOO_LARGE', `${data.length} bytes > ${maxBytes}`, channel))
  const r = tryDecode<unknown>(schema as never, data, { maxBytes })
  if (!r.ok) return rejected('malformed', r.error)
  const m = { channel, message: r.value } as ChannelMessage
  const problem = semanticProblem(m, opts.initialHeight ?? 1)
  if (problem !== undefined) return rejected('protocol', problem)
  return ok(m)
}

// ---- bitmaps ----

export function bitsLength (n: number): number {
  return Math.ceil(n / 8)
}

export function newBits (n: number): Uint8Array {
  return new Uint8Array(bitsLength(n))
}

export function getBit (bits: Uint8Array, i: number): boolean {
  const b = bits[i >> 3]
  return b !== undefined && (b & (1 << (i & 7))) !== 0
}

export function setBit (bits: Uint8Array, i: number): void {
  const j = i >> 3
  if (j < bits.length) bits[j] = (bits[j] as number) | (1 << (i & 7))
}
