/**
 * The consensus state store (CometBFT state/store.go): the chain state after the last
 * block, validator sets by height and consensus params by height. Named for consensus to
 * keep it apart from the app's authenticated Merkle store (state/store).
 *
 * Validator sets are stored as CometBFT does: a record per height holding the height the
 * set last changed, and the full set only at that height and at checkpoints (every
 * `checkpointInterval` heights), so storage does not copy an unchanged set every height.
 * Loading a height without a full set takes the set from its last change (or checkpoint)
 * and advances the proposer priorities by the heights in between, with the injected
 * `incrementProposerPriority` (consensus/'s weighted round robin; the kernel does not
 * import consensus). Consensus params follow the same scheme without the priorities.
 *
 * saveState writes the state record, the validators for the heights it determines and the
 * params for the next height in ONE batch (see ./db.ts), as CometBFT's save does.
 */
import { optional, struct } from '../codec/index.ts'
import { AidError } from '../errors.ts'
import { type ChainState, ChainStateSchema } from '../types/chain-state.ts'
import { type ConsensusParams, ConsensusParamsSchema } from '../types/params.ts'
import { height as heightField } from '../types/primitives.ts'
import { type ValidatorSet, ValidatorSetSchema } from '../types/validator.ts'
import { type BatchOp, type DbOptions, heightKey, openDb, put, singletonKey } from './db.ts'

const ValidatorsInfoSchema = struct('ValidatorsInfo', {
  lastHeightChanged: heightField,
  validatorSet: optional(ValidatorSetSchema),
})
const ConsensusParamsInfoSchema = struct('ConsensusParamsInfo', {
  lastHeightChanged: heightField,
  consensusParams: optional(ConsensusParamsSchema),
})

/** CometBFT's valSetCheckpointInterval. */
export const DEFAULT_CHECKPOINT_INTERVAL = 100_000

export interface ConsensusStateStoreDeps {
  /** Advances every validator's proposer priority `times` heights (CometBFT IncrementProposerPriority); must not mutate `set`. */
  incrementProposerPriority: (set: ValidatorSet, times: number) => ValidatorSet
}

export interface ConsensusStateStoreOptions extends DbOptions, ConsensusStateStoreDeps {
  /** A full validator set is stored at least this often (default 100,000). */
  checkpointInterval?: number
}

export interface ConsensusStateStore {
  /** The state after the last saved block, or undefined before the first save. */
  loadState: () => Promise<ChainState | undefined>
  /**
   * Saves `state` with, in the same batch, the validators for lastBlockHeight+2 (and, at
   * genesis, for the initial height) and the consensus params for lastBlockHeight+1.
   */
  saveState: (state: ChainState) => Promise<void>
  /** The validator set (with proposer priorities) for `height`, or undefined if never saved. */
  loadValidators: (height: number) => Promise<ValidatorSet | undefined>
  loadConsensusParams: (height: number) => Promise<ConsensusParams | undefined>
  close: () => Promise<void>
}

export async function openConsensusStateStore (opts: ConsensusStateStoreOptions): Promise<ConsensusStateStore> {
  const checkpoint = opts.checkpointInterval ?? DEFAULT_CHECKPOINT_INTERVAL
  if (!Number.isSafeInteger(checkpoint) || checkpoint < 1) throw new AidError('ERR_STORE_IO', 'checkpointInterval must be a positive integer', 'options')
  const increment = opts.incrementProposerPriority
  const db = await openDb(opts, 'consensus state store')
  const stateKey = singletonKey('chainState')

  const lastStoredHeightFor = (h: number, lastHeightChanged: number): number => Math.max(h - (h % checkpoint), lastHeightChanged)

  const validatorsOp = (h: number, lastHeightChanged: number, set: ValidatorSet): BatchOp => {
    if (lastHeightChanged > h) throw new AidError('ERR_STORE_INVALID_WRITE', `validators changed at ${lastHeightChanged}, after height ${h}`, 'lastHeightValidatorsChanged')
    const full = h === lastHeightChanged || h % checkpoint === 0
    return put(heightKey('validators', h), ValidatorsInfoSchema, { lastHeightChanged, validatorSet: full ? set : null })
  }

  const paramsOp = (h: number, lastHeightChanged: number, params: ConsensusParams): BatchOp => {
    if (lastHeightChanged > h) throw new AidError('ERR_STORE_INVALID_WRITE', `params changed at ${lastHeightChanged}, after height ${h}`, 'lastHeightConsensusParamsChanged')
    return put(heightKey('consensusParams', h), ConsensusParamsInfoSchema, { lastHeightChanged, consensusParams: h === lastHeightChanged ? params : null })
  }

  const loadValidators = async (h: number): Promise<ValidatorSet | undefined> => {
    if (!Number.isSafeInteger(h) || h < 1) return undefined
    const k = heightKey('validators', h)
    const info = await db.read(k, ValidatorsInfoSchema)
    if (info === undefined) return undefined
    if (info.validatorSet !== null) return info.validatorSet
    const from = lastStoredHeightFor(h, info.lastHeightChanged)
    const fk = heightKey('validators', from)
    const full = await db.read(fk, ValidatorsInfoSchema)
    if (full?.validatorSet == null) {
      throw new AidError('ERR_STORE_CORRUPT', `holds no validator set, though ${k.name} points to it`, fk.name)
    }
    return h === from ? full.validatorSet : increment(full.validatorSet, h - from)
  }

  const loadConsensusParams = async (h: number): Promise<ConsensusParams | undefined> => {
    if (!Number.isSafeInteger(h) || h < 1) return undefined
    const k = heightKey('consensusParams', h)
    const info = await db.read(k, ConsensusParamsInfoSchema)
    if (info === undefined) return undefined
    if (info.consensusParams !== null) return info.consensusParams
    const fk = heightKey('consensusParams', info.lastHeightChanged)
    const full = await db.read(fk, ConsensusParamsInfoSchema)
    if (full?.consensusParams == null) {
      throw new AidError('ERR_STORE_CORRUPT', `holds no consensus params, though ${k.name} points to it`, fk.name)
    }
    return full.consensusParams
  }

  const saveState = (state: ChainState): Promise<void> => db.serial(async () => {
    db.assertOpen()
    const ops: BatchOp[] = []
    let nextHeight = state.lastBlockHeight + 1
    if (state.lastBlockHeight === 0) {
      // Genesis: the first block's validators, which nothing else saves (CometBFT does the same).
      nextHeight = state.initialHeight
      ops.push(validatorsOp(nextHeight, nextHeight, state.validators))
    }
    ops.push(validatorsOp(nextHeight + 1, state.lastHeightValidatorsChanged, state.nextValidators))
    ops.push(paramsOp(nextHeight, state.lastHeightConsensusParamsChanged, state.consensusParams))
    ops.push(put(stateKey, ChainStateSchema, state))
    await db.write(ops)
  })

  return {
    loadState: async () => await db.read(stateKey, ChainStateSchema),
    saveState,
    loadValidators,
    loadConsensusParams,
    close: () => db.close(),
  }
}
