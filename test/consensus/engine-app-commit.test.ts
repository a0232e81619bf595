/**
 * Block execution (consensus/block-exec.ts) with the social-assistance app on its LevelDB
 * store (state/app.ts): the app's store version becomes durable only in app.commit(), so a
 * node killed at any step of applyBlock restarts and reaches the same app hash as a node
 * that never crashed. The crash points are the three writes after finalizeBlock: the
 * finalize response, the chain state, and the app's commit. The first was the window that
 * made a node refuse to start while the app still wrote its store inside finalizeBlock.
 */
import t from 'tap'
import { join } from 'node:path'
import { MemoryLevel } from 'memory-level'
import type { Application } from '../../src/abci.ts'
import { toHex } from '../../src/bytes.ts'
import { sign, verify } from '../../src/crypto/ed25519.ts'
import { silentLogger } from '../../src/log.ts'
import { openBlockStore, openConsensusStateStore, type StoreDb } from '../../src/store/index.ts'
import {
  dataHash, defaultConsensusParams, encodeBlock, headerHash, makePartSet, newValidatorSet, voteSignBytes,
  type BlockId, type ChainState, type Commit, type ValidatorSet,
} from '../../src/types/index.ts'
import {
  createBlockExecutor, createFinalizeResponseStore, evidencePoolDeps, incrementValidatorSet, makeCommit, proposerSetFor,
  type BlockExecutor, type FinalizeResponseStore, type ResponseDb,
} from '../../consensus/block-exec.ts'
import type { EngineGenesis } from '../../consensus/engine-types.ts'
import { openEvidencePool, type EvidenceDb } from '../../consensus/evidence-pool.ts'
import { createMempool } from '../../consensus/mempool.ts'
import { openWal } from '../../consensus/wal.ts'
import { createSocialApp } from '../../state/app.ts'
import { openAppStore } from '../../state/store-adapter.ts'
import { CHAIN, OPERATORS, T0, baseAppState, key, tx, verifier } from '../state/helpers.ts'
import { OFFICES, registerBody } from '../state/world.ts'
import { tempDir } from './shell-fixtures.ts'

type Level = MemoryLevel<Uint8Array, Uint8Array>
const level = (): Level => new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })

// The validators are the genesis operators' (test/state/helpers.ts baseAppState).
const keys = OPERATORS.map((o) => key(`val-${o}`))
const genesisSet = newValidatorSet(keys.map((k) => ({ pubKey: k.publicKey, votingPower: 10 })))
const genesis: EngineGenesis = {
  initialHeight: 1, genesisTimeMs: T0, validatorSet: genesisSet, consensusParams: defaultConsensusParams(),
  appStateBytes: new TextEncoder().encode(JSON.stringify(baseAppState())),
}

/** Block h registers OFFICES[h-1]: each office is signed by one registered before it, so a block depends on the state before it. */
function blockTxs (h: number): Uint8Array[] {
  const o = OFFICES[h - 1]
  if (o === undefined) throw new Error(`no office for block ${h}`)
  return [tx(o.signer, registerBody(o.name), { height: h, nonce: h }).bytes]
}

/** Everything that outlives the process: the engine's databases, the WAL and the app's LevelDB. */
interface Disks { block: Level, state: Level, evidence: Level, responses: Level, dir: string }

type CrashAt = 'response' | 'state' | 'app-commit'

interface Opened {
  exec: BlockExecutor
  now: { t: number }
  appInfo: () => ReturnType<Application['info']>
  close: () => Promise<void>
}

/** A node over `d`; with `crash`, the write named dies at height crash.height (nothing of it lands). */
async function open (d: Disks, now: { t: number }, crash?: { at: CrashAt, height: number }): Promise<Opened> {
  const die = (at: CrashAt, h: number): void => {
    if (crash !== undefined && crash.at === at && crash.height === h) throw new Error(`crash before ${at} at ${h}`)
  }
  const blockStore = await openBlockStore({ db: d.block as unknown as StoreDb, sync: false })
  const inner = await openConsensusStateStore({ db: d.state as unknown as StoreDb, sync: false, incrementProposerPriority: incrementValidatorSet })
  const stateStore = { ...inner, saveState: async (s: ChainState) => { die('state', s.lastBlockHeight); await inner.saveState(s) } }
  const savedResponses = createFinalizeResponseStore(d.responses as unknown as ResponseDb)
  const responses: FinalizeResponseStore = { ...savedResponses, save: async (h, r) => { die('response', h); await savedResponses.save(h, r) } }
  const wal = await openWal({ dir: join(d.dir, 'wal'), flushIntervalMs: 0, log: silentLogger })
  const appStore = await openAppStore({ path: join(d.dir, 'application.db'), sync: false })
  const social = createSocialApp({ store: appStore, verifier, chainId: CHAIN })
  let height = 0
  const app: Application = {
    ...social,
    finalizeBlock: async (r) => { height = r.height; return await social.finalizeBlock(r) },
    commit: async () => { die('app-commit', height); return await social.commit() },
  }
  const mempool = createMempool({ chainId: CHAIN }, { app, verifier: { verifyTxs: async (xs) => xs.map((x) => verify(x.pubKey, x.signBytes, x.signature)) } })
  let execRef: BlockExecutor | null = null
  const evidencePool = await openEvidencePool({ db: d.evidence as unknown as EvidenceDb }, evidencePoolDeps({
    chainId: CHAIN, blockStore, stateStore, chainState: () => execRef?.state(), consensusParams: genesis.consensusParams, logger: silentLogger,
  }))
  const exec = createBlockExecutor({ maxClockDriftMs: 5000 }, {
    chainId: CHAIN, genesis, app, blockStore, stateStore, wal, mempool, evidencePool,
    clock: { now: () => now.t }, verify, responses, logger: silentLogger,
  })
  execRef = exec
  return {
    exec,
    now,
    appInfo: async () => await social.info(),
    // A crash: the app store is closed with whatever it prepared never written.
    close: async () => { await wal.close(); await evidencePool.close(); await blockStore.close(); await inner.close(); await appStore.close() },
  }
}

function signCommit (set: ValidatorSet, height: number, blockId: BlockId): Commit {
  const votes = set.validators.flatMap((v, i) => {
    const k = keys.find((x) => toHex(x.publicKey) === toHex(v.pubKey))
    if (k === undefined) return []
    const unsigned = { type: 'precommit' as const, height, round: 0, blockId, timestamp: T0, validatorAddress: v.address, validatorIndex: i }
    return [{ ...unsigned, signature: sign(k, voteSignBytes(CHAIN, unsigned)) }]
  })
  return makeCommit(set, height, 0, blockId, votes)
}

/** Proposes, validates (with the app's processProposal) and applies the next block with its office registration. */
async function step (o: Opened): Promise<void> {
  const s = o.exec.state()
  const height = s.lastBlockHeight + 1
  const last = s.lastBlockHeight === 0 ? null : signCommit(s.lastValidators, s.lastBlockHeight, s.lastBlockId)
  o.now.t += 1000
  const built = await o.exec.createProposalBlock(proposerSetFor(s.validators).proposer.address, last)
  const txs = blockTxs(height)
  const block = { ...built.block, txs, header: { ...built.block.header, dataHash: dataHash(txs) } }
  const parts = makePartSet(encodeBlock(block))
  const blockId = { hash: headerHash(block.header), partSetHeader: parts.header }
  const v = await o.exec.validateBlock(block, { checkDrift: true, processProposal: true })
  if (!v.ok) throw v.error
  const r = await o.exec.applyBlock(block, parts, signCommit(s.validators, height, blockId))
  if (r.response.txResults[0]?.code !== 0) throw new Error(`block ${height}: ${r.response.txResults[0]?.log}`)
}

async function newDisks (t: Parameters<typeof tempDir>[0]): Promise<Disks> {
  return { block: level(), state: level(), evidence: level(), responses: level(), dir: await tempDir(t, 'aid-app-commit-') }
}

const HEIGHTS = 5
const CRASH_HEIGHT = 3

t.test('a node killed at each write after finalizeBlock restarts and reaches the uninterrupted app hash', async (t) => {
  // The reference: no crash.
  const ref = await open(await newDisks(t), { t: T0 })
  await ref.exec.handshake()
  const want: string[] = []
  for (let h = 1; h <= HEIGHTS; h++) {
    await step(ref)
    want.push(toHex(ref.exec.state().appHash))
  }
  await ref.close()

  // Where each crash leaves the durable pieces: [app height, chain state height].
  const after: Record<CrashAt, [number, number]> = {
    response: [CRASH_HEIGHT - 1, CRASH_HEIGHT - 1],
    state: [CRASH_HEIGHT - 1, CRASH_HEIGHT - 1],
    'app-commit': [CRASH_HEIGHT - 1, CRASH_HEIGHT],
  }
  for (const at of ['response', 'state', 'app-commit'] as const) {
    await t.test(`crash before the ${at} write of block ${CRASH_HEIGHT}`, async (t) => {
      const d = await newDisks(t)
      const now = { t: T0 }
      const o = await open(d, now, { at, height: CRASH_HEIGHT })
      await o.exec.handshake()
      for (let h = 1; h < CRASH_HEIGHT; h++) await step(o)
      await t.rejects(step(o), new RegExp(`crash before ${at}`), 'the node dies in applyBlock')
      await o.close()

      // What survived: the app's store stays at the block before.
      const inspect = await openConsensusStateStore({ db: d.state as unknown as StoreDb, sync: false, incrementProposerPriority: incrementValidatorSet })
      const saved = await inspect.loadState()
      await inspect.close()
      const appStore = await openAppStore({ path: join(d.dir, 'application.db'), sync: false })
      const appInfo = await createSocialApp({ store: appStore, verifier, chainId: CHAIN }).info()
      await appStore.close()
      const [appH, stateH] = after[at]
      t.equal(appInfo.lastBlockHeight, appH, `the app is at ${appH}`)
      t.equal(toHex(appInfo.lastBlockAppHash), want[appH - 1], 'with that block\'s app hash')
      t.equal(saved?.lastBlockHeight, stateH, `the chain state is at ${stateH}`)

      // Restart: the handshake brings the app and the chain state to block 3.
      const o2 = await open(d, now)
      const s = await o2.exec.handshake()
      t.equal(s.lastBlockHeight, CRASH_HEIGHT, 'the chain state reaches the stored block')
      t.equal(toHex(s.appHash), want[CRASH_HEIGHT - 1], 'with the uninterrupted app hash')
      const info = await o2.appInfo()
      t.equal(info.lastBlockHeight, CRASH_HEIGHT, 'the app committed the block')
      t.equal(toHex(info.lastBlockAppHash), want[CRASH_HEIGHT - 1], 'and agrees with the chain')
      for (let h = CRASH_HEIGHT + 1; h <= HEIGHTS; h++) await step(o2)
      t.equal(toHex(o2.exec.state().appHash), want[HEIGHTS - 1], 'the chain goes on to the same app hash')
      await o2.close()
    })
  }
})
