/**
 * Two-step commit of the authenticated store (state/store/store.ts header): prepare()
 * computes the next version's root and batch without writing, commit() writes it. Reads in
 * between, the refusals while a version is prepared, discard, a failed write, pruning in
 * between, and a reopen (close or SIGKILL) after a prepare that was never committed. The
 * in-memory store (state/memory-kv.ts) follows the same rules.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { isAidError } from '../../../src/errors.ts'
import { type StoreDb, openStateStore, verifyProof } from '../../../state/store/index.ts'
import { createMemoryStore, verifyMemProof } from '../../../state/memory-kv.ts'
import { collectEntries } from '../../../state/store-api.ts'
import { b, countTag, hex, openWithDb, referenceRoot, tempDir, type Level } from './helpers.ts'

const str = (u: Uint8Array | null | undefined): string | null => (u == null ? null : Buffer.from(u).toString())

/** The error code `fn` throws synchronously ('no error' when it does not). */
function code (fn: () => unknown): string {
  try { fn() } catch (err) { return isAidError(err) ? err.code : 'not an AidError' }
  return 'no error'
}

/** Every raw key of the database: a prepare must not change it. */
async function rawKeys (db: Level): Promise<string[]> {
  const out: string[] = []
  for await (const k of db.keys()) out.push(hex(k))
  return out
}

const V1: Array<[string, string]> = Array.from({ length: 200 }, (_, i) => [`k${i}`, `v${i}`])
/** Version 2's writes over V1: changes, deletes and new keys. */
function writeV2 (s: { set: (k: Uint8Array, v: Uint8Array) => unknown, delete: (k: Uint8Array) => unknown }): void {
  for (let i = 0; i < 200; i += 3) s.set(b(`k${i}`), b(`w${i}`))
  for (let i = 1; i < 200; i += 7) s.delete(b(`k${i}`))
  for (let i = 0; i < 50; i++) s.set(b(`new${i}`), b(`n${i}`))
}
function modelV2 (): Map<string, string> {
  const m = new Map(V1)
  writeV2({ set: (k, v) => m.set(str(k) as string, str(v) as string), delete: (k) => m.delete(str(k) as string) })
  return m
}
const rootOf = (m: Map<string, string>): string => hex(referenceRoot([...m].map(([k, v]) => [b(k), b(v)])))

t.test('prepare computes the root without writing; reads in between; commit writes it', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store, db, close } = await openWithDb(dir)
  for (const [k, v] of V1) store.set(b(k), b(v))
  const c1 = await store.commit()
  const before = await rawKeys(db)
  writeV2(store)
  const p = await store.prepare()
  t.equal(p.version, 2)
  t.equal(hex(p.rootHash), rootOf(modelV2()), 'the prepared root is the root of the new content')
  t.same(await rawKeys(db), before, 'nothing was written')

  // Committed reads: still version 1.
  t.equal(store.version(), 1)
  t.equal(hex(await store.rootHash()), hex(c1.rootHash))
  await t.rejects(store.rootHash(2), { code: 'ERR_SMT_VERSION_UNKNOWN' }, 'the prepared version is not a version yet')
  await t.rejects(store.getAt(b('k0'), 2), { code: 'ERR_SMT_VERSION_UNKNOWN' })
  t.equal(str(await store.getAt(b('k0'), 1)), 'v0')
  const proof = await store.prove(b('k1'))
  t.equal(proof.version, 1)
  t.ok(verifyProof(c1.rootHash, b('k1'), b('v1'), proof.proofBytes), 'a proof at the committed version verifies against its root')
  // Pending reads: the prepared writes.
  t.equal(str(await store.get(b('k0'))), 'w0')
  t.equal(await store.get(b('k1')), null)
  t.notOk(await store.has(b('k1')))
  t.ok(await store.has(b('new0')))
  const keys = async (o: { pending?: boolean }): Promise<string[]> =>
    (await store.iterate(b('new'), { limit: 100, ...o })).map((e) => str(e.key) as string)
  t.equal((await keys({})).length, 50, 'iterate with pending sees the prepared writes')
  t.same(await keys({ pending: false }), [], 'iterate without pending reads the last commit')
  t.equal(store.stats().pendingKeys, 0)

  const c2 = await store.commit()
  t.same(c2, p, 'commit writes the prepared version')
  t.equal(store.version(), 2)
  t.equal(hex(await store.rootHash()), hex(p.rootHash))
  t.equal(str(await store.getAt(b('k0'), 2)), 'w0')
  t.same(await keys({ pending: false }), (await keys({})), 'the flat table now has the version')
  t.equal(await countTag(db, 'r'), 3, 'roots of versions 0, 1, 2')
  await close()
  await cleanup()
})

t.test('while prepared: writes and a second prepare are refused; after commit() is called they go to the next version', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store, close } = await openWithDb(dir)
  store.set(b('a'), b('1'))
  const pending = store.prepare()
  t.equal(code(() => store.set(b('a'), b('2'))), 'ERR_SMT_PREPARED', 'set is refused even before the prepare resolves')
  await pending
  t.equal(code(() => store.set(b('a'), b('2'))), 'ERR_SMT_PREPARED')
  t.equal(code(() => store.delete(b('a'))), 'ERR_SMT_PREPARED')
  t.equal(code(() => store.prepare()), 'ERR_SMT_PREPARED')
  t.equal(str(await store.get(b('a'))), '1', 'the refused writes changed nothing')
  const c1 = store.commit()
  store.set(b('a'), b('2'))
  store.set(b('late'), b('x'))
  t.equal((await c1).version, 1)
  t.equal(str(await store.getAt(b('a'), 1)), '1')
  t.equal(await store.getAt(b('late'), 1), null)
  const c2 = await store.commit()
  t.equal(c2.version, 2)
  t.equal(hex(c2.rootHash), hex(referenceRoot([[b('a'), b('2')], [b('late'), b('x')]])))
  await close()
  await cleanup()
})

t.test('commit() called before prepare() resolves writes the same version', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store, close } = await openWithDb(dir)
  writeV2(store)
  const [p, c] = await Promise.all([store.prepare(), store.commit()])
  t.same(c, p)
  t.equal(store.version(), 1)
  await close()
  await cleanup()
})

t.test('discard after prepare drops the prepared batch', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store, db, close } = await openWithDb(dir)
  for (const [k, v] of V1) store.set(b(k), b(v))
  const c1 = await store.commit()
  const before = await rawKeys(db)
  writeV2(store)
  await store.prepare()
  store.discard()
  t.equal(str(await store.get(b('k0'))), 'v0', 'pending reads are back at the last commit')
  t.equal((await store.iterate(b('new'), { limit: 10 })).length, 0)
  t.equal(code(() => store.set(b('x'), b('1'))), 'no error', 'writes are accepted again')
  store.discard()
  const c2 = await store.commit()
  t.equal(c2.version, 2, 'the next version is the one after the last commit')
  t.equal(hex(c2.rootHash), hex(c1.rootHash), 'with nothing of the dropped batch')
  t.equal((await rawKeys(db)).length, before.length + 1, 'only the empty version\'s root pointer was added')
  // A prepare dropped before it even finished is never written either.
  writeV2(store)
  const dropped = store.prepare()
  store.discard()
  await dropped
  t.equal(hex((await store.commit()).rootHash), hex(c1.rootHash))
  await close()
  await cleanup()
})

t.test('a failed write after prepare leaves the old version and the writes pending again', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store: s0, db, close: close0 } = await openWithDb(dir)
  for (const [k, v] of V1) s0.set(b(k), b(v))
  await s0.commit()
  await s0.close()
  let failNext = false
  const faulty = new Proxy(db, {
    get (target, prop) {
      const v = Reflect.get(target, prop, target) as unknown
      if (prop === 'batch') {
        return () => {
          const batch = target.batch()
          if (!failNext) return batch
          failNext = false
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
  const store = await openStateStore({ db: faulty, sync: false })
  writeV2(store)
  const p = await store.prepare()
  failNext = true
  await t.rejects(store.commit(), /simulated crash/)
  t.equal(store.version(), 1)
  t.equal(str(await store.get(b('k0'))), 'w0', 'the writes are pending again')
  const again = await store.prepare()
  t.same(again, p, 'and prepare to the same version and root')
  t.same(await store.commit(), p)
  await store.close()
  await close0()
  await cleanup()
})

t.test('auto-prune rides in the prepared batch; a prune() in between does not move the watermark back', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { store, close } = await openWithDb(dir, { keepRecent: 3 })
  for (let v = 1; v <= 5; v++) {
    store.set(b('k'), b(`v${v}`))
    await store.commit()
  }
  t.equal(store.oldestVersion(), 3)
  store.set(b('k'), b('v6'))
  await store.prepare()
  t.equal(store.oldestVersion(), 3, 'a prepare prunes nothing yet')
  await store.prune(5)
  t.equal(store.oldestVersion(), 5)
  await store.commit()
  t.equal(store.oldestVersion(), 5, 'the commit keeps the later watermark')
  t.equal(str(await store.getAt(b('k'), 6)), 'v6')
  t.equal(str(await store.getAt(b('k'), 5)), 'v5')
  await t.rejects(store.getAt(b('k'), 4), { code: 'ERR_SMT_VERSION_PRUNED' })
  await close()
  await cleanup()
})

t.test('reopen after a prepare that was never committed: the old version, then the same root', async (t) => {
  const { dir, cleanup } = await tempDir()
  const { dir: dirRef, cleanup: cleanupRef } = await tempDir()
  // The uninterrupted run.
  const ref = await openStateStore({ path: dirRef, sync: false })
  for (const [k, v] of V1) ref.set(b(k), b(v))
  await ref.commit()
  writeV2(ref)
  const want = await ref.commit()
  await ref.close()

  const s1 = await openStateStore({ path: dir, sync: false })
  for (const [k, v] of V1) s1.set(b(k), b(v))
  const c1 = await s1.commit()
  writeV2(s1)
  const p = await s1.prepare()
  t.same(p, want, 'the prepared version is the uninterrupted run\'s')
  await s1.close()

  const s2 = await openStateStore({ path: dir, sync: false })
  t.equal(s2.version(), 1, 'reopened at the old version')
  t.equal(hex(await s2.rootHash()), hex(c1.rootHash), 'with its root')
  t.equal(str(await s2.get(b('k0'))), 'v0')
  t.equal(await s2.get(b('new0')), null)
  writeV2(s2)
  await s2.prepare()
  t.same(await s2.commit(), want, 'prepare + commit gives the uninterrupted root')
  await s2.close()
  await cleanup()
  await cleanupRef()
})

t.test('SIGKILL after a prepare: the store reopens at the old version', async (t) => {
  const { dir, cleanup } = await tempDir()
  const here = fileURLToPath(new URL('.', import.meta.url))
  const proc = spawn(process.execPath, ['--import', join(here, '../../../src/register.js'), join(here, 'prepare-child.ts'), dir], { stdio: ['ignore', 'pipe', 'inherit'] })
  const lines: string[] = []
  const exited = new Promise<void>((resolve) => proc.on('close', () => resolve()))
  let buf = ''
  proc.stdout.setEncoding('utf8')
  proc.stdout.on('data', (chunk: string) => {
    buf += chunk
    let nl
    while ((nl = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, nl))
      buf = buf.slice(nl + 1)
      if (lines.length === 2) proc.kill('SIGKILL')
    }
  })
  await exited
  const [committed, prepared] = lines.map((l) => l.split(' ')) as [string[], string[]]
  t.equal(committed[0], 'committed')
  t.equal(prepared[0], 'prepared')
  const s = await openStateStore({ path: dir })
  t.equal(s.version(), Number(committed[1]))
  t.equal(hex(await s.rootHash()), committed[2], 'the committed root')
  writeV2(s)
  const c = await s.commit()
  t.equal(c.version, Number(prepared[1]))
  t.equal(hex(c.rootHash), prepared[2], 'the same writes then give the prepared root')
  await s.close()
  await cleanup()
})

t.test('memory store: the same two-step commit', async (t) => {
  const store = createMemoryStore()
  for (const [k, v] of V1) await store.set(b(k), b(v))
  const c1 = await store.commit()
  writeV2(store)
  const p = await store.prepare()
  t.equal(p.version, 2)
  t.equal(await store.version(), 1)
  t.equal(hex(await store.rootHash()), hex(c1.rootHash))
  t.throws(() => store.rootHash(2), 'the prepared version is not a version yet')
  t.equal(str(await store.getAt(b('k0'), 1)), 'v0')
  t.ok(verifyMemProof(c1.rootHash, b('k1'), b('v1'), await store.prove(b('k1'), 1)))
  t.equal(str(await store.get(b('k0'))), 'w0', 'pending reads see the prepared writes')
  t.equal(await store.get(b('k1')), null)
  t.equal((await collectEntries(await store.iterate(b('new'), { limit: 100 }))).length, 50)
  t.equal((await collectEntries(await store.iterate(b('new'), { limit: 100, pending: false }))).length, 0)
  t.equal(code(() => store.set(b('a'), b('1'))), 'ERR_SMT_PREPARED')
  t.equal(code(() => store.delete(b('a'))), 'ERR_SMT_PREPARED')
  t.equal(code(() => store.prepare()), 'ERR_SMT_PREPARED')
  const c2 = await store.commit()
  t.same(c2, p, 'commit installs the prepared version')
  t.equal(str(await store.getAt(b('k0'), 2)), 'w0')
  t.ok(verifyMemProof(c2.rootHash, b('new3'), b('n3'), await store.prove(b('new3'), 2)))

  // discard drops a prepared version; the next commit builds on the last one.
  await store.set(b('x'), b('1'))
  await store.prepare()
  await store.discard()
  t.equal(await store.get(b('x')), null)
  const c3 = await store.commit()
  t.equal(c3.version, 3)
  t.equal(hex(c3.rootHash), hex(c2.rootHash))

  // The same content through plain commits gives the same roots.
  const plain = createMemoryStore()
  for (const [k, v] of V1) await plain.set(b(k), b(v))
  await plain.commit()
  writeV2(plain)
  t.equal(hex((await plain.commit()).rootHash), hex(c2.rootHash))
})
