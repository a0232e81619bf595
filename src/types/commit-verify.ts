/**
 * Commit verification, as CometBFT types/validation.go `VerifyCommit` (the full check used
 * for the last commit of a block and for seen commits): the commit must have one slot per
 * validator in set order, be for the expected height and block id, every non-absent slot's
 * signature must verify under the consensus rule, and the validators whose slots are
 * `commit` must hold more than 2/3 of the set's total power (CometBFT: got > total*2/3,
 * integer division). `nil` slots are checked but do not count.
 *
 * Two entry points: `verifyCommit` with an injected synchronous verifier, and
 * `commitSignatureChecks` + `finishCommitVerification` for callers that push the
 * (pub, signBytes, sig) items through the worker pool (src/crypto/pool.ts verifyBatch)
 * and come back with verdicts.
 * The structural and power checks happen before any signature work in both, so a commit
 * that cannot pass costs no signature verification.
 */
import { equalBytes, toHex } from '../bytes.ts'
import type { VerifyItem } from '../crypto/pool.ts'
import { AidError, type Result, fail, ok } from '../errors.ts'
import { type BlockId, blockIdEquals, blockIdKey } from './block-id.ts'
import { validateCommit } from './validate.ts'
import { totalVotingPower, type ValidatorSet } from './validator.ts'
import { commitSigToVote, voteSignBytes, type Commit, type Vote } from './vote.ts'

/** The consensus-rule signature verifier (src/crypto): wrong lengths give false, not throw. */
export type VerifyFn = (pubKey: Uint8Array, message: Uint8Array, signature: Uint8Array) => boolean

/**
 * One signature to verify, tagged with the commit slot it came from. It is a VerifyItem,
 * so `pending.checks` can go to the worker pool's verifyBatch as it is.
 */
export interface SignatureCheck extends VerifyItem {
  index: number
}

/** Voting power behind a commit: it passes when signedPower > neededPower (= floor(2·total/3)). */
export interface CommitTally {
  signedPower: number
  totalPower: number
  neededPower: number
}

export interface PendingCommitVerification extends CommitTally {
  /** Every non-absent slot's signature, in slot order. All must verify. */
  checks: SignatureCheck[]
}

function invalid (at: string, detail: string): AidError {
  return new AidError('ERR_TYPES_INVALID', detail, at)
}

/**
 * Everything but the signatures: shape, height, block id, slot count and addresses, and
 * the power of the `commit` slots. Returns the signature checks still to be done.
 */
export function commitSignatureChecks (
  chainId: string, valSet: ValidatorSet, blockId: BlockId, height: number, commit: Commit,
): Result<PendingCommitVerification> {
  const basic = validateCommit(commit)
  if (!basic.ok) return basic
  const vals = valSet.validators
  if (vals.length === 0) return fail(invalid('validators', 'validator set is empty'))
  if (commit.signatures.length !== vals.length) {
    return fail(invalid('commit.signatures', `commit has ${commit.signatures.length} slots, the validator set has ${vals.length} validators`))
  }
  if (commit.height !== height) return fail(invalid('commit.height', `commit is for height ${commit.height}, expected ${height}`))
  if (!blockIdEquals(commit.blockId, blockId)) {
    return fail(invalid('commit.blockId', `commit is for block ${blockIdKey(commit.blockId)}, expected ${blockIdKey(blockId)}`))
  }
  const totalPower = totalVotingPower(valSet)
  const neededPower = Math.floor(totalPower * 2 / 3)
  let signedPower = 0
  const checks: SignatureCheck[] = []
  for (const [i, cs] of commit.signatures.entries()) {
    if (cs.flag === 'absent') continue
    const val = vals[i]
    if (val === undefined) return fail(invalid(`commit.signatures[${i}]`, 'slot has no validator')) // unreachable: lengths match
    if (!equalBytes(cs.validatorAddress, val.address)) {
      return fail(invalid(`commit.signatures[${i}].validatorAddress`,
        `slot ${i} is signed by ${toHex(cs.validatorAddress)}, but validator ${i} of the set is ${toHex(val.address)}`))
    }
    if (cs.flag === 'commit') signedPower += val.votingPower
    const vote = commitSigToVote(commit, i) as Vote
    checks.push({ index: i, pub: val.pubKey, msg: voteSignBytes(chainId, vote), sig: cs.signature })
  }
  if (signedPower <= neededPower) {
    return fail(invalid('commit', `insufficient voting power: commit slots hold ${signedPower} of ${totalPower}, need more than ${neededPower}`))
  }
  return ok({ checks, signedPower, totalPower, neededPower })
}

/** Turns the verdicts of `pending.checks` (same order) into the commit's verdict. */
export function finishCommitVerification (pending: PendingCommitVerification, verdicts: readonly boolean[]): Result<CommitTally> {
  if (verdicts.length !== pending.checks.length) {
    throw new RangeError(`expected ${pending.checks.length} verdicts, got ${verdicts.length}`)
  }
  for (const [k, check] of pending.checks.entries()) {
    if (verdicts[k] !== true) {
      return fail(invalid(`commit.signatures[${check.index}].signature`, `wrong signature from validator ${check.index}: ${toHex(check.sig)}`))
    }
  }
  const { signedPower, totalPower, neededPower } = pending
  return ok({ signedPower, totalPower, neededPower })
}

/** CometBFT VerifyCommit: checks every non-absent signature with `verify`. */
export function verifyCommit (
  chainId: string, valSet: ValidatorSet, blockId: BlockId, height: number, commit: Commit, verify: VerifyFn,
): Result<CommitTally> {
  const pending = commitSignatureChecks(chainId, valSet, blockId, height, commit)
  if (!pending.ok) return pending
  const verdicts: boolean[] = []
  for (const c of pending.value.checks) {
    const good = verify(c.pub, c.msg, c.sig)
    verdicts.push(good)
    if (!good) break // the first bad signature decides; finish reports it
  }
  while (verdicts.length < pending.value.checks.length) verdicts.push(false)
  return finishCommitVerification(pending.value, verdicts)
}
