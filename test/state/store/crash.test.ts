/**
 * Crash consistency: a child process commits in a loop and is killed with SIGKILL at a
 * random moment, usually in the middle of a commit. On reopen the store must be exactly
 * at the last reported version or the one after it (whose batch had reached LevelDB),
 * with that version's content, root and proofs, and its retained history intact.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import t from 'tap'
import { openStateStore, verifyProof } from '../../../state/store/index.ts'
import { b, crashWorkload, hex, referenceRoot, rng, tempDir } from './helpers.ts'

const here = fileURLToPath(new URL('.', import.meta.url))
const child = join(here, 'crash-child.ts')
const register = join(here, '../../../src/register.js')

function modelAt (version: number): Map<string, Uint8Array> {
  const m = new Map<string, Uint8Array>()
  for (let v = 1; v <= version; v++) {
    for (const [k, val] of crashWorkload(v)) if (val === null) m.delete(k); else m.set(k, val)
  }
  return m
}

/** Runs the child until it has reported `commits` more versions, then kills it after `delayMs`. */
async function runAndKill (dir: string, commits: number, delayMs: number): Promise<{ start: number, last: number, roots: Map<number, string> }> {
  const proc = spawn(process.execPath, ['--import', register, child, dir], { stdio: ['ignore', 'pipe', 'inherit'] })
  const roots = new Map<number, string>()
  let start = -1
  let last = -1
  let buf = ''
  let killed = false
  const exited = new Promise<void>((resolve) => proc.on('close', () => resolve()))
  proc.stdout.setEncoding('utf8')
  proc.stdout.on('data', (chunk: string) => {
    buf += chunk
    let nl
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      const [a, c] = line.split(' ') as [string, string]
      if (a === 'ready') {
        start = Number(c)
        last = start
        continue
      }
      last = Number(a)
      roots.set(last, c)
      if (!killed && last - start >= commits) {
        killed = true
        setTimeout(() => proc.kill('SIGKILL'), delayMs)
      }
    }
  })
  await exited
  return { start, last, roots }
}

t.test('SIGKILL during commits leaves the store at a whole version', async (t) => {
  const { dir, cleanup } = await tempDir()
  const r = rng(42)
  const outcomes: string[] = []
  for (let round = 0; round < 5; round++) {
    const { start, last, roots } = await runAndKill(dir, 2 + r.int(3), r.int(120))
    t.ok(start >= 0 && last > start, `round ${round}: child committed ${start}..${last}`)
    const store = await openStateStore({ path: dir, keepRecent: 3 })
    const v = store.version()
    t.ok(v === last || v === last + 1, `round ${round}: reopened at ${v}, last reported ${last}`)
    outcomes.push(v === last ? 'reported' : 'one more')
    const root = await store.rootHash(v)
    if (roots.has(v)) t.equal(hex(root), roots.get(v), 'root as reported')
    const model = modelAt(v)
    t.equal(hex(root), hex(referenceRoot([...model].map(([k, x]) => [b(k), x]))), `v${v} root matches its content`)
    const all = await store.iterate(b('acct/'), { limit: 10_000 })
    t.equal(all.length, model.size, 'flat table has exactly the content')
    t.ok(all.every((e) => hex(e.value) === hex(model.get(Buffer.from(e.key).toString()) ?? new Uint8Array(0))), 'flat values match')
    t.equal(store.oldestVersion(), Math.max(0, v - 2), 'auto-prune watermark committed with the version')
    for (let pv = store.oldestVersion(); pv <= v; pv++) {
      const pm = modelAt(pv)
      const pr = await store.rootHash(pv)
      t.equal(hex(pr), hex(referenceRoot([...pm].map(([k, x]) => [b(k), x]))), `retained v${pv} intact`)
      for (const k of ['acct/1', 'acct/77', 'acct/2999', 'acct/none']) {
        const p = await store.prove(b(k), pv)
        if (!verifyProof(pr, b(k), pm.get(k) ?? null, p.proofBytes)) t.fail(`proof ${k}@${pv}`)
      }
    }
    await store.close()
  }
  t.comment(`outcomes: ${outcomes.join(', ')}`)
  await cleanup()
})
