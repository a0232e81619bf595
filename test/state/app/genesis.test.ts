/**
 * Genesis app_state: the default validates and boots; every malformed or rule-breaking
 * app_state is refused with ERR_GENESIS_INVALID naming the offending JSON path.
 */
import t from 'tap'
import { baseAppState, hexOf, initRequest, pub, VALIDATORS, verifier, CHAIN } from '../helpers.ts'
import { defaultAppState, validateAppState } from '../../../state/genesis.ts'
import { createSocialApp } from '../../../state/app.ts'
import { createMemoryStore } from '../../../state/memory-kv.ts'
import { decodeQueryValue } from '../../../state/query.ts'
import { isAidError } from '../../../src/errors.ts'

t.test('defaultAppState validates and boots', async (t) => {
  const state = defaultAppState({
    operators: VALIDATORS.map((v, i) => ({ operatorKey: pub(`op-${i}`), validatorPubKey: v.pubKey })),
    ministryKeys: { 'civil-affairs': pub('mca'), finance: pub('mof') },
    year: 2026,
  })
  const parsed = await validateAppState(JSON.parse(JSON.stringify(state)), VALIDATORS)
  t.equal(parsed.offices.length, 2)
  t.equal(parsed.programs[0]?.id, 1001)
  const app = createSocialApp({ store: createMemoryStore(), verifier, chainId: CHAIN, maxTxTtl: 77 })
  const init = await app.initChain(initRequest(state))
  t.equal(init.appHash.length, 32)
  const budget = decodeQueryValue((await app.query({ path: '/budget/1001/2026/000000', data: new Uint8Array(0), height: 0, prove: false })).value)
  t.match(budget[0]?.record, { allocated: 1_000_000_000_000, committed: 0, paid: 0 })
  const params = decodeQueryValue((await app.query({ path: '/params', data: new Uint8Array(0), height: 0, prove: false })).value)
  t.equal((params[0]?.record as { maxTxTtl: number }).maxTxTtl, 1000, 'app_state params win over the node default')
  const bare = createSocialApp({ store: createMemoryStore(), verifier, maxTxTtl: 77 })
  await bare.initChain(initRequest({ operators: [] }))
  const p2 = decodeQueryValue((await bare.query({ path: '/params', data: new Uint8Array(0), height: 0, prove: false })).value)
  t.equal((p2[0]?.record as { maxTxTtl: number }).maxTxTtl, 77, 'node default when app_state is silent')
  t.same(await validateAppState(defaultAppState({ operators: [] })), { params: parsed.params, operators: [], offices: [], programs: [], budgets: [] })
  const other = createSocialApp({ store: createMemoryStore(), verifier, chainId: 'another-chain' })
  await t.rejects(other.initChain(initRequest()), { code: 'ERR_GENESIS_INVALID' }, 'chain id must match the configured one')
})

t.test('invalid app_state is refused with its path', async (t) => {
  const base = baseAppState()
  const offices = base.offices as Array<Record<string, unknown>>
  const mutate = (f: (s: any) => void): Record<string, unknown> => { const s = JSON.parse(JSON.stringify(base)); f(s); return s }
  const cases: Array<[string, unknown, string]> = [
    ['not an object', [], 'app_state'],
    ['unknown top-level field', mutate((s) => { s.notes = 'hello' }), 'app_state.notes'],
    ['unknown office field (free text)', mutate((s) => { s.offices[0].name = 'Ministry of Civil Affairs' }), 'app_state.offices[0]'],
    ['bad key hex', mutate((s) => { s.offices[0].pubKey = 'xyz' }), 'app_state.offices[0].pubKey'],
    ['short key', mutate((s) => { s.offices[0].pubKey = 'abcd' }), 'app_state.offices[0].pubKey'],
    ['bad region', mutate((s) => { s.offices[0].region = '12345' }), 'app_state.offices[0].region'],
    ['bad level', mutate((s) => { s.offices[0].level = 'emperor' }), 'app_state.offices[0].level'],
    ['region of the wrong level', mutate((s) => { s.offices[0].region = '420000' }), 'app_state.offices[0]'],
    ['duplicate office id', mutate((s) => { s.offices[1].id = 1 }), 'app_state.offices[1]'],
    ['duplicate key', mutate((s) => { s.offices[1].pubKey = offices[0]?.pubKey }), 'app_state.offices[1]'],
    ['child before its parent', mutate((s) => { s.offices.push({ id: 50, level: 'province', department: 'civil-affairs', region: '420000', pubKey: hexOf(pub('g50')), parentId: 60, delegatedApproval: false }) }), 'app_state.offices[5].parentId'],
    ['child outside its parent rules', mutate((s) => { s.offices.push({ id: 50, level: 'province', department: 'finance', region: '420000', pubKey: hexOf(pub('g50')), parentId: 1, delegatedApproval: false }) }), 'app_state.offices[5]'],
    ['bad params', mutate((s) => { s.params = { maxTxTtl: 0 } }), 'app_state.params.maxTxTtl'],
    ['unknown param', mutate((s) => { s.params = { colour: 1 } }), 'app_state.params'],
    ['program owner missing', mutate((s) => { s.programs[0].ownerOfficeId = 99 }), 'app_state.programs[0].ownerOfficeId'],
    ['program of another department', mutate((s) => { s.programs[0].ownerOfficeId = 2 }), 'app_state.programs[0]'],
    ['program category unknown', mutate((s) => { s.programs[0].category = 'lottery' }), 'app_state.programs[0].category'],
    ['budget of an unknown program', mutate((s) => { s.budgets[0].programId = 7 }), 'app_state.budgets[0].programId'],
    ['sub-allocation without a finance office', mutate((s) => { s.budgets.push({ programId: 1001, year: 2026, region: '420100', amountFen: 1 }) }), 'app_state.budgets[1]'],
    ['sub-allocation above the parent', mutate((s) => { s.budgets.push({ programId: 1001, year: 2026, region: '420000', amountFen: 2_000_000_000 }) }), 'app_state.budgets[1]'],
    ['operator of no validator', mutate((s) => { s.operators[0].validatorPubKey = hexOf(pub('nobody')) }), 'app_state.operators[0].validatorPubKey'],
    ['operator key used by an office', mutate((s) => { s.offices[0].pubKey = s.operators[0].operatorKey }), 'app_state.offices[0]'],
  ]
  for (const [label, json, at] of cases) {
    try {
      await validateAppState(json, VALIDATORS)
      t.fail(`${label}: accepted`)
    } catch (err) {
      t.ok(isAidError(err, 'ERR_GENESIS_INVALID') && (err.at ?? '').startsWith(at), `${label}: ${(err as Error).message}`)
    }
  }
  const ok = mutate((s) => { s.budgets.push({ programId: 1001, year: 2026, region: '420000', amountFen: 5 }); s.offices.push({ id: 50, level: 'province', department: 'finance', region: '420000', pubKey: hexOf(pub('g50')), parentId: 2, delegatedApproval: false }) })
  await t.resolves(validateAppState(ok, VALIDATORS), 'children in genesis and a province sub-allocation by the ministry finance office')
})
