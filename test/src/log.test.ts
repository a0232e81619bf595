import t from 'tap'
import { createLogger } from '../../src/log.ts'

t.test('json lines carry time, level, module and fields; levels filter', async (t) => {
  const lines: string[] = []
  const log = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l), now: () => 0 }).child({ module: 'consensus' })
  log.debug('hidden')
  log.info('committed block', { height: 5, hash: new Uint8Array([0xab]), power: 10n })
  t.equal(lines.length, 1)
  t.same(JSON.parse(lines[0] ?? ''), { time: '1970-01-01T00:00:00.000Z', level: 'info', module: 'consensus', msg: 'committed block', height: 5, hash: 'ab', power: '10' })
})

t.test('plain format puts the module in brackets and fields as key=value', async (t) => {
  const lines: string[] = []
  const log = createLogger({ level: 'debug', format: 'plain', write: (l) => lines.push(l), now: () => 0 }).child({ module: 'p2p' })
  log.warn('peer dropped', { peer: 'abc', reason: 'bad frame' })
  t.equal(lines[0], '1970-01-01T00:00:00.000Z WARN  [p2p] peer dropped peer=abc reason="bad frame"')
})
