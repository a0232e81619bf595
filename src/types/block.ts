/**
 * Header and Block (CometBFT types/block.go) and the hashes that tie them together.
 *
 * The header hash is SHA-256 over a domain tag and the header's canonical encoding (one
 * encoding, one hash). Lists inside a block are committed to by RFC 6962 Merkle roots so
 * that one tx, commit slot or evidence item can be proven on its own:
 *   data_hash        = root over SHA-256(tx) for each tx (a tx is proven by its hash)
 *   last_commit_hash = root over each CommitSig's canonical encoding
 *   evidence_hash    = root over each evidence item's hash
 */
import { bytes, encode, list, optional, struct, type Infer } from '../codec/index.ts'
import { utf8 } from '../bytes.ts'
import { sha256, sha256Concat } from '../crypto/hash.ts'
import { merkleRoot } from '../crypto/merkle.ts'
import { BlockIdSchema } from './block-id.ts'
import { DuplicateVoteEvidenceSchema, evidenceHash, type DuplicateVoteEvidence } from './evidence.ts'
import {
  address20, chainIdField, hash32, hashOrEmpty, height, MAX_TX_BYTES, timeMs,
} from './primitives.ts'
import { CommitSchema, CommitSigSchema, type Commit } from './vote.ts'

export const MAX_TXS_PER_BLOCK = 100_000
export const MAX_EVIDENCE_PER_BLOCK = 1_000

export const HeaderSchema = struct('Header', {
  chainId: chainIdField,
  height,
  time: timeMs,
  lastBlockId: BlockIdSchema,
  lastCommitHash: hash32,
  dataHash: hash32,
  validatorsHash: hash32,
  nextValidatorsHash: hash32,
  consensusHash: hash32,
  /** Root of the app state after the previous block (empty before the first block executes). */
  appHash: hashOrEmpty,
  lastResultsHash: hash32,
  evidenceHash: hash32,
  proposerAddress: address20,
})
export type Header = Infer<typeof HeaderSchema>

export const BlockSchema = struct('Block', {
  header: HeaderSchema,
  txs: list(bytes({ max: MAX_TX_BYTES }), { max: MAX_TXS_PER_BLOCK }),
  evidence: list(DuplicateVoteEvidenceSchema, { max: MAX_EVIDENCE_PER_BLOCK }),
  /** Null only in the block at the chain's initial height. */
  lastCommit: optional(CommitSchema),
})
export type Block = Infer<typeof BlockSchema>

const HEADER_TAG = utf8('aidledger/header/v1')

export function headerHash (h: Header): Uint8Array {
  return sha256Concat(HEADER_TAG, encode(HeaderSchema, h))
}

export function dataHash (txs: readonly Uint8Array[]): Uint8Array {
  return merkleRoot(txs.map((tx) => sha256(tx)))
}

export function commitHash (commit: Commit | null): Uint8Array {
  return merkleRoot(commit === null ? [] : commit.signatures.map((s) => encode(CommitSigSchema, s)))
}

export function evidenceListHash (evidence: readonly DuplicateVoteEvidence[]): Uint8Array {
  return merkleRoot(evidence.map(evidenceHash))
}

export function encodeBlock (block: Block): Uint8Array {
  return encode(BlockSchema, block)
}
