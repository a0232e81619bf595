/**
 * Determinism (DESIGN §5, §6): the same blocks give the same results and app hashes on a
 * second run, on the disk-backed store as on the in-memory one, and across a restart in
 * the middle of the chain (close the store, reopen it, build a new app over it, continue).
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DAY, resetNonces, initRequest, newChain, replay, verifier, CHAIN, hexOf, type LoggedBlock } from '../helpers.ts'
import { enrollPerson, setupProvinces } from '../world.ts'
import { createSocialApp } from '../../../state/app.ts'
import { createMemoryStore } from '../../../state/memory-kv.ts'
import { openAppStore, verifyStoreProof } from '../../../state/store-adapter.ts'
import { verifyQueryResponse } from '../../../state/query.ts'

async function recordChain (): Promise<{ log: LoggedBlock[], hashes: string[] }> {
  resetNonces()
  const c = await newChain()
  await setupProvinces(c)
  const e1 = await enrollPerson(c, 'd1')
  const e2 = await enrollPerson(c, 'd2', { amountFen: 30_000 })
  await c.run('a-county-fin', { type: 'disbursement.pay', value: { enrollmentId: e1.enrollmentId, period: 202603 } })
  await c.run('a-town', { type: 'alert.raise', value: { toOfficeId: 14, category: 'review-overdue', severity: 'medium', refKind: 'enrollment', ref: e2.enrollmentId } })
  await c.block([], 5 * DAY) // escalation at the boundary
  await c.run('a-county-health', { type: 'attestation.issue', value: { subjectId: e2.subject, type: 'death', reportHash: new Uint8Array(32), validUntilHeight: 0, validUntilTime: 0 } })
  return { log: c.log, hashes: c.appHashes.slice(1).map(hexOf) }
}

t.test('same blocks, same app hashes (in-memory store, twice)', async (t) => {
  const a = await recordChain()
  const b = await recordChain()
  t.same(b.hashes, a.hashes, 'two independent runs agree')
  const app = createSocialApp({ store: createMemoryStore(), verifier, chainId: CHAIN })
  await app.initChain(initRequest())
  t.same((await replay(app, a.log)).map(hexOf), a.hashes, 'replaying the recorded blocks agrees')
  t.ok(new Set(a.hashes).size > a.hashes.length / 2, 'app hash moves with the state')
})

t.test('disk store: same blocks twice and across a restart', async (t) => {
  const { log } = await recordChain()
  const dirs = [mkdtempSync(join(tmpdir(), 'aid-det-a-')), mkdtempSync(join(tmpdir(), 'aid-det-b-'))]
  t.teardown(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })

  const storeA = await openAppStore({ path: dirs[0] as string, sync: false })
  const appA = createSocialApp({ store: storeA, verifier })
  const genesisA = await appA.initChain(initRequest())
  const full = (await replay(appA, log)).map(hexOf)
  await storeA.close()

  const half = Math.floor(log.length / 2)
  let storeB = await openAppStore({ path: dirs[1] as string, sync: false })
  let appB = createSocialApp({ store: storeB, verifier })
  const genesisB = await appB.initChain(initRequest())
  t.same(genesisB.appHash, genesisA.appHash, 'genesis app hash')
  const first = (await replay(appB, log.slice(0, half))).map(hexOf)
  await storeB.close()

  storeB = await openAppStore({ path: dirs[1] as string, sync: false })
  appB = createSocialApp({ store: storeB, verifier })
  const info = await appB.info()
  t.equal(info.lastBlockHeight, half, 'info after restart reports the last height')
  t.equal(hexOf(info.lastBlockAppHash), first[first.length - 1], 'and its app hash')
  const again = await appB.initChain(initRequest())
  t.equal(hexOf(again.appHash), first[first.length - 1], 'initChain on an initialised store is a no-op')
  const rest = (await replay(appB, log.slice(half))).map(hexOf)
  t.same([...first, ...rest], full, 'restart in the middle gives the same app hashes')

  // Historical queries after the restart still prove against their own app hash.
  const h = half - 2
  const resp = await appB.query({ path: '/office/14', data: new Uint8Array(0), height: h, prove: true })
  t.equal(resp.code, 0, resp.log)
  t.equal(resp.height, h)
  t.ok(verifyQueryResponse(resp, Buffer.from(full[h - 1] as string, 'hex'), verifyStoreProof), 'proof at an older height')
  await storeB.close()
})
