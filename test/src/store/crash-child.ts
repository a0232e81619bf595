/**
 * Child process for crash.test.ts: opens the block store and the consensus state store in
 * `dir` and saves heights in a loop (block, then chain state) until it is killed. Prints
 * `saved <h>` after each height so the parent knows it is writing.
 * Usage: node --import ./src/register.js test/src/store/crash-child.ts <dir> <sync 0|1>
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { utf8 } from '../../../src/bytes.ts'
import { openBlockStore, openConsensusStateStore } from '../../../src/store/index.ts'
import { type BlockId, type ChainState, type Commit, type ValidatorSet, defaultConsensusParams, nilBlockId } from '../../../src/types/index.ts'
import { blockIdOf, CHAIN_ID, makeBlock, makeCommit, makeValidators } from '../types/fixtures.ts'

export const keyed = makeValidators([3, 2, 1], 'crash')

export function inc (set: ValidatorSet, times: number): ValidatorSet {
  return { validators: set.validators.map((v) => ({ ...v, proposerPriority: v.proposerPriority + BigInt(v.votingPower * times) })) }
}

/** Every third block is ~100 KB (two parts), the others are small. */
export function txsAt (h: number): Uint8Array[] {
  if (h % 3 === 0) return [0, 1, 2, 3].map((i) => new Uint8Array(25_000).fill((h + i) % 256))
  return [utf8(`crash tx ${h}`)]
}

async function main (dir: string, sync: boolean): Promise<void> {
  const blocks = await openBlockStore({ path: join(dir, 'blockstore.db'), sync })
  const states = await openConsensusStateStore({ path: join(dir, 'state.db'), sync, incrementProposerPriority: inc })
  let state: ChainState = (await states.loadState()) ?? {
    chainId: CHAIN_ID,
    initialHeight: 1,
    lastBlockHeight: 0,
    lastBlockId: nilBlockId(),
    lastBlockTime: 1_700_000_000_000,
    nextValidators: inc(keyed.set, 1),
    validators: keyed.set,
    lastValidators: { validators: [] },
    lastHeightValidatorsChanged: 1,
    consensusParams: defaultConsensusParams(),
    lastHeightConsensusParamsChanged: 1,
    lastResultsHash: new Uint8Array(0),
    appHash: new Uint8Array(0),
  }
  if (state.lastBlockHeight === 0) await states.saveState(state)
  const advance = async (h: number, blockId: BlockId, time: number): Promise<void> => {
    state = {
      ...state,
      lastBlockHeight: h,
      lastBlockId: blockId,
      lastBlockTime: time,
      lastValidators: state.validators,
      validators: state.nextValidators,
      nextValidators: inc(state.nextValidators, 1),
    }
    await states.saveState(state)
  }
  // A crash between the two saves leaves the state one height behind: replay it (CometBFT's handshake).
  while (state.lastBlockHeight < blocks.height()) {
    const meta = await blocks.loadBlockMeta(state.lastBlockHeight + 1)
    if (meta === undefined) throw new Error(`no meta for ${state.lastBlockHeight + 1}`)
    await advance(meta.header.height, meta.blockId, meta.header.time)
  }
  for (;;) {
    const h = blocks.height() + 1
    let lastCommit: Commit | null = null
    if (h > 1) {
      const prev = await blocks.loadBlockMeta(h - 1)
      if (prev === undefined) throw new Error(`no meta for ${h - 1}`)
      lastCommit = makeCommit(keyed, prev.blockId, h - 1, 0)
    }
    const block = makeBlock({ height: h, keyed, txs: txsAt(h), lastCommit })
    const { blockId, parts } = blockIdOf(block)
    await blocks.saveBlock(block, parts, makeCommit(keyed, blockId, h, 1))
    await advance(h, blockId, block.header.time)
    process.stdout.write(`saved ${h}\n`)
  }
}

const [dir, sync] = process.argv.slice(2)
if (process.argv[1] === fileURLToPath(import.meta.url) && dir !== undefined) {
  main(dir, sync === '1').catch((err) => {
    console.error(err)
    process.exit(1)
  })
}
