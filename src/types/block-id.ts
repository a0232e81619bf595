/**
 * PartSetHeader and BlockId (CometBFT types/block.go). A block id is the header hash plus
 * the part-set header; the nil block id (a vote for nothing) has an empty hash and zero
 * parts.
 */
import { struct, uint, type Infer } from '../codec/index.ts'
import { equalBytes, toHex } from '../bytes.ts'
import { hashOrEmpty, HASH_SIZE } from './primitives.ts'

export const PartSetHeaderSchema = struct('PartSetHeader', {
  total: uint({ max: 2 ** 16 }),
  hash: hashOrEmpty,
})
export type PartSetHeader = Infer<typeof PartSetHeaderSchema>

export const BlockIdSchema = struct('BlockId', {
  hash: hashOrEmpty,
  partSetHeader: PartSetHeaderSchema,
})
export type BlockId = Infer<typeof BlockIdSchema>

export function nilBlockId (): BlockId {
  return { hash: new Uint8Array(0), partSetHeader: { total: 0, hash: new Uint8Array(0) } }
}

export function isNilBlockId (id: BlockId): boolean {
  return id.hash.length === 0 && id.partSetHeader.total === 0 && id.partSetHeader.hash.length === 0
}

/** A complete block id: both hashes present and at least one part. */
export function isCompleteBlockId (id: BlockId): boolean {
  return id.hash.length === HASH_SIZE && id.partSetHeader.hash.length === HASH_SIZE && id.partSetHeader.total > 0
}

export function blockIdEquals (a: BlockId, b: BlockId): boolean {
  return equalBytes(a.hash, b.hash) &&
    a.partSetHeader.total === b.partSetHeader.total &&
    equalBytes(a.partSetHeader.hash, b.partSetHeader.hash)
}

/** Stable string key for a block id (map keys, the consensus core's opaque value id). */
export function blockIdKey (id: BlockId): string {
  return `${toHex(id.hash)}:${id.partSetHeader.total}:${toHex(id.partSetHeader.hash)}`
}
