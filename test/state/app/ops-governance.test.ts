/**
 * Alerts with escalation at block boundaries (by header time), and validator-set and
 * parameter governance (> 2/3 of voting power; validator updates from finalizeBlock).
 */
import t from 'tap'
import { id, newChain, pub, DAY, table, tx, hexOf } from '../helpers.ts'
import { setupProvinces, officeId } from '../world.ts'
import type { Body } from '../../../state/schema.ts'
import { decodeQueryValue } from '../../../state/query.ts'

const none = new Uint8Array(32)
const raise = (toOfficeId: number): Body => ({ type: 'alert.raise', value: { toOfficeId, category: 'hardship-signal', severity: 'high', refKind: 'household', ref: id('hh') } })

t.test('alerts', async (t) => {
  const c = await newChain()
  await setupProvinces(c)
  const [r1] = await table(t, c, [
    ['township to its county', 'a-town', raise(officeId('a-county-ca')), 'OK'],
    ['not to the same level', 'a-town', raise(officeId('b-town')), 'ALERT_NOT_HIGHER'],
    ['not downwards', 'a-county-ca', raise(officeId('a-town')), 'ALERT_NOT_HIGHER'],
    ['not to a higher office elsewhere', 'a-town', raise(officeId('b-county-ca')), 'ALERT_NOT_HIGHER'],
    ['unknown addressee', 'a-town', raise(999), 'OFFICE_NOT_FOUND'],
  ], 60_000)
  const alertId = (r1 as { opId: Uint8Array }).opId
  await table(t, c, [
    ['unknown alert', 'a-county-ca', { type: 'alert.acknowledge', value: { alertId: none } }, 'ALERT_NOT_FOUND'],
    ['only the addressee acknowledges', 'a-city-ca', { type: 'alert.acknowledge', value: { alertId } }, 'FORBIDDEN_OFFICE'],
    ['assignee inside the addressee region', 'a-county-ca', { type: 'alert.assign', value: { alertId, assigneeOfficeId: officeId('b-town') } }, 'ALERT_BAD_ASSIGNEE'],
    ['only the addressee assigns', 'a-town', { type: 'alert.assign', value: { alertId, assigneeOfficeId: officeId('a-town') } }, 'FORBIDDEN_OFFICE'],
    ['assign to the township', 'a-county-ca', { type: 'alert.assign', value: { alertId, assigneeOfficeId: officeId('a-town') } }, 'OK'],
    ['assignee acknowledges', 'a-town', { type: 'alert.acknowledge', value: { alertId } }, 'OK'],
    ['acknowledge twice', 'a-county-ca', { type: 'alert.acknowledge', value: { alertId } }, 'ALERT_BAD_STATE'],
    ['resolve', 'a-county-ca', { type: 'alert.resolve', value: { alertId, outcome: 'fixed' } }, 'OK'],
    ['resolve twice', 'a-county-ca', { type: 'alert.resolve', value: { alertId, outcome: 'fixed' } }, 'ALERT_BAD_STATE'],
    ['assign resolved', 'a-county-ca', { type: 'alert.assign', value: { alertId, assigneeOfficeId: officeId('a-town') } }, 'ALERT_BAD_STATE'],
  ], 60_000)

  // Escalation: unacknowledged past its deadline (3 days), it climbs one level per window.
  const esc = await c.run('a-town', raise(officeId('a-county-ca')))
  const q = async (): Promise<{ addressee: number, escalations: number, status: string }> =>
    decodeQueryValue((await c.app.query({ path: `/alert/${hexOf(esc.opId)}`, data: new Uint8Array(0), height: 0, prove: false })).value)[0]?.record as never
  await c.block([], DAY)
  t.equal((await q()).addressee, officeId('a-county-ca'), 'not yet due')
  await c.block([], 2 * DAY)
  t.equal((await q()).addressee, officeId('a-county-ca'), 'deadline reached but not passed when the boundary ran')
  const res = await c.block([], DAY)
  t.match(await q(), { addressee: officeId('a-city-ca'), escalations: 1, status: 'open' }, 'climbed to the city')
  t.ok(res.events.some((e) => e.type === 'alert' && e.attributes.some((a) => a.key === 'action' && a.value === 'escalated')), 'escalation event in finalizeBlock')
  await c.block([], 4 * DAY)
  t.match(await q(), { addressee: officeId('a-ca'), escalations: 2 })
  await c.block([], 4 * DAY)
  t.match(await q(), { addressee: 1, escalations: 3 }, 'reached the ministry (root)')
  await c.block([], 4 * DAY)
  t.match(await q(), { addressee: 1, escalations: 3 }, 'stays at the root')
  t.equal((await c.run('mca', { type: 'alert.acknowledge', value: { alertId: esc.opId } })).code, 0, 'the current addressee acknowledges')
  const trail = decodeQueryValue((await c.app.query({ path: `/audit/alert/${hexOf(esc.opId)}`, data: new Uint8Array(0), height: 0, prove: false })).value)
  t.same(trail.slice(1).map((e) => (e.record as { action: string }).action), ['alert.raise', 'rule.alert-escalated', 'rule.alert-escalated', 'rule.alert-escalated', 'rule.alert-escalated', 'alert.acknowledge'], 'three climbs, then a re-dated deadline at the root')
})

t.test('governance: parameters and validators by > 2/3 of power', async (t) => {
  const c = await newChain()
  const param = (name: 'maxTxTtl' | 'publicityMinMs', value: number): Body => ({ type: 'gov.propose', value: { change: { type: 'param', value: { name, value } } } })
  const [, , , p1] = await table(t, c, [
    ['offices cannot propose', 'mca', param('maxTxTtl', 50), 'SIGNER_NOT_OPERATOR'],
    ['parameter out of range', 'op-a', param('maxTxTtl', 0), 'GOV_INVALID_CHANGE'],
    ['remove a validator not in the set', 'op-a', { type: 'gov.propose', value: { change: { type: 'validator', value: { pubKey: pub('nobody'), power: 0, operatorKey: pub('op-a') } } } }, 'GOV_INVALID_CHANGE'],
    ['propose maxTxTtl 200', 'op-a', param('maxTxTtl', 200), 'OK'],
    ['operator key cannot be an office key', 'op-a', { type: 'gov.propose', value: { change: { type: 'validator', value: { pubKey: pub('val-new'), power: 10, operatorKey: pub('mca') } } } }, 'KEY_IN_USE'],
  ])
  const pid = (p1 as { opId: Uint8Array }).opId
  await table(t, c, [
    ['proposer already approved', 'op-a', { type: 'gov.approve', value: { proposalId: pid } }, 'ALREADY_APPROVED'],
    ['offices cannot approve', 'mca', { type: 'gov.approve', value: { proposalId: pid } }, 'SIGNER_NOT_OPERATOR'],
    ['unknown proposal', 'op-b', { type: 'gov.approve', value: { proposalId: none } }, 'PROPOSAL_NOT_FOUND'],
    ['second approval: 20/40 power', 'op-b', { type: 'gov.approve', value: { proposalId: pid } }, 'OK'],
  ])
  let params = decodeQueryValue((await c.app.query({ path: '/params', data: new Uint8Array(0), height: 0, prove: false })).value)[0]?.record as { maxTxTtl: number }
  t.equal(params.maxTxTtl, 1000, 'exactly 1/2 does not pass')
  const third = await c.run('op-c', { type: 'gov.approve', value: { proposalId: pid } })
  t.equal(third.code, 0)
  t.ok(third.events.some((e) => e.type === 'governance' && e.attributes.some((a) => a.value === 'passed')))
  params = decodeQueryValue((await c.app.query({ path: '/params', data: new Uint8Array(0), height: 0, prove: false })).value)[0]?.record as { maxTxTtl: number }
  t.equal(params.maxTxTtl, 200, '30/40 > 2/3 passes')
  t.equal((await c.run('op-d', { type: 'gov.approve', value: { proposalId: pid } })).name, 'PROPOSAL_CLOSED')
  t.equal((await c.run('mca', { type: 'program.create', value: { id: 5, category: 'dibao', group: 'basic-living', payment: 'monthly', standardFen: 1, approvalLevel: 'county' } }, { expiresAtHeight: c.height + 250 })).name, 'TX_TTL_TOO_LONG', 'the new maxTxTtl applies')

  // A new validator: three operators approve in one block; the update comes out of finalizeBlock.
  const prop = tx('op-a', { type: 'gov.propose', value: { change: { type: 'validator', value: { pubKey: pub('val-new'), power: 7, operatorKey: pub('op-new') } } } }, { height: c.height + 1 })
  const b1 = await c.block([prop, tx('op-b', { type: 'gov.approve', value: { proposalId: prop.opId } }, { height: c.height + 1 })])
  t.same(b1.txResults.map((r) => r.code), [0, 0])
  t.same(b1.validatorUpdates, [], 'not yet > 2/3')
  const b2 = await c.block([tx('op-d', { type: 'gov.approve', value: { proposalId: prop.opId } }, { height: c.height + 1 })])
  t.same(b2.validatorUpdates, [{ pubKey: pub('val-new'), power: 7 }])
  const vals = decodeQueryValue((await c.app.query({ path: '/validators', data: new Uint8Array(0), height: 0, prove: false })).value)[0]?.record as { entries: Array<{ pubKey: string, operatorKey: string }> }
  t.equal(vals.entries.length, 5)
  t.ok(vals.entries.some((e) => e.operatorKey === hexOf(pub('op-new'))), 'the new operator may now govern')
  // Removing it again: 47 total power, 3 of the 10-power operators are 30/47 < 2/3, four pass.
  const rm = tx('op-new', { type: 'gov.propose', value: { change: { type: 'validator', value: { pubKey: pub('val-new'), power: 0, operatorKey: pub('op-new') } } } }, { height: c.height + 1 })
  const approvals = ['op-a', 'op-b', 'op-c'].map((o) => tx(o, { type: 'gov.approve', value: { proposalId: rm.opId } }, { height: c.height + 1 }))
  const b3 = await c.block([rm, ...approvals])
  t.same(b3.txResults.map((r) => r.code), [0, 0, 0, 0])
  t.same(b3.validatorUpdates, [{ pubKey: pub('val-new'), power: 0 }], '37/47 > 2/3 removes it')
  // Proposals lapse after proposalTtl blocks; too many validators is refused.
  const big = await c.run('op-a', { type: 'gov.propose', value: { change: { type: 'param', value: { name: 'maxValidators', value: 501 } } } })
  t.equal(big.name, 'GOV_INVALID_CHANGE', 'maxValidators is capped')
  const short = tx('op-a', { type: 'gov.propose', value: { change: { type: 'param', value: { name: 'proposalTtl', value: 2 } } } }, { height: c.height + 1 })
  await c.block([short, ...['op-b', 'op-c'].map((o) => tx(o, { type: 'gov.approve', value: { proposalId: short.opId } }, { height: c.height + 1 }))])
  const lapse = await c.run('op-a', param('publicityMinMs', 1000))
  t.equal(lapse.code, 0)
  await c.block([])
  await c.block([])
  t.equal((await c.run('op-b', { type: 'gov.approve', value: { proposalId: lapse.opId } })).name, 'PROPOSAL_CLOSED', 'lapsed after proposalTtl blocks')
})
