/**
 * The file-backed private validator, after CometBFT `privval/file.go` (FilePV,
 * FilePVLastSignState.CheckHRS, signVote/signProposal, checkVotesOnlyDifferByTimestamp,
 * checkProposalsOnlyDifferByTimestamp). DESIGN §4: the last signed (height, round, step,
 * sign bytes, signature) is persisted atomically BEFORE a signature is released, and
 * conflicting requests are refused, so a crash at any instant cannot make this node sign
 * two different messages for one (height, round, step).
 *
 * Rules, for a request at (h, r, s) with steps propose=1 < prevote=2 < precommit=3:
 *   - (h, r, s) below the last signed one (height, then round, then step) → refused;
 *   - equal to it: identical sign bytes → the saved signature again; sign bytes that differ
 *     only in the timestamp → the saved signature with the saved timestamp; else refused;
 *   - above it: sign, persist the new last-sign state (fsynced, renamed, directory
 *     fsynced), then release.
 * Refusals throw AidError ERR_PRIVVAL_CONFLICT: they mean a driver bug, a second node with
 * this key, or a state file put back from a backup, all of which an operator must see.
 * An I/O failure while persisting is sticky: the signer refuses everything after it, as
 * CometBFT panics there.
 *
 * The state file is CometBFT's `priv_validator_state.json` shape (src/config/keys.ts
 * renders and parses it). The write is the same sequence as src/config's writeFileAtomic
 * (temp file, fsync, rename, fsync directory) spelled out here so that a fault hook can
 * stop the process between any two steps (test/consensus/privval.test.ts kills a child
 * with SIGKILL at each point).
 */
import { constants as fsConstants } from 'node:fs'
import { open, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { unpack } from 'msgpackr'
import { equalBytes } from '../src/bytes.ts'
import { addressFromPubKey } from '../src/crypto/address.ts'
import { createSigner, keyPairFromSecretKey, type Ed25519Signer, type SignBackend } from '../src/crypto/ed25519.ts'
import {
  initialPrivValidatorState, loadPrivValidatorKey, loadPrivValidatorState, privValidatorStateToJson,
  type PrivValidatorState,
} from '../src/config/keys.ts'
import { fsyncDir, pathExists } from '../src/config/fsutil.ts'
import { AidError } from '../src/errors.ts'
import {
  proposalSignBytes, voteSignBytes, type Proposal, type Vote, type VoteType,
} from '../src/types/index.ts'

export type SignStep = 1 | 2 | 3
export const STEP_PROPOSE: SignStep = 1
export const STEP_PREVOTE: SignStep = 2
export const STEP_PRECOMMIT: SignStep = 3

export function voteStep (type: VoteType): SignStep {
  return type === 'prevote' ? STEP_PREVOTE : STEP_PRECOMMIT
}

/** The points between the steps of persisting the last-sign state, in order. */
export const PERSIST_POINTS = [
  'before-temp-write', 'after-temp-write', 'after-temp-fsync', 'after-rename', 'after-dir-fsync',
] as const
export type PersistPoint = typeof PERSIST_POINTS[number]

export type PrivValidatorKeySource =
  /** A CometBFT `priv_validator_key.json` (mode 0600 required). */
  | { file: string }
  /** A 32-byte seed, or a 64-byte seed || public key. */
  | { secret: Uint8Array }

export interface PrivValidatorOptions {
  key: PrivValidatorKeySource
  /** `data/priv_validator_state.json`. */
  stateFile: string
  /**
   * Write a fresh state (height 0) when the file is missing. Off by default: a validator
   * whose state file vanished must not start signing from zero (`init` writes the file).
   */
  createIfMissing?: boolean
  signBackend?: SignBackend
  /** Test hook, called synchronously at each persistence point. */
  faultHook?: (point: PersistPoint, hrs: { height: number, round: number, step: SignStep }) => void
}

export type UnsignedVote = Omit<Vote, 'signature'>
export type UnsignedProposal = Omit<Proposal, 'signature'>

export interface PrivValidator {
  readonly publicKey: Uint8Array
  readonly address: Uint8Array
  /** A copy of the last persisted sign state. */
  lastSignState: () => PrivValidatorState
  /** The vote with its signature; its timestamp may be the saved one (same-HRS re-sign). */
  signVote: (chainId: string, vote: UnsignedVote | Vote) => Promise<Vote>
  signProposal: (chainId: string, proposal: UnsignedProposal | Proposal) => Promise<Proposal>
  close: () => Promise<void>
}

function conflict (detail: string, at: string): AidError {
  return new AidError('ERR_PRIVVAL_CONFLICT', detail, at)
}

/**
 * CometBFT CheckHRS: throws on a regression; true when (h, r, s) equals the last signed
 * one (and sign bytes are on file to compare with), false when it is above.
 */
export function checkHrs (last: PrivValidatorState, height: number, round: number, step: SignStep): boolean {
  const at = `h=${height} r=${round} s=${step}`
  if (last.height > height) throw conflict(`height regression: last signed height ${last.height}`, at)
  if (last.height === height) {
    if (last.round > round) throw conflict(`round regression at height ${height}: last signed round ${last.round}`, at)
    if (last.round === round) {
      if (last.step > step) throw conflict(`step regression at ${height}/${round}: last signed step ${last.step}`, at)
      if (last.step === step) {
        if (last.signBytes === null || last.signature === null) throw conflict('no sign bytes on file for this height/round/step', at)
        return true
      }
    }
  }
  return false
}

/**
 * The timestamp of saved sign bytes if `fresh` differs from them only in the timestamp:
 * `rebuild(t)` must reproduce the saved bytes exactly with the saved timestamp t. Both
 * sign-bytes structs (src/types/vote.ts) end with the timestamp, so it is the last element
 * of the saved array; any other difference makes the comparison fail, and refusal is the
 * safe outcome.
 */
function savedTimestampIfOnlyTimeDiffers (saved: Uint8Array, rebuild: (timestamp: number) => Uint8Array): number | undefined {
  let arr: unknown
  try {
    arr = unpack(Buffer.from(saved.buffer, saved.byteOffset, saved.byteLength))
  } catch {
    return undefined
  }
  if (!Array.isArray(arr)) return undefined
  const last: unknown = arr[arr.length - 1]
  const t = typeof last === 'bigint' ? Number(last) : last
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) return undefined
  return equalBytes(rebuild(t), saved) ? t : undefined
}

function copyState (s: PrivValidatorState): PrivValidatorState {
  return {
    height: s.height,
    round: s.round,
    step: s.step,
    signature: s.signature === null ? null : new Uint8Array(s.signature),
    signBytes: s.signBytes === null ? null : new Uint8Array(s.signBytes),
  }
}

export async function openPrivValidator (opts: PrivValidatorOptions): Promise<PrivValidator> {
  const keyPair = 'file' in opts.key ? await loadPrivValidatorKey(opts.key.file) : keyPairFromSecretKey(opts.key.secret, 'privval key')
  const signer: Ed25519Signer = createSigner(keyPair, opts.signBackend === undefined ? {} : { backend: opts.signBackend })
  const stateFile = opts.stateFile
  const dir = dirname(stateFile)
  const tmpFile = join(dir, `.${basename(stateFile)}.tmp`)
  const hook = opts.faultHook

  const persist = async (s: PrivValidatorState, hrs: { height: number, round: number, step: SignStep }): Promise<void> => {
    const text = JSON.stringify(privValidatorStateToJson(s), null, 2) + '\n'
    hook?.('before-temp-write', hrs)
    const fh = await open(tmpFile, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_TRUNC, 0o600)
    try {
      await fh.writeFile(text)
      hook?.('after-temp-write', hrs)
      await fh.sync()
      hook?.('after-temp-fsync', hrs)
    } finally {
      await fh.close()
    }
    await rename(tmpFile, stateFile)
    hook?.('after-rename', hrs)
    await fsyncDir(dir)
    hook?.('after-dir-fsync', hrs)
  }

  let last: PrivValidatorState
  if (await pathExists(stateFile)) {
    last = await loadPrivValidatorState(stateFile)
  } else {
    if (opts.createIfMissing !== true) {
      throw new AidError('ERR_PRIVVAL_STATE_INVALID', 'state file is missing; `init` writes it (never recreate it for a validator that has signed)', stateFile)
    }
    last = initialPrivValidatorState()
    await persist(last, { height: 0, round: 0, step: STEP_PROPOSE })
  }
  if ((last.signBytes === null) !== (last.signature === null)) {
    throw new AidError('ERR_PRIVVAL_STATE_INVALID', 'signature and signbytes must be both present or both absent', stateFile)
  }
  // A temp file left by a crash before its rename was never the state; drop it.
  await unlink(tmpFile).catch(() => {})

  let failure: Error | undefined
  let closed = false
  let chain: Promise<unknown> = Promise.resolve()

  /** One signing at a time: each request reads and advances the last-sign state. */
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(async () => {
      if (closed) throw new AidError('ERR_PRIVVAL_CLOSED', undefined, stateFile)
      if (failure !== undefined) throw failure
      return await fn()
    })
    chain = next.catch(() => {})
    return next
  }

  const signAndSave = async (height: number, round: number, step: SignStep, signBytes: Uint8Array): Promise<Uint8Array> => {
    const signature = signer.sign(signBytes)
    const next: PrivValidatorState = { height, round, step, signature, signBytes }
    try {
      await persist(next, { height, round, step })
    } catch (err) {
      failure = new AidError('ERR_PRIVVAL_STATE_INVALID', `could not persist the sign state, refusing to sign from now on: ${(err as Error).message}`, stateFile)
      throw failure
    }
    last = next
    return signature
  }

  return {
    publicKey: keyPair.publicKey,
    address: addressFromPubKey(keyPair.publicKey),
    lastSignState: () => copyState(last),

    signVote: async (chainId, vote) => await serial(async () => {
      const { type, height, round, blockId, timestamp, validatorAddress, validatorIndex } = vote
      const step = voteStep(type)
      const signBytes = voteSignBytes(chainId, { type, height, round, blockId, timestamp })
      const base = { type, height, round, blockId, timestamp, validatorAddress, validatorIndex }
      if (checkHrs(last, height, round, step)) {
        const savedBytes = last.signBytes as Uint8Array
        const savedSig = new Uint8Array(last.signature as Uint8Array)
        if (equalBytes(signBytes, savedBytes)) return { ...base, signature: savedSig }
        const t = savedTimestampIfOnlyTimeDiffers(savedBytes, (ts) => voteSignBytes(chainId, { type, height, round, blockId, timestamp: ts }))
        if (t !== undefined) return { ...base, timestamp: t, signature: savedSig }
        throw conflict('conflicting data: a different vote was already signed for this height/round/step', `h=${height} r=${round} s=${step}`)
      }
      return { ...base, signature: await signAndSave(height, round, step, signBytes) }
    }),

    signProposal: async (chainId, proposal) => await serial(async () => {
      const { height, round, polRound, blockId, timestamp } = proposal
      const base = { height, round, polRound, blockId, timestamp }
      const signBytes = proposalSignBytes(chainId, base)
      if (checkHrs(last, height, round, STEP_PROPOSE)) {
        const savedBytes = last.signBytes as Uint8Array
        const savedSig = new Uint8Array(last.signature as Uint8Array)
        if (equalBytes(signBytes, savedBytes)) return { ...base, signature: savedSig }
        const t = savedTimestampIfOnlyTimeDiffers(savedBytes, (ts) => proposalSignBytes(chainId, { ...base, timestamp: ts }))
        if (t !== undefined) return { ...base, timestamp: t, signature: savedSig }
        throw conflict('conflicting data: a different proposal was already signed for this height/round', `h=${height} r=${round} s=${STEP_PROPOSE}`)
      }
      return { ...base, signature: await signAndSave(height, round, STEP_PROPOSE, signBytes) }
    }),

    close: async () => {
      closed = true
      await chain
    },
  }
}
