/**
 * Child process of prepare.test.ts: commits one version, prepares the next (with fsync on,
 * as a node runs), prints "committed <version> <root hex>" and "prepared <version> <root
 * hex>", then waits to be killed with the prepared version never written. The writes
 * match prepare.test.ts (V1, then writeV2).
 */
import { openStateStore } from '../../../state/store/index.ts'
import { b, hex } from './helpers.ts'

const dir = process.argv[2]
if (dir === undefined) throw new Error('usage: prepare-child.ts <dir>')
const store = await openStateStore({ path: dir })
for (let i = 0; i < 200; i++) store.set(b(`k${i}`), b(`v${i}`))
const c = await store.commit()
process.stdout.write(`committed ${c.version} ${hex(c.rootHash)}\n`)
for (let i = 0; i < 200; i += 3) store.set(b(`k${i}`), b(`w${i}`))
for (let i = 1; i < 200; i += 7) store.delete(b(`k${i}`))
for (let i = 0; i < 50; i++) store.set(b(`new${i}`), b(`n${i}`))
const p = await store.prepare()
process.stdout.write(`prepared ${p.version} ${hex(p.rootHash)}\n`)
setInterval(() => {}, 1000)
