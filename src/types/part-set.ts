/**
 * Block parts (CometBFT types/part_set.go). An encoded block travels in 64 KiB parts; the
 * PartSetHeader {total, hash} in the block id commits to them by the RFC 6962 Merkle root
 * over the parts' bytes (src/crypto/merkle.ts), and each part carries its inclusion proof,
 * so a receiver checks every part on arrival against the header it got from the proposal.
 *
 * The assembler is where byzantine parts meet the node: an index out of range, a proof that
 * does not lead to the header's root, a part of the wrong size, more bytes than a block may
 * have are all returned as data (ERR_TYPES_INVALID); a part already held is reported as
 * `duplicate` and ignored (gossip delivers the same part from several peers, which is no
 * fault), as CometBFT's AddPart does. Every part but the last has exactly `partSize` bytes.
 */
import { bytes, list, struct, uint, type Infer } from '../codec/index.ts'
import { concatBytes } from '../bytes.ts'
import { AidError, type Result, fail, ok } from '../errors.ts'
import { merkleProofs, verifyMerkleProof, type MerkleProof } from '../crypto/merkle.ts'
import type { PartSetHeader } from './block-id.ts'
import { BLOCK_PART_SIZE, HASH_SIZE, hash32, MAX_BLOCK_BYTES } from './primitives.ts'

/** As PartSetHeaderSchema's bound on total. */
export const MAX_PARTS = 2 ** 16
/** Depth of a tree with MAX_PARTS leaves. */
const MAX_PART_PROOF_AUNTS = 16

export const PartProofSchema = struct('MerkleProof', {
  total: uint({ min: 1, max: MAX_PARTS }),
  index: uint({ max: MAX_PARTS - 1 }),
  leafHash: hash32,
  aunts: list(hash32, { max: MAX_PART_PROOF_AUNTS }),
})

export const PartSchema = struct('Part', {
  index: uint({ max: MAX_PARTS - 1 }),
  bytes: bytes({ max: BLOCK_PART_SIZE }),
  proof: PartProofSchema,
})
export type Part = Infer<typeof PartSchema>

/** A complete set of parts with its header: what a proposer gossips and the block store keeps. */
export interface PartSet {
  header: PartSetHeader
  parts: Part[]
}

/** Splits `data` into parts of `partSize` bytes (the last one shorter) with their proofs. */
export function makePartSet (data: Uint8Array, partSize = BLOCK_PART_SIZE): PartSet {
  if (data.length === 0) throw new AidError('ERR_TYPES_INVALID', 'cannot split empty data into parts', 'data')
  if (!Number.isSafeInteger(partSize) || partSize < 1 || partSize > BLOCK_PART_SIZE) {
    throw new AidError('ERR_TYPES_INVALID', `part size must be in [1, ${BLOCK_PART_SIZE}]`, 'partSize')
  }
  const chunks: Uint8Array[] = []
  for (let off = 0; off < data.length; off += partSize) chunks.push(data.slice(off, off + partSize))
  if (chunks.length > MAX_PARTS) throw new AidError('ERR_TYPES_INVALID', `${chunks.length} parts > ${MAX_PARTS}`, 'data')
  const { root, proofs } = merkleProofs(chunks)
  const parts = chunks.map((b, index) => ({ index, bytes: b, proof: proofs[index] as MerkleProof }))
  return { header: { total: chunks.length, hash: root }, parts }
}

/** The bytes a complete part set stands for. */
export function partSetBytes (set: PartSet): Uint8Array {
  return concatBytes(...set.parts.map((p) => p.bytes))
}

export type AddPartOutcome = 'added' | 'complete' | 'duplicate'

export interface PartSetAssembler {
  readonly header: PartSetHeader
  /** Parts held so far. */
  readonly count: number
  isComplete: () => boolean
  hasPart: (index: number) => boolean
  /** A held part (to gossip on to peers that lack it). */
  getPart: (index: number) => Part | undefined
  /** Checks the part against the header and keeps it. Bad parts come back as data. */
  addPart: (part: Part) => Result<AddPartOutcome>
  /** The assembled bytes once complete, else undefined. */
  bytes: () => Uint8Array | undefined
  /** The complete part set, else undefined. */
  partSet: () => PartSet | undefined
}

export interface PartSetAssemblerOptions {
  /** Refuse headers and parts beyond this many bytes (consensus params block.maxBytes). */
  maxBytes?: number
  partSize?: number
}

function invalid (at: string, detail: string): AidError {
  return new AidError('ERR_TYPES_INVALID', detail, at)
}

/**
 * An empty part set waiting for the parts of `header` (from a proposal's block id). Fails
 * when the header itself is impossible: no parts, a malformed hash, or more parts than a
 * block of `maxBytes` can have.
 */
export function newPartSetAssembler (header: PartSetHeader, opts: PartSetAssemblerOptions = {}): Result<PartSetAssembler> {
  const partSize = opts.partSize ?? BLOCK_PART_SIZE
  const maxBytes = opts.maxBytes ?? MAX_BLOCK_BYTES
  const maxParts = Math.min(MAX_PARTS, Math.ceil(maxBytes / partSize))
  const { total, hash } = header
  if (!Number.isSafeInteger(total) || total < 1) return fail(invalid('partSetHeader.total', `part count must be at least 1, got ${String(total)}`))
  if (total > maxParts) return fail(invalid('partSetHeader.total', `${total} parts exceed the ${maxParts} a block of ${maxBytes} bytes can have`))
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) return fail(invalid('partSetHeader.hash', `part set hash must be ${HASH_SIZE} bytes`))

  const parts: Array<Part | undefined> = new Array<Part | undefined>(total).fill(undefined)
  let count = 0
  let size = 0
  let assembled: Uint8Array | undefined

  const addPart = (part: Part): Result<AddPartOutcome> => {
    const at = `part[${String(part?.index)}]`
    if (typeof part !== 'object' || part === null) return fail(invalid('part', 'part is not an object'))
    const { index, bytes: data, proof } = part
    if (!Number.isSafeInteger(index) || index < 0 || index >= total) {
      return fail(invalid(`${at}.index`, `index ${String(index)} outside [0, ${total})`))
    }
    if (parts[index] !== undefined) return ok('duplicate')
    if (!(data instanceof Uint8Array) || data.length === 0 || data.length > partSize) {
      return fail(invalid(`${at}.bytes`, `part must be 1..${partSize} bytes`))
    }
    if (index < total - 1 && data.length !== partSize) {
      return fail(invalid(`${at}.bytes`, `every part but the last must be ${partSize} bytes, got ${data.length}`))
    }
    if (typeof proof !== 'object' || proof === null || proof.index !== index || proof.total !== total) {
      return fail(invalid(`${at}.proof`, `proof is not for part ${index} of ${total}`))
    }
    if (!verifyMerkleProof(hash, proof, data)) return fail(invalid(`${at}.proof`, 'proof does not lead to the part set hash'))
    if (size + data.length > maxBytes) return fail(invalid(`${at}.bytes`, `parts exceed ${maxBytes} bytes`))
    parts[index] = part
    count++
    size += data.length
    return ok(count === total ? 'complete' : 'added')
  }

  const complete = (): Part[] | undefined => (count === total ? (parts as Part[]) : undefined)

  return ok({
    header: { total, hash },
    get count () { return count },
    isComplete: () => count === total,
    hasPart: (index) => parts[index] !== undefined,
    getPart: (index) => parts[index],
    addPart,
    bytes: () => {
      const ps = complete()
      if (ps === undefined) return undefined
      assembled ??= concatBytes(...ps.map((p) => p.bytes))
      return assembled
    },
    partSet: () => {
      const ps = complete()
      return ps === undefined ? undefined : { header: { total, hash }, parts: [...ps] }
    },
  })
}
