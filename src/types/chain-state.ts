/**
 * The chain state after the last committed block (CometBFT state/state.go `State`): what
 * the node needs to validate and execute the next block. Saved atomically by the consensus
 * state store (src/store) after every block.
 *
 * Validator-set changes returned by the app at height H take effect at H+2 (DESIGN §4):
 * after block H, `nextValidators` already holds the set for H+2 while `validators` signs
 * H+1 and `lastValidators` signed H (the last commit of block H+1).
 */
import { struct, uint, type Infer } from '../codec/index.ts'
import { BlockIdSchema } from './block-id.ts'
import { ConsensusParamsSchema } from './params.ts'
import { chainIdField, hashOrEmpty, height, timeMs } from './primitives.ts'
import { ValidatorSetSchema } from './validator.ts'

export const ChainStateSchema = struct('ChainState', {
  chainId: chainIdField,
  initialHeight: uint({ min: 1 }),
  /** 0 before the first block is committed. */
  lastBlockHeight: height,
  lastBlockId: BlockIdSchema,
  lastBlockTime: timeMs,
  /** The set for lastBlockHeight + 2. */
  nextValidators: ValidatorSetSchema,
  /** The set for lastBlockHeight + 1. */
  validators: ValidatorSetSchema,
  /** The set that signed lastBlockHeight (empty before the first block). */
  lastValidators: ValidatorSetSchema,
  lastHeightValidatorsChanged: height,
  consensusParams: ConsensusParamsSchema,
  lastHeightConsensusParamsChanged: height,
  /** Merkle root of the last block's tx results. */
  lastResultsHash: hashOrEmpty,
  /** The app's state root after the last block (goes in the next header). */
  appHash: hashOrEmpty,
})
export type ChainState = Infer<typeof ChainStateSchema>
