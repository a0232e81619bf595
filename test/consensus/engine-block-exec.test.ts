/**
 * Block execution (consensus/block-exec.ts): full validation of a block against the chain
 * state (each rule rejects on its own), the chain state after a block (validator updates at
 * H+2, results hash), and the handshake with an application that is behind, ahead, on
 * another app hash, or that executed a block whose chain state was never saved (with or
 * without its finalize response). The social app on its real store: engine-app-commit.test.ts.
 */
import t from 'tap'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import type { FinalizeBlockResponse } from '../../src/abci.ts'
import { toHex, utf8 } from '../../src/bytes.ts'
import { keyPairFromSeed, sign, verify, type Ed25519KeyPair } from '../../src/crypto/ed25519.ts'
import { sha256 } from '../../src/crypto/hash.ts'
import { silentLogger } from '../../src/log.ts'
import { openBlockStore, openConsensusStateStore, type StoreDb } from '../../src/store/index.ts'
import {
  commitHash, dataHash, defaultConsensusParams, encodeBlock, headerHash, makePartSet, newValidatorSet, validatorSetHash,
  voteSignBytes, type Block, type BlockId, type ChainState, type Commit, type ValidatorSet,
} from '../../src/types/index.ts'
import {
  createBlockExecutor, createFinalizeResponseStore, evidencePoolDeps, incrementValidatorSet, makeCommit, proposerSetFor,
  type BlockExecutor, type ResponseDb,
} from '../../consensus/block-exec.ts'
import type { EngineGenesis } from '../../consensus/engine-types.ts'
import { openEvidencePool, type EvidenceDb } from '../../consensus/evidence-pool.ts'
import { createMempool } from '../../consensus/mempool.ts'
import { openWal } from '../../consensus/wal.ts'
import { tempDir } from './shell-fixtures.ts'
import { createKvApp, createTxClient, newKvDisk, type KvDisk } from './helpers/kv-app.ts'

const CHAIN = 'exec-test'
const T0 = 1_700_000_000_000
type Level = MemoryLevel<Uint8Array, Uint8Array>
const level = (): Level => new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })

const keys = [1, 2, 3, 4].map((i) => keyPairFromSeed(new Uint8Array(32).fill(i)))
const genesisSet = newValidatorSet(keys.map((k) => ({ pubKey: k.publicKey, votingPower: 10 })))
const genesis: EngineGenesis = {
  initialHeight: 1, genesisTimeMs: T0, validatorSet: genesisSet, consensusParams: defaultConsensusParams(), appStateBytes: utf8('{}'),
}

interface Disks { block: Level, state: Level, evidence: Level, responses: Level, app: KvDisk, dir: string }

async function newDisks (t: Parameters<typeof tempDir>[0]): Promise<Disks> {
  return { block: level(), state: level(), evidence: level(), responses: level(), app: newKvDisk(), dir: await tempDir(t, 'aid-exec-', true) }
}

interface Opened {
  exec: BlockExecutor
  now: { t: number }
  app: ReturnType<typeof createKvApp>
  close: () => Promise<void>
}

async function open (d: Disks, o: { persistAt?: 'commit' | 'finalize', failSaveStateAt?: number, failSaveResponseAt?: number, incarnation?: number } = {}): Promise<Opened> {
  const blockStore = await openBlockStore({ db: d.block as unknown as StoreDb, sync: false })
  const inner = await openConsensusStateStore({ db: d.state as unknown as StoreDb, sync: false, incrementProposerPriority: incrementValidatorSet })
  const stateStore = {
    ...inner,
    saveState: async (s: ChainState) => {
      if (s.lastBlockHeight === o.failSaveStateAt) throw new Error('crash before saving the state')
      await inner.saveState(s)
    },
  }
  const wal = await openWal({ dir: join(d.dir, `wal`), flushIntervalMs: 0, log: silentLogger })
  const app = createKvApp(d.app, o.persistAt === undefined ? {} : { persistAt: o.persistAt })
  const mempool = createMempool({ chainId: CHAIN }, { app, verifier: { verifyTxs: async (xs) => xs.map((x) => verify(x.pubKey, x.signBytes, x.signature)) } })
  let execRef: BlockExecutor | null = null
  const evidencePool = await openEvidencePool({ db: d.evidence as unknown as EvidenceDb }, evidencePoolDeps({
    chainId: CHAIN, blockStore, stateStore, chainState: () => execRef?.state(), consensusParams: genesis.consensusParams, logger: silentLogger,
  }))
  const now = { t: T0 + 1000 }
  const savedResponses = createFinalizeResponseStore(d.responses as unknown as ResponseDb)
  const responses = {
    ...savedResponses,
    save: async (h: number, r: FinalizeBlockResponse) => {
      if (h === o.failSaveResponseAt) throw new Error('crash before saving the finalize response')
      await savedResponses.save(h, r)
    },
  }
  const exec = createBlockExecutor({ maxClockDriftMs: 5000 }, {
    chainId: CHAIN, genesis, app, blockStore, stateStore, wal, mempool, evidencePool,
    clock: { now: () => now.t }, verify, responses, logger: silentLogger,
  })
  execRef = exec
  return {
    exec, now, app,
    close: async () => { await wal.close(); await evidencePool.close(); await blockStore.close(); await inner.close() },
  }
}

function signCommit (set: ValidatorSet, height: number, blockId: BlockId, signers: readonly Ed25519KeyPair[], time = T0): Commit {
  const votes = set.validators.flatMap((v, i) => {
    const key = signers.find((k) => toHex(k.publicKey) === toHex(v.pubKey))
    if (key === undefined) return []
    const unsigned = { type: 'precommit' as const, height, round: 0, blockId, timestamp: time, validatorAddress: v.address, validatorIndex: i }
    return [{ ...unsigned, signature: sign(key, voteSignBytes(CHAIN, unsigned)) }]
  })
  return makeCommit(set, height, 0, blockId, votes)
}

/** Proposes, commits (all four sign) and applies the next block; returns it. */
async function step (o: Opened, txs: Uint8Array[] = []): Promise<{ block: Block, blockId: BlockId }> {
  const s = o.exec.state()
  const proposer = proposerSetFor(s.validators).proposer.address
  const last = s.lastBlockHeight === 0 ? null : signCommit(s.lastValidators, s.lastBlockHeight, s.lastBlockId, keys)
  o.now.t += 1000
  const built = await o.exec.createProposalBlock(proposer, last)
  let block = built.block
  if (txs.length > 0) block = { ...block, txs, header: { ...block.header, dataHash: dataHash(txs) } }
  const parts = makePartSet(encodeBlock(block))
  const blockId = { hash: headerHash(block.header), partSetHeader: parts.header }
  const v = await o.exec.validateBlock(block, { checkDrift: true, processProposal: true })
  if (!v.ok) throw v.error
  await o.exec.applyBlock(block, parts, signCommit(s.validators, block.header.height, blockId, keys))
  return { block, blockId }
}

t.test('validation: every rule rejects on its own', async (t) => {
  const d = await newDisks(t)
  const o = await open(d)
  await o.exec.handshake()
  await step(o)
  await step(o)
  const s = o.exec.state()
  o.now.t += 1000
  const proposer = proposerSetFor(s.validators).proposer.address
  const lastCommit = signCommit(s.lastValidators, 2, s.lastBlockId, keys)
  const { block } = await o.exec.createProposalBlock(proposer, lastCommit)
  t.ok((await o.exec.validateBlock(block, { checkDrift: true, processProposal: true })).ok, 'the honest block is valid')

  const client = createTxClient(CHAIN, 9)
  const withHeader = (h: Partial<Block['header']>): Block => ({ ...block, header: { ...block.header, ...h } })
  const withCommit = (c: Commit): Block => ({ ...block, lastCommit: c, header: { ...block.header, lastCommitHash: commitHash(c) } })
  const badSig = signCommit(s.lastValidators, 2, s.lastBlockId, keys)
  badSig.signatures[1]!.signature = new Uint8Array(64).fill(7)
  const rejectTx = client.tx('reject-me')
  const outsider = keyPairFromSeed(new Uint8Array(32).fill(99))
  const cases: Array<[string, Block, RegExp, boolean?]> = [
    ['wrong chain id', withHeader({ chainId: 'other-chain' }), /chain id/],
    ['wrong height', withHeader({ height: 7 }), /height/],
    ['wrong last block id', withHeader({ lastBlockId: { ...block.header.lastBlockId, hash: sha256(utf8('x')) } }), /lastBlockId|another block/],
    ['wrong app hash', withHeader({ appHash: sha256(utf8('x')) }), /app hash/],
    ['wrong last results hash', withHeader({ lastResultsHash: sha256(utf8('x')) }), /last results hash/],
    ['wrong validators hash', withHeader({ validatorsHash: sha256(utf8('x')) }), /validators hash/],
    ['wrong next validators hash', withHeader({ nextValidatorsHash: validatorSetHash(newValidatorSet([{ pubKey: outsider.publicKey, votingPower: 1 }])) }), /next validators hash/],
    ['wrong consensus params hash', withHeader({ consensusHash: sha256(utf8('x')) }), /consensus params hash/],
    ['proposer not a validator', withHeader({ proposerAddress: new Uint8Array(20).fill(9) }), /not a validator/],
    ['time not after the previous block', withHeader({ time: s.lastBlockTime }), /not after/],
    ['time beyond our clock + drift', withHeader({ time: o.now.t + 5001 }), /ahead of our clock/],
    ['data hash does not match the txs', { ...block, txs: [client.tx('a=1')] }, /data hash/],
    ['last commit with a bad signature', withCommit(badSig), /wrong signature/],
    ['last commit without +2/3', withCommit(signCommit(s.lastValidators, 2, s.lastBlockId, keys.slice(0, 2))), /insufficient voting power/],
    ['no last commit above the initial height', { ...withHeader({ lastCommitHash: commitHash(null) }), lastCommit: null }, /needs a last commit/],
    ['the app rejects it', { ...block, txs: [rejectTx], header: { ...block.header, dataHash: dataHash([rejectTx]) } }, /application rejected/],
  ]
  for (const [name, b, re] of cases) {
    const r = await o.exec.validateBlock(b, { checkDrift: true, processProposal: true })
    t.notOk(r.ok, `${name}: rejected`)
    if (!r.ok) t.match(r.error.message, re, `${name}: ${r.error.message.slice(0, 120)}`)
  }
  t.ok((await o.exec.validateBlock(withHeader({ time: o.now.t + 5001 }), { checkDrift: false, processProposal: true })).ok, 'block sync does not check the drift')
  const bigTxs = Array.from({ length: 130 }, (_, i) => new Uint8Array(32 * 1024).fill(i))
  const big = await o.exec.validateBlock({ ...block, txs: bigTxs, header: { ...block.header, dataHash: dataHash(bigTxs) } }, { checkDrift: true, processProposal: true })
  t.match(big.ok ? '' : big.error.message, /bytes > max 4194304/, 'a block above consensus params block.maxBytes')
  await o.close()
})

t.test('chain state: validator updates take effect at H+2; round-0 proposer is CometBFT\'s', async (t) => {
  const d = await newDisks(t)
  const o = await open(d)
  const g = await o.exec.handshake()
  t.equal(toHex(proposerSetFor(g.validators).proposer.address), toHex(proposerSetFor(genesisSet).proposer.address))
  const client = createTxClient(CHAIN, 5)
  const newcomer = keyPairFromSeed(new Uint8Array(32).fill(50))
  await step(o)
  const { block: b2 } = await step(o, [client.tx(`val:${toHex(newcomer.publicKey)}:10`)])
  t.equal(b2.header.height, 2)
  const s2 = o.exec.state()
  t.equal(s2.validators.validators.length, 4, 'height 3 is still signed by the old set')
  t.equal(s2.nextValidators.validators.length, 5, 'height 4 gets the new validator')
  t.equal(s2.lastHeightValidatorsChanged, 4)
  await o.close()
})

t.test('handshake: initChain at genesis, and idempotent on restart before the first block', async (t) => {
  const d = await newDisks(t)
  const o = await open(d)
  const s = await o.exec.handshake()
  t.equal(s.lastBlockHeight, 0)
  t.equal(toHex(s.appHash), toHex(d.app.appHash), 'the genesis app hash is the app\'s')
  t.equal(o.app.calls.initChain, 1)
  await o.close()
  const o2 = await open(d)
  const s2 = await o2.exec.handshake()
  t.equal(toHex(s2.appHash), toHex(s.appHash), 'same state after a restart')
  await o2.close()
})

t.test('handshake: an app that lost its state replays the stored blocks; one ahead or on another hash refuses', async (t) => {
  const d = await newDisks(t)
  const o = await open(d)
  await o.exec.handshake()
  const client = createTxClient(CHAIN, 6)
  await step(o, [client.tx('a=1')])
  await step(o, [client.tx('b=2')])
  await step(o)
  const want = toHex(o.exec.state().appHash)
  await o.close()

  // the app's data is gone: it replays 1..3 from the block store and lands on the same hash
  const lost = { ...d, app: newKvDisk() }
  const o2 = await open(lost)
  const s = await o2.exec.handshake()
  t.equal(s.lastBlockHeight, 3)
  t.equal(toHex(lost.app.appHash), want, 'replayed to the recorded app hash')
  t.equal(o2.app.calls.finalizeBlock, 3, 'three blocks replayed')
  t.equal(lost.app.entries.get('b'), '2')
  await o2.close()

  // stores from scratch but the app has blocks: refuse
  const ahead = { ...(await newDisks(t)), app: d.app }
  const o3 = await open(ahead)
  await t.rejects(o3.exec.handshake(), /application is ahead/)
  await o3.close()

  // the app's hash differs from the chain's
  d.app.appHash = sha256(utf8('tampered'))
  const o4 = await open(d)
  await t.rejects(o4.exec.handshake(), /app hash/)
  await o4.close()
})

for (const persistAt of ['commit', 'finalize'] as const) {
  t.test(`handshake: a crash before the chain state is saved (app persists at ${persistAt})`, async (t) => {
    const d = await newDisks(t)
    const o = await open(d, { persistAt, failSaveStateAt: 3 })
    await o.exec.handshake()
    await step(o)
    await step(o)
    await t.rejects(step(o, [createTxClient(CHAIN, 8).tx('c=3')]), /crash before saving/)
    await o.close()
    t.equal(d.app.height, persistAt === 'finalize' ? 3 : 2, `the app is at ${persistAt === 'finalize' ? 3 : 2}`)

    const o2 = await open(d, { persistAt })
    const s = await o2.exec.handshake()
    t.equal(s.lastBlockHeight, 3, 'the chain state reaches the stored block 3')
    t.equal(toHex(s.appHash), toHex(d.app.appHash), 'and agrees with the app')
    t.equal(o2.app.calls.finalizeBlock ?? 0, persistAt === 'finalize' ? 0 : 1,
      persistAt === 'finalize' ? 'rebuilt from the saved finalize response, no app call' : 'block 3 executed again')
    t.equal(d.app.entries.get('c'), '3')
    await step(o2)
    t.equal(o2.exec.state().lastBlockHeight, 4, 'and the chain goes on')
    await o2.close()
  })
}

t.test('handshake: an app that persisted in finalizeBlock a block whose response was never saved is a clear error', async (t) => {
  // Apps that still write their state in finalizeBlock (state/app.ts no longer does) keep
  // this window: the engine has nothing to rebuild the block's chain state from.
  const d = await newDisks(t)
  const o = await open(d, { persistAt: 'finalize', failSaveResponseAt: 3 })
  await o.exec.handshake()
  await step(o)
  await step(o)
  await t.rejects(step(o), /crash before saving the finalize response/)
  await o.close()
  t.equal(d.app.height, 3, 'the app persisted block 3')
  const o2 = await open(d, { persistAt: 'finalize' })
  await t.rejects(o2.exec.handshake(), {
    code: 'ERR_STORE_NOT_FOUND',
    message: /executed block 3 but neither the chain state nor its finalize response was saved; restore the application state to height 2/,
  })
  await o2.close()
  // With the app's state reset (the simplest restore) the node replays 1-2 and applies 3.
  const restored = { ...d, app: newKvDisk() }
  const o3 = await open(restored)
  await o3.exec.handshake()
  t.equal(o3.exec.state().lastBlockHeight, 3, 'after a restore the node starts')
  t.equal(restored.app.height, 3)
  await o3.close()
})
