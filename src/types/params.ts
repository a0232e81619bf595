/**
 * Consensus parameters (CometBFT types/params.go, the parts this node uses). Changed only
 * by governance txs through the app; their hash goes in every header.
 */
import { encode, struct, uint, type Infer } from '../codec/index.ts'
import { sha256 } from '../crypto/hash.ts'
import { MAX_BLOCK_BYTES } from './primitives.ts'

export const ConsensusParamsSchema = struct('ConsensusParams', {
  block: struct('BlockParams', {
    maxBytes: uint({ min: 1024, max: MAX_BLOCK_BYTES }),
    maxGas: uint(), // unused by this app; kept for CometBFT's consensus_params shape (0 = unlimited)
  }),
  evidence: struct('EvidenceParams', {
    maxAgeNumBlocks: uint({ min: 1 }),
    maxAgeDurationMs: uint({ min: 1 }),
    maxBytes: uint(),
  }),
  validator: struct('ValidatorParams', {
    /** Only ed25519 is supported; kept as a count-free flag for the RPC shape. */
    maxValidators: uint({ min: 1, max: 1000 }),
  }),
})
export type ConsensusParams = Infer<typeof ConsensusParamsSchema>

export function defaultConsensusParams (): ConsensusParams {
  return {
    block: { maxBytes: 4 * 1024 * 1024, maxGas: 0 },
    evidence: { maxAgeNumBlocks: 100_000, maxAgeDurationMs: 48 * 3600 * 1000, maxBytes: 1024 * 1024 },
    validator: { maxValidators: 150 },
  }
}

export function consensusParamsHash (p: ConsensusParams): Uint8Array {
  return sha256(encode(ConsensusParamsSchema, p))
}
