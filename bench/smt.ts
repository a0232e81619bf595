/**
 * Authenticated state store benchmark (state/store): commit time of a block-sized batch.
 *
 *   node [--expose-gc] --import ./src/register.js bench/smt.ts [--sizes 1e4,1e6] [--updates 3000]
 *        [--commits 10] [--cache 50000[,400000]] [--level-cache-mb 8] [--no-sync] [--value-bytes 120]
 *
 * For each size N: fill a fresh store with N keys in commits of 10,000, reopen it (cold
 * node cache), then make 2 warm-up commits and `--commits` more of `--updates` random
 * writes each (90 % overwrite an existing key, 10 % insert a new one — the shape of a
 * 1,000-tx block touching ~3,000 keys), alternating blind writes with writes of keys read
 * first (as the app does). It prints the time of `commit()` (load + rebuild + one LevelDB
 * batch, fsync unless --no-sync), its process CPU time, the node reads, the nodes written
 * and the memory (RSS split into anonymous and file-backed, live heap). Keys are
 * `acct/<n>`, values random bytes. With several --cache sizes, the same filled store is
 * reopened with each in turn.
 */
import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { ClassicLevel } from 'classic-level'
import { openStateStore } from '../state/store/index.ts'

function arg (name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? (process.argv[i + 1] ?? def) : def
}

const sizes = arg('sizes', '1e4,1e6').split(',').map(Number)
const updates = Number(arg('updates', '3000'))
const commits = Number(arg('commits', '10'))
const caches = arg('cache', '50000').split(',').map(Number)
const levelCacheBytes = Number(arg('level-cache-mb', '8')) * 1024 * 1024
const sync = !process.argv.includes('--no-sync')
const valueBytes = Number(arg('value-bytes', '120'))
const FILL_BATCH = 10_000

// Values are slices of one random pool: randomBytes per value showed up at ~4 % of a profile.
const pool = randomBytes(1 << 22)
const value = (): Uint8Array => {
  const at = Math.floor(Math.random() * (pool.length - valueBytes))
  return pool.subarray(at, at + valueBytes)
}
const te = new TextEncoder()
const key = (i: number): Uint8Array => te.encode(`acct/${i}`)
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MB`
/** RSS split as Linux reports it: RssFile is LevelDB's mmapped table files (page cache). */
const mem = (): string => {
  // With --expose-gc, collect first, so `heap` is the live heap rather than garbage.
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc !== undefined) gc()
  const m = process.memoryUsage()
  let split = ''
  try {
    const st = readFileSync('/proc/self/status', 'utf8')
    const kb = (f: string): number => Number(new RegExp(`${f}:\\s+(\\d+)`).exec(st)?.[1] ?? 0) * 1024
    split = `, anon ${mb(kb('RssAnon'))}, file ${mb(kb('RssFile'))}`
  } catch {}
  return `rss ${mb(m.rss)}${split} (heap ${mb(m.heapUsed)}, external ${mb(m.external)})`
}
const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6

function stats (xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b)
  const mean = s.reduce((a, b) => a + b, 0) / s.length
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] as number
  return `mean ${mean.toFixed(1)} ms, median ${q(0.5).toFixed(1)}, min ${(s[0] as number).toFixed(1)}, max ${(s[s.length - 1] as number).toFixed(1)}`
}

async function countNodes (dir: string, version: number): Promise<number> {
  // Nodes written by one version are contiguous: 'n' ‖ version (8 bytes BE).
  const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  const lo = new Uint8Array(9); lo[0] = 0x6e
  new DataView(lo.buffer).setBigUint64(1, BigInt(version))
  const hi = lo.slice(); new DataView(hi.buffer).setBigUint64(1, BigInt(version + 1))
  let n = 0
  for await (const _k of db.keys({ gte: lo, lt: hi })) n++
  await db.close()
  return n
}

async function run (n: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'aid-smt-bench-'))
  try {
    let store = await openStateStore({ path: dir, cacheNodes: caches[0] as number, levelCacheBytes, sync })
    const tFill = process.hrtime.bigint()
    let next = 0
    while (next < n) {
      const end = Math.min(n, next + FILL_BATCH)
      for (; next < end; next++) store.set(key(next), value())
      await store.commit()
      if (n >= 1e5 && next % 100_000 === 0) console.log(`  fill ${next} keys: ${(ms(tFill) / 1000).toFixed(1)} s, ${mem()}`)
    }
    console.log(`N=${n}: filled in ${(ms(tFill) / 1000).toFixed(1)} s (${n / FILL_BATCH} commits of ${FILL_BATCH})`)
    await store.close()
    let size = n
    for (const cacheNodes of caches) {
      // Reopen, so the measured commits start from a cold node cache, as after a restart.
      store = await openStateStore({ path: dir, cacheNodes, levelCacheBytes, sync })
      console.log(`N=${n}, cacheNodes ${cacheNodes}:`)
      type Mode = 'warm-up' | 'blind' | 'read-first'
      const series: Record<Mode, { wall: number[], cpu: number[], reads: number[] }> = {
        'warm-up': { wall: [], cpu: [], reads: [] }, blind: { wall: [], cpu: [], reads: [] }, 'read-first': { wall: [], cpu: [], reads: [] },
      }
      const versions: number[] = []
      for (let c = 0; c < commits + 2; c++) {
        // Two warm-up commits, then alternating: blind writes, and writes of keys read first
        // (what the app does: it reads every record it changes, which gives the store hints).
        const mode: Mode = c < 2 ? 'warm-up' : c % 2 === 0 ? 'blind' : 'read-first'
        const s = series[mode]
        const keys: number[] = []
        for (let i = 0; i < updates; i++) keys.push(i % 10 === 0 ? size++ : Math.floor(Math.random() * size))
        if (mode === 'read-first') {
          const t0 = process.hrtime.bigint()
          for (let i = 0; i < keys.length; i += 500) await Promise.all(keys.slice(i, i + 500).map(async (k) => await store.get(key(k))))
          s.reads.push(ms(t0))
        }
        const before = store.stats()
        for (const k of keys) store.set(key(k), value())
        const t1 = process.hrtime.bigint()
        const cpu0 = process.cpuUsage()
        const r = await store.commit()
        const wall = ms(t1)
        const cpu = process.cpuUsage(cpu0)
        s.wall.push(wall)
        s.cpu.push((cpu.user + cpu.system) / 1000)
        versions.push(r.version)
        const after = store.stats()
        const hits = after.cacheHits - before.cacheHits
        const misses = after.cacheMisses - before.cacheMisses
        console.log(`  commit ${c + 1} (${mode}): ${wall.toFixed(1)} ms, cpu ${(s.cpu[s.cpu.length - 1] as number).toFixed(1)} ms${mode === 'read-first' ? ` (after reads of ${(s.reads[s.reads.length - 1] as number).toFixed(1)} ms)` : ''}, node cache ${hits}/${hits + misses} hits, ${misses} node reads`)
      }
      const rss = mem()
      let proofBytes = 0
      let absentBytes = 0
      for (let i = 0; i < 100; i++) {
        proofBytes += (await store.prove(key(Math.floor(Math.random() * n)))).proofBytes.length
        absentBytes += (await store.prove(te.encode(`absent/${i}`))).proofBytes.length
      }
      await store.close()
      console.log(`N=${n}: proof size (mean of 100): present ${(proofBytes / 100).toFixed(0)} B, absent ${(absentBytes / 100).toFixed(0)} B`)
      const written: number[] = []
      for (const v of versions.slice(-2)) written.push(await countNodes(dir, v))
      for (const mode of ['blind', 'read-first'] as const) {
        const s = series[mode]
        console.log(`N=${n} ${mode}: commit of ${updates} writes: ${stats(s.wall)}; process CPU (all threads) ${stats(s.cpu)}`)
        if (mode === 'read-first') console.log(`N=${n} read-first: the ${updates} reads before each commit (500 at a time): ${stats(s.reads)}`)
      }
      console.log(`N=${n}: nodes written per commit (last 2): ${written.join(', ')}; after the commits: ${rss}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`)
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

console.log(`state store bench: updates ${updates}, commits ${commits}, cacheNodes ${caches.join(' then ')}, LevelDB cache ${mb(levelCacheBytes)}, sync ${sync}, values ${valueBytes} B`)
for (const n of sizes) await run(n)
