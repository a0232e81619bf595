/**
 * The consensus engine shell end to end: an in-process network of engines (helpers/) over
 * the in-memory transport and a fake clock.
 */
import t from 'tap'
import { TestNet } from './helpers/network.ts'

t.test('4 validators commit 10 heights with identical block and app hashes', async (t) => {
  const tn = await TestNet.create(t, { validators: 4, logLevel: process.env.ENGINE_LOG as 'debug' | undefined })
  await tn.startAll()
  const ok = await tn.runUntil(() => tn.allAt(10), 120_000)
  t.ok(ok, `all reached height 10 (heights ${tn.nodes.map((n) => n.height()).join(',')})`)
  for (let h = 1; h <= 10; h++) {
    const hashes = new Set(tn.nodes.map((n) => n.blocks.get(h)?.hash))
    const apps = new Set(tn.nodes.map((n) => n.blocks.get(h)?.appHash))
    t.equal(hashes.size, 1, `one block hash at height ${h}`)
    t.equal(apps.size, 1, `one app hash at height ${h}`)
  }
  t.same(tn.net.misbehavior, [], 'no misbehavior reported')
})
