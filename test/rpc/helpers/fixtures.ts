/**
 * A small fixed chain for the RPC tests: 4 validators, blocks with txs, events (indexed and
 * not), a validator update, a consensus-param update, duplicate-vote evidence, commits with
 * absent and nil slots. Everything derives from a seeded PRNG and fixed times, so the
 * golden JSON files stay byte-stable. Signatures are random bytes: the RPC never verifies.
 */
import type { AppEvent, TxResult } from '../../../src/abci.ts'
import { utf8 } from '../../../src/bytes.ts'
import type { Genesis } from '../../../src/config/genesis.ts'
import { sha256 } from '../../../src/crypto/hash.ts'
import type { BlockResults } from '../../../src/node-api.ts'
import {
  commitHash, consensusParamsHash, dataHash, defaultConsensusParams, encodeBlock, evidenceListHash, headerHash,
  newBlockMeta, newDuplicateVoteEvidence, newValidatorSet,
  type Block, type BlockId, type BlockMeta, type Commit, type ConsensusParams, type DuplicateVoteEvidence, type ValidatorSet,
} from '../../../src/types/index.ts'
import { createPrng, type Prng } from '../../helpers/prng.ts'

export const CHAIN_ID = 'aidledger-test'
export const GENESIS_TIME = Date.UTC(2026, 0, 1, 0, 0, 0)
export const BLOCK_INTERVAL_MS = 1_250

export interface ChainEntry {
  block: Block
  blockId: BlockId
  meta: BlockMeta
  results: BlockResults
  /** The +2/3 precommits this node saw for the block. */
  seenCommit: Commit
}

export interface Chain {
  genesis: Genesis
  validators: ValidatorSet
  params: ConsensusParams
  entries: ChainEntry[]
  prng: Prng
  /** Appends a block with these txs and results (default: one disbursement event per tx). */
  append: (txs: Uint8Array[], results?: Partial<BlockResults>) => ChainEntry
}

export function disbursementEvents (program: string, amount: number, region: string): AppEvent[] {
  return [
    {
      type: 'disbursement',
      attributes: [
        { key: 'program', value: program, index: true },
        { key: 'amount', value: String(amount), index: true },
        { key: 'region', value: region, index: true },
        { key: 'note', value: 'not indexed', index: false },
      ],
    },
    { type: 'message', attributes: [{ key: 'action', value: 'disburse', index: true }] },
  ]
}

export function txResultFor (tx: Uint8Array, i: number): TxResult {
  const programs = ['dibao', 'medical', 'housing']
  const code = tx[0] === 0xee ? 7 : 0
  return {
    code,
    codespace: code === 0 ? '' : 'aidledger',
    log: code === 0 ? '' : 'budget exceeded',
    data: code === 0 ? utf8(`ok-${i}`) : new Uint8Array(0),
    events: code === 0 ? disbursementEvents(programs[tx.length % 3] ?? 'dibao', 1000 + tx.length * 10, `11010${i % 3}`) : [],
  }
}

function pub (prng: Prng): Uint8Array {
  return prng.bytes(32)
}

export function buildChain (heights = 5, seed = 7): Chain {
  const prng = createPrng(seed)
  const keys = [pub(prng), pub(prng), pub(prng), pub(prng)]
  const validators = newValidatorSet(keys.map((k, i) => ({ pubKey: k, votingPower: 10 + i * 5 })))
  const params = defaultConsensusParams()
  const genesis: Genesis = {
    genesisTimeMs: GENESIS_TIME,
    chainId: CHAIN_ID,
    initialHeight: 1,
    consensusParams: params,
    validators: keys.map((k, i) => {
      const v = validators.validators.find((x) => x.pubKey === k)
      return { address: v?.address ?? new Uint8Array(20), pubKey: k, power: 10 + i * 5, name: `validator-${i}` }
    }),
    validatorSet: validators,
    appHash: new Uint8Array(0),
    appState: { offices: [], note: 'rpc test chain' },
  }
  const entries: ChainEntry[] = []

  const commitFor = (height: number, blockId: BlockId, time: number): Commit => ({
    height,
    round: 0,
    blockId,
    signatures: validators.validators.map((v, i) => {
      if (i === 3 && height % 2 === 0) return { flag: 'absent' as const, validatorAddress: new Uint8Array(20), timestamp: 0, signature: new Uint8Array(0) }
      if (i === 2 && height === 3) return { flag: 'nil' as const, validatorAddress: v.address, timestamp: time + 400 + i, signature: prng.bytes(64) }
      return { flag: 'commit' as const, validatorAddress: v.address, timestamp: time + 400 + i, signature: prng.bytes(64) }
    }),
  })

  const append = (txs: Uint8Array[], partial: Partial<BlockResults> = {}): ChainEntry => {
    const prev = entries[entries.length - 1]
    const height = (prev?.block.header.height ?? 0) + 1
    const time = GENESIS_TIME + height * BLOCK_INTERVAL_MS
    const evidence: DuplicateVoteEvidence[] = height === 4 ? [makeEvidence(prng, validators, prev)] : []
    const lastCommit = prev === undefined ? null : prev.seenCommit
    const block: Block = {
      header: {
        chainId: CHAIN_ID,
        height,
        time,
        lastBlockId: prev?.blockId ?? { hash: new Uint8Array(0), partSetHeader: { total: 0, hash: new Uint8Array(0) } },
        lastCommitHash: commitHash(lastCommit),
        dataHash: dataHash(txs),
        validatorsHash: sha256(utf8('validators')),
        nextValidatorsHash: sha256(utf8('validators')),
        consensusHash: consensusParamsHash(params),
        appHash: prev?.results.appHash ?? new Uint8Array(0),
        lastResultsHash: sha256(utf8(`results ${height - 1}`)),
        evidenceHash: evidenceListHash(evidence),
        proposerAddress: validators.validators[height % 4]?.address ?? new Uint8Array(20),
      },
      txs,
      evidence,
      lastCommit,
    }
    const partSetHeader = { total: 1, hash: sha256(utf8(`parts ${height}`)) }
    const blockId: BlockId = { hash: headerHash(block.header), partSetHeader }
    const results: BlockResults = {
      height,
      txResults: partial.txResults ?? txs.map((tx, i) => txResultFor(tx, i)),
      events: partial.events ?? [{ type: 'block_summary', attributes: [{ key: 'txs', value: String(txs.length), index: true }, { key: 'proposer', value: `v${height % 4}`, index: false }] }],
      validatorUpdates: partial.validatorUpdates ?? [],
      consensusParamUpdates: partial.consensusParamUpdates ?? null,
      appHash: partial.appHash ?? sha256(utf8(`app ${height}`)),
    }
    const entry: ChainEntry = {
      block,
      blockId,
      meta: newBlockMeta(block, partSetHeader, encodeBlock(block).length),
      results,
      seenCommit: commitFor(height, blockId, time),
    }
    entries.push(entry)
    return entry
  }

  const chain: Chain = { genesis, validators, params, entries, prng, append }
  for (let h = 1; h <= heights; h++) {
    const txs = h === 1 ? [] : Array.from({ length: h - 1 }, (_, i) => utf8(`tx-${h}-${i}${'x'.repeat(i)}`))
    const extra: Partial<BlockResults> = {}
    if (h === 3) extra.validatorUpdates = [{ pubKey: keys[0] as Uint8Array, power: 25 }]
    if (h === 4) extra.consensusParamUpdates = { ...params, block: { maxBytes: 2 * 1024 * 1024, maxGas: 0 } }
    append(txs, extra)
  }
  return chain
}

function makeEvidence (prng: Prng, set: ValidatorSet, prev: ChainEntry | undefined): DuplicateVoteEvidence {
  const v = set.validators[1]
  const h = prev?.block.header.height ?? 1
  const base = {
    type: 'prevote' as const,
    height: h,
    round: 0,
    timestamp: prev?.block.header.time ?? GENESIS_TIME,
    validatorAddress: v?.address ?? new Uint8Array(20),
    validatorIndex: 1,
  }
  const a = { ...base, blockId: { hash: prng.bytes(32), partSetHeader: { total: 1, hash: prng.bytes(32) } }, signature: prng.bytes(64) }
  const b = { ...base, blockId: { hash: prng.bytes(32), partSetHeader: { total: 1, hash: prng.bytes(32) } }, signature: prng.bytes(64) }
  return newDuplicateVoteEvidence(a, b, 70, v?.votingPower ?? 0, prev?.block.header.time ?? GENESIS_TIME)
}
