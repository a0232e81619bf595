/**
 * Envelope checks and the strict body decoder: every envelope and BODY_* result code;
 * replay protection (many txs in flight per office, sign-bytes replay rejected until
 * expiry, expired entries pruned at block boundaries); checkTx against the check-state;
 * prepareProposal and processProposal.
 */
import t from 'tap'
import { Packr } from 'msgpackr'
import { CHAIN, id, newChain, pub, rawTx, tx, hexOf } from '../helpers.ts'
import { encode } from '../../../src/codec/index.ts'
import { TxEnvelopeSchema } from '../../../src/types/tx.ts'
import { resultName } from '../../../state/codes.ts'
import { K } from '../../../state/keys.ts'
import { decodeQueryValue } from '../../../state/query.ts'

const packr = new Packr({ useRecords: false, moreTypes: false, bundleStrings: false, variableMapSize: true })
const pack = (v: unknown): Uint8Array => new Uint8Array(packr.pack(v))
const subj = id('p1')

t.test('strict body decoder: fields outside the schema and every BODY_* code', async (t) => {
  const c = await newChain()
  const good = pack(['application.submit', [subj, 1001]])
  const nonCanonical = Buffer.from(good)
  const at = nonCanonical.indexOf(Buffer.from([0xcd, 0x03, 0xe9]))
  t.ok(at > 0)
  const longForm = Buffer.concat([nonCanonical.subarray(0, at), Buffer.from([0xce, 0, 0, 0x03, 0xe9]), nonCanonical.subarray(at + 3)])
  const cases: Array<[string, Uint8Array, string]> = [
    ['extra field (a smuggled name)', pack(['application.submit', [subj, 1001, 'Zhang San']]), 'BODY_UNKNOWN_FIELD'],
    ['extra element in the union pair', pack(['application.submit', [subj, 1001], 'note']), 'BODY_UNKNOWN_FIELD'],
    ['missing field', pack(['application.submit', [subj]]), 'BODY_MISSING_FIELD'],
    ['wrong type', pack(['application.submit', [subj, '1001']]), 'BODY_WRONG_TYPE'],
    ['free text where an enum is', pack(['consent.revoke', [subj, 'any purpose I like']]), 'BODY_BAD_VALUE'],
    ['unknown operation', pack(['note.add', [subj]]), 'BODY_BAD_VALUE'],
    ['bad region code', pack(['emergency.declare', ['Beijing', 0, 1, ['publicity'], 1]]), 'BODY_BAD_VALUE'],
    ['township code under a city code', pack(['emergency.declare', ['420100001', 0, 1, ['publicity'], 1]]), 'BODY_BAD_VALUE'],
    ['integer out of range', pack(['application.submit', [subj, 0]]), 'BODY_OUT_OF_RANGE'],
    ['id of the wrong length', pack(['application.submit', [new Uint8Array(33), 1001]]), 'BODY_TOO_LONG'],
    ['list too long', pack(['household.register', [subj, '420102001', '420102001', Array.from({ length: 33 }, () => subj), false]]), 'BODY_TOO_LONG'],
    ['non-canonical integer', new Uint8Array(longForm), 'BODY_NON_CANONICAL'],
    ['truncated msgpack', Uint8Array.of(0x92, 0xa5, 0x61), 'BODY_MALFORMED'],
    ['trailing bytes', new Uint8Array([...good, 0x00]), 'BODY_MALFORMED'],
  ]
  const res = await c.block(cases.map(([, body]) => rawTx('mca', body, { expiresAtHeight: 50 })))
  cases.forEach(([label, , want], i) => t.equal(resultName(res.txResults[i]?.code ?? -1), want, `${label}: ${res.txResults[i]?.log}`))
  t.equal(resultName(res.txResults[cases.length - 1]?.code ?? -1), 'BODY_MALFORMED')
})

t.test('envelope checks', async (t) => {
  const c = await newChain()
  const body = { type: 'consent.revoke' as const, value: { householdId: id('h'), purpose: 'data-sharing' as const } }
  const okTx = tx('mca', { type: 'program.create', value: { id: 7, category: 'dibao', group: 'basic-living', payment: 'monthly', standardFen: 1, approvalLevel: 'county' } }, { expiresAtHeight: 3 })
  const badSig = tx('mca', body, { expiresAtHeight: 20 }).bytes.slice()
  badSig[badSig.length - 5] = (badSig[badSig.length - 5] as number) ^ 1
  const res = await c.block([
    new Uint8Array([1, 2, 3]),
    new Uint8Array(40_000),
    tx('mca', body, { chainId: 'other-chain', expiresAtHeight: 20 }),
    tx('mca', body, { expiresAtHeight: 0 }),
    tx('mca', body, { expiresAtHeight: 5000 }),
    badSig,
    tx('stranger', body, { expiresAtHeight: 20 }),
    okTx,
    okTx,
    tx('mca', body, { expiresAtHeight: 20 }),
  ])
  t.same(res.txResults.map((r) => resultName(r.code)), [
    'TX_MALFORMED', 'TX_TOO_LARGE', 'WRONG_CHAIN', 'TX_EXPIRED', 'TX_TTL_TOO_LONG', 'BAD_SIGNATURE', 'UNKNOWN_SIGNER', 'OK', 'TX_REPLAYED',
    'FORBIDDEN_LEVEL',
  ])
  t.ok(res.txResults.every((r) => r.code === 0 || r.codespace === 'aidledger'))
  // Replay in a later block, and a failed tx's sign bytes are consumed too.
  const failed = tx('mca', body, { expiresAtHeight: 20 })
  const res2 = await c.block([okTx, failed])
  t.same(res2.txResults.map((r) => resultName(r.code)), ['TX_REPLAYED', 'FORBIDDEN_LEVEL'])
  const res3 = await c.block([failed])
  t.same(res3.txResults.map((r) => resultName(r.code)), ['TX_REPLAYED'])
  // Many txs of one office in flight: distinct nonces, same body, one block.
  const many = Array.from({ length: 20 }, (_, i) => tx('mca', { type: 'program.create', value: { id: 100 + i, category: 'dibao', group: 'basic-living', payment: 'monthly', standardFen: 1, approvalLevel: 'county' } }, { expiresAtHeight: 30 }))
  const res4 = await c.block(many)
  t.ok(res4.txResults.every((r) => r.code === 0), 'one office, 20 txs in one block')
  // Pruning: okTx expired at 3; by now (height 5) its replay entry is gone.
  const rq = await c.app.query({ path: `/store/${hexOf(K.replay(okTx.opId))}`, data: new Uint8Array(0), height: 0, prove: false })
  t.equal(decodeQueryValue(rq.value)[0]?.record, null, 'expired replay entry pruned at a block boundary')
  const fq = await c.app.query({ path: `/store/${hexOf(K.replay(failed.opId))}`, data: new Uint8Array(0), height: 0, prove: false })
  t.not(decodeQueryValue(fq.value)[0]?.record, null, 'unexpired entry kept')
  t.equal(resultName((await c.block([okTx])).txResults[0]?.code ?? -1), 'TX_EXPIRED', 'an expired tx cannot come back')
})

t.test('checkTx, prepareProposal, processProposal', async (t) => {
  const c = await newChain()
  const reg = tx('mca', { type: 'office.register', value: { id: 10, level: 'province', department: 'civil-affairs', region: '420000', pubKey: pub('a-ca'), delegatedApproval: false } }, { expiresAtHeight: 50 })
  const dependent = tx('a-ca', { type: 'program.create', value: { id: 2, category: 'dibao', group: 'basic-living', payment: 'monthly', standardFen: 1, approvalLevel: 'county' } }, { expiresAtHeight: 50 })
  const failing = tx('mca', { type: 'consent.revoke', value: { householdId: id('h'), purpose: 'data-sharing' } }, { expiresAtHeight: 50 })
  t.equal((await c.app.checkTx(dependent.bytes, 'new')).code, 15, 'unknown signer before its registration')
  const r1 = await c.app.checkTx(reg.bytes, 'new')
  t.equal(r1.code, 0)
  t.equal(r1.sender, hexOf(pub('mca')))
  t.equal((await c.app.checkTx(dependent.bytes, 'new')).code, 0, 'check-state sees the registration')
  t.equal(resultName((await c.app.checkTx(reg.bytes, 'new')).code), 'TX_REPLAYED', 'duplicate in the mempool')
  t.equal(resultName((await c.app.checkTx(failing.bytes, 'new')).code), 'FORBIDDEN_LEVEL')
  t.equal(resultName((await c.app.checkTx(failing.bytes, 'recheck')).code), 'FORBIDDEN_LEVEL', 'a failed check leaves no trace')
  t.equal((await c.app.checkTx(new Uint8Array([9]), 'new')).sender, '')

  const header = { height: c.height + 1, time: c.time + 1000, proposerAddress: new Uint8Array(20) }
  const badSig = reg.bytes.slice()
  badSig[badSig.length - 1] = (badSig[badSig.length - 1] as number) ^ 1
  const picked = await c.app.prepareProposal({ ...header, txs: [badSig, dependent.bytes, reg.bytes, failing.bytes, reg.bytes, dependent.bytes], maxTxBytes: 1_000_000 })
  t.same(picked.map(hexOf), [reg.bytes, dependent.bytes].map(hexOf), 'drops bad signature, would-fail, out-of-order and duplicate txs')
  const small = await c.app.prepareProposal({ ...header, txs: [reg.bytes, dependent.bytes], maxTxBytes: reg.bytes.length + 10 })
  t.equal(small.length, 1, 'respects maxTxBytes')
  const pp = { ...header, hash: new Uint8Array(32) }
  t.equal(await c.app.processProposal({ ...pp, txs: [reg.bytes, failing.bytes] }), 'accept', 'a tx failing in its body is acceptable')
  t.equal(await c.app.processProposal({ ...pp, txs: [reg.bytes, badSig] }), 'reject', 'bad signature')
  t.equal(await c.app.processProposal({ ...pp, txs: [reg.bytes, reg.bytes] }), 'reject', 'duplicate')
  t.equal(await c.app.processProposal({ ...pp, txs: [new Uint8Array([1])] }), 'reject', 'malformed')
  const wrongChain = tx('mca', { type: 'consent.revoke', value: { householdId: id('h'), purpose: 'data-sharing' } }, { chainId: 'x', expiresAtHeight: 50 })
  t.equal(await c.app.processProposal({ ...pp, txs: [wrongChain.bytes] }), 'reject', 'wrong chain')

  // After a commit the check-state is rebuilt from the new state.
  await c.block([reg])
  t.equal(resultName((await c.app.checkTx(reg.bytes, 'recheck')).code), 'TX_REPLAYED', 'committed tx rejected on recheck')
  t.equal((await c.app.checkTx(dependent.bytes, 'recheck')).code, 0)
  const info = await c.app.info()
  t.equal(info.lastBlockHeight, c.height)
  t.same(info.lastBlockAppHash, c.appHashes[c.height])
  void encode(TxEnvelopeSchema, { chainId: CHAIN, signer: pub('x'), expiresAtHeight: 1, nonce: 1, body: new Uint8Array(1), signature: new Uint8Array(64) })
})
