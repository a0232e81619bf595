/**
 * The evidence pool, after CometBFT `evidence/pool.go` (AddEvidence, ReportConflictingVotes
 * and the consensus buffer, PendingEvidence, CheckEvidence, Update, isExpired,
 * removeExpiredPendingEvidence) and `evidence/verify.go` (verify, VerifyDuplicateVote).
 * DESIGN §4: duplicate-vote evidence found by our consensus or gossiped by peers is
 * verified, pooled, offered to the proposer, committed exactly once.
 *
 * Verification of a DuplicateVoteEvidence at height h (CometBFT's rules, plus one):
 *   - structure: same height/round/type and validator, different block ids, canonical
 *     order, powers in range (src/types validateDuplicateVoteEvidence);
 *   - h is committed here, and the evidence timestamp is the time of block h;
 *   - not expired: expired only when BOTH the age in blocks exceeds maxAgeNumBlocks and
 *     the age in time exceeds maxAgeDurationMs, measured from the last block (CometBFT);
 *   - the validator is in the set of height h, with the stated power, and the set's total
 *     is the stated total; both signatures verify under the consensus rule;
 *   - stricter than CometBFT: both votes carry the validator's index in that set. The index
 *     is not signed, so without this one equivocation could be re-submitted with another
 *     index, hash differently, and be committed twice.
 *
 * Identity is the evidence hash. Pending evidence is kept in (height, hash) order, which
 * is the order the proposer takes it in; committed evidence keeps a marker forever (it is
 * tiny) so a re-submission is refused however old it is.
 *
 * Persistence: its own LevelDB (CometBFT keeps `evidence.db` apart too), or a passed
 * abstract-level database. Keys: 0x01 || u64be(h) || hash → pending evidence;
 * 0x02 || u64be(h) || hash → u64be(height it was committed in). Each change is one batch.
 */
import { ClassicLevel } from 'classic-level'
import { toHex } from '../src/bytes.ts'
import { encode, tryDecode } from '../src/codec/index.ts'
import { verify as defaultVerify } from '../src/crypto/ed25519.ts'
import { AidError, type Result, fail, ok } from '../src/errors.ts'
import { createLogger, type Logger } from '../src/log.ts'
import {
  DuplicateVoteEvidenceSchema, evidenceHash, findValidator, newDuplicateVoteEvidence, totalVotingPower,
  validateDuplicateVoteEvidence, voteSignBytes,
  type ConsensusParams, type DuplicateVoteEvidence, type ValidatorSet, type Vote,
} from '../src/types/index.ts'

type MaybePromise<T> = T | Promise<T>

/** What the pool needs of the chain state after the last committed block. */
export interface EvidencePoolState {
  chainId: string
  lastBlockHeight: number
  lastBlockTime: number
  evidenceParams: ConsensusParams['evidence']
}

export interface EvidencePoolDeps {
  /** The validator set that signed height h (CometBFT stateDB.LoadValidators). */
  validatorSet: (height: number) => MaybePromise<ValidatorSet | undefined>
  /** The header time of committed block h (CometBFT blockStore.LoadBlockMeta). */
  blockTime: (height: number) => MaybePromise<number | undefined>
  /** The chain state after the last committed block. */
  state: () => EvidencePoolState
  /** Signature check under the consensus rule; default src/crypto's ZIP-215 verify. */
  verify?: (pubKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean
  log?: Logger
}

const ENC = { keyEncoding: 'view', valueEncoding: 'view' } as const

/** The slice of abstract-level the pool uses; a ClassicLevel or a sublevel of one fits. */
export interface EvidenceDb {
  get: (key: Uint8Array, opts: typeof ENC) => Promise<Uint8Array | undefined>
  batch: (ops: Array<{ type: 'put', key: Uint8Array, value: Uint8Array } | { type: 'del', key: Uint8Array }>, opts: typeof ENC & { sync: boolean }) => Promise<void>
  iterator: (opts: typeof ENC & { gte: Uint8Array, lt: Uint8Array }) => AsyncIterable<[Uint8Array, Uint8Array]>
  close: () => Promise<void>
}

export interface EvidencePoolOptions {
  /** Directory of a LevelDB the pool opens and owns (`data/evidence.db`). */
  path?: string
  /** An open database instead; the caller closes it after the pool. */
  db?: EvidenceDb
  /** Conflicting-vote pairs from consensus waiting for their block (default 1000). */
  maxBuffered?: number
}

export type AddEvidenceResult =
  | { status: 'added' }
  /** Already pending: nothing to do, not the sender's fault. */
  | { status: 'pending' }
  /** Already committed: refused, but a lagging peer may send it innocently (CometBFT). */
  | { status: 'committed' }
  | { status: 'invalid', error: AidError }

export interface EvidencePool {
  addEvidence: (ev: DuplicateVoteEvidence) => Promise<AddEvidenceResult>
  /**
   * Two conflicting votes seen by our consensus. Evidence needs the time of their block, so
   * a pair for a height not yet committed waits in a buffer until markCommitted reaches it.
   */
  reportConflictingVotes: (voteA: Vote, voteB: Vote) => Promise<void>
  /** Pending evidence in (height, hash) order up to maxBytes of encoded evidence (-1 = all). */
  pendingEvidence: (maxBytes: number) => { evidence: DuplicateVoteEvidence[], bytes: number }
  isPending: (ev: DuplicateVoteEvidence) => boolean
  isCommitted: (ev: DuplicateVoteEvidence) => Promise<boolean>
  /**
   * A proposed block's evidence (processProposal): verified, no piece twice, none already
   * committed, within the evidence byte limit. Valid new pieces join the pending list.
   */
  checkBlockEvidence: (evidence: readonly DuplicateVoteEvidence[]) => Promise<Result<void>>
  /**
   * Block `height` committed `evidence` (CometBFT Update): marks it committed, drops it from
   * pending, prunes expired pending evidence, turns buffered votes into evidence. Call it
   * once `state()` describes the chain after block `height`.
   */
  markCommitted: (height: number, evidence: readonly DuplicateVoteEvidence[]) => Promise<void>
  /** Called after each piece joins the pending list (gossip); returns an unsubscribe function. */
  onEvidenceAdded: (listener: (ev: DuplicateVoteEvidence) => void) => () => void
  close: () => Promise<void>
}

const TAG_PENDING = 0x01
const TAG_COMMITTED = 0x02

function evKey (tag: number, height: number, hash: Uint8Array): Uint8Array {
  const k = new Uint8Array(9 + hash.length)
  k[0] = tag
  const v = new DataView(k.buffer)
  v.setUint32(1, Math.floor(height / 2 ** 32))
  v.setUint32(5, height >>> 0)
  k.set(hash, 9)
  return k
}

function u64 (n: number): Uint8Array {
  return evKey(0, n, new Uint8Array(0)).subarray(1)
}

interface PendingEntry { ev: DuplicateVoteEvidence, height: number, hash: Uint8Array, id: string, bytes: number }

function entryOf (ev: DuplicateVoteEvidence): PendingEntry {
  const hash = evidenceHash(ev)
  const height = ev.voteA.height
  return { ev, height, hash, id: toHex(evKey(TAG_PENDING, height, hash)), bytes: encode(DuplicateVoteEvidenceSchema, ev).length }
}

export async function openEvidencePool (opts: EvidencePoolOptions, deps: EvidencePoolDeps): Promise<EvidencePool> {
  if ((opts.db === undefined) === (opts.path === undefined)) throw new RangeError('evidence pool: give exactly one of path and db')
  let db: EvidenceDb
  if (opts.db !== undefined) {
    db = opts.db
  } else {
    const level = new ClassicLevel<Uint8Array, Uint8Array>(opts.path as string, ENC)
    await level.open()
    db = level as unknown as EvidenceDb
  }
  const owned = opts.db === undefined
  const verifySig = deps.verify ?? defaultVerify
  const maxBuffered = opts.maxBuffered ?? 1000
  const log = deps.log ?? createLogger({}, { module: 'evidence' })

  // pending, keyed by the hex of its DB key, so sorting ids sorts by (height, hash)
  const pending = new Map<string, PendingEntry>()
  let order: PendingEntry[] = []
  for await (const [k, v] of db.iterator({ ...ENC, gte: new Uint8Array([TAG_PENDING]), lt: new Uint8Array([TAG_PENDING + 1]) })) {
    const r = tryDecode(DuplicateVoteEvidenceSchema, v)
    if (!r.ok) throw new AidError('ERR_STORE_CORRUPT', `pending evidence does not decode (${r.error.message})`, `evidence/${toHex(k)}`)
    const e = entryOf(r.value)
    pending.set(e.id, e)
  }
  const resort = (): void => { order = [...pending.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) }
  resort()

  let buffer: Array<[Vote, Vote]> = []
  let lastUpdated = 0
  const listeners = new Set<(ev: DuplicateVoteEvidence) => void>()
  let closed = false
  let chain: Promise<unknown> = Promise.resolve()
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(async () => {
      if (closed) throw new AidError('ERR_STORE_CLOSED', undefined, 'evidence pool')
      return await fn()
    })
    chain = next.catch(() => {})
    return next
  }

  const isCommittedEntry = async (e: PendingEntry): Promise<boolean> =>
    (await db.get(evKey(TAG_COMMITTED, e.height, e.hash), ENC)) !== undefined

  const invalid = (code: 'ERR_EVIDENCE_INVALID' | 'ERR_EVIDENCE_EXPIRED' | 'ERR_EVIDENCE_UNKNOWN_HEIGHT', detail: string, e: PendingEntry): Result<never> =>
    fail(new AidError(code, detail, `evidence ${toHex(e.hash)} at height ${e.height}`))

  const isExpired = (st: EvidencePoolState, height: number, time: number): boolean =>
    st.lastBlockHeight - height > st.evidenceParams.maxAgeNumBlocks &&
    st.lastBlockTime - time > st.evidenceParams.maxAgeDurationMs

  /** CometBFT verify + VerifyDuplicateVote, with the index check (see the header). */
  const verifyEvidence = async (e: PendingEntry): Promise<Result<void>> => {
    const ev = e.ev
    const basic = validateDuplicateVoteEvidence(ev)
    if (!basic.ok) return invalid('ERR_EVIDENCE_INVALID', basic.error.message, e)
    const st = deps.state()
    if (e.height > st.lastBlockHeight) return invalid('ERR_EVIDENCE_UNKNOWN_HEIGHT', `height ${e.height} is not committed yet (last ${st.lastBlockHeight})`, e)
    const time = await deps.blockTime(e.height)
    if (time === undefined) return invalid('ERR_EVIDENCE_UNKNOWN_HEIGHT', `no block at height ${e.height}`, e)
    if (ev.timestamp !== time) return invalid('ERR_EVIDENCE_INVALID', `timestamp ${ev.timestamp} is not the time of block ${e.height} (${time})`, e)
    if (isExpired(st, e.height, time)) {
      return invalid('ERR_EVIDENCE_EXPIRED', `${st.lastBlockHeight - e.height} blocks and ${st.lastBlockTime - time} ms old (max ${st.evidenceParams.maxAgeNumBlocks} blocks or ${st.evidenceParams.maxAgeDurationMs} ms)`, e)
    }
    const set = await deps.validatorSet(e.height)
    if (set === undefined) return invalid('ERR_EVIDENCE_UNKNOWN_HEIGHT', `no validator set for height ${e.height}`, e)
    const found = findValidator(set, ev.voteA.validatorAddress)
    if (found === undefined) return invalid('ERR_EVIDENCE_INVALID', `${toHex(ev.voteA.validatorAddress)} was not a validator at height ${e.height}`, e)
    if (ev.voteA.validatorIndex !== found.index || ev.voteB.validatorIndex !== found.index) {
      return invalid('ERR_EVIDENCE_INVALID', `validator index ${ev.voteA.validatorIndex}/${ev.voteB.validatorIndex} is not its index ${found.index} in the set`, e)
    }
    if (found.validator.votingPower !== ev.validatorPower) {
      return invalid('ERR_EVIDENCE_INVALID', `validator power ${ev.validatorPower} is not ${found.validator.votingPower}`, e)
    }
    const total = totalVotingPower(set)
    if (total !== ev.totalVotingPower) return invalid('ERR_EVIDENCE_INVALID', `total voting power ${ev.totalVotingPower} is not ${total}`, e)
    for (const [name, v] of [['voteA', ev.voteA], ['voteB', ev.voteB]] as const) {
      if (!verifySig(found.validator.pubKey, voteSignBytes(st.chainId, v), v.signature)) {
        return invalid('ERR_EVIDENCE_INVALID', `${name} signature is invalid`, e)
      }
    }
    return ok(undefined)
  }

  const addPending = async (e: PendingEntry): Promise<void> => {
    await db.batch([{ type: 'put', key: evKey(TAG_PENDING, e.height, e.hash), value: encode(DuplicateVoteEvidenceSchema, e.ev) }], { ...ENC, sync: true })
    pending.set(e.id, e)
    resort()
    for (const l of listeners) l(e.ev)
  }

  const addLocked = async (ev: DuplicateVoteEvidence): Promise<AddEvidenceResult> => {
    const e = entryOf(ev)
    if (pending.has(e.id)) return { status: 'pending' }
    if (await isCommittedEntry(e)) return { status: 'committed' }
    const v = await verifyEvidence(e)
    if (!v.ok) return { status: 'invalid', error: v.error }
    await addPending(e)
    return { status: 'added' }
  }

  /** CometBFT processConsensusBuffer: pairs whose block is committed become evidence. */
  const drainBuffer = async (): Promise<void> => {
    const st = deps.state()
    const keep: Array<[Vote, Vote]> = []
    for (const [a, b] of buffer) {
      const h = a.height
      if (h > st.lastBlockHeight) {
        keep.push([a, b])
        continue
      }
      const [set, time] = [await deps.validatorSet(h), await deps.blockTime(h)]
      const found = set === undefined ? undefined : findValidator(set, a.validatorAddress)
      if (set === undefined || time === undefined || found === undefined) {
        log.warn('evidence: dropping conflicting votes without validator set, block or validator', { height: h })
        continue
      }
      const res = await addLocked(newDuplicateVoteEvidence(a, b, totalVotingPower(set), found.validator.votingPower, time))
      if (res.status === 'invalid') log.warn('evidence: conflicting votes from consensus do not make valid evidence', { height: h, error: res.error.message })
    }
    buffer = keep
  }

  return {
    addEvidence: (ev) => serial(() => addLocked(ev)),

    reportConflictingVotes: (voteA, voteB) => serial(async () => {
      buffer.push([voteA, voteB])
      if (buffer.length > maxBuffered) buffer = buffer.slice(buffer.length - maxBuffered)
      if (voteA.height <= deps.state().lastBlockHeight) await drainBuffer()
    }),

    pendingEvidence: (maxBytes) => {
      const evidence: DuplicateVoteEvidence[] = []
      let bytes = 0
      for (const e of order) {
        if (maxBytes >= 0 && bytes + e.bytes > maxBytes) break
        bytes += e.bytes
        evidence.push(e.ev)
      }
      return { evidence, bytes }
    },

    isPending: (ev) => pending.has(entryOf(ev).id),
    isCommitted: (ev) => isCommittedEntry(entryOf(ev)),

    checkBlockEvidence: (list) => serial(async () => {
      const st = deps.state()
      const seen = new Set<string>()
      let bytes = 0
      for (const ev of list) {
        const e = entryOf(ev)
        bytes += e.bytes
        if (bytes > st.evidenceParams.maxBytes) {
          return fail(new AidError('ERR_EVIDENCE_INVALID', `evidence exceeds ${st.evidenceParams.maxBytes} bytes`, 'block.evidence'))
        }
        if (seen.has(e.id)) return fail(new AidError('ERR_EVIDENCE_DUPLICATE', undefined, `evidence ${toHex(e.hash)}`))
        seen.add(e.id)
        if (pending.has(e.id)) continue
        if (await isCommittedEntry(e)) return fail(new AidError('ERR_EVIDENCE_COMMITTED', undefined, `evidence ${toHex(e.hash)}`))
        const v = await verifyEvidence(e)
        if (!v.ok) return v
        await addPending(e)
      }
      return ok(undefined)
    }),

    markCommitted: (height, list) => serial(async () => {
      if (height <= lastUpdated) return // replayed after a restart: already applied
      lastUpdated = height
      const ops: Parameters<EvidenceDb['batch']>[0] = []
      const drop = new Set<string>()
      for (const ev of list) {
        const e = entryOf(ev)
        ops.push({ type: 'put', key: evKey(TAG_COMMITTED, e.height, e.hash), value: u64(height) })
        ops.push({ type: 'del', key: evKey(TAG_PENDING, e.height, e.hash) })
        drop.add(e.id)
      }
      // CometBFT removeExpiredPendingEvidence: the list is in height order, stop at the first live one
      const st = deps.state()
      for (const e of order) {
        if (drop.has(e.id)) continue
        if (!isExpired(st, e.height, e.ev.timestamp)) break
        ops.push({ type: 'del', key: evKey(TAG_PENDING, e.height, e.hash) })
        drop.add(e.id)
      }
      if (ops.length > 0) await db.batch(ops, { ...ENC, sync: true })
      for (const id of drop) pending.delete(id)
      resort()
      await drainBuffer()
    }),

    onEvidenceAdded: (listener) => {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    },

    close: async () => {
      if (closed) return
      await chain
      closed = true
      if (owned) await db.close()
    },
  }
}
