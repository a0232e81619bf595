/**
 * Crash consistency: a child process saves heights in a loop (block store, then consensus
 * state store) and is SIGKILLed at a random moment; on reopen, the block store's height()
 * must be consistent with every record for every height from base to height (meta, all
 * parts, seen commit, the commit of each height below the top, the hash index), nothing
 * of height()+1 may exist, and the state store must be at height() or one behind with
 * every validators and params record it implies. Repeated over several kills, resuming
 * each time from where the last child stopped. Set CRASH_SEED to replay.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ClassicLevel } from 'classic-level'
import { toHex } from '../../../src/bytes.ts'
import { openBlockStore, openConsensusStateStore } from '../../../src/store/index.ts'
import { hashKey, heightKey, partKey, type StoreDb } from '../../../src/store/db.ts'
import { validateBlock } from '../../../src/types/index.ts'
import { makeRng } from '../codec/fuzz-helpers.ts'
import { withDir } from './helpers.ts'
import { inc, txsAt } from './crash-child.ts'

const SEED = Number(process.env.CRASH_SEED ?? '4242')
const ROUNDS = 4
const root = fileURLToPath(new URL('../../../', import.meta.url))
const childPath = fileURLToPath(new URL('./crash-child.ts', import.meta.url))

/** Runs the child until it has saved at least one height, waits `delayMs` more, then SIGKILLs it. */
function runAndKill (dir: string, sync: boolean, delayMs: number): Promise<{ lastReported: number, signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', './src/register.js', childPath, dir, sync ? '1' : '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    let armed = false
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d
      if (!armed && out.includes('saved ')) {
        armed = true
        setTimeout(() => child.kill('SIGKILL'), delayMs)
      }
    })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') { reject(new Error(`child exited with ${String(code)}: ${err}`)); return }
      const m = [...out.matchAll(/saved (\d+)/g)].at(-1)
      resolve({ lastReported: m === undefined ? 0 : Number(m[1]), signal })
    })
  })
}

t.test('kill -9 while saving never leaves half a height', async (t) => withDir(t, async (dir) => {
  const rng = makeRng(SEED)
  let lastHeight = 0
  for (let round = 0; round < ROUNDS; round++) {
    const sync = rng.bool()
    const delay = rng.range(0, 250)
    const { lastReported } = await runAndKill(dir, sync, delay)

    const blockDb = new ClassicLevel<Uint8Array, Uint8Array>(join(dir, 'blockstore.db'), { keyEncoding: 'view', valueEncoding: 'view' })
    await blockDb.open()
    const blocks = await openBlockStore({ db: blockDb as unknown as StoreDb })
    const states = await openConsensusStateStore({ path: join(dir, 'state.db'), incrementProposerPriority: inc })
    const H = blocks.height()
    const label = `round ${round} (seed ${SEED}, sync ${String(sync)}, kill ${delay} ms after the first save): height ${H}`
    t.ok(H >= lastReported && H >= lastHeight, `${label}: nothing reported saved was lost (reported ${lastReported}, before ${lastHeight})`)
    t.equal(blocks.base(), 1, `${label}: base`)

    // Heights below lastHeight - 2 were checked in earlier rounds; their metas are re-read only.
    let problems = 0
    for (let h = 1; h < Math.max(1, lastHeight - 2); h++) if ((await blocks.loadBlockMeta(h))?.header.height !== h) problems++
    for (let h = Math.max(1, lastHeight - 2); h <= H; h++) {
      const block = await blocks.loadBlock(h) // reassembles every part; throws ERR_STORE_CORRUPT if one is missing
      const meta = await blocks.loadBlockMeta(h)
      if (block === undefined || meta === undefined) { problems++; continue }
      if (!validateBlock(block).ok) problems++
      if (block.txs.length !== txsAt(h).length) problems++
      if ((await blocks.loadSeenCommit(h))?.height !== h) problems++
      if (h < H && (await blocks.loadCommit(h))?.height !== h) problems++
      if ((await blocks.loadBlockByHash(meta.blockId.hash))?.header.height !== h) problems++
      if (h > 1 && toHex(block.header.lastBlockId.hash) !== toHex((await blocks.loadBlockMeta(h - 1))!.blockId.hash)) problems++
    }
    t.equal(problems, 0, `${label}: every record of heights 1..${H} is present and consistent`)

    const above = [heightKey('blockMeta', H + 1), heightKey('seenCommit', H + 1), heightKey('commit', H), partKey(H + 1, 0)]
    for (const k of above) t.equal(await blockDb.get(k.key), undefined, `${label}: no ${k.name}`)
    t.equal(await blockDb.get(hashKey(new Uint8Array(32)).key), undefined)

    const state = await states.loadState()
    const S = state?.lastBlockHeight ?? 0
    t.ok(S === H || S === H - 1, `${label}: chain state at ${S}, block store at ${H}`)
    let missing = 0
    for (let h = 1; h <= S + 2; h++) if ((await states.loadValidators(h)) === undefined) missing++
    for (let h = 1; h <= S + 1; h++) if ((await states.loadConsensusParams(h)) === undefined) missing++
    t.equal(missing, 0, `${label}: validators up to ${S + 2} and params up to ${S + 1}`)
    if (state !== undefined && S > 0) {
      const v = await states.loadValidators(S + 1)
      t.equal(v?.validators[0]?.proposerPriority, state.validators.validators[0]?.proposerPriority, `${label}: priorities of the set for ${S + 1}`)
    }
    await states.close()
    await blocks.close()
    await blockDb.close()
    lastHeight = H
  }
  t.ok(lastHeight > 0, `reached height ${lastHeight}`)
}))
