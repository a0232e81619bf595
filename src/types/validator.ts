/**
 * Validator and ValidatorSet (CometBFT types/validator.go, validator_set.go).
 *
 * The set is kept in CometBFT's canonical order: voting power descending, then address
 * ascending. Its hash is the RFC 6962 Merkle root over each validator's canonical
 * {pubKey, votingPower} encoding, so priorities (which change every round) do not change
 * the hash. Proposer selection itself lives in consensus/ (weighted round robin).
 */
import { encode, int64, list, struct, uint, type Infer } from '../codec/index.ts'
import { compareBytes, equalBytes, toHex } from '../bytes.ts'
import { merkleRoot } from '../crypto/merkle.ts'
import { AidError, type Result, fail, ok } from '../errors.ts'
import { address20, MAX_TOTAL_VOTING_POWER, MAX_VALIDATORS, pubKey32 } from './primitives.ts'
import { addressFromPubKey } from '../crypto/address.ts'

export const ValidatorSchema = struct('Validator', {
  address: address20,
  pubKey: pubKey32,
  votingPower: uint({ max: MAX_TOTAL_VOTING_POWER }),
  proposerPriority: int64(),
})
export type Validator = Infer<typeof ValidatorSchema>

export const ValidatorSetSchema = struct('ValidatorSet', {
  validators: list(ValidatorSchema, { max: MAX_VALIDATORS }),
})
export type ValidatorSet = Infer<typeof ValidatorSetSchema>

/** What the set hash commits to: priorities are excluded on purpose. */
const SimpleValidatorSchema = struct('SimpleValidator', { pubKey: pubKey32, votingPower: uint() })

/** A validator-set change from the app: power 0 removes the validator. */
export const ValidatorUpdateSchema = struct('ValidatorUpdate', { pubKey: pubKey32, power: uint({ max: MAX_TOTAL_VOTING_POWER }) })
export type ValidatorUpdate = Infer<typeof ValidatorUpdateSchema>

export function compareValidatorOrder (a: Validator, b: Validator): number {
  if (a.votingPower !== b.votingPower) return b.votingPower - a.votingPower
  return compareBytes(a.address, b.address)
}

export function sortValidators (vals: readonly Validator[]): Validator[] {
  return [...vals].sort(compareValidatorOrder)
}

export function validatorSetHash (set: ValidatorSet): Uint8Array {
  return merkleRoot(set.validators.map((v) => encode(SimpleValidatorSchema, { pubKey: v.pubKey, votingPower: v.votingPower })))
}

export function totalVotingPower (set: ValidatorSet): number {
  let total = 0
  for (const v of set.validators) total += v.votingPower
  return total
}

export function findValidator (set: ValidatorSet, address: Uint8Array): { index: number, validator: Validator } | undefined {
  const index = set.validators.findIndex((v) => equalBytes(v.address, address))
  const validator = set.validators[index]
  return validator === undefined ? undefined : { index, validator }
}

/** Builds a set from (pubKey, power) pairs with zero priorities, in canonical order. */
export function newValidatorSet (entries: ReadonlyArray<{ pubKey: Uint8Array, votingPower: number }>): ValidatorSet {
  return {
    validators: sortValidators(entries.map((e) => ({
      address: addressFromPubKey(e.pubKey),
      pubKey: e.pubKey,
      votingPower: e.votingPower,
      proposerPriority: 0n,
    }))),
  }
}

/**
 * Structural checks: non-empty, canonical order, no duplicates, address derived from key,
 * positive powers, total within bounds.
 */
export function validateValidatorSet (set: ValidatorSet): Result<ValidatorSet> {
  if (set.validators.length === 0) return fail(new AidError('ERR_TYPES_INVALID', 'validator set is empty', 'validators'))
  let total = 0
  const seen = new Set<string>()
  for (const [i, v] of set.validators.entries()) {
    const at = `validators[${i}]`
    if (!equalBytes(v.address, addressFromPubKey(v.pubKey))) {
      return fail(new AidError('ERR_TYPES_INVALID', 'address is not SHA-256(pubKey)[:20]', at))
    }
    if (v.votingPower <= 0) return fail(new AidError('ERR_TYPES_INVALID', 'voting power must be positive', at))
    const key = toHex(v.address)
    if (seen.has(key)) return fail(new AidError('ERR_TYPES_INVALID', `duplicate validator ${key}`, at))
    seen.add(key)
    total += v.votingPower
    const prev = set.validators[i - 1]
    if (prev !== undefined && compareValidatorOrder(prev, v) > 0) {
      return fail(new AidError('ERR_TYPES_INVALID', 'validators not in canonical order (power desc, address asc)', at))
    }
  }
  if (total > MAX_TOTAL_VOTING_POWER) {
    return fail(new AidError('ERR_TYPES_INVALID', `total voting power ${total} > ${MAX_TOTAL_VOTING_POWER}`, 'validators'))
  }
  return ok(set)
}
