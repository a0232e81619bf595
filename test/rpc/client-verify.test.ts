/**
 * Verified queries (rpc/client.ts `query` with state/client.ts appQueryCodec) over a chain
 * with real app state, real headers and real precommit signatures (./helpers/signed-chain.ts):
 * the answer verifies; each way of lying fails at its own step — a tampered value or a wrong
 * app hash at 'proof', a forged header at 'header', a substituted validator set at
 * 'validators', a commit without +2/3 or with a bad signature at 'commit', a set the client
 * does not trust at 'trust', a failed query at 'query'.
 */
import t, { type Test } from 'tap'
import type { QueryResponse } from '../../src/abci.ts'
import { toHex } from '../../src/bytes.ts'
import { encode, decode } from '../../src/codec/index.ts'
import { sha256 } from '../../src/crypto/hash.ts'
import { utf8 } from '../../src/bytes.ts'
import { newValidatorSet } from '../../src/types/index.ts'
import { createClient, ProofVerificationError, type AidClient, type VerifyStep } from '../../rpc/client.ts'
import { appQueryCodec, type QueryEntry } from '../../state/client.ts'
import { QueryEntriesSchema } from '../../state/query.ts'
import { hexOf, pub } from '../state/helpers.ts'
import { buildSignedChain, VALIDATOR_KEYS, type SignedChain, type SignedChainOptions } from './helpers/signed-chain.ts'
import { startHarness } from './helpers/setup.ts'

const BLOCKS: SignedChainOptions['blocks'] = [
  [['mca', { type: 'office.register', value: { id: 10, level: 'province', department: 'civil-affairs', region: '420000', pubKey: pub('a-ca'), delegatedApproval: false } }]],
  [['mof', { type: 'office.register', value: { id: 11, level: 'province', department: 'finance', region: '420000', pubKey: pub('a-fin'), delegatedApproval: false } }]],
]

async function setup (t: Test, o: Partial<SignedChainOptions> = {}, trust?: 'node'): Promise<{ sc: SignedChain, c: AidClient }> {
  const sc = await buildSignedChain({ blocks: BLOCKS, ...o })
  const h = await startHarness({ backend: sc.backend })
  const c = createClient({ url: h.server.url(), codec: appQueryCodec, pollMs: 20, ...(trust === undefined ? {} : { trust }) })
  t.teardown(async () => { await c.close(); await h.close(); await sc.close() })
  return { sc, c }
}

async function failsAt (t: Test, p: Promise<unknown>, step: VerifyStep, pattern: RegExp): Promise<void> {
  const err = await p.then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof ProofVerificationError, `rejected with a ProofVerificationError (${String(err)})`)
  if (err instanceof ProofVerificationError) {
    t.equal(err.step, step, `failed step: ${step}`)
    t.match(err.message, pattern)
    t.equal(err.code, 'ERR_CLIENT_VERIFY')
  }
}

t.test('a query verifies against the next header, signed by +2/3 of the trusted set', async (t) => {
  const { sc, c } = await setup(t)
  t.equal(sc.results.flat().every((r) => r.code === 0), true, 'setup txs committed')
  const r = await c.query<QueryEntry[]>('/office/10')
  t.equal(r.verified, true)
  t.equal(r.height, 2, 'latest state')
  t.match(r.proof, { height: 3, signedPower: 40, totalPower: 40, trust: 'same-set' })
  t.equal(r.proof?.appHash, toHex(sc.chain.entries[2]?.block.header.appHash ?? new Uint8Array(0)).toUpperCase())
  t.match(r.value[0]?.record, { id: 10, level: 'province', region: '420000', pubKey: hexOf(pub('a-ca')), parentId: 1 })

  const absent = await c.query<QueryEntry[]>('/office/99')
  t.equal(absent.verified, true, 'absence is proven (non-membership)')
  t.equal(absent.value[0]?.record, null)

  const older = await c.query<QueryEntry[]>('/office/11', { height: 1 })
  t.equal(older.height, 1)
  t.equal(older.proof?.height, 2, 'the state after block 1 is proven by header 2')
  t.equal(older.value[0]?.record, null, 'office 11 did not exist yet')

  const byKey = await c.query<QueryEntry[]>(`/office-by-key/${hexOf(pub('a-fin'))}`)
  t.equal(byKey.value.length, 2)
  t.match(byKey.value[1]?.record, { id: 11 })

  const unproven = await c.query<QueryEntry[]>('/office/10', { prove: false })
  t.equal(unproven.verified, false)
  t.equal(unproven.proof, undefined)
  t.same(unproven.value, r.value)

  const vh = await c.verifiedHeader(2)
  t.equal(vh.header.height, 2)
  t.equal(vh.tally.signedPower, 40)
})

t.test('tampered value: the proof step fails', async (t) => {
  const { sc, c } = await setup(t)
  sc.backend.abciQuery = async (req) => {
    const resp = await sc.app.query(req)
    const { entries } = decode(QueryEntriesSchema, resp.value)
    const e = entries[0]
    if (e?.value !== null && e?.value !== undefined) {
      const v = new Uint8Array(e.value)
      v[v.length - 1] = (v[v.length - 1] ?? 0) ^ 1 // e.g. createdHeight 1 → 0
      entries[0] = { key: e.key, value: v }
    }
    return { ...resp, value: encode(QueryEntriesSchema, { entries }) }
  }
  await failsAt(t, c.query('/office/10'), 'proof', /entry 0 \(key .*\) does not verify against the app hash/)
  sc.backend.abciQuery = async (req) => ({ ...(await sc.app.query(req)), proofOps: [] })
  await failsAt(t, c.query('/office/10'), 'proof', /1 entries but 0 proof ops/)
})

t.test('wrong app hash in a correctly signed header: the proof step fails', async (t) => {
  const { c } = await setup(t, { topAppHash: sha256(utf8('not the state root')) })
  await failsAt(t, c.query('/office/10'), 'proof', /does not verify against the app hash/)
  const ok = await c.query<QueryEntry[]>('/office/10', { height: 1 })
  t.equal(ok.verified, true, 'older heights, proven by honest headers, still verify')
})

t.test('commit not signed by +2/3: the commit step fails', async (t) => {
  const { c } = await setup(t, { signers: (h) => (h === 3 ? [0, 1] : [0, 1, 2, 3]) })
  await failsAt(t, c.query('/office/10'), 'commit', /insufficient voting power: commit slots hold 20 of 40, need more than 26/)
  t.equal((await c.query('/office/10', { height: 1 })).verified, true, 'height 2 is signed by all four')
})

t.test('a forged signature: the commit step fails', async (t) => {
  const { sc, c } = await setup(t)
  const top = sc.chain.entries[sc.chain.entries.length - 1]
  const sig = top?.seenCommit.signatures[2]
  if (sig === undefined) throw new Error('no slot')
  sig.signature = new Uint8Array(sig.signature)
  sig.signature[0] = (sig.signature[0] ?? 0) ^ 0xff
  await failsAt(t, c.query('/office/10'), 'commit', /wrong signature from validator 2/)
})

t.test('a forged header (its hash is not what the commit signs): the header step fails', async (t) => {
  const { sc, c } = await setup(t)
  const real = sc.backend.blocks.loadBlockMeta
  sc.backend.blocks.loadBlockMeta = async (h) => {
    const m = await real(h)
    return m === undefined || h !== 3 ? m : { ...m, header: { ...m.header, appHash: sha256(utf8('forged')) } }
  }
  await failsAt(t, c.query('/office/10'), 'header', /header hash [0-9A-F]{64} is not the block id [0-9A-F]{64} the commit signs/)
})

t.test('a validator set that is not the header\'s: the validators step fails', async (t) => {
  const { sc, c } = await setup(t)
  const other = newValidatorSet([0, 1, 2, 3].map((i) => ({ pubKey: pub(`stranger-${i}`), votingPower: 10 })))
  sc.backend.state.loadValidators = async () => other
  await failsAt(t, c.query('/office/10'), 'validators', /validator set hash [0-9A-F]{64} is not the header's validators_hash/)
})

t.test('a chain signed by validators the client does not trust: the trust step fails', async (t) => {
  const strangers = [0, 1, 2, 3].map((i) => pub(`genesis-val-${i}`))
  const { c } = await setup(t, { genesisKeys: strangers })
  await failsAt(t, c.query('/office/10'), 'trust', /validators trusted by the client signed 0 of their 40 power, need more than 1\/3/)
  const real = VALIDATOR_KEYS.map((k) => k.publicKey)
  const { c: changed } = await setup(t, { genesisKeys: [...real.slice(0, 3), strangers[0] as Uint8Array] })
  const r1 = await changed.query('/office/10')
  t.equal(r1.proof?.trust, 'overlap', 'a changed set is accepted when > 1/3 of the trusted power signed for it')
  const { c: few } = await setup(t, { genesisKeys: [real[0] as Uint8Array, ...strangers.slice(1)] })
  await failsAt(t, few.query('/office/10'), 'trust', /signed 10 of their 40 power/)
  const { c: lax } = await setup(t, { genesisKeys: strangers }, 'node')
  const r = await lax.query('/office/10')
  t.equal(r.verified, true)
  t.equal(r.proof?.trust, 'unchecked', "trust 'node' checks header and commit only")
})

t.test('a query the app refuses fails at the query step; a missing next block at the header step', async (t) => {
  const { sc, c } = await setup(t)
  await failsAt(t, c.query('/office/not-a-number'), 'query', /code 151: QUERY_BAD_ARGS/)
  const real = sc.backend.abciQuery
  sc.backend.abciQuery = async (req) => ({ ...(await real(req)), height: 3 }) as QueryResponse
  await failsAt(t, c.query('/office/10', { waitMs: 100 }), 'header', /block 4 \(whose header commits this state\) did not appear/)
})
