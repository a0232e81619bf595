import t, { type Test } from 'tap'
import { verifyProof } from '../../../state/store/index.ts'
import { b, countTag, hex, openWithDb, referenceRoot, rng, tempDir } from './helpers.ts'

type Model = Map<string, Uint8Array>

/** 20 versions of mixed inserts, updates and deletes over 800 keys; returns each version's content. */
async function build (store: Awaited<ReturnType<typeof openWithDb>>['store'], seed: number, versions = 20): Promise<Model[]> {
  const r = rng(seed)
  const cur: Model = new Map()
  const history: Model[] = [new Map()]
  for (let v = 1; v <= versions; v++) {
    for (let i = 0; i < 150; i++) {
      const k = `k${r.int(800)}`
      if (r.next() < 0.3) {
        store.delete(b(k))
        cur.delete(k)
      } else {
        const val = r.bytes(1 + r.int(30))
        store.set(b(k), val)
        cur.set(k, val)
      }
    }
    await store.commit()
    history.push(new Map(cur))
  }
  return history
}

async function assertFullyProvable (t: Test, store: Awaited<ReturnType<typeof openWithDb>>['store'], m: Model, v: number): Promise<void> {
  const root = await store.rootHash(v)
  t.equal(hex(root), hex(referenceRoot([...m].map(([k, x]) => [b(k), x]))), `v${v} root`)
  let bad = 0
  for (let i = 0; i < 800; i++) {
    const k = `k${i}`
    const want = m.get(k) ?? null
    const p = await store.prove(b(k), v)
    if (!verifyProof(root, b(k), want, p.proofBytes)) bad++
    const got = await store.getAt(b(k), v)
    if ((got === null) !== (want === null) || (got !== null && hex(got) !== hex(want as Uint8Array))) bad++
  }
  t.equal(bad, 0, `v${v}: all 800 keys read and prove right`)
}

t.test('prune removes old nodes and keeps every retained version provable', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store, db, close } = await openWithDb(dir)
  const history = await build(store, 11)
  const nodesBefore = await countTag(db, 'n')
  t.equal(await countTag(db, 'r'), 21, 'one root per version, 0..20')
  await store.prune(15)
  t.equal(store.oldestVersion(), 15)
  const nodesAfter = await countTag(db, 'n')
  t.ok(nodesAfter < nodesBefore, `nodes ${nodesBefore} -> ${nodesAfter}`)
  t.equal(await countTag(db, 'r'), 6, 'roots of 15..20 remain')
  for (let v = 15; v <= 20; v++) await assertFullyProvable(t, store, history[v] as Model, v)
  for (const v of [0, 5, 14]) {
    await t.rejects(store.getAt(b('k1'), v), { code: 'ERR_SMT_VERSION_PRUNED' }, `getAt v${v}`)
    await t.rejects(store.prove(b('k1'), v), { code: 'ERR_SMT_VERSION_PRUNED' }, `prove v${v}`)
    await t.rejects(store.rootHash(v), { code: 'ERR_SMT_VERSION_PRUNED' }, `rootHash v${v}`)
  }
  await t.rejects(store.prune(21), { code: 'ERR_SMT_VERSION_UNKNOWN' })
  await store.prune(10)
  t.equal(store.oldestVersion(), 15, 'pruning never moves backwards')

  // Pruned up to the latest, exactly the latest tree's nodes remain: as many as a
  // fresh store holding the same content in one commit, and no stale entries.
  await store.prune(20)
  await assertFullyProvable(t, store, history[20] as Model, 20)
  const fresh = await tempDir()
  const f = await openWithDb(fresh.dir)
  for (const [k, v] of history[20] as Model) f.store.set(b(k), v)
  await f.store.commit()
  t.equal(await countTag(db, 'n'), await countTag(f.db, 'n'), 'no garbage left')
  t.equal(await countTag(db, 's'), 0, 'no stale records left')
  await f.close()
  await fresh.cleanup()

  // The watermark survives a reopen.
  await close()
  const again = await openWithDb(dir)
  t.equal(again.store.oldestVersion(), 20)
  await t.rejects(again.store.getAt(b('k1'), 19), { code: 'ERR_SMT_VERSION_PRUNED' })
  await again.close()
  await cleanup()
})

t.test('keepRecent prunes at commit and keeps the window provable', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store, db, close } = await openWithDb(dir, { keepRecent: 3 })
  const history = await build(store, 12, 25)
  t.equal(store.version(), 25)
  t.equal(store.oldestVersion(), 23)
  for (let v = 23; v <= 25; v++) await assertFullyProvable(t, store, history[v] as Model, v)
  await t.rejects(store.getAt(b('k1'), 22), { code: 'ERR_SMT_VERSION_PRUNED' })
  t.equal(await countTag(db, 'r'), 3)
  // Stale records of versions ≤ 23 are gone; only those of 24 and 25 are left.
  const since: number[] = []
  for await (const k of db.keys({ gte: Uint8Array.of(0x73), lt: Uint8Array.of(0x74) })) since.push(Buffer.from(k).readUIntBE(3, 6))
  t.same(since, [24, 25])
  await close()
  await cleanup()
})

t.test('keepRecent: 1 keeps just the latest version', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store, db, close } = await openWithDb(dir, { keepRecent: 1 })
  const history = await build(store, 13, 10)
  t.equal(store.oldestVersion(), 10)
  await assertFullyProvable(t, store, history[10] as Model, 10)
  await t.rejects(store.rootHash(9), { code: 'ERR_SMT_VERSION_PRUNED' })
  // Garbage is at most one commit behind (the nodes the last commit replaced); pruned to
  // the latest, exactly the latest tree's nodes remain, as in a fresh store.
  t.equal(await countTag(db, 's'), 1)
  await store.prune(10)
  const fresh = await tempDir()
  const f = await openWithDb(fresh.dir)
  for (const [k, v] of history[10] as Model) f.store.set(b(k), v)
  await f.store.commit()
  t.equal(await countTag(db, 'n'), await countTag(f.db, 'n'))
  t.equal(await countTag(db, 's'), 0)
  await f.close()
  await fresh.cleanup()
  await close()
  await cleanup()
})
