import t from 'tap'
import { familyOf, metricNamesIn } from './promql.ts'
import { scanRules } from './files.ts'

t.test('metricNamesIn: metric identifiers only (table)', async (t) => {
  const cases: Array<[string, string[]]> = [
    ['up', ['up']],
    ['up{job="aidledger"} == 0', ['up']],
    ['rate(aidledger_mempool_failed_txs[5m])', ['aidledger_mempool_failed_txs']],
    ['sum by (le, step) (rate(x_bucket{a="b", c=~"d|e"}[$__rate_interval]))', ['x_bucket']],
    ['sum(rate(x[1m])) by (instance) / on (instance) group_left (node) y', ['x', 'y']],
    ['max by (chain_id) (a) > 0 or max by (chain_id) (increase(b[15m])) > 0', ['a', 'b']],
    ['a / (b > 0) > 0.9 or c / (d > 0) > 0.9', ['a', 'b', 'c', 'd']],
    ['changes(h[30s]) == 0\nand on (instance, job) (time() - s) > 30', ['h', 's']],
    ['histogram_quantile(0.95, sum without (instance) (rate(m_bucket[5m])))', ['m_bucket']],
    ['label_replace(m, "dst", "$1", "src", "(.*)")', ['m']],
    ['count_values("version", build_info)', ['build_info']],
    ['topk(5, m offset 1h) unless bool n', ['m', 'n']],
    ['m{l="with } brace and \\" quote"} + n', ['m', 'n']],
    ['max_over_time(m[15m:1m]) * 1e3 + 0x1F - Inf + NaN', ['m']],
    ['m{chain_id="${chain_id}", instance=~"[[instance]]"} + $var', ['m']],
    ['# a comment naming not_a_metric\nm', ['m']],
    ['aidledger:expected_interval_seconds * 3', ['aidledger:expected_interval_seconds']],
    ['vector(1) + scalar(m) + absent(n{a="b"})', ['m', 'n']],
    ['sum(m) by (x) + avg(n) without (y)', ['m', 'n']],
  ]
  for (const [expr, want] of cases) t.same(metricNamesIn(expr).sort(), [...want].sort(), expr)
  t.throws(() => metricNamesIn('m{a="b'), /unterminated|unbalanced/)
})

t.test('familyOf maps histogram series to their family', async (t) => {
  const h = new Set(['a_seconds'])
  t.equal(familyOf('a_seconds_bucket', h), 'a_seconds')
  t.equal(familyOf('a_seconds_count', h), 'a_seconds')
  t.equal(familyOf('b_count', h), 'b_count')
})

t.test('scanRules reads plain, quoted and block exprs', async (t) => {
  const text = [
    'groups:',
    '  - name: g',
    '    rules:',
    '      - alert: A',
    '        expr: up == 0',
    '        for: 1m',
    '      - alert: B',
    '        expr: |',
    '          a > 0',
    '          or b > 0',
    '        labels:',
    '          severity: x',
    '      - record: "r:x"',
    '        expr: "sum(c)"',
    '      - alert: C',
    '        expr: >-',
    '          d',
    '          > 1',
  ].join('\n')
  t.same(scanRules(text), [
    { kind: 'alert', name: 'A', expr: 'up == 0', for: '1m' },
    { kind: 'alert', name: 'B', expr: 'a > 0\nor b > 0' },
    { kind: 'record', name: 'r:x', expr: 'sum(c)' },
    { kind: 'alert', name: 'C', expr: 'd > 1' },
  ])
})
