/**
 * The package entry (src/index.ts): connect() = the JSON-RPC client wired to the app —
 * typed builders sign with the node's chain id and latest height + ttl, and queries come
 * back decoded and verified with the app's codec.
 */
import t from 'tap'
import { connect, decodeAppTx, generateKeyPair, tx, body, opName, BODY_TYPES, toHex } from '../../src/index.ts'
import { sha256 } from '../../src/crypto/hash.ts'
import { utf8 } from '../../src/bytes.ts'
import { startHarness } from '../rpc/helpers/setup.ts'
import { buildSignedChain } from '../rpc/helpers/signed-chain.ts'
import { pub } from '../state/helpers.ts'

const signer = generateKeyPair(sha256(utf8('entry test office')))

t.test('every operation has a body builder, a tx builder and a connected builder', async (t) => {
  const h = await startHarness()
  t.teardown(() => h.close())
  const c = connect({ url: h.server.url() })
  t.teardown(() => c.close())
  for (const type of BODY_TYPES) {
    const name = opName(type)
    t.type((body as Record<string, unknown>)[name], 'function', `body.${name}`)
    t.type((tx as Record<string, unknown>)[name], 'function', `tx.${name}`)
    t.type((c.txs as Record<string, unknown>)[name], 'function', `c.txs.${name}`)
  }
  const s = await c.txs.applicationSubmit({ subjectId: sha256(utf8('p')), programId: 1001 }, { signer, ttl: 5, nonce: 9 })
  const d = decodeAppTx(s.bytes)
  t.equal(d.envelope.chainId, 'aidledger-test', "the node's chain id")
  t.equal(d.envelope.expiresAtHeight, 10, 'latest height 5 + ttl 5')
  t.same(d.body, { type: 'application.submit', value: { subjectId: sha256(utf8('p')), programId: 1001 } })
  t.equal(toHex(s.opId), toHex(d.opId))
  const offline = tx.officeSuspend({ officeId: 3, suspended: true }, { signer, chainId: 'x', expiresAtHeight: 4 })
  t.same(decodeAppTx(offline.bytes).body, { type: 'office.suspend', value: { officeId: 3, suspended: true } })
  t.throws(() => body.budgetAllocate({ programId: 1, year: 1999, amountFen: 1 }), { code: 'ERR_CODEC_OUT_OF_RANGE' })
})

t.test('connect().query verifies with the app codec', async (t) => {
  const sc = await buildSignedChain({ blocks: [[['mca', { type: 'office.register', value: { id: 10, level: 'province', department: 'civil-affairs', region: '420000', pubKey: pub('a-ca'), delegatedApproval: false } }]]] })
  const h = await startHarness({ backend: sc.backend })
  const c = connect({ url: h.server.url(), pollMs: 20 })
  t.teardown(async () => { await c.close(); await h.close(); await sc.close() })
  const r = await c.query('/office/10')
  t.equal(r.verified, true)
  t.equal(r.proof?.height, 2)
  t.match(r.value[0]?.record, { id: 10, region: '420000' })
})
