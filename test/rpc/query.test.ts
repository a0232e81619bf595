/**
 * The event query language (rpc/query.ts) against CometBFT's libs/pubsub/query behaviour:
 * parsing (tokens, operators, TIME/DATE, errors with offsets), canonical text, and
 * matching over flattened events (numbers as decimals, CONTAINS, EXISTS, bare types, AND).
 */
import t from 'tap'
import { isAidError } from '../../src/errors.ts'
import { compareDecimal, flattenEvents, leadingDecimal, parseConditions, parseQuery, parseTimeNs } from '../../rpc/query.ts'

t.test('parses conditions of every operator and argument type', async (t) => {
  const cases: Array<[string, unknown]> = [
    ["tm.event = 'Tx'", [{ tag: 'tm.event', op: '=', arg: { type: 'string', text: 'Tx' } }]],
    ["tm.event='NewBlock'", [{ tag: 'tm.event', op: '=', arg: { type: 'string', text: 'NewBlock' } }]],
    ['tx.height >= 5', [{ tag: 'tx.height', op: '>=', arg: { type: 'number', text: '5' } }]],
    ['tx.height<5', [{ tag: 'tx.height', op: '<', arg: { type: 'number', text: '5' } }]],
    ['account.balance <= 3.25', [{ tag: 'account.balance', op: '<=', arg: { type: 'number', text: '3.25' } }]],
    ['a.b > 0', [{ tag: 'a.b', op: '>', arg: { type: 'number', text: '0' } }]],
    ["disbursement.program CONTAINS 'iba'", [{ tag: 'disbursement.program', op: 'CONTAINS', arg: { type: 'string', text: 'iba' } }]],
    ['disbursement.program EXISTS', [{ tag: 'disbursement.program', op: 'EXISTS' }]],
    ['block.time > TIME 2021-11-23T22:04:19-09:00', [{ tag: 'block.time', op: '>', arg: { type: 'time', text: '2021-11-23T22:04:19-09:00' } }]],
    ['block.date = DATE 2024-02-29', [{ tag: 'block.date', op: '=', arg: { type: 'date', text: '2024-02-29' } }]],
    ["a.b = 'x y z' AND c.d = 4 AND e.f EXISTS", [
      { tag: 'a.b', op: '=', arg: { type: 'string', text: 'x y z' } },
      { tag: 'c.d', op: '=', arg: { type: 'number', text: '4' } },
      { tag: 'e.f', op: 'EXISTS' },
    ]],
    ["_x-y.z_1 = ''", [{ tag: '_x-y.z_1', op: '=', arg: { type: 'string', text: '' } }]],
    ["办理.机构 = '北京'", [{ tag: '办理.机构', op: '=', arg: { type: 'string', text: '北京' } }]],
    ["  tm.event   =   'Tx'  ", [{ tag: 'tm.event', op: '=', arg: { type: 'string', text: 'Tx' } }]],
  ]
  for (const [src, want] of cases) t.same(parseConditions(src), want, src)
})

t.test('canonical text is CometBFT Query.String()', async (t) => {
  t.equal(parseQuery("tm.event='Tx'   AND  tx.height>=5").text, "tm.event = 'Tx' AND tx.height >= 5")
  t.equal(parseQuery('a.b EXISTS').text, 'a.b EXISTS')
  t.equal(parseQuery('t.x < TIME 2021-01-01T00:00:00Z AND d.y = DATE 2021-01-02').text, 't.x < TIME 2021-01-01T00:00:00Z AND d.y = DATE 2021-01-02')
})

t.test('malformed queries fail with ERR_RPC_BAD_QUERY and an offset', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['', /offset 0: got end of query, wanted tag/],
    ['tm.event', /offset 8: got end of query, wanted <= operator/],
    ["tm.event == 'Tx'", /offset 10: got = operator/],
    ["tm.event = 'Tx", /offset 11: unterminated string/],
    ['tm.event = Tx', /offset 11: got tag "Tx", wanted number, timestamp, datestamp or string/],
    ["tm.event < 'Tx'", /wanted number, timestamp or datestamp/],
    ['a.b CONTAINS 5', /wanted string/],
    ["a.b = 'x' OR c.d = 'y'", /offset 10: got tag "OR", wanted AND operator/],
    ["a.b = 'x' AND", /got end of query, wanted tag/],
    ["a.b = 'x' 'y'", /got string "y", wanted AND operator/],
    ['a.b = 5 AND AND', /got AND operator/],
    ['a.b ! 5', /offset 4: invalid input "!"/],
    ['a.b = TIME 2021-13-01T00:00:00Z', /invalid TIME value/],
    ['a.b = TIME 2021-01-01T00:00:00.5Z', /invalid TIME value/],
    ['a.b = TIME 1800-01-01T00:00:00Z', /timestamp year 1800 out of range/],
    ['a.b = DATE 2021-02-30', /invalid DATE value/],
    ['a.b = DATE 3000-01-01', /datestamp year 3000 out of range/],
    ['5 = 5', /offset 0: got number "5", wanted tag/],
    ["'x' = 5", /wanted tag/],
  ]
  for (const [src, re] of cases) {
    try {
      parseQuery(src)
      t.fail(`accepted ${JSON.stringify(src)}`)
    } catch (err) {
      t.ok(isAidError(err, 'ERR_RPC_BAD_QUERY'), `${src}: code`)
      t.match((err as Error).message, re, src)
    }
  }
  t.throws(() => parseQuery('a.b = ' + "'" + 'x'.repeat(600) + "'"), /maximum query length exceeded/)
})

t.test('matching over flattened events', async (t) => {
  const events = flattenEvents([
    { type: 'disbursement', attributes: [{ key: 'program', value: 'dibao' }, { key: 'amount', value: '1200' }, { key: 'region', value: '110105' }] },
    { type: 'disbursement', attributes: [{ key: 'program', value: 'medical' }, { key: 'amount', value: '80.50' }] },
    { type: 'transfer', attributes: [{ key: 'fee', value: '8atom' }, { key: 'neg', value: '-5' }, { key: 'when', value: '2024-03-01T10:00:00.5Z' }, { key: 'day', value: '2024-03-01' }] },
    { type: '', attributes: [{ key: 'ignored', value: 'x' }] },
    { type: 'empty', attributes: [] },
  ], { 'tm.event': ['Tx'], 'tx.height': ['12'] })
  const cases: Array<[string, boolean]> = [
    ["tm.event = 'Tx'", true],
    ["tm.event = 'NewBlock'", false],
    ["disbursement.program = 'dibao'", true],
    ["disbursement.program = 'medical'", true],
    ["disbursement.program = 'housing'", false],
    ["disbursement.program CONTAINS 'dic'", true],
    ["disbursement.program CONTAINS 'x'", false],
    ['disbursement.amount = 1200', true],
    ['disbursement.amount = 1200.000', true],
    ['disbursement.amount > 1199.99', true],
    ['disbursement.amount < 80.5', false],
    ['disbursement.amount <= 80.5', true],
    ['disbursement.amount >= 100000', false],
    ['tx.height = 12', true],
    ['tx.height > 12', false],
    ['tx.height >= 12 AND tx.height <= 12', true],
    ['transfer.fee = 8', true], // CometBFT reads the leading number of "8atom"
    ['transfer.fee > 7.9', true],
    ['transfer.neg < 0', false], // negative values never compare
    ['transfer.neg > 0', false],
    ['disbursement.region EXISTS', true],
    ['disbursement.nothing EXISTS', false],
    ['disbursement EXISTS', true], // a bare event type matches ""
    ["disbursement = ''", true],
    ['transfer.when > TIME 2024-03-01T10:00:00Z', true],
    ['transfer.when < TIME 2024-03-01T10:00:00Z', false],
    ['transfer.when <= TIME 2024-03-01T19:00:00+09:00', false],
    ['transfer.when >= TIME 2024-03-01T19:00:00+09:00', true],
    ['transfer.day = DATE 2024-03-01', true],
    ['transfer.day < DATE 2024-03-02', true],
    ['transfer.day > DATE 2024-03-01', false],
    ['ignored EXISTS', false],
    ["disbursement.program = 'dibao' AND disbursement.amount > 1000", true],
    ["disbursement.program = 'dibao' AND tm.event = 'NewBlock'", false],
    ['empty EXISTS', false], // attributes-less events are not in the flattened map
  ]
  for (const [q, want] of cases) t.equal(parseQuery(q).matches(events), want, q)
  t.equal(parseQuery('a.b EXISTS').matches({}), false, 'never matches an empty event set')
})

t.test('decimals compare exactly, without floats', async (t) => {
  const d = (s: string): ReturnType<typeof leadingDecimal> => leadingDecimal(s)
  t.equal(compareDecimal(d('9007199254740993')!, d('9007199254740992')!), 1, 'beyond 2^53')
  t.equal(compareDecimal(d('0.1')!, d('0.10')!), 0)
  t.equal(compareDecimal(d('007')!, d('7')!), 0)
  t.equal(compareDecimal(d('10')!, d('9.999')!), 1)
  t.equal(compareDecimal(d('1.05')!, d('1.5')!), -1)
  t.equal(d('abc'), undefined)
  t.equal(parseQuery('a.b = 9007199254740993').matches({ 'a.b': ['9007199254740992'] }), false)
})

t.test('RFC 3339 times parse to nanoseconds', async (t) => {
  t.equal(parseTimeNs('1970-01-01T00:00:00Z'), 0n)
  t.equal(parseTimeNs('1970-01-01T00:00:00.000000001Z'), 1n)
  t.equal(parseTimeNs('1970-01-01T01:00:00+01:00'), 0n)
  t.equal(parseTimeNs('2021-02-29T00:00:00Z'), undefined)
  t.equal(parseTimeNs('2021-01-01 00:00:00Z'), undefined)
})
