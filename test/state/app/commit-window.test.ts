/**
 * The app's store version becomes durable in commit(), not in finalizeBlock (state/app.ts
 * header): a process that dies between the two leaves the store at the previous block,
 * info() reports that block, and executing the block again gives the same app hash.
 * Between finalizeBlock and commit the app answers queries and info from the committed
 * block, while checkTx already sees the finalized one (as the mempool's recheck expects).
 */
import t, { type Test } from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decode } from '../../../src/codec/index.ts'
import type { FinalizeBlockRequest } from '../../../src/abci.ts'
import { createSocialApp } from '../../../state/app.ts'
import { resultName } from '../../../state/codes.ts'
import { MetaSchema } from '../../../state/records.ts'
import { QueryEntriesSchema, verifyQueryResponse } from '../../../state/query.ts'
import { openAppStore, verifyStoreProof } from '../../../state/store-adapter.ts'
import { CHAIN, hexOf, initRequest, newChain, replay, resetNonces, verifier, type LoggedBlock } from '../helpers.ts'
import { enrollPerson, setupProvinces } from '../world.ts'

/**
 * A recorded chain and its app hashes on the disk store (the in-memory store has another
 * tree, so other roots); `alertBlock` is the index in `log` of the block that raises an
 * alert to office 14.
 */
async function recordChain (t: Test): Promise<{ log: LoggedBlock[], hashes: string[], alertBlock: number }> {
  resetNonces()
  const c = await newChain()
  await setupProvinces(c)
  const e1 = await enrollPerson(c, 'd1')
  await c.run('a-county-fin', { type: 'disbursement.pay', value: { enrollmentId: e1.enrollmentId, period: 202603 } })
  const alertBlock = c.log.length
  await c.run('a-town', { type: 'alert.raise', value: { toOfficeId: 14, category: 'review-overdue', severity: 'medium', refKind: 'enrollment', ref: e1.enrollmentId } })
  await c.block([])
  const dir = tempDir(t)
  const store = await openAppStore({ path: dir, sync: false })
  const app = createSocialApp({ store, verifier, chainId: CHAIN })
  await app.initChain(initRequest())
  const hashes = (await replay(app, c.log)).map(hexOf)
  await store.close()
  return { log: c.log, hashes, alertBlock }
}

function tempDir (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'aid-window-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const request = (b: LoggedBlock): FinalizeBlockRequest => ({
  txs: b.txs, height: b.height, time: b.time, hash: new Uint8Array(32), proposerAddress: new Uint8Array(20), misbehavior: [], nextValidatorsHash: new Uint8Array(32),
})

t.test('finalizeBlock without commit, then a restart: the previous block, and the same app hash again', async (t) => {
  const { log, hashes, alertBlock } = await recordChain(t)
  const dir = tempDir(t)
  const k = alertBlock // blocks 1..k are committed; block k+1 (log[k]) raises the alert
  const before = hashes[k - 1] as string

  let store = await openAppStore({ path: dir, sync: false })
  let app = createSocialApp({ store, verifier, chainId: CHAIN })
  await app.initChain(initRequest())
  t.same((await replay(app, log.slice(0, k))).map(hexOf), hashes.slice(0, k))
  const block = log[k] as LoggedBlock
  const first = await app.finalizeBlock(request(block))
  t.equal(hexOf(first.appHash), hashes[k], 'finalizeBlock returns the block\'s app hash')

  // Between finalizeBlock and commit: info, meta and queries are at the committed block.
  const info = await app.info()
  t.equal(info.lastBlockHeight, k, 'info reports the last written height')
  t.equal(hexOf(info.lastBlockAppHash), before, 'and its root')
  t.equal(app.meta()?.lastHeight, k)
  const alerts = await app.query({ path: '/alerts/14', data: new Uint8Array(0), height: 0, prove: true })
  t.equal(alerts.code, 0, alerts.log)
  t.equal(alerts.height, k, 'a query answers at the committed height')
  t.equal(decode(QueryEntriesSchema, alerts.value).entries.length, 0, 'the listing does not see the finalized block\'s alert')
  const metaResp = await app.query({ path: '/meta', data: new Uint8Array(0), height: 0, prove: true })
  t.equal(metaResp.height, k)
  t.ok(verifyQueryResponse(metaResp, Buffer.from(before, 'hex'), verifyStoreProof), 'proven against the committed app hash')
  const metaRec = decode(QueryEntriesSchema, metaResp.value).entries[0]?.value
  t.equal(metaRec == null ? null : decode(MetaSchema, metaRec).lastHeight, k, 'the meta record of the committed block')
  // checkTx runs over the finalized state: the block's tx is already a replay.
  const recheck = await app.checkTx(block.txs[0] as Uint8Array, 'recheck')
  t.equal(resultName(recheck.code), 'TX_REPLAYED', 'checkTx sees the finalized block')
  // A crash here: the store is closed without the app's commit.
  await store.close()

  store = await openAppStore({ path: dir, sync: false })
  app = createSocialApp({ store, verifier, chainId: CHAIN })
  const reopened = await app.info()
  t.equal(reopened.lastBlockHeight, k, 'after the restart the app reports the previous height')
  t.equal(hexOf(reopened.lastBlockAppHash), before, 'and the previous app hash')
  t.equal(await store.version(), k + 1, 'the store version of that block (genesis is version 1)')
  const again = await app.finalizeBlock(request(block))
  t.equal(hexOf(again.appHash), hashes[k], 're-executing the block gives the same app hash')
  t.same(again.txResults, first.txResults, 'and the same results')
  await app.commit()
  t.equal((await app.info()).lastBlockHeight, k + 1)
  const listed = await app.query({ path: '/alerts/14', data: new Uint8Array(0), height: 0, prove: false })
  t.equal(decode(QueryEntriesSchema, listed.value).entries.length, 1, 'after commit the listing has the alert')
  t.same((await replay(app, log.slice(k + 1))).map(hexOf), hashes.slice(k + 1), 'and the chain goes on with the same hashes')
  await store.close()
})

t.test('finalizeBlock again before commit executes the block again; the next height is refused', async (t) => {
  const { log, hashes } = await recordChain(t)
  const dir = tempDir(t)
  const store = await openAppStore({ path: dir, sync: false })
  const app = createSocialApp({ store, verifier, chainId: CHAIN })
  await app.initChain(initRequest())
  await replay(app, log.slice(0, 3))
  const r1 = await app.finalizeBlock(request(log[3] as LoggedBlock))
  const r2 = await app.finalizeBlock(request(log[3] as LoggedBlock))
  t.equal(hexOf(r2.appHash), hexOf(r1.appHash), 'the same app hash')
  t.equal(hexOf(r2.appHash), hashes[3])
  await t.rejects(app.finalizeBlock(request(log[4] as LoggedBlock)), { code: 'ERR_STORE_CORRUPT' }, 'the next height before commit')
  await app.commit()
  t.equal((await app.info()).lastBlockHeight, 4)
  t.equal(await store.version(), 5, 'one version per block')
  t.same((await replay(app, log.slice(4))).map(hexOf), hashes.slice(4))
  await store.close()
})
