/**
 * Authenticated state store benchmark (state/store): commit time of a block-sized batch.
 *
 *   node --import ./src/register.js bench/smt.ts [--sizes 1e4,1e6] [--updates 3000]
 *        [--commits 10] [--cache 50000] [--level-cache-mb 8] [--no-sync] [--value-bytes 120]
 *
 * For each size N: fill a fresh store with N keys in commits of 10,000, then make
 * `--commits` commits of `--updates` random writes each (90 % overwrite an existing key,
 * 10 % insert a new one — the shape of a 1,000-tx block touching ~3,000 keys), and print
 * the time of `commit()` (load + rebuild + one LevelDB batch), the nodes it wrote, the
 * node-cache hit rate, and the process RSS. Keys are `acct/<n>`, values random bytes.
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
const cacheNodes = Number(arg('cache', '50000'))
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
    let store = await openStateStore({ path: dir, cacheNodes, levelCacheBytes, sync })
    const tFill = process.hrtime.bigint()
    let next = 0
    while (next < n) {
      const end = Math.min(n, next + FILL_BATCH)
      for (; next < end; next++) store.set(key(next), value())
      await store.commit()
      if (n >= 1e5 && next % 100_000 === 0) console.log(`  fill ${next} keys: ${(ms(tFill) / 1000).toFixed(1)} s, ${mem()}`)
    }
    console.log(`N=${n}: filled in ${(ms(tFill) / 1000).toFixed(1)} s (${n / FILL_BATCH} commits of ${FILL_BATCH})`)
    // Reopen, so the measured commits start from a cold node cache, as after a restart.
    await store.close()
    store = await openStateStore({ path: dir, cacheNodes, levelCacheBytes, sync })
    const times: number[] = []
    const setTimes: number[] = []
    const cpuTimes: number[] = []
    const versions: number[] = []
    let size = n
    for (let c = 0; c < commits; c++) {
      const before = store.stats()
      const t0 = process.hrtime.bigint()
      for (let i = 0; i < updates; i++) {
        const k = i % 10 === 0 ? size++ : Math.floor(Math.random() * size)
        store.set(key(k), value())
      }
      setTimes.push(ms(t0))
      const t1 = process.hrtime.bigint()
      const cpu0 = process.cpuUsage()
      const r = await store.commit()
      times.push(ms(t1))
      const cpu = process.cpuUsage(cpu0)
      cpuTimes.push((cpu.user + cpu.system) / 1000)
      versions.push(r.version)
      const after = store.stats()
      const hits = after.cacheHits - before.cacheHits
      const misses = after.cacheMisses - before.cacheMisses
      console.log(`  commit ${c + 1}: ${(times[c] as number).toFixed(1)} ms, cpu ${(cpuTimes[c] as number).toFixed(1)} ms (sets ${(setTimes[c] as number).toFixed(1)} ms), cache ${hits}/${hits + misses} hits, cached ${after.cachedNodes}`)
    }
    const rss = mem()
    await store.close()
    const written: number[] = []
    for (const v of versions.slice(-3)) written.push(await countNodes(dir, v))
    console.log(`N=${n}: commit of ${updates} writes: ${stats(times)}; warm (last half): ${stats(times.slice(commits >> 1))}`)
    console.log(`N=${n}: process CPU per commit (all threads): ${stats(cpuTimes)}`)
    console.log(`N=${n}: nodes written per commit (last 3): ${written.join(', ')}; after the commits: ${rss}`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

console.log(`state store bench: updates ${updates}, commits ${commits}, cacheNodes ${cacheNodes}, LevelDB cache ${mb(levelCacheBytes)}, sync ${sync}, values ${valueBytes} B`)
for (const n of sizes) await run(n)
