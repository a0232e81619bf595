/**
 * The consensus state store against a model: a chain of states with validator-set and
 * params changes is saved height by height as CometBFT's updateState would produce them;
 * every height's validators (with priorities) and params must load back as the model says,
 * while unchanged sets are not copied into every height's record.
 */
import t from 'tap'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { openConsensusStateStore, type ConsensusStateStore } from '../../../src/store/index.ts'
import { heightKey, singletonKey, type StoreDb } from '../../../src/store/db.ts'
import {
  type ChainState, type ConsensusParams, type ValidatorSet, defaultConsensusParams, nilBlockId,
} from '../../../src/types/index.ts'
import { withDir } from './helpers.ts'
import { deepEqual } from '../codec/fuzz-helpers.ts'
import { CHAIN_ID, makeValidators } from '../types/fixtures.ts'

/** A stand-in for consensus/'s IncrementProposerPriority: additive, so inc(inc(s,a),b) = inc(s,a+b). */
function inc (set: ValidatorSet, times: number): ValidatorSet {
  return { validators: set.validators.map((v) => ({ ...v, proposerPriority: v.proposerPriority + BigInt(v.votingPower * times) })) }
}


function genesisState (initialHeight: number, vals: ValidatorSet, params: ConsensusParams): ChainState {
  return {
    chainId: CHAIN_ID,
    initialHeight,
    lastBlockHeight: 0,
    lastBlockId: nilBlockId(),
    lastBlockTime: 1_700_000_000_000,
    nextValidators: inc(vals, 1),
    validators: vals,
    lastValidators: { validators: [] },
    lastHeightValidatorsChanged: initialHeight,
    consensusParams: params,
    lastHeightConsensusParamsChanged: initialHeight,
    lastResultsHash: new Uint8Array(0),
    appHash: new Uint8Array(0),
  }
}

/** CometBFT updateState, reduced to what the store sees. */
function nextState (s: ChainState, newVals: ValidatorSet | undefined, newParams: ConsensusParams | undefined): ChainState {
  const h = s.lastBlockHeight === 0 ? s.initialHeight : s.lastBlockHeight + 1
  let nVals = s.nextValidators
  let lastVals = s.lastHeightValidatorsChanged
  if (newVals !== undefined) {
    nVals = newVals
    lastVals = h + 2
  }
  return {
    ...s,
    lastBlockHeight: h,
    lastBlockId: { hash: new Uint8Array(32).fill(h % 256), partSetHeader: { total: 1, hash: new Uint8Array(32).fill(1) } },
    lastBlockTime: s.lastBlockTime + 1000,
    lastValidators: s.validators,
    validators: s.nextValidators,
    nextValidators: inc(nVals, 1),
    lastHeightValidatorsChanged: lastVals,
    consensusParams: newParams ?? s.consensusParams,
    lastHeightConsensusParamsChanged: newParams !== undefined ? h + 1 : s.lastHeightConsensusParamsChanged,
    appHash: new Uint8Array(32).fill(7),
  }
}

const v0 = makeValidators([1, 2, 3], 'a').set
const v1 = makeValidators([5, 5], 'b').set
const v2 = makeValidators([1, 1, 1, 1], 'c').set
const p0 = defaultConsensusParams()
const p1: ConsensusParams = { ...p0, block: { maxBytes: 1 << 20, maxGas: 0 } }

interface Model { vals: Map<number, ValidatorSet>, params: Map<number, ConsensusParams>, states: ChainState[] }

/** Saves N heights from genesis; records what each height's validators and params must be. */
async function runChain (store: ConsensusStateStore, initialHeight: number, n: number): Promise<Model> {
  const model: Model = { vals: new Map(), params: new Map(), states: [] }
  let s = genesisState(initialHeight, v0, p0)
  await store.saveState(s)
  model.vals.set(initialHeight, s.validators)
  model.vals.set(initialHeight + 1, s.nextValidators)
  model.params.set(initialHeight, s.consensusParams)
  model.states.push(s)
  for (let i = 0; i < n; i++) {
    const h = initialHeight + i
    const newVals = i === 6 ? v1 : i === 13 ? v2 : undefined
    const newParams = i === 4 ? p1 : undefined
    s = nextState(s, newVals, newParams)
    await store.saveState(s)
    model.vals.set(h + 2, s.nextValidators)
    model.params.set(h + 1, s.consensusParams)
    model.states.push(s)
  }
  return model
}

t.test('validators and params by height follow the model, across checkpoints and reopen', async (t) => withDir(t, async (dir) => {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, 'db'), { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  const open = () => openConsensusStateStore({ db: db as unknown as StoreDb, incrementProposerPriority: inc, checkpointInterval: 8 })
  let store = await open()
  t.equal(await store.loadState(), undefined, 'no state before the first save')
  const model = await runChain(store, 1, 20)
  for (let round = 0; round < 2; round++) {
    for (const [h, expected] of model.vals) {
      t.ok(deepEqual(await store.loadValidators(h), expected), `validators at ${h}`)
    }
    for (const [h, expected] of model.params) {
      t.ok(deepEqual(await store.loadConsensusParams(h), expected), `params at ${h}`)
    }
    t.ok(deepEqual(await store.loadState(), model.states.at(-1)), 'the last state')
    await store.close()
    store = await open()
  }
  t.equal(await store.loadValidators(0), undefined)
  t.equal(await store.loadValidators(23), undefined, 'nothing beyond lastBlockHeight + 2')
  t.equal(await store.loadConsensusParams(22), undefined)
  // Storage: a full set only where it changed (1, 9, 16) and at checkpoints (8, 16)
  const full: number[] = []
  for (let h = 1; h <= 22; h++) {
    const raw = await db.get(heightKey('validators', h).key)
    t.ok(raw !== undefined, `record at ${h}`)
    if (raw !== undefined && raw.length > 16) full.push(h)
  }
  t.same(full, [1, 8, 9, 16], 'full sets stored at changes and checkpoints only')
  await store.close()
  await db.close()
}))

t.test('a chain starting at initial height 100', async (t) => withDir(t, async (dir) => {
  const store = await openConsensusStateStore({ path: dir, incrementProposerPriority: inc })
  const model = await runChain(store, 100, 3)
  t.equal(await store.loadValidators(99), undefined)
  t.ok(deepEqual(await store.loadValidators(100), v0))
  t.ok(deepEqual(await store.loadValidators(101), inc(v0, 1)))
  for (const [h, expected] of model.vals) t.ok(deepEqual(await store.loadValidators(h), expected), `validators at ${h}`)
  t.equal((await store.loadState())?.lastBlockHeight, 102)
  await store.close()
}))

t.test('corrupt records give ERR_STORE_CORRUPT naming the key', async (t) => withDir(t, async (dir) => {
  const db = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, 'db'), { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  const store = await openConsensusStateStore({ db: db as unknown as StoreDb, incrementProposerPriority: inc, checkpointInterval: 1000 })
  await runChain(store, 1, 12)
  // heights 10.. point back to the change at 9; remove the full set there
  await db.put(heightKey('validators', 9).key, new Uint8Array([0x92, 0x09, 0xc0]))
  await t.rejects(store.loadValidators(11), { code: 'ERR_STORE_CORRUPT', at: 'validators/9', message: /validators\/11 points to it/ })
  await db.put(heightKey('validators', 10).key, new Uint8Array([0xa1, 0x78]))
  await t.rejects(store.loadValidators(10), { code: 'ERR_STORE_CORRUPT', at: 'validators/10' })
  await db.del(heightKey('consensusParams', 6).key)
  await t.rejects(store.loadConsensusParams(8), { code: 'ERR_STORE_CORRUPT', at: 'consensusParams/6' })
  await db.put(singletonKey('chainState').key, new Uint8Array([0x90]))
  await t.rejects(store.loadState(), { code: 'ERR_STORE_CORRUPT', at: 'chainState' })
  await store.close()
  await t.rejects(store.loadState(), { code: 'ERR_STORE_CLOSED' })
  await db.close()
}))

t.test('refused writes', async (t) => withDir(t, async (dir) => {
  const store = await openConsensusStateStore({ path: dir, incrementProposerPriority: inc })
  const s = genesisState(1, v0, p0)
  await t.rejects(store.saveState({ ...s, lastBlockHeight: 3, lastHeightValidatorsChanged: 9 }), { code: 'ERR_STORE_INVALID_WRITE', at: 'lastHeightValidatorsChanged' })
  await t.rejects(store.saveState({ ...s, lastBlockHeight: 3, lastHeightConsensusParamsChanged: 9 }), { code: 'ERR_STORE_INVALID_WRITE', at: 'lastHeightConsensusParamsChanged' })
  await t.rejects(store.saveState({ ...s, chainId: '' }), { code: 'ERR_CODEC_BAD_VALUE' }, 'a state that does not encode')
  t.equal(await store.loadState(), undefined, 'nothing was written')
  await store.close()
}))
