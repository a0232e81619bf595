/**
 * A small chain with everything real, for verified-query tests: the social-assistance app
 * on the disk-backed Merkle store (state/store-adapter.ts), blocks whose headers carry the
 * app hashes, a validator set of four real Ed25519 keys (the operators' validators of
 * test/state/helpers.ts), and commits with real precommit signatures. Served through the
 * fake NodeBackend (./fake-backend.ts) with abci_query answered by the app.
 *
 * Block h runs `blocks[h-1]` through the app; one more block (N+1) is built on top without
 * being executed, so the state after block N (the app's latest) is proven by header N+1.
 * Options tamper with what is signed (the top header's app hash, who signs each commit).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TxResult } from '../../../src/abci.ts'
import { utf8 } from '../../../src/bytes.ts'
import type { Genesis } from '../../../src/config/genesis.ts'
import { createSigner } from '../../../src/crypto/ed25519.ts'
import { sha256 } from '../../../src/crypto/hash.ts'
import {
  commitHash, consensusParamsHash, dataHash, defaultConsensusParams, encodeBlock, evidenceListHash, headerHash, newBlockMeta,
  newValidatorSet, validatorSetHash, voteSignBytes, absentCommitSig,
  type Block, type BlockId, type Commit, type ValidatorSet,
} from '../../../src/types/index.ts'
import { createSocialApp, type SocialApp } from '../../../state/app.ts'
import type { Body } from '../../../state/schema.ts'
import { openAppStore } from '../../../state/store-adapter.ts'
import { baseAppState, CHAIN, key, OPERATORS, T0, tx, verifier } from '../../state/helpers.ts'
import { createPrng } from '../../helpers/prng.ts'
import type { Chain, ChainEntry } from './fixtures.ts'
import { createFakeBackend, type FakeBackend } from './fake-backend.ts'

export const VALIDATOR_KEYS = OPERATORS.map((o) => key(`val-${o}`))
export const BLOCK_MS = 1000

export interface SignedChainOptions {
  /** Txs of blocks 1..N as [signer, body] (signer names as test/state/helpers.ts key()). */
  blocks: Array<Array<[string, Body]>>
  /** Indices (in validator-set order) of the validators whose precommits form commit h; default all. */
  signers?: (height: number) => number[]
  /** Replaces the app hash in the top header (N+1), which is still correctly signed. */
  topAppHash?: Uint8Array
  /** The genesis validator set the chain claims (trust root); default the signing set. */
  genesisKeys?: Uint8Array[]
}

export interface SignedChain {
  chain: Chain
  app: SocialApp
  set: ValidatorSet
  /** txResults[h-1][i]: result of tx i of block h, with the tx's opId. */
  results: Array<Array<TxResult & { opId: Uint8Array }>>
  /** Height of the app's latest state (N); the chain top is N+1. */
  stateHeight: number
  backend: FakeBackend
  close: () => Promise<void>
}

function signCommit (set: ValidatorSet, height: number, blockId: BlockId, time: number, signers: number[]): Commit {
  return {
    height,
    round: 0,
    blockId,
    signatures: set.validators.map((v, i) => {
      if (!signers.includes(i)) return absentCommitSig()
      const kp = VALIDATOR_KEYS.find((k) => Buffer.compare(k.publicKey, v.pubKey) === 0)
      if (kp === undefined) throw new Error('no key for validator')
      const timestamp = time + 100 + i
      const signature = createSigner(kp).sign(voteSignBytes(CHAIN, { type: 'precommit', height, round: 0, blockId, timestamp }))
      return { flag: 'commit' as const, validatorAddress: v.address, timestamp, signature }
    }),
  }
}

export async function buildSignedChain (o: SignedChainOptions): Promise<SignedChain> {
  const dir = mkdtempSync(join(tmpdir(), 'aid-signed-chain-'))
  const store = await openAppStore({ path: dir, sync: false })
  const app = createSocialApp({ store, verifier, chainId: CHAIN })
  const set = newValidatorSet(VALIDATOR_KEYS.map((k) => ({ pubKey: k.publicKey, votingPower: 10 })))
  const params = defaultConsensusParams()
  const init = await app.initChain({
    chainId: CHAIN, time: T0, initialHeight: 1, consensusParams: params, validators: set.validators.map((v) => ({ pubKey: v.pubKey, power: v.votingPower })),
    appStateBytes: utf8(JSON.stringify(baseAppState())),
  })
  const genesisKeys = o.genesisKeys ?? VALIDATOR_KEYS.map((k) => k.publicKey)
  const genesisSet = newValidatorSet(genesisKeys.map((k) => ({ pubKey: k, votingPower: 10 })))
  const genesis: Genesis = {
    genesisTimeMs: T0, chainId: CHAIN, initialHeight: 1, consensusParams: params,
    validators: genesisSet.validators.map((v, i) => ({ address: v.address, pubKey: v.pubKey, power: v.votingPower, name: `val-${i}` })),
    validatorSet: genesisSet, appHash: new Uint8Array(0), appState: {},
  }
  const entries: ChainEntry[] = []
  const results: SignedChain['results'] = []
  let appHash = init.appHash
  const n = o.blocks.length
  for (let h = 1; h <= n + 1; h++) {
    const time = T0 + h * BLOCK_MS
    const built = h <= n ? (o.blocks[h - 1] ?? []).map(([signer, body]) => tx(signer, body, { height: h })) : []
    const txs = built.map((t) => t.bytes)
    let txResults: TxResult[] = []
    let nextAppHash = appHash
    if (h <= n) {
      const res = await app.finalizeBlock({ txs, height: h, time, hash: new Uint8Array(32), proposerAddress: new Uint8Array(20), misbehavior: [], nextValidatorsHash: validatorSetHash(set) })
      await app.commit()
      txResults = res.txResults
      nextAppHash = res.appHash
      results.push(res.txResults.map((r, i) => ({ ...r, opId: (built[i] as { opId: Uint8Array }).opId })))
    }
    const prev = entries[entries.length - 1]
    const lastCommit = prev?.seenCommit ?? null
    const block: Block = {
      header: {
        chainId: CHAIN,
        height: h,
        time,
        lastBlockId: prev?.blockId ?? { hash: new Uint8Array(0), partSetHeader: { total: 0, hash: new Uint8Array(0) } },
        lastCommitHash: commitHash(lastCommit),
        dataHash: dataHash(txs),
        validatorsHash: validatorSetHash(set),
        nextValidatorsHash: validatorSetHash(set),
        consensusHash: consensusParamsHash(params),
        appHash: h === n + 1 && o.topAppHash !== undefined ? o.topAppHash : appHash,
        lastResultsHash: sha256(utf8(`results ${h - 1}`)),
        evidenceHash: evidenceListHash([]),
        proposerAddress: set.validators[h % set.validators.length]?.address ?? new Uint8Array(20),
      },
      txs,
      evidence: [],
      lastCommit,
    }
    const partSetHeader = { total: 1, hash: sha256(utf8(`parts ${h}`)) }
    const blockId: BlockId = { hash: headerHash(block.header), partSetHeader }
    entries.push({
      block,
      blockId,
      meta: newBlockMeta(block, partSetHeader, encodeBlock(block).length),
      results: { height: h, txResults, events: [], validatorUpdates: [], consensusParamUpdates: null, appHash: nextAppHash },
      seenCommit: signCommit(set, h, blockId, time, o.signers?.(h) ?? [0, 1, 2, 3]),
    })
    appHash = nextAppHash
  }
  const chain: Chain = {
    genesis, validators: set, params, entries, prng: createPrng(1),
    append: () => { throw new Error('the signed chain is fixed') },
  }
  const backend = createFakeBackend(chain)
  backend.abciQuery = async (req) => await app.query(req)
  const info = backend.nodeInfo
  backend.nodeInfo = () => ({ ...info(), network: CHAIN })
  return {
    chain, app, set, results, stateHeight: n, backend,
    close: async () => {
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
