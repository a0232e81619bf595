/**
 * Property test: random operation sequences against an in-memory Map model. After every
 * step the store and the model agree on values and membership; every commit's root equals
 * the reference root of the model; proofs at random retained versions verify. Each case
 * prints its seed; rerun one with SMT_SEED=<seed>.
 */
import t, { type Test } from 'tap'
import { type StateStore, verifyProof } from '../../../state/store/index.ts'
import { b, hex, openWithDb, referenceRoot, rng, tempDir } from './helpers.ts'

type Model = Map<string, Uint8Array>

function sortedKeys (m: Iterable<string>): string[] {
  return [...m].sort((x, y) => Buffer.compare(b(x), b(y)))
}

async function runCase (t: Test, seed: number): Promise<void> {
  const r = rng(seed)
  const keySpace = [8, 40, 400][seed % 3] as number
  const keepRecent = seed % 4 === 1 ? 1 + r.int(4) : undefined
  const cacheNodes = seed % 5 === 2 ? 4 : 1000
  const opts = keepRecent === undefined ? { cacheNodes } : { cacheNodes, keepRecent }
  const { dir, cleanup } = await tempDir()
  let h = await openWithDb(dir, opts)
  let store: StateStore = h.store
  const history: Model[] = [new Map()]
  let pending = new Map<string, Uint8Array | null>()
  const committed = (): Model => history[history.length - 1] as Model
  const current = (k: string): Uint8Array | null => (pending.has(k) ? pending.get(k) ?? null : committed().get(k) ?? null)
  const keyName = (i: number): string => `${'abc'[i % 3] as string}/${i}`
  const fail = (msg: string): void => { t.fail(`seed ${seed}: ${msg}`) }
  let checks = 0

  for (let step = 0; step < 350; step++) {
    const x = r.next()
    const k = keyName(r.int(keySpace))
    // Half the writes are preceded by a read, as the app does: the read leaves a hint
    // that lets the commit skip the key's leaf (or the whole key, if unchanged).
    if (x < 0.62 && r.next() < 0.5) await store.get(b(k))
    if (x < 0.45) {
      const cur = current(k)
      // Sometimes the same value again, an empty one, or one too long to keep as a read hint.
      const v = cur !== null && r.next() < 0.1 ? cur : r.next() < 0.05 ? new Uint8Array(0) : r.bytes(r.next() < 0.05 ? 300 : 1 + r.int(20))
      store.set(b(k), v)
      pending.set(k, v)
    } else if (x < 0.62) {
      const existing = sortedKeys(committed().keys())
      const dk = existing.length > 0 && r.next() < 0.7 ? existing[r.int(existing.length)] as string : k
      if (r.next() < 0.5) await store.has(b(dk))
      store.delete(b(dk))
      pending.set(dk, null)
    } else if (x < 0.70) {
      const next = new Map(committed())
      for (const [pk, pv] of pending) if (pv === null) next.delete(pk); else next.set(pk, pv)
      const c = await store.commit()
      history.push(next)
      pending = new Map()
      if (c.version !== history.length - 1) fail(`version ${c.version} != ${history.length - 1}`)
      if (hex(c.rootHash) !== hex(referenceRoot([...next].map(([mk, mv]) => [b(mk), mv])))) fail(`root mismatch at v${c.version}`)
    } else if (x < 0.71) {
      store.discard()
      pending = new Map()
    } else if (x < 0.81) {
      const got = await store.get(b(k))
      const want = current(k)
      if ((got === null ? 'null' : hex(got)) !== (want === null ? 'null' : hex(want))) fail(`get ${k} at step ${step}`)
      if (await store.has(b(k)) !== (want !== null)) fail(`has ${k}`)
    } else if (x < 0.90) {
      const latest = history.length - 1
      const v = store.oldestVersion() + r.int(latest - store.oldestVersion() + 1)
      const want = (history[v] as Model).get(k) ?? null
      const got = await store.getAt(b(k), v)
      if ((got === null ? 'null' : hex(got)) !== (want === null ? 'null' : hex(want))) fail(`getAt ${k}@${v}`)
      const p = await store.prove(b(k), v)
      if (!verifyProof(await store.rootHash(v), b(k), want, p.proofBytes)) fail(`proof ${k}@${v}`)
      if (want !== null && verifyProof(p.rootHash, b(k), null, p.proofBytes)) fail(`absence proof for present ${k}@${v}`)
      checks++
    } else if (x < 0.95) {
      const prefix = `${'abc'[r.int(3)] as string}/${r.next() < 0.5 ? '' : String(r.int(10))}`
      const reverse = r.next() < 0.5
      const limit = 1 + r.int(15)
      const merged = new Map(committed())
      for (const [pk, pv] of pending) if (pv === null) merged.delete(pk); else merged.set(pk, pv)
      let want = sortedKeys([...merged.keys()].filter((mk) => mk.startsWith(prefix)))
      if (reverse) want.reverse()
      want = want.slice(0, limit)
      const got = (await store.iterate(b(prefix), { limit, reverse })).map((e) => Buffer.from(e.key).toString())
      if (got.join(',') !== want.join(',')) fail(`iterate ${prefix} ${reverse ? 'rev' : 'fwd'} ${limit}: ${got.join(',')} != ${want.join(',')}`)
    } else if (x < 0.97 && keepRecent === undefined) {
      const latest = history.length - 1
      const upTo = store.oldestVersion() + r.int(latest - store.oldestVersion() + 1)
      await store.prune(upTo)
    } else if (x >= 0.99) {
      await h.close()
      h = await openWithDb(dir, opts)
      store = h.store
      pending = new Map()
      if (store.version() !== history.length - 1) fail('version after reopen')
    }
    if (store.stats().cachedNodes > cacheNodes) fail('cache bound exceeded')
  }
  await h.close()
  await cleanup()
  t.pass(`seed ${seed}: ${history.length - 1} commits, ${checks} proof checks, keys ${keySpace}, keepRecent ${keepRecent ?? '-'}`)
}


const only = process.env.SMT_SEED
const seeds = only !== undefined ? [Number(only)] : Array.from({ length: 20 }, (_, i) => 1000 + i)
for (const seed of seeds) {
  t.test(`random operations, seed ${seed}`, async (t) => runCase(t, seed))
}
