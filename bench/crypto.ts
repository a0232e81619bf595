/**
 * Crypto kernel benchmark: `npm run bench:crypto` (table) or `npm run bench:crypto -- --json`
 * (one {"name","unit","value"} per line); `-- --filter sha256` runs matching cases only.
 *
 * Rows: Ed25519 verify over 100-byte messages (raw libsodium as the reference, each
 * rule-keeping backend single-thread, the worker pool), the cost of invalid signatures
 * (fast reject vs the noble fallback, DESIGN §7's DoS note), SHA-256 at 64 B / 1 KiB /
 * 64 KiB, and the Merkle root of 10,000 tx hashes. Ratio rows check the targets:
 *   ratio.best-single/raw            >= 0.9 (wrapper vs raw libsodium, interleaved rounds)
 *   ratio.pool/sodium.interleaved    >= 1.6 (pool vs one thread, interleaved rounds)
 *   ratio.pool/best-single           the same from separately measured rows
 *   ratio.pool/sodium.cpu-per-sig    CPU per signature (all threads), pool vs one thread:
 *                                    the pool's own cost; ~1 means idle speedup ~ cores
 * Interleaving matters on a shared machine: both sides of a ratio see the same load.
 *
 * Hook for other kernel owners: export a `BenchGroup` from a file under bench/ (e.g.
 * `codecGroup()` in bench/codec-cases.ts with encode/decode of a vote and of a 1,000-tx
 * block) and add it to `benchGroups()` below; the harness prints its rows the same way.
 */
import { pathToFileURL } from 'node:url'
import sodium from 'sodium-native'
import { measure, measureInterleaved, runBench, type BenchCase, type BenchGroup, type BenchRow } from './harness.ts'
import { createSigner, createVerifier, generateKeyPair, type Ed25519Backend } from '../src/crypto/ed25519.ts'
import { createVerifyPool, type VerifyItem } from '../src/crypto/pool.ts'
import { sha256 } from '../src/crypto/hash.ts'
import { merkleRoot } from '../src/crypto/merkle.ts'

const MSG_BYTES = 100

/** Valid signatures by `keys` keys over `n` distinct 100-byte messages. */
export function signedItems (n: number, keys = 16): VerifyItem[] {
  const signers = Array.from({ length: keys }, () => createSigner(generateKeyPair()))
  return Array.from({ length: n }, (_, i) => {
    const s = signers[i % keys] as ReturnType<typeof createSigner>
    const msg = new Uint8Array(MSG_BYTES)
    new DataView(msg.buffer).setUint32(0, i)
    return { pub: s.publicKey, msg, sig: s.sign(msg) }
  })
}

/** A cycling picker, so each call verifies the next item. */
function cycle<T> (xs: readonly T[]): () => T {
  let i = 0
  return () => xs[i++ % xs.length] as T
}

function ed25519Group (): BenchGroup {
  const items = signedItems(1024)
  const verifyFn = (backend: Ed25519Backend | 'raw'): () => unknown => {
    const next = cycle(items)
    if (backend === 'raw') {
      const bufs = items.map((it) => ({ pub: Buffer.from(it.pub), msg: Buffer.from(it.msg), sig: Buffer.from(it.sig) }))
      const nb = cycle(bufs)
      return () => { const it = nb(); return sodium.crypto_sign_verify_detached(it.sig, it.msg, it.pub) }
    }
    const v = createVerifier({ backend })
    return () => { const it = next(); return v.verify(it.pub, it.msg, it.sig) }
  }
  const cases: BenchCase[] = [
    {
      name: 'verify.single',
      async run () {
        // Interleaved rounds: the wrapper and the raw library see the same machine load.
        const names = ['verify.raw-libsodium', 'verify.sodium', 'verify.node'] as const
        const rates = await measureInterleaved([
          verifyFn('raw'), verifyFn('sodium'), verifyFn('node'),
        ], { rounds: 7, roundMs: 400, warmupMs: 500 })
        return names.map((name, i) => ({ name, unit: 'ops/s', value: rates[i] as number }))
      },
    },
    {
      name: 'verify.noble',
      async run () {
        return [{ name: 'verify.noble', unit: 'ops/s', value: await measure(verifyFn('noble'), { rounds: 3, roundMs: 400 }) }]
      },
    },
    {
      name: 'verify.sodium.invalid',
      async run () {
        // Invalid signatures: a corrupted message (fast reject: one more point check) and
        // speccheck case 0 (small-order A and R: libsodium refuses, noble decides).
        const v = createVerifier({ backend: 'sodium' })
        const bad = items.map((it) => ({ ...it, msg: Uint8Array.from(it.msg, (b, j) => j === 50 ? b ^ 1 : b) }))
        const nb = cycle(bad)
        const pub = Uint8Array.from(Buffer.from('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa', 'hex'))
        const sig = Uint8Array.from(Buffer.from('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a' + '00'.repeat(32), 'hex'))
        const msg = Uint8Array.from(Buffer.from('8c93255d71dcab10e8f379c26200f3c7bd5f09d9bc3068d3ef4edeb4853022b6', 'hex'))
        const reject = await measure(() => { const it = nb(); return v.verify(it.pub, it.msg, it.sig) })
        const fallback = await measure(() => v.verify(pub, msg, sig), { rounds: 3 })
        return [
          { name: 'verify.sodium.invalid', unit: 'ops/s', value: reject },
          { name: 'verify.sodium.fallback', unit: 'ops/s', value: fallback },
        ]
      },
    },
  ]
  return { cases }
}

function poolGroup (): BenchGroup {
  const items = signedItems(4096)
  return {
    cases: [{
      name: 'verify.pool',
      async run () {
        const pool = createVerifyPool()
        const v = createVerifier({ backend: 'sodium' })
        try {
          await pool.ready()
          // Interleaved with the same 4,096 signatures verified on this thread, so the
          // ratio holds under whatever else the machine is doing.
          const [batch, single] = await measureInterleaved([
            async () => await pool.verifyBatch(items),
            () => { for (const it of items) v.verify(it.pub, it.msg, it.sig) },
          ], { opsPerCall: items.length, roundMs: 600 })
          // CPU per signature, all threads, pool vs one thread: what the pool costs beyond
          // the verifies themselves. On an idle machine it bounds the speedup at cores/this;
          // unlike the throughput ratio it is meaningful on a shared, saturated machine.
          const cpuPer = async (f: () => unknown, reps: number): Promise<number> => {
            const c0 = process.cpuUsage()
            for (let r = 0; r < reps; r++) await f()
            const c = process.cpuUsage(c0)
            return (c.user + c.system) / (reps * items.length)
          }
          const poolCpu = await cpuPer(async () => await pool.verifyBatch(items), 4)
          const singleCpu = await cpuPer(() => { for (const it of items) v.verify(it.pub, it.msg, it.sig) }, 4)
          // Single verify() calls made in one tick, coalesced into batches by the pool.
          const singles = items.slice(0, 1024)
          const coalesced = await measure(async () => await Promise.all(singles.map((it) => pool.verify(it.pub, it.msg, it.sig))),
            { opsPerCall: singles.length, roundMs: 600 })
          return [
            { name: 'verify.pool', unit: 'ops/s', value: batch as number },
            { name: 'verify.pool.coalesced', unit: 'ops/s', value: coalesced },
            { name: 'ratio.pool/sodium.interleaved', unit: 'x', value: (batch as number) / (single as number) },
            { name: 'ratio.pool/sodium.cpu-per-sig', unit: 'x', value: poolCpu / singleCpu },
          ]
        } finally {
          await pool.close()
        }
      },
    }],
  }
}

function hashGroup (): BenchGroup {
  const sizes: Array<[string, number]> = [['64B', 64], ['1KiB', 1024], ['64KiB', 65536]]
  return {
    cases: sizes.map(([label, n]) => ({
      name: `sha256.${label}`,
      async run () {
        const data = new Uint8Array(n).fill(0x5a)
        const rate = await measure(() => sha256(data))
        return [
          { name: `sha256.${label}`, unit: 'hashes/s', value: rate },
          { name: `sha256.${label}`, unit: 'MB/s', value: rate * n / 1e6 },
        ]
      },
    })),
  }
}

function merkleGroup (): BenchGroup {
  const leaves = Array.from({ length: 10_000 }, (_, i) => sha256(new Uint8Array(new Uint32Array([i]).buffer)))
  return {
    cases: [{
      name: 'merkle.root.10k',
      async run () {
        const rate = await measure(() => merkleRoot(leaves), { rounds: 5 })
        return [
          { name: 'merkle.root.10k', unit: 'roots/s', value: rate },
          { name: 'merkle.root.10k', unit: 'ms', value: 1000 / rate },
        ]
      },
    }],
  }
}

/** Derived rows checking the performance targets against rows of the same run. */
function ratioRows (rows: BenchRow[]): BenchRow[] {
  const get = (name: string): number | undefined => rows.find((r) => r.name === name && r.unit === 'ops/s')?.value
  const raw = get('verify.raw-libsodium')
  const singles = ['verify.sodium', 'verify.node', 'verify.noble'].map(get).filter((v): v is number => v !== undefined)
  const best = singles.length > 0 ? Math.max(...singles) : undefined
  const pool = get('verify.pool')
  const out: BenchRow[] = []
  if (best !== undefined && raw !== undefined) out.push({ name: 'ratio.best-single/raw', unit: 'x', value: best / raw })
  if (best !== undefined && pool !== undefined) out.push({ name: 'ratio.pool/best-single', unit: 'x', value: pool / best })
  return out
}

/** Every group this bench runs, in order. Add other kernel groups (codec) here. */
export function benchGroups (): BenchGroup[] {
  return [ed25519Group(), poolGroup(), hashGroup(), merkleGroup()]
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await runBench(benchGroups(), process.argv.slice(2), ratioRows)
}
