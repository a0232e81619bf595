import t from 'tap'
import { createLru } from '../../../src/crypto/lru.ts'

t.test('evicts the least recently used entry', async (t) => {
  const c = createLru<string, number>(2)
  c.set('a', 1)
  c.set('b', 2)
  t.equal(c.get('a'), 1) // a is now most recent
  c.set('c', 3)
  t.equal(c.peek('b'), undefined, 'b evicted')
  t.equal(c.peek('a'), 1)
  t.equal(c.size, 2)
  c.set('a', 10) // update in place, no eviction
  t.equal(c.size, 2)
  t.equal(c.peek('c'), 3)
  t.equal(c.peek('a'), 10)
  t.ok(c.delete('a'))
  t.notOk(c.has('a'))
  c.clear()
  t.equal(c.size, 0)
  t.throws(() => createLru(0), RangeError)
})
