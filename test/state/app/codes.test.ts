/**
 * The result-code catalogue: numbers and names are unique and stable, the ranges hold,
 * and every rejection code is asserted by some test under test/state (by name), except
 * the few that are defensive and unreachable through valid state transitions.
 */
import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { CODESPACE, ResultCodes, bodyCodeFor, reject, resultName, type ResultName } from '../../../state/codes.ts'

/** Guards that no sequence of valid txs reaches (kept as data, never as a throw). */
const DEFENSIVE: ReadonlySet<ResultName> = new Set<ResultName>(['INTERNAL'])

function files (dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    if (statSync(p).isDirectory()) return f === 'store' ? [] : files(p)
    return p.endsWith('.ts') && !p.endsWith('codes.test.ts') ? [p] : []
  })
}

t.test('catalogue shape', async (t) => {
  t.equal(CODESPACE, 'aidledger')
  const entries = Object.entries(ResultCodes)
  t.equal(new Set(entries.map(([, e]) => e.code)).size, entries.length, 'unique numbers')
  t.ok(entries.every(([n]) => /^[A-Z][A-Z0-9_]+$/.test(n)), 'stable upper-case names')
  t.ok(entries.every(([, e]) => e.message.length > 0 && e.code >= 0 && e.code <= 255), 'message and code in 0..255')
  t.equal(ResultCodes.OK.code, 0)
  t.equal(resultName(87), 'EXCLUSIVITY_CONFLICT')
  t.equal(resultName(4242), undefined)
  t.match(reject('TX_EXPIRED', 'at 5'), { code: 3, name: 'TX_EXPIRED', log: 'TX_EXPIRED: at 5' })
  t.equal(bodyCodeFor('ERR_CODEC_TRAILING_BYTES'), 'BODY_MALFORMED')
})

t.test('every rejection code is exercised by a test', async (t) => {
  const text = files(join(import.meta.dirname, '..')).map((f) => readFileSync(f, 'utf8')).join('\n')
  const missing = (Object.keys(ResultCodes) as ResultName[]).filter((n) => n !== 'OK' && !DEFENSIVE.has(n) && !text.includes(`'${n}'`))
  t.same(missing, [], 'codes without a test')
})
