/**
 * Child process of crash.test.ts: commits the deterministic crash workload version after
 * version, printing "<version> <root hex>" after each commit, until it is killed.
 */
import { openStateStore } from '../../../state/store/index.ts'
import { b, crashWorkload, hex } from './helpers.ts'

const dir = process.argv[2]
if (dir === undefined) throw new Error('usage: crash-child.ts <dir>')
const store = await openStateStore({ path: dir, keepRecent: 3 })
process.stdout.write(`ready ${store.version()}\n`)
for (;;) {
  for (const [k, v] of crashWorkload(store.version() + 1)) {
    if (v === null) store.delete(b(k)); else store.set(b(k), v)
  }
  const c = await store.commit()
  process.stdout.write(`${c.version} ${hex(c.rootHash)}\n`)
}
