/**
 * The measuring half of bench/state.ts (run in its own process): opens a built world's
 * store as a restarted node would, pre-signs every measured block, warms the crypto
 * pool's verdict cache for the pre-verified blocks (the mempool's job, untimed), then
 * times finalizeBlock + commit per block and reports medians and RSS.
 *
 * A block's time is finalizeBlock plus the app's commit: finalizeBlock prepares the store
 * version (tree update and root) and commit writes its batch (state/app.ts). Their sum is
 * the work the app did in finalizeBlock alone when it wrote its store there, so the rows
 * stay comparable with runs of that code; the store's share is prepare + write.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { hrtime } from 'node:process'
import type { TxSignatureVerifier } from '../src/abci.ts'
import { decode } from '../src/codec/index.ts'
import { verify } from '../src/crypto/ed25519.ts'
import { createVerifyPool, type VerifyPool } from '../src/crypto/pool.ts'
import { TxEnvelopeSchema, txHash, txSignBytes } from '../src/types/tx.ts'
import { createSocialApp } from '../state/app.ts'
import { openAppStore } from '../state/store-adapter.ts'
import type { AppStore } from '../state/store-api.ts'
import { CHAIN } from '../test/state/helpers.ts'
import type { BenchRow } from './harness.ts'
import { BLOCK_MS, slotTxs, type Manifest } from './state-world.ts'

const nowMs = (): number => Number(hrtime.bigint()) / 1e6

/** The node's verifier: cached verdicts by tx hash, the pool for the rest. */
export function cachedPoolVerifier (pool: VerifyPool): TxSignatureVerifier {
  return {
    async verifyTxs (items) {
      const out: boolean[] = new Array(items.length)
      const miss: number[] = []
      items.forEach((it, i) => {
        const v = pool.cachedVerdict(it.txHash)
        if (v === undefined) miss.push(i)
        else out[i] = v
      })
      if (miss.length > 0) {
        const vs = await pool.verifyBatch(miss.map((i) => {
          const it = items[i] as typeof items[number]
          return { pub: it.pubKey, msg: it.signBytes, sig: it.signature }
        }))
        miss.forEach((i, j) => { out[i] = vs[j] === true })
      }
      return out
    },
  }
}

/** Every signature verified on the calling thread (ZIP-215 rule, default backend). */
export const singleThreadVerifier: TxSignatureVerifier = {
  verifyTxs: async (items) => items.map((i) => verify(i.pubKey, i.signBytes, i.signature)),
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 === 1 ? s[m] as number : ((s[m - 1] as number) + (s[m] as number)) / 2
}

function memory (): { rss: number, anon: number, file: number, heap: number, heapTotal: number, external: number } {
  const g = (globalThis as { gc?: () => void }).gc
  if (g !== undefined) { g(); g() }
  const m = process.memoryUsage()
  let anon = 0
  let file = 0
  try {
    const st = readFileSync('/proc/self/status', 'utf8')
    const kb = (f: string): number => Number(new RegExp(`${f}:\\s+(\\d+)`).exec(st)?.[1] ?? 0) * 1024
    anon = kb('RssAnon')
    file = kb('RssFile')
  } catch {}
  return { rss: m.rss, anon, file, heap: m.heapUsed, heapTotal: m.heapTotal, external: m.external }
}

type Kind = 'warm-up' | 'pre-verified' | 'cold'
/**
 * One block: wall ms of finalizeBlock + the app's commit, of the store's share of it
 * (prepare in finalizeBlock + the batch write in commit), process CPU ms (all threads).
 */
interface Block { finalize: number, commit: number, cpu: number }

export interface MeasureOptions {
  label: string
  sync: boolean
  /** Write the measured blocks' [start, end] (µs, monotonic clock as in .cpuprofile) here. */
  windows?: string | undefined
}

export async function measureWorld (dir: string, man: Manifest, o: MeasureOptions): Promise<BenchRow[]> {
  const log = (m: string): void => { process.stderr.write(`${m}\n`) }
  const inner = await openAppStore({ path: dir, sync: o.sync })
  let prepareMs = 0
  let writeMs = 0
  // The store's two steps, timed on their own: prepare inside finalizeBlock, the write in commit.
  const store: AppStore = {
    ...inner,
    prepare: async () => {
      const t = nowMs()
      try { return await inner.prepare() } finally { prepareMs += nowMs() - t }
    },
    commit: async () => {
      const t = nowMs()
      try { return await inner.commit() } finally { writeMs += nowMs() - t }
    },
  }
  const pool = createVerifyPool()
  try {
    await pool.ready()
    const warm = cachedPoolVerifier(pool)
    let current: TxSignatureVerifier = warm
    const app = createSocialApp({ store, verifier: { verifyTxs: async (items) => await current.verifyTxs(items) }, chainId: CHAIN })
    const kinds: Kind[] = man.slots.map((_, s) => (s === 0 ? 'warm-up' : s % 2 === 1 ? 'pre-verified' : 'cold'))
    // Untimed: sign every block, and verify the pre-verified ones into the pool's cache.
    const blocks = man.slots.map((_, s) => slotTxs(man, s, man.height + 1 + s))
    for (let s = 0; s < blocks.length; s++) {
      if (kinds[s] === 'cold') continue
      await Promise.all((blocks[s] as Uint8Array[]).map(async (raw) => {
        const env = decode(TxEnvelopeSchema, raw)
        return await pool.verifyCached(txHash(raw), env.signer, txSignBytes(env), env.signature)
      }))
    }
    const before = memory()
    log(`state ${o.label}: store opened at height ${man.height}; rss ${(before.rss / 2 ** 20).toFixed(0)} MB before the blocks`)
    const res: Record<Kind, Block[]> = { 'warm-up': [], 'pre-verified': [], cold: [] }
    const windows: Array<[number, number, Kind]> = []
    for (let s = 0; s < blocks.length; s++) {
      const kind = kinds[s] as Kind
      current = kind === 'cold' ? singleThreadVerifier : warm
      const txs = blocks[s] as Uint8Array[]
      const height = man.height + 1 + s
      prepareMs = 0
      writeMs = 0
      const c0 = process.cpuUsage()
      const t0 = nowMs()
      const r = await app.finalizeBlock({
        txs, height, time: man.time + (s + 1) * BLOCK_MS, hash: new Uint8Array(32),
        proposerAddress: new Uint8Array(20), misbehavior: [], nextValidatorsHash: new Uint8Array(32),
      })
      const t1 = nowMs()
      await app.commit()
      const finalize = nowMs() - t0
      windows.push([Math.round(t0 * 1000), Math.round((t0 + finalize) * 1000), kind])
      const c1 = process.cpuUsage(c0)
      const cpu = (c1.user + c1.system) / 1000
      const failed = r.txResults.findIndex((x) => x.code !== 0)
      if (failed >= 0) throw new Error(`block ${s}: tx ${failed} failed with code ${r.txResults[failed]?.code}: ${r.txResults[failed]?.log}`)
      const commit = prepareMs + writeMs
      res[kind].push({ finalize, commit, cpu })
      log(`  block ${s} (${kind}): finalizeBlock + commit ${finalize.toFixed(0)} ms (${(t1 - t0).toFixed(0)} + ${(finalize - (t1 - t0)).toFixed(0)}) = ${(txs.length / finalize * 1000).toFixed(0)} tx/s (process cpu ${cpu.toFixed(0)} ms); store ${commit.toFixed(0)} ms (prepare ${prepareMs.toFixed(0)}, write ${writeMs.toFixed(0)}); rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`)
    }
    if (o.windows !== undefined) writeFileSync(o.windows, JSON.stringify(windows))
    const after = memory()
    const st = inner.inner.stats()
    const mb = (b: number): string => (b / 2 ** 20).toFixed(0)
    log(`state ${o.label}: rss ${mb(after.rss)} MB (anon ${mb(after.anon)}, file-backed ${mb(after.file)}; V8 heap ${mb(after.heap)} used of ${mb(after.heapTotal)}, external ${mb(after.external)}); node cache ${st.cachedNodes}/${st.cacheCapacity}, ${st.cacheHits} hits / ${st.cacheMisses} misses`)
    const tps = (ms: number): number => man.spec.blockTxs / ms * 1000
    const spread = (k: Kind, f: (x: Block) => number): string => {
      const v = res[k].map(f)
      return `${Math.min(...v).toFixed(0)}–${Math.max(...v).toFixed(0)}`
    }
    log(`state ${o.label}: spread tx/s pre-verified ${spread('pre-verified', (x) => tps(x.finalize))}, cold ${spread('cold', (x) => tps(x.finalize))}; store prepare + write ms ${spread('pre-verified', (x) => x.commit)} / ${spread('cold', (x) => x.commit)}; cpu ms ${spread('pre-verified', (x) => x.cpu)} / ${spread('cold', (x) => x.cpu)}`)
    const measured = [...res['pre-verified'], ...res.cold]
    return [
      { name: `state.finalize.${o.label}`, unit: 'tx/s', value: tps(median(res['pre-verified'].map((x) => x.finalize))) },
      { name: `state.finalize.cold.${o.label}`, unit: 'tx/s', value: tps(median(res.cold.map((x) => x.finalize))) },
      { name: `state.exec.${o.label}`, unit: 'tx/s', value: tps(median(res['pre-verified'].map((x) => x.finalize - x.commit))) },
      { name: `state.commit.${o.label}`, unit: 'ms', value: median(measured.map((x) => x.commit)) },
      { name: `state.cpu.${o.label}`, unit: 'ms/block', value: median(res['pre-verified'].map((x) => x.cpu)) },
      { name: `state.rss.${o.label}`, unit: 'MB', value: after.rss / 2 ** 20 },
    ]
  } finally {
    await pool.close()
    await inner.close()
  }
}
