/**
 * The block store (CometBFT store/store.go): blocks by height and by hash, their parts, the
 * commit for each height (the last_commit carried by the next block) and the seen commit
 * (the +2/3 precommits this node saw for the block), over classic-level.
 *
 * As in CometBFT, a block is kept only as its parts plus a BlockMeta; loadBlock reassembles
 * the parts and decodes them. Everything for one height (meta, parts, the previous height's
 * commit, the seen commit, the hash index, the new base/height) is written in ONE batch, so
 * a crash never leaves half a height (see ./db.ts). Heights are contiguous from base to
 * height; prune removes from the bottom.
 */
import { equalBytes, toHex } from '../bytes.ts'
import { struct, uint } from '../codec/index.ts'
import { AidError } from '../errors.ts'
import { blockIdEquals, blockIdKey, type BlockId } from '../types/block-id.ts'
import { type BlockMeta, BlockMetaSchema, newBlockMeta } from '../types/block-meta.ts'
import { type Block, BlockSchema, encodeBlock, headerHash } from '../types/block.ts'
import { type Part, PartSchema, type PartSet } from '../types/part-set.ts'
import { height as heightField, MAX_BLOCK_BYTES } from '../types/primitives.ts'
import { type Commit, CommitSchema } from '../types/vote.ts'
import {
  type BatchOp, type DbOptions, decodeRecord, del, hashKey, heightKey, type KeyName, openDb, partKey, put, singletonKey,
} from './db.ts'

const BlockStoreStateSchema = struct('BlockStoreState', { base: heightField, height: heightField })
const HeightRecordSchema = struct('BlockHashIndex', { height: uint() })

/** Heights removed per batch when pruning (CometBFT flushes every 1000 too). */
const PRUNE_BATCH = 1000

export type BlockStoreOptions = DbOptions

export interface BlockStore {
  /** Lowest height held (0 when empty). */
  base: () => number
  /** Highest height held (0 when empty). */
  height: () => number
  /** Number of heights held. */
  size: () => number
  /**
   * Saves block `block.header.height` with its complete part set and the commit this node
   * saw for it, all in one atomic batch. The height must be height() + 1 unless the store
   * is empty. Throws ERR_STORE_INVALID_WRITE on a gap or inconsistent arguments.
   */
  saveBlock: (block: Block, parts: PartSet, seenCommit: Commit) => Promise<void>
  loadBlock: (height: number) => Promise<Block | undefined>
  loadBlockByHash: (hash: Uint8Array) => Promise<Block | undefined>
  loadBlockMeta: (height: number) => Promise<BlockMeta | undefined>
  loadBlockMetaByHash: (hash: Uint8Array) => Promise<BlockMeta | undefined>
  loadBlockPart: (height: number, index: number) => Promise<Part | undefined>
  /** The commit for block `height` (from block height+1's last_commit); absent for the top height. */
  loadCommit: (height: number) => Promise<Commit | undefined>
  /** The +2/3 precommits this node saw for block `height`. */
  loadSeenCommit: (height: number) => Promise<Commit | undefined>
  /** Removes every height below `retainHeight`; returns how many were removed. */
  prune: (retainHeight: number) => Promise<number>
  close: () => Promise<void>
}

function refuse (detail: string, at: string): AidError {
  return new AidError('ERR_STORE_INVALID_WRITE', detail, at)
}

export async function openBlockStore (opts: BlockStoreOptions): Promise<BlockStore> {
  const db = await openDb(opts, 'block store')
  const stateKey = singletonKey('blockStoreState')
  let state: { base: number, height: number }
  try {
    state = (await db.read(stateKey, BlockStoreStateSchema)) ?? { base: 0, height: 0 }
  } catch (err) {
    await db.close()
    throw err
  }

  const inRange = (h: number): boolean => Number.isSafeInteger(h) && h >= state.base && h <= state.height && h > 0

  const loadBlockMeta = async (h: number): Promise<BlockMeta | undefined> => {
    db.assertOpen()
    if (!inRange(h)) return undefined
    const k = heightKey('blockMeta', h)
    const meta = await db.read(k, BlockMetaSchema)
    if (meta === undefined) throw new AidError('ERR_STORE_CORRUPT', `missing, though the store holds heights ${state.base}..${state.height}`, k.name)
    return meta
  }

  const loadBlock = async (h: number): Promise<Block | undefined> => {
    const meta = await loadBlockMeta(h)
    if (meta === undefined) return undefined
    const total = meta.blockId.partSetHeader.total
    const keys = Array.from({ length: total }, (_, i) => partKey(h, i))
    const raws = await db.getMany(keys)
    const chunks: Uint8Array[] = []
    for (const [i, raw] of raws.entries()) {
      const k = keys[i] as KeyName
      if (raw === undefined) throw new AidError('ERR_STORE_CORRUPT', `missing, though blockMeta/${h} lists ${total} parts`, k.name)
      chunks.push(decodeRecord(k.name, PartSchema, raw).bytes)
    }
    const block = decodeRecord(`block/${h}`, BlockSchema, Buffer.concat(chunks), MAX_BLOCK_BYTES)
    if (!equalBytes(headerHash(block.header), meta.blockId.hash)) {
      throw new AidError('ERR_STORE_CORRUPT', `reassembled block hashes to ${toHex(headerHash(block.header))}, meta says ${toHex(meta.blockId.hash)}`, `block/${h}`)
    }
    return block
  }

  const heightOfHash = async (hash: Uint8Array): Promise<number | undefined> => {
    if (!(hash instanceof Uint8Array) || hash.length !== 32) return undefined
    return (await db.read(hashKey(hash), HeightRecordSchema))?.height
  }

  const loadCommitAt = async (tag: 'commit' | 'seenCommit', h: number): Promise<Commit | undefined> => {
    db.assertOpen()
    if (!inRange(h)) return undefined
    return await db.read(heightKey(tag, h), CommitSchema)
  }

  const saveBlock = (block: Block, parts: PartSet, seenCommit: Commit): Promise<void> => db.serial(async () => {
    db.assertOpen()
    const h = block.header.height
    if (!Number.isSafeInteger(h) || h < 1) throw refuse(`height ${h} is not a positive integer`, 'block.header.height')
    if (state.height > 0 && h !== state.height + 1) {
      throw refuse(`blocks are saved contiguously: expected height ${state.height + 1}, got ${h}`, 'block.header.height')
    }
    const { total } = parts.header
    if (parts.parts.length !== total || !parts.parts.every((p, i) => p.index === i)) {
      throw refuse(`part set is incomplete: ${parts.parts.length} of ${total} parts`, 'parts')
    }
    const encoded = encodeBlock(block)
    let off = 0
    for (const p of parts.parts) {
      if (!equalBytes(p.bytes, encoded.subarray(off, off + p.bytes.length))) throw refuse(`part ${p.index} is not this block's bytes`, `parts[${p.index}]`)
      off += p.bytes.length
    }
    if (off !== encoded.length) throw refuse(`parts hold ${off} bytes, the block encodes to ${encoded.length}`, 'parts')
    const blockId: BlockId = { hash: headerHash(block.header), partSetHeader: parts.header }
    if (seenCommit.height !== h || !blockIdEquals(seenCommit.blockId, blockId)) {
      throw refuse(`seen commit is for ${seenCommit.height}/${blockIdKey(seenCommit.blockId)}, the block is ${h}/${blockIdKey(blockId)}`, 'seenCommit')
    }
    if (block.lastCommit !== null && block.lastCommit.height !== h - 1) {
      throw refuse(`last commit is for height ${block.lastCommit.height}, expected ${h - 1}`, 'block.lastCommit')
    }
    const next = { base: state.height === 0 ? h : state.base, height: h }
    const ops: BatchOp[] = [put(heightKey('blockMeta', h), BlockMetaSchema, newBlockMeta(block, parts.header, encoded.length))]
    for (const p of parts.parts) ops.push(put(partKey(h, p.index), PartSchema, p))
    // The last commit in block h commits block h-1; kept only while h-1 is in the store.
    if (block.lastCommit !== null && state.height > 0) ops.push(put(heightKey('commit', h - 1), CommitSchema, block.lastCommit))
    ops.push(put(heightKey('seenCommit', h), CommitSchema, seenCommit))
    ops.push(put(hashKey(blockId.hash), HeightRecordSchema, { height: h }))
    ops.push(put(stateKey, BlockStoreStateSchema, next))
    await db.write(ops)
    state = next
  })

  const prune = (retainHeight: number): Promise<number> => db.serial(async () => {
    db.assertOpen()
    if (!Number.isSafeInteger(retainHeight) || retainHeight < 1) throw refuse(`retain height must be a positive integer, got ${retainHeight}`, 'retainHeight')
    if (retainHeight > state.height) throw refuse(`cannot prune beyond the latest height ${state.height}`, 'retainHeight')
    let pruned = 0
    while (state.base < retainHeight) {
      const from = state.base
      const to = Math.min(retainHeight, from + PRUNE_BATCH)
      const ops: BatchOp[] = []
      for (let h = from; h < to; h++) {
        const meta = await loadBlockMeta(h)
        if (meta === undefined) throw new AidError('ERR_STORE_CORRUPT', 'missing during prune', `blockMeta/${h}`)
        ops.push(del(heightKey('blockMeta', h)), del(heightKey('commit', h)), del(heightKey('seenCommit', h)), del(hashKey(meta.blockId.hash)))
        for (let i = 0; i < meta.blockId.partSetHeader.total; i++) ops.push(del(partKey(h, i)))
      }
      const next = { base: to, height: state.height }
      ops.push(put(stateKey, BlockStoreStateSchema, next))
      await db.write(ops)
      state = next
      pruned += to - from
    }
    return pruned
  })

  return {
    base: () => state.base,
    height: () => state.height,
    size: () => (state.height === 0 ? 0 : state.height - state.base + 1),
    saveBlock,
    loadBlock,
    loadBlockByHash: async (hash) => {
      const h = await heightOfHash(hash)
      return h === undefined ? undefined : await loadBlock(h)
    },
    loadBlockMeta,
    loadBlockMetaByHash: async (hash) => {
      const h = await heightOfHash(hash)
      return h === undefined ? undefined : await loadBlockMeta(h)
    },
    loadBlockPart: async (h, index) => {
      db.assertOpen()
      if (!inRange(h) || !Number.isSafeInteger(index) || index < 0 || index >= 2 ** 32) return undefined
      return await db.read(partKey(h, index), PartSchema)
    },
    loadCommit: (h) => loadCommitAt('commit', h),
    loadSeenCommit: (h) => loadCommitAt('seenCommit', h),
    prune,
    close: () => db.close(),
  }
}
