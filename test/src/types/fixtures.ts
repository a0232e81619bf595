/**
 * Deterministic fixtures for the core types: validators with Ed25519 keys from fixed seeds,
 * well-formed headers, blocks, votes and commits with real signatures. Used by the types
 * and store tests; everything here is a pure function of its arguments.
 */
import { utf8 } from '../../../src/bytes.ts'
import { sha256 } from '../../../src/crypto/hash.ts'
import { keyPairFromSeed, sign, verify, type Ed25519KeyPair } from '../../../src/crypto/ed25519.ts'
import {
  type Block, type BlockId, type Commit, type CommitFlag, type CommitSig, type Header, type PartSet, type ValidatorSet,
  type Vote, absentCommitSig, commitHash, consensusParamsHash, dataHash, defaultConsensusParams, encodeBlock,
  evidenceListHash, headerHash, makePartSet, newValidatorSet, nilBlockId, validatorSetHash, voteSignBytes,
} from '../../../src/types/index.ts'

export { verify }
export const CHAIN_ID = 'aid-test-1'

export interface Keyed {
  set: ValidatorSet
  /** keys[i] signs for set.validators[i]. */
  keys: Ed25519KeyPair[]
}

export function keyFor (name: string): Ed25519KeyPair {
  return keyPairFromSeed(sha256(utf8(`aidledger-test-key/${name}`)))
}

/** A validator set from named keys with the given powers, and the keys in set order. */
export function makeValidators (powers: number[], prefix = 'val'): Keyed {
  const named = powers.map((p, i) => ({ key: keyFor(`${prefix}-${i}`), votingPower: p }))
  const set = newValidatorSet(named.map((n) => ({ pubKey: n.key.publicKey, votingPower: n.votingPower })))
  const keys = set.validators.map((v) => {
    const k = named.find((n) => Buffer.compare(n.key.publicKey, v.pubKey) === 0)
    if (k === undefined) throw new Error('key not found')
    return k.key
  })
  return { set, keys }
}

export function blockIdOf (block: Block): { blockId: BlockId, parts: PartSet, bytes: Uint8Array } {
  const bytes = encodeBlock(block)
  const parts = makePartSet(bytes)
  return { blockId: { hash: headerHash(block.header), partSetHeader: parts.header }, parts, bytes }
}

export function signVote (chainId: string, key: Ed25519KeyPair, v: Omit<Vote, 'signature'>): Vote {
  return { ...v, signature: sign(key, voteSignBytes(chainId, v)) }
}

/**
 * A commit for `blockId` at (height, round) signed by the validators of `keyed`; flags[i]
 * chooses slot i (default all 'commit'). Slot times are 1000·height + i.
 */
export function makeCommit (
  keyed: Keyed, blockId: BlockId, height: number, round = 0, flags?: CommitFlag[], chainId = CHAIN_ID,
): Commit {
  const signatures: CommitSig[] = keyed.set.validators.map((v, i) => {
    const flag = flags?.[i] ?? 'commit'
    if (flag === 'absent') return absentCommitSig()
    const timestamp = 1000 * height + i
    const vote = signVote(chainId, keyed.keys[i] as Ed25519KeyPair, {
      type: 'precommit', height, round, blockId: flag === 'commit' ? blockId : nilBlockId(), timestamp, validatorAddress: v.address, validatorIndex: i,
    })
    return { flag, validatorAddress: v.address, timestamp, signature: vote.signature }
  })
  return { height, round, blockId, signatures }
}

export interface BlockSpec {
  height: number
  keyed: Keyed
  txs?: Uint8Array[]
  lastCommit?: Commit | null
  lastBlockId?: BlockId
  time?: number
  appHash?: Uint8Array
  chainId?: string
}

/** A block whose header hashes all match its contents. */
export function makeBlock (spec: BlockSpec): Block {
  const txs = spec.txs ?? []
  const lastCommit = spec.lastCommit ?? null
  const vh = validatorSetHash(spec.keyed.set)
  const header: Header = {
    chainId: spec.chainId ?? CHAIN_ID,
    height: spec.height,
    time: spec.time ?? 1_700_000_000_000 + spec.height * 1000,
    lastBlockId: spec.lastBlockId ?? (lastCommit === null ? nilBlockId() : lastCommit.blockId),
    lastCommitHash: commitHash(lastCommit),
    dataHash: dataHash(txs),
    validatorsHash: vh,
    nextValidatorsHash: vh,
    consensusHash: consensusParamsHash(defaultConsensusParams()),
    appHash: spec.appHash ?? new Uint8Array(0),
    lastResultsHash: sha256(new Uint8Array(0)),
    evidenceHash: evidenceListHash([]),
    proposerAddress: (spec.keyed.set.validators[0] as { address: Uint8Array }).address,
  }
  return { header, txs, evidence: [], lastCommit }
}

/**
 * A chain of `n` blocks from `initialHeight`: block h+1 carries the commit for block h.
 * Returns each block with its id, part set and the seen commit for it (signed in round 1,
 * so it differs from the canonical last commit in the next block, as it may in practice).
 */
export interface ChainLink { block: Block, blockId: BlockId, parts: PartSet, seenCommit: Commit }

export function makeChain (
  n: number, keyed: Keyed, initialHeight = 1,
  txsAt: (h: number) => Uint8Array[] = (h) => [utf8(`tx ${h}/0`), utf8(`tx ${h}/1`)],
): ChainLink[] {
  const out: ChainLink[] = []
  let lastCommit: Commit | null = null
  for (let h = initialHeight; h < initialHeight + n; h++) {
    const txs = txsAt(h)
    const block = makeBlock({ height: h, keyed, txs, lastCommit })
    const { blockId, parts } = blockIdOf(block)
    out.push({ block, blockId, parts, seenCommit: makeCommit(keyed, blockId, h, 1) })
    lastCommit = makeCommit(keyed, blockId, h, 0)
  }
  return out
}
