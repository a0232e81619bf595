/**
 * BlockMeta (CometBFT types/block_meta.go): what the block store keeps per height besides
 * the parts, and what RPC's `blockchain` route lists: the block id, the encoded size, the
 * header and the number of txs.
 */
import { struct, uint, type Infer } from '../codec/index.ts'
import { BlockIdSchema, type PartSetHeader } from './block-id.ts'
import { headerHash, HeaderSchema, type Block } from './block.ts'
import { MAX_BLOCK_BYTES } from './primitives.ts'

export const BlockMetaSchema = struct('BlockMeta', {
  blockId: BlockIdSchema,
  blockSize: uint({ max: MAX_BLOCK_BYTES }),
  header: HeaderSchema,
  numTxs: uint(),
})
export type BlockMeta = Infer<typeof BlockMetaSchema>

/** The meta of `block`, given the header of its part set and its encoded size. */
export function newBlockMeta (block: Block, partSetHeader: PartSetHeader, blockSize: number): BlockMeta {
  return {
    blockId: { hash: headerHash(block.header), partSetHeader },
    blockSize,
    header: block.header,
    numTxs: block.txs.length,
  }
}
