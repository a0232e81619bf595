import t from 'tap'
import { isAidError } from '../../../src/errors.ts'
import { EMPTY_ROOT, type StoreDb, openStateStore, verifyProof } from '../../../state/store/index.ts'
import { b, hex, openWithDb, referenceRoot, rng, tempDir } from './helpers.ts'

const str = (u: Uint8Array | null): string | null => (u === null ? null : Buffer.from(u).toString())

t.test('fresh store, working set, commit, discard', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store, close } = await openWithDb(dir)
  t.equal(store.version(), 0)
  t.equal(hex(await store.rootHash()), hex(EMPTY_ROOT))
  t.equal(await store.get(b('a')), null)
  store.set(b('a'), b('1'))
  store.set(b('b'), b(''))
  t.equal(str(await store.get(b('a'))), '1', 'reads see pending writes')
  t.ok(await store.has(b('b')), 'an empty value is present')
  store.delete(b('a'))
  t.equal(await store.get(b('a')), null)
  t.notOk(await store.has(b('a')))
  store.set(b('a'), b('2'))
  const c1 = await store.commit()
  t.equal(c1.version, 1)
  t.equal(hex(c1.rootHash), hex(referenceRoot([[b('a'), b('2')], [b('b'), b('')]])))
  t.equal(str(await store.getAt(b('a'), 1)), '2')
  t.equal(str(await store.getAt(b('a'), 0)), null)
  store.set(b('a'), b('3'))
  store.delete(b('b'))
  store.discard()
  t.equal(str(await store.get(b('a'))), '2', 'discard drops pending writes')
  t.ok(await store.has(b('b')))
  const c2 = await store.commit()
  t.equal(c2.version, 2, 'an empty commit still makes a version')
  t.equal(hex(c2.rootHash), hex(c1.rootHash))
  // Deleting everything returns to the empty root.
  store.delete(b('a'))
  store.delete(b('b'))
  store.delete(b('never-there'))
  const c3 = await store.commit()
  t.equal(hex(c3.rootHash), hex(EMPTY_ROOT))
  t.equal(str(await store.getAt(b('a'), 2)), '2', 'older versions stay readable')
  await close()
  await cleanup()
})

t.test('limits and errors', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store, close } = await openWithDb(dir, { maxValueBytes: 1000 })
  const code = (fn: () => unknown): string => {
    try { fn() } catch (err) { return isAidError(err) ? err.code : 'not an AidError' }
    return 'no error'
  }
  t.equal(code(() => store.set(new Uint8Array(0), b('x'))), 'ERR_SMT_BAD_KEY')
  t.equal(code(() => store.set(new Uint8Array(257), b('x'))), 'ERR_SMT_BAD_KEY')
  t.equal(code(() => store.set(new Uint8Array(256), b('x'))), 'no error')
  t.equal(code(() => store.set('k' as unknown as Uint8Array, b('x'))), 'ERR_SMT_BAD_KEY')
  t.equal(code(() => store.set(b('k'), new Uint8Array(1001))), 'ERR_SMT_BAD_VALUE')
  t.equal(code(() => store.set(b('k'), 'v' as unknown as Uint8Array)), 'ERR_SMT_BAD_VALUE')
  t.equal(code(() => store.set(b('k'), new Uint8Array(1000))), 'no error')
  await t.rejects(store.getAt(b('k'), 1), { code: 'ERR_SMT_VERSION_UNKNOWN' })
  await t.rejects(store.getAt(b('k'), -1), { code: 'ERR_SMT_VERSION_UNKNOWN' })
  await t.rejects(store.prove(b('k'), 1.5), { code: 'ERR_SMT_VERSION_UNKNOWN' })
  await t.rejects(store.iterate(b(''), { limit: 0 }), { code: 'ERR_SMT_BAD_OPTIONS' })
  await t.rejects(openStateStore({}), { code: 'ERR_SMT_BAD_OPTIONS' })
  await t.rejects(openStateStore({ path: dir, cacheNodes: -1 }), { code: 'ERR_SMT_BAD_OPTIONS' })
  await t.rejects(openStateStore({ path: dir, keepRecent: 0 }), { code: 'ERR_SMT_BAD_OPTIONS' })
  const utf8Db = { keyEncoding: () => ({ format: 'utf8' }), valueEncoding: () => ({ format: 'utf8' }) } as unknown as StoreDb
  await t.rejects(openStateStore({ db: utf8Db }), { code: 'ERR_SMT_BAD_OPTIONS' })
  await close()
  t.equal(code(() => store.set(b('k'), b('v'))), 'ERR_STORE_CLOSED')
  await t.rejects(store.get(b('k')), { code: 'ERR_STORE_CLOSED' })
  t.throws(() => store.commit(), { code: 'ERR_STORE_CLOSED' })
  await cleanup()
})

t.test('the root depends on the content only: orders and commit groupings', async (t) => {
  const r = rng(7)
  const final = new Map<string, Uint8Array>()
  const ops: Array<[string, Uint8Array | null]> = []
  for (let i = 0; i < 1500; i++) {
    const k = `k${r.int(600)}`
    if (r.next() < 0.25) {
      ops.push([k, null])
      final.delete(k)
    } else {
      const v = r.bytes(1 + r.int(40))
      ops.push([k, v])
      final.set(k, v)
    }
  }
  const expected = hex(referenceRoot([...final].map(([k, v]) => [b(k), v])))
  const roots: string[] = []
  // 1: all ops in order, one commit. 2: in order, a commit every 97 ops.
  // 3: only the final content, shuffled, two commits. 4: a detour (junk keys set, then deleted).
  for (let variant = 1; variant <= 4; variant++) {
    const { dir, cleanup } = await tempDir()
    const { store, close } = await openWithDb(dir)
    if (variant <= 2) {
      ops.forEach(([k, v], i) => {
        if (v === null) store.delete(b(k)); else store.set(b(k), v)
        if (variant === 2 && i % 97 === 96) void store.commit()
      })
    } else {
      const entries = [...final]
      for (let i = entries.length - 1; i > 0; i--) {
        const j = r.int(i + 1)
        const tmp = entries[i] as [string, Uint8Array]; entries[i] = entries[j] as [string, Uint8Array]; entries[j] = tmp
      }
      const half = entries.length >> 1
      if (variant === 4) for (let i = 0; i < 300; i++) store.set(b(`junk${i}`), b('x'))
      entries.slice(0, half).forEach(([k, v]) => store.set(b(k), v))
      await store.commit()
      if (variant === 4) for (let i = 0; i < 300; i++) store.delete(b(`junk${i}`))
      entries.slice(half).forEach(([k, v]) => store.set(b(k), v))
    }
    const c = await store.commit()
    roots.push(hex(c.rootHash))
    if (variant === 4) {
      // Different content gives a different root: one value, one extra key, one key fewer.
      const [k0, v0] = [...final][0] as [string, Uint8Array]
      store.set(b(k0), new Uint8Array([...v0, 1]))
      const changed = await store.commit()
      t.not(hex(changed.rootHash), expected, 'changed value, changed root')
      store.set(b(k0), v0)
      t.equal(hex((await store.commit()).rootHash), expected, 'changed back, same root again')
      store.set(b('extra'), b(''))
      t.not(hex((await store.commit()).rootHash), expected, 'extra key (empty value), changed root')
      store.delete(b('extra'))
      store.delete(b(k0))
      t.not(hex((await store.commit()).rootHash), expected, 'one key fewer, changed root')
    }
    await close()
    await cleanup()
  }
  t.same(roots, [expected, expected, expected, expected])
})

t.test('reopen after close gives the same versions, roots and values', async (t) => {
  const { dir, cleanup } = await tempDir()
  let store = await openStateStore({ path: dir })
  const roots: Uint8Array[] = [await store.rootHash()]
  for (let v = 1; v <= 4; v++) {
    for (let i = 0; i < 200; i++) store.set(b(`key${(i * v) % 350}`), b(`v${v}-${i}`))
    if (v === 3) for (let i = 0; i < 50; i++) store.delete(b(`key${i}`))
    roots.push((await store.commit()).rootHash)
  }
  const before = await store.iterate(b('key'), { limit: 1000 })
  const proofBefore = await store.prove(b('key7'), 2)
  store.set(b('uncommitted'), b('lost'))
  await store.close()
  store = await openStateStore({ path: dir })
  t.equal(store.version(), 4)
  for (let v = 0; v <= 4; v++) t.equal(hex(await store.rootHash(v)), hex(roots[v] as Uint8Array), `root of v${v}`)
  t.same(await store.iterate(b('key'), { limit: 1000 }), before)
  t.equal(await store.get(b('uncommitted')), null, 'pending writes do not survive close')
  const proofAfter = await store.prove(b('key7'), 2)
  t.same(proofAfter.proofBytes, proofBefore.proofBytes)
  t.ok(verifyProof(roots[2] as Uint8Array, b('key7'), proofAfter.value, proofAfter.proofBytes))
  await store.close()
  await cleanup()
})

t.test('iterate: prefix, from, limit, reverse, pending overlay', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store, close } = await openWithDb(dir)
  for (let i = 0; i < 30; i++) store.set(b(`a/${String(i).padStart(2, '0')}`), b(`${i}`))
  store.set(b('b/x'), b('bx'))
  store.set(Uint8Array.of(0xff, 0xff), b('ff'))
  await store.commit()
  const keys = async (prefix: string, o: Parameters<typeof store.iterate>[1]): Promise<string[]> =>
    (await store.iterate(b(prefix), o)).map((e) => Buffer.from(e.key).toString())
  t.same(await keys('a/', { limit: 3 }), ['a/00', 'a/01', 'a/02'])
  t.same(await keys('a/', { limit: 3, from: b('a/10') }), ['a/10', 'a/11', 'a/12'])
  t.same(await keys('a/', { limit: 3, reverse: true }), ['a/29', 'a/28', 'a/27'])
  t.same(await keys('a/', { limit: 3, reverse: true, from: b('a/10') }), ['a/10', 'a/09', 'a/08'])
  t.same(await keys('a/2', { limit: 100 }), Array.from({ length: 10 }, (_, i) => `a/2${i}`))
  t.equal((await store.iterate(new Uint8Array(0), { limit: 100 })).length, 32)
  t.same((await store.iterate(Uint8Array.of(0xff), { limit: 5 })).map((e) => hex(e.key)), ['ffff'])
  t.same((await store.iterate(new Uint8Array(0), { limit: 1, reverse: true })).map((e) => hex(e.key)), ['ffff'])
  // Pending writes overlay the committed table.
  store.delete(b('a/00'))
  store.delete(b('a/01'))
  store.set(b('a/015'), b('new'))
  store.set(b('a/02'), b('changed'))
  const ov = await store.iterate(b('a/'), { limit: 3 })
  t.same(ov.map((e) => [Buffer.from(e.key).toString(), Buffer.from(e.value).toString()]), [['a/015', 'new'], ['a/02', 'changed'], ['a/03', '3']])
  t.same(await keys('a/', { limit: 3, pending: false }), ['a/00', 'a/01', 'a/02'])
  t.same(await keys('a/0', { limit: 3, reverse: true, from: b('a/02') }), ['a/02', 'a/015'])
  await store.commit()
  t.same(await keys('a/', { limit: 2 }), ['a/015', 'a/02'])
  await close()
  await cleanup()
})

t.test('a failed batch leaves the previous version, and the writes can be committed again', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store: s0, db, close: close0 } = await openWithDb(dir)
  for (let i = 0; i < 100; i++) s0.set(b(`k${i}`), b(`v${i}`))
  const c1 = await s0.commit()
  await s0.close()
  let failNext = true
  const faulty = new Proxy(db, {
    get (target, prop) {
      const v = Reflect.get(target, prop, target) as unknown
      if (prop === 'batch') {
        return () => {
          const batch = target.batch()
          if (!failNext) return batch
          failNext = false
          // Ops are queued, then the write "crashes" before reaching LevelDB.
          return {
            put: (k: Uint8Array, x: Uint8Array) => batch.put(k, x),
            del: (k: Uint8Array) => batch.del(k),
            write: async () => { await batch.close(); throw new Error('simulated crash before the batch write') },
            close: async () => { await batch.close() },
          }
        }
      }
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
    },
  }) as unknown as StoreDb
  const store = await openStateStore({ db: faulty })
  for (let i = 0; i < 100; i++) store.set(b(`k${i}`), b(`w${i}`))
  store.delete(b('k5'))
  await t.rejects(store.commit(), /simulated crash/)
  t.equal(store.version(), 1)
  t.equal(hex(await store.rootHash()), hex(c1.rootHash))
  t.equal(str(await store.getAt(b('k1'), 1)), 'v1')
  t.equal(str(await store.get(b('k1'))), 'w1', 'the writes are pending again')
  t.equal(await store.get(b('k5')), null)
  const c2 = await store.commit()
  t.equal(c2.version, 2)
  const expected = new Map<string, string>()
  for (let i = 0; i < 100; i++) if (i !== 5) expected.set(`k${i}`, `w${i}`)
  t.equal(hex(c2.rootHash), hex(referenceRoot([...expected].map(([k, v]) => [b(k), b(v)]))))
  await store.close()
  await close0()
  await cleanup()
})

t.test('writes made while a commit is in flight go to the next version', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store, close } = await openWithDb(dir)
  for (let i = 0; i < 500; i++) store.set(b(`k${i}`), b('1'))
  const p = store.commit()
  store.set(b('k0'), b('2'))
  store.set(b('late'), b('x'))
  t.equal(str(await store.get(b('k1'))), '1', 'in-flight writes stay visible')
  const c1 = await p
  t.equal(str(await store.getAt(b('k0'), 1)), '1')
  t.equal(await store.getAt(b('late'), 1), null)
  t.equal(str(await store.get(b('k0'))), '2')
  const c2 = await store.commit()
  t.equal(c2.version, c1.version + 1)
  t.equal(str(await store.getAt(b('late'), 2)), 'x')
  await close()
  await cleanup()
})

t.test('the node cache stays within its bound', async (t) => {
  for (const cacheNodes of [0, 10, 200]) {
    const { dir, cleanup } = await tempDir()
    const { store, close } = await openWithDb(dir, { cacheNodes })
    for (let v = 0; v < 5; v++) {
      for (let i = 0; i < 2000; i++) store.set(b(`k${(i * 31 + v * 7) % 5000}`), b(`${v}`))
      await store.commit()
      for (let i = 0; i < 50; i++) await store.prove(b(`k${i * 13}`), v)
      t.ok(store.stats().cachedNodes <= cacheNodes, `${store.stats().cachedNodes} <= ${cacheNodes}`)
    }
    if (cacheNodes === 200) t.equal(store.stats().cachedNodes, 200, 'and is used up to it')
    t.equal(store.stats().cacheCapacity, cacheNodes)
    await close()
    await cleanup()
  }
})

t.test('read hints: keys read before writing need no leaf reads, unchanged ones no work', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store, close } = await openWithDb(dir, { cacheNodes: 100_000 })
  for (let i = 0; i < 2000; i++) store.set(b(`k${i}`), b(`v${i}`))
  await store.commit() // every internal node is now cached; only leaves are read from disk
  const misses = async (keys: number[], read: boolean, value: (i: number) => string): Promise<number> => {
    if (read) for (const i of keys) await store.get(b(`k${i}`))
    const before = store.stats().cacheMisses
    for (const i of keys) store.set(b(`k${i}`), b(value(i)))
    await store.commit()
    return store.stats().cacheMisses - before
  }
  const blind = await misses([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], false, (i) => `w${i}`)
  const hinted = await misses([11, 12, 13, 14, 15, 16, 17, 18, 19, 20], true, (i) => `w${i}`)
  t.equal(blind, 10, 'blind updates read each old leaf')
  t.equal(hinted, 0, 'updates of keys read first read no leaf')
  const root = await store.rootHash()
  const unchanged = await misses([30, 31, 32], true, (i) => `v${i}`)
  t.equal(unchanged, 0)
  t.equal(hex(await store.rootHash()), hex(root), 'writing the values keys already have changes nothing')
  const expected: Array<[Uint8Array, Uint8Array]> = []
  for (let i = 0; i < 2000; i++) expected.push([b(`k${i}`), b(i >= 1 && i <= 20 ? `w${i}` : `v${i}`)])
  t.equal(hex(root), hex(referenceRoot(expected)))
  await close()
  await cleanup()
})
