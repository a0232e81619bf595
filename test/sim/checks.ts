/**
 * The simulator's safety checks (DESIGN §4), fed continuously and evaluated after every
 * event:
 *
 *  - agreement: no two honest nodes finalize different blocks at one height;
 *  - validity: every committed block was proposed (a proposal signed by a validator with
 *    its block id went over the wire) and is valid: chain id, height, link to the previous
 *    block, data hash, app hash of the previous height, proposer in the set, time strictly
 *    after the previous block's, a last commit that verifies against the validator set,
 *    and only valid app txs; and honest nodes agree on the app hash after every height;
 *  - no honest double sign: for an honest key, no two different signed votes (or
 *    proposals) for one (height, round, step) ever leave any node. Byzantine keys'
 *    conflicts are counted (they prove the byzantine behaviours fired), not reported;
 *  - lock discipline: an honest precommit for a value has a polka behind it, and an honest
 *    validator locked on a value prevotes another only with a newer polka for that one
 *    (see checkLocks), so a lock bug is caught when it acts, not only when it forks.
 *
 * Signatures are verified before a message is attributed to a key, so a forged message
 * cannot frame an honest validator; each distinct signature is verified once.
 *
 * Violations are collected as data; `throwIfViolated` raises a SimViolation carrying the
 * seed and the scenario description, so the run can be replayed from its seed.
 */
import { equalBytes, toHex } from '../../src/bytes.ts'
import { verify } from '../../src/crypto/ed25519.ts'
import { addressFromPubKey } from '../../src/crypto/address.ts'
import {
  blockIdEquals, dataHash, headerHash, proposalSignBytes, verifyCommit, voteSignBytes,
  type Block, type BlockId, type Proposal, type ValidatorSet, type Vote,
} from '../../src/types/index.ts'
import type { ChannelId } from '../../src/transport.ts'
import { blockTxsProblem } from './app.ts'

export type ViolationKind = 'agreement' | 'validity' | 'app-hash' | 'double-sign' | 'lock' | 'liveness' | 'crash'

export interface Violation {
  kind: ViolationKind
  detail: string
  /** Simulated ms at which it was detected. */
  time: number
}

export class SimViolation extends Error {
  constructor (
    readonly seed: number,
    readonly violation: Violation,
    readonly scenario: string,
    readonly replay = `npm run sim -- --seed ${seed}`,
  ) {
    super(`simulation violation [${violation.kind}] at t=${violation.time}ms: ${violation.detail}\n  seed: ${seed}\n  scenario: ${scenario}\n  replay: ${replay}`)
    this.name = 'SimViolation'
  }
}

/** A consensus message as the checks see it, decoded from wire bytes by the engine binding. */
export type SignedMessage =
  | { kind: 'vote', vote: Vote }
  | { kind: 'proposal', proposal: Proposal }

export type DecodeSigned = (channel: ChannelId, data: Uint8Array) => SignedMessage[]

export interface CheckerOptions {
  chainId: string
  validatorSet: ValidatorSet
  /** Hex addresses of byzantine validator keys (their conflicts are expected). */
  byzantineKeys: ReadonlySet<string>
  /** Node names whose finalized blocks count for agreement (honest nodes). */
  honestNodes: ReadonlySet<string>
  decode: DecodeSigned
  genesisAppHash: Uint8Array
  now: () => number
}

interface SignRecord { signBytes: Uint8Array, node: string, time: number }

interface HeightRecord {
  blockHash: Uint8Array
  appHash: Uint8Array
  node: string
  validated: boolean
}

export interface CheckStats {
  signedMessages: number
  byzantineEquivocations: number
  heightsDecided: number
  blocksValidated: number
}

export class SafetyChecker {
  readonly violations: Violation[] = []
  readonly stats: CheckStats = { signedMessages: 0, byzantineEquivocations: 0, heightsDecided: 0, blocksValidated: 0 }
  /** Height → the block and app hash honest nodes finalized there. */
  readonly decided = new Map<number, HeightRecord>()
  /** Heights at which a byzantine validator signed conflicting votes or proposals. */
  readonly equivocationHeights = new Set<number>()
  /** Block id hashes (hex) that appeared in a validly signed proposal. */
  private readonly proposed = new Map<string, Proposal>()
  private readonly signs = new Map<string, SignRecord>()
  private readonly seenSigs = new Set<string>()
  private readonly keys: Array<{ address: string, pubKey: Uint8Array }>
  private readonly byAddress = new Map<string, Uint8Array>()
  private readonly decodeCache = new WeakMap<Uint8Array, SignedMessage[]>()
  /** (height/round/value) → addresses that prevoted it (validly signed, seen on the wire). */
  private readonly prevotes = new Map<string, Set<string>>()
  /** (address@height) → the honest validator's lock: its highest-round precommit for a value. */
  private readonly locks = new Map<string, { round: number, value: string }>()
  private readonly power = new Map<string, number>()
  private readonly totalPower: number

  constructor (private readonly opts: CheckerOptions) {
    this.keys = opts.validatorSet.validators.map((v) => ({ address: toHex(v.address), pubKey: v.pubKey }))
    for (const k of this.keys) this.byAddress.set(k.address, k.pubKey)
    let total = 0
    for (const v of opts.validatorSet.validators) {
      this.power.set(toHex(v.address), v.votingPower)
      total += v.votingPower
    }
    this.totalPower = total
  }

  private violate (kind: ViolationKind, detail: string): void {
    this.violations.push({ kind, detail, time: this.opts.now() })
  }

  /** A message handed to the network by `node` (before any drop). */
  onSend (node: string, channel: ChannelId, data: Uint8Array): void {
    if (channel === 'votes' || channel === 'consensus') {
      // Votes and proposals end with their signature (bin8 of 64 bytes): a signature
      // already attributed needs no decode (most traffic is the same vote to many peers).
      const n = data.length
      if (n > 66 && data[n - 66] === 0xc4 && data[n - 65] === 0x40 && this.seenSigs.has(toHex(data.subarray(n - 64)))) return
    }
    let msgs = this.decodeCache.get(data)
    if (msgs === undefined) {
      try {
        msgs = this.opts.decode(channel, data)
      } catch {
        msgs = []
      }
      this.decodeCache.set(data, msgs)
    }
    for (const m of msgs) {
      if (m.kind === 'vote') this.onVote(node, m.vote)
      else this.onProposal(node, m.proposal)
    }
  }

  /**
   * A vote `node`'s consensus counted (its own or a peer's): its own votes count even when
   * no peer was connected to send them to, so polkas are complete before the precommits
   * that rely on them.
   */
  onCountedVote (node: string, vote: Vote): void {
    this.onVote(node, vote)
  }

  private onVote (node: string, vote: Vote): void {
    const sigHex = toHex(vote.signature)
    if (this.seenSigs.has(sigHex)) return
    const address = toHex(vote.validatorAddress)
    const pub = this.byAddress.get(address)
    if (pub === undefined) return
    const signBytes = voteSignBytes(this.opts.chainId, vote)
    if (!verify(pub, signBytes, vote.signature)) return
    this.seenSigs.add(sigHex)
    this.stats.signedMessages++
    this.record(address, `${vote.height}/${vote.round}/${vote.type}`, signBytes, node)
    this.checkLocks(node, address, vote)
  }

  /**
   * Lock discipline of honest validators, from what they sign (Algorithm 1, L36 and
   * L22/L28): a precommit for a value needs a polka (+2/3 prevotes) for it in that round,
   * and makes that value the signer's lock; a later prevote for ANOTHER value needs a polka
   * for that value in a round between the lock's round and the prevote's round (the
   * proof-of-lock that L28 requires). A correct node only acts on votes it received, and
   * every vote is on the wire before anyone receives it, so these polkas must already be
   * visible to the checker. This catches lock violations as they happen, before (and
   * whether or not) they grow into a fork.
   */
  private checkLocks (node: string, address: string, vote: Vote): void {
    const value = vote.blockId.hash.length === 0 ? null : toHex(vote.blockId.hash)
    if (vote.type === 'prevote') {
      if (value !== null) {
        const k = `${vote.height}/${vote.round}/${value}`
        let voters = this.prevotes.get(k)
        if (voters === undefined) this.prevotes.set(k, voters = new Set())
        voters.add(address)
      }
    }
    if (this.opts.byzantineKeys.has(address) || value === null) return
    const lockKey = `${address}@${vote.height}`
    const lock = this.locks.get(lockKey)
    if (vote.type === 'precommit') {
      if (!this.polka(vote.height, vote.round, value)) {
        this.violate('lock', `honest validator ${address.slice(0, 12)} precommitted ${value.slice(0, 12)} at ${vote.height}/${vote.round} without a polka for it in that round (sent by ${node})`)
      }
      if (lock === undefined || vote.round > lock.round) this.locks.set(lockKey, { round: vote.round, value })
      return
    }
    if (lock === undefined || lock.value === value || vote.round <= lock.round) return
    for (let r = lock.round; r < vote.round; r++) if (this.polka(vote.height, r, value)) return
    this.violate('lock', `honest validator ${address.slice(0, 12)} locked on ${lock.value.slice(0, 12)} in round ${lock.round} prevoted ${value.slice(0, 12)} at ${vote.height}/${vote.round} with no polka for it in rounds ${lock.round}..${vote.round - 1} (sent by ${node})`)
  }

  private polka (height: number, round: number, value: string): boolean {
    const voters = this.prevotes.get(`${height}/${round}/${value}`)
    if (voters === undefined) return false
    let power = 0
    for (const a of voters) power += this.power.get(a) ?? 0
    return 3 * power > 2 * this.totalPower
  }

  private onProposal (node: string, p: Proposal): void {
    const sigHex = toHex(p.signature)
    if (this.seenSigs.has(sigHex)) return
    const signBytes = proposalSignBytes(this.opts.chainId, p)
    const signer = this.keys.find((k) => verify(k.pubKey, signBytes, p.signature))
    if (signer === undefined) return
    this.seenSigs.add(sigHex)
    this.stats.signedMessages++
    this.proposed.set(toHex(p.blockId.hash), p)
    this.record(signer.address, `${p.height}/${p.round}/proposal`, signBytes, node)
  }

  private record (address: string, hrs: string, signBytes: Uint8Array, node: string): void {
    const key = `${address}@${hrs}`
    const prev = this.signs.get(key)
    if (prev === undefined) {
      this.signs.set(key, { signBytes, node, time: this.opts.now() })
      return
    }
    if (equalBytes(prev.signBytes, signBytes)) return
    if (this.opts.byzantineKeys.has(address)) {
      this.stats.byzantineEquivocations++
      this.equivocationHeights.add(Number(hrs.slice(0, hrs.indexOf('/'))))
      return
    }
    this.violate('double-sign', `honest validator ${address.slice(0, 12)} signed two different messages for ${hrs}: first sent by ${prev.node} at t=${prev.time}ms, second by ${node}`)
  }

  /** An app on `node` executed block `height` (from its finalizeBlock). */
  onFinalize (node: string, height: number, blockHash: Uint8Array, appHash: Uint8Array): void {
    if (!this.opts.honestNodes.has(node)) return
    const prev = this.decided.get(height)
    if (prev === undefined) {
      this.decided.set(height, { blockHash, appHash, node, validated: false })
      this.stats.heightsDecided++
      return
    }
    if (!equalBytes(prev.blockHash, blockHash)) {
      this.violate('agreement', `height ${height}: ${prev.node} committed block ${toHex(prev.blockHash).slice(0, 16)} but ${node} committed ${toHex(blockHash).slice(0, 16)}`)
    } else if (!equalBytes(prev.appHash, appHash)) {
      this.violate('app-hash', `height ${height}: ${prev.node} got app hash ${toHex(prev.appHash).slice(0, 16)} but ${node} got ${toHex(appHash).slice(0, 16)} for the same block`)
    }
  }

  /** Heights decided but not yet validated, lowest first. */
  pendingValidation (): Array<{ height: number, node: string }> {
    const out: Array<{ height: number, node: string }> = []
    for (const [height, r] of this.decided) if (!r.validated) out.push({ height, node: r.node })
    return out.sort((a, b) => a.height - b.height)
  }

  /**
   * Validates the block finalized at `height` (loaded from the deciding node's block
   * store). `prev` is the block at height − 1 (null at the initial height); `blockId` is
   * the id the node stored it under. `validators` signs `height`, `lastValidators` signed
   * height − 1.
   */
  validateBlock (args: {
    height: number
    block: Block
    blockId: BlockId
    prev: { block: Block, blockId: BlockId } | null
    validators: ValidatorSet
    lastValidators: ValidatorSet | null
  }): void {
    const { height, block, blockId, prev } = args
    const rec = this.decided.get(height)
    if (rec === undefined) return
    rec.validated = true
    this.stats.blocksValidated++
    const h = block.header
    const bad = (why: string): void => { this.violate('validity', `block at height ${height} (${toHex(rec.blockHash).slice(0, 16)}): ${why}`) }
    if (!equalBytes(headerHash(h), blockId.hash) || !equalBytes(blockId.hash, rec.blockHash)) bad('stored block does not hash to the finalized block id')
    if (h.chainId !== this.opts.chainId) bad(`chain id ${h.chainId}`)
    if (h.height !== height) bad(`header height ${h.height}`)
    if (!equalBytes(h.dataHash, dataHash(block.txs))) bad('data hash does not match the txs')
    const txProblem = blockTxsProblem(block.txs, this.opts.chainId)
    if (txProblem !== null) bad(`invalid tx: ${txProblem}`)
    if (!args.validators.validators.some((v) => equalBytes(v.address, h.proposerAddress))) bad('proposer is not a validator')
    const proposal = this.proposed.get(toHex(blockId.hash))
    if (proposal === undefined) bad('no signed proposal for this block was ever sent')
    else if (proposal.height !== height || !blockIdEquals(proposal.blockId, blockId)) bad('its proposal is for another height or part set')
    if (prev === null) {
      if (!equalBytes(h.appHash, this.opts.genesisAppHash)) bad('app hash is not the genesis app hash')
      if (block.lastCommit !== null) bad('first block carries a last commit')
    } else {
      if (!blockIdEquals(h.lastBlockId, prev.blockId)) bad('last block id is not the previous committed block')
      if (h.time <= prev.block.header.time) bad(`time ${h.time} is not after the previous block's ${prev.block.header.time}`)
      const prevRec = this.decided.get(height - 1)
      if (prevRec !== undefined && !equalBytes(h.appHash, prevRec.appHash)) bad('app hash is not the app hash after the previous height')
      if (block.lastCommit === null) bad('no last commit')
      else if (args.lastValidators !== null) {
        const r = verifyCommit(this.opts.chainId, args.lastValidators, prev.blockId, height - 1, block.lastCommit, verify)
        if (!r.ok) bad(`last commit does not verify: ${r.error.message}`)
      }
    }
  }

  violation (): Violation | undefined {
    return this.violations[0]
  }
}

/** Address (hex) of a public key. */
export function addressHex (pubKey: Uint8Array): string {
  return toHex(addressFromPubKey(pubKey))
}
