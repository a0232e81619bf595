/**
 * Private validator (consensus/privval.ts): CometBFT privval/file.go rules (regressions,
 * same-HRS re-sign, timestamp-only difference), persistence before release, and a crash
 * test: a child process is SIGKILLed at every persistence point, restarted with different
 * data, and across all runs no (height, round, step) ever gets two different releases.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  openPrivValidator, PERSIST_POINTS, type PersistPoint, type PrivValidator, type PrivValidatorOptions, type UnsignedVote,
} from '../../consensus/privval.ts'
import { loadPrivValidatorState, generatePrivValidatorKey, writePrivValidatorKey } from '../../src/config/keys.ts'
import { keyPairFromSecretKey, verify } from '../../src/crypto/ed25519.ts'
import { fromHex } from '../../src/bytes.ts'
import { proposalSignBytes, voteSignBytes } from '../../src/types/index.ts'
import { blockId, tempDir } from './shell-fixtures.ts'
import { privvalStream, PRIVVAL_CHILD_SEED } from './privval-stream.ts'

const CHAIN = 'test-chain'
const SEED = new Uint8Array(32).fill(1)

type TestLike = { teardown: (fn: () => Promise<void>) => void }

async function fresh (t: TestLike, extra: Partial<PrivValidatorOptions> = {}): Promise<{ pv: PrivValidator, stateFile: string, dir: string }> {
  const dir = await tempDir(t)
  const stateFile = join(dir, 'priv_validator_state.json')
  const pv = await openPrivValidator({ key: { secret: SEED }, stateFile, createIfMissing: true, ...extra })
  t.teardown(() => pv.close())
  return { pv, stateFile, dir }
}

function vote (over: Partial<UnsignedVote> = {}): UnsignedVote {
  return {
    type: 'prevote', height: 5, round: 1, blockId: blockId('a'), timestamp: 1_000, validatorAddress: new Uint8Array(20), validatorIndex: 0, ...over,
  }
}

t.test('signs, persists before release, and the signature verifies', async (t) => {
  const { pv, stateFile } = await fresh(t)
  const v = await pv.signVote(CHAIN, vote())
  const bytes = voteSignBytes(CHAIN, v)
  t.ok(verify(pv.publicKey, bytes, v.signature), 'valid under the consensus rule')
  const onDisk = await loadPrivValidatorState(stateFile)
  t.strictSame(onDisk, { height: 5, round: 1, step: 2, signature: v.signature, signBytes: bytes })
  t.equal((await stat(stateFile)).mode & 0o777, 0o600)
  t.strictSame(pv.lastSignState(), onDisk)
})

t.test('regressions are refused with ERR_PRIVVAL_CONFLICT and change nothing', async (t) => {
  const { pv } = await fresh(t)
  await pv.signVote(CHAIN, vote({ type: 'precommit', height: 5, round: 1 }))
  const before = pv.lastSignState()
  const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
    ['lower height', () => pv.signVote(CHAIN, vote({ height: 4, round: 9 })), /height regression/],
    ['lower round', () => pv.signVote(CHAIN, vote({ type: 'precommit', round: 0 })), /round regression/],
    ['lower step: prevote after precommit', () => pv.signVote(CHAIN, vote({ type: 'prevote' })), /step regression/],
    ['lower step: proposal after precommit', () => pv.signProposal(CHAIN, { height: 5, round: 1, polRound: -1, blockId: blockId('a'), timestamp: 1 }), /step regression/],
    ['same HRS, other block', () => pv.signVote(CHAIN, vote({ type: 'precommit', blockId: blockId('b') })), /conflicting data/],
    ['same HRS, other block and time', () => pv.signVote(CHAIN, vote({ type: 'precommit', blockId: blockId('b'), timestamp: 9 })), /conflicting data/],
    ['same HRS, other chain', () => pv.signVote('other-chain', vote({ type: 'precommit' })), /conflicting data/],
  ]
  for (const [name, fn, why] of cases) {
    await t.rejects(fn(), { code: 'ERR_PRIVVAL_CONFLICT', message: why }, name)
  }
  t.strictSame(pv.lastSignState(), before, 'state untouched')
  t.ok((await pv.signVote(CHAIN, vote({ type: 'prevote', round: 2 }))).signature, 'a higher round still signs')
})

t.test('same HRS: identical bytes return the saved signature; timestamp-only returns saved signature and time', async (t) => {
  const { pv } = await fresh(t)
  const first = await pv.signVote(CHAIN, vote({ timestamp: 1_000 }))
  const again = await pv.signVote(CHAIN, vote({ timestamp: 1_000 }))
  t.strictSame(again, first, 'identical request: identical vote')
  const later = await pv.signVote(CHAIN, vote({ timestamp: 5_000_000_000_000 }))
  t.equal(later.timestamp, 1_000, 'saved timestamp')
  t.strictSame(later.signature, first.signature, 'saved signature')
  t.ok(verify(pv.publicKey, voteSignBytes(CHAIN, later), later.signature), 'and they match each other')

  const p = { height: 6, round: 0, polRound: -1, blockId: blockId('p'), timestamp: 2_000 }
  const sp = await pv.signProposal(CHAIN, p)
  t.strictSame(await pv.signProposal(CHAIN, p), sp)
  const sp2 = await pv.signProposal(CHAIN, { ...p, timestamp: 3_000 })
  t.equal(sp2.timestamp, 2_000)
  t.strictSame(sp2.signature, sp.signature)
  t.ok(verify(pv.publicKey, proposalSignBytes(CHAIN, sp2), sp2.signature))
  await t.rejects(pv.signProposal(CHAIN, { ...p, polRound: 0 }), { code: 'ERR_PRIVVAL_CONFLICT' }, 'other polRound')
  await t.rejects(pv.signProposal(CHAIN, { ...p, blockId: blockId('q'), timestamp: 3_000 }), { code: 'ERR_PRIVVAL_CONFLICT' }, 'other block')
  t.ok(await pv.signVote(CHAIN, vote({ height: 6, round: 0, blockId: blockId('p') })), 'a prevote after the proposal of the same round')
})

t.test('the guard survives a restart; signatures are deterministic', async (t) => {
  const { pv, stateFile } = await fresh(t)
  const v = await pv.signVote(CHAIN, vote({ type: 'precommit' }))
  await pv.close()
  await t.rejects(pv.signVote(CHAIN, vote({ height: 99 })), { code: 'ERR_PRIVVAL_CLOSED' })
  const pv2 = await openPrivValidator({ key: { secret: SEED }, stateFile })
  t.teardown(() => pv2.close())
  await t.rejects(pv2.signVote(CHAIN, vote({ type: 'precommit', blockId: blockId('z') })), { code: 'ERR_PRIVVAL_CONFLICT' })
  t.strictSame(await pv2.signVote(CHAIN, vote({ type: 'precommit' })), v)

  const other = await fresh(t)
  t.strictSame((await other.pv.signVote(CHAIN, vote({ type: 'precommit' }))).signature, v.signature, 'same key, same bytes, same signature')
})

t.test('key from a priv_validator_key.json; a missing state file is refused unless asked to create it', async (t) => {
  const dir = await tempDir(t)
  const keyFile = join(dir, 'priv_validator_key.json')
  const key = generatePrivValidatorKey(SEED)
  await writePrivValidatorKey(keyFile, key)
  const stateFile = join(dir, 'priv_validator_state.json')
  await t.rejects(openPrivValidator({ key: { file: keyFile }, stateFile }), { code: 'ERR_PRIVVAL_STATE_INVALID', message: /missing/ })
  const pv = await openPrivValidator({ key: { file: keyFile }, stateFile, createIfMissing: true })
  t.strictSame(pv.publicKey, key.publicKey)
  t.strictSame(pv.address, key.address)
  t.strictSame(await loadPrivValidatorState(stateFile), { height: 0, round: 0, step: 0, signature: null, signBytes: null })
  await pv.close()
  // a temp file left by a crash is dropped on open
  await writeFile(join(dir, '.priv_validator_state.json.tmp'), 'partial')
  const pv2 = await openPrivValidator({ key: { file: keyFile }, stateFile })
  await t.rejects(readFile(join(dir, '.priv_validator_state.json.tmp')), { code: 'ENOENT' })
  await pv2.close()
})

t.test('a failed persist releases nothing and stops all later signing', async (t) => {
  let armed = false
  const { pv, stateFile } = await fresh(t, { faultHook: (p: PersistPoint) => { if (armed && p === 'after-temp-fsync') throw new Error('disk on fire') } })
  await pv.signVote(CHAIN, vote({ height: 1 }))
  armed = true
  await t.rejects(pv.signVote(CHAIN, vote({ height: 2 })), { code: 'ERR_PRIVVAL_STATE_INVALID', message: /disk on fire/ })
  armed = false
  await t.rejects(pv.signVote(CHAIN, vote({ height: 3 })), { code: 'ERR_PRIVVAL_STATE_INVALID' }, 'sticky')
  t.equal((await loadPrivValidatorState(stateFile)).height, 1, 'the file still holds height 1')
})

// ---- crash test ------------------------------------------------------------------------

interface LogLine { run: number, i: number, hrs: string, released: boolean, signBytes?: string, signature?: string, requested?: number, timestamp?: number }

const CHILD = join(import.meta.dirname, 'privval-child.ts')

function runChild (t: TestLike, env: Record<string, string>): Promise<{ code: number | null, signal: NodeJS.Signals | null, stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', './src/register.js', CHILD], {
      cwd: join(import.meta.dirname, '..', '..'),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 60_000)
    const done = new Promise<void>((res) => child.on('exit', () => { res() }))
    t.teardown(async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await done
    })
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stderr })
    })
  })
}

async function readLog (dir: string): Promise<LogLine[]> {
  const text = await readFile(join(dir, 'released.log'), 'utf8').catch(() => '')
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as LogLine)
}

const KILL_POINTS: ReadonlyArray<PersistPoint | 'after-release'> = [...PERSIST_POINTS, 'after-release']

/**
 * Two chains of child processes; in each, run r is killed at one point (the chains visit
 * every point, at different occurrences), the next run restarts two requests before the
 * last one logged, asking for other data, and a final run goes to the end of the stream.
 */
t.test('crash at every persistence point never releases two signatures for one HRS', async (t) => {
  const streamLength = privvalStream(0).length
  const pub = keyPairFromSecretKey(PRIVVAL_CHILD_SEED).publicKey
  const killedAt = new Set<string>()
  const chain = async (c: number): Promise<LogLine[]> => {
    const dir = await tempDir(t, 'aid-privval-crash-', true)
    let start = 0
    for (let run = 0; run <= KILL_POINTS.length; run++) {
      const point = KILL_POINTS[(run + 3 * c) % KILL_POINTS.length] as string
      const killed = run < KILL_POINTS.length
      const env: Record<string, string> = { PV_DIR: dir, RUN: String(run), START: String(start) }
      if (killed) Object.assign(env, { KILL_POINT: point, KILL_AT: String(2 + c) })
      const res = await runChild(t, env)
      if (killed) {
        t.equal(res.signal, 'SIGKILL', `chain ${c} run ${run} died at ${point} ${res.stderr.slice(0, 300)}`)
        if (res.signal === 'SIGKILL') killedAt.add(point)
      } else {
        t.equal(res.code, 0, `chain ${c}: the final run completes ${res.stderr.slice(0, 300)}`)
      }
      const log = await readLog(dir)
      start = Math.max(0, (log[log.length - 1]?.i ?? 0) - 2)
    }
    return await readLog(dir)
  }
  const logs = await Promise.all([chain(0), chain(1)])
  t.same([...killedAt].sort(), [...KILL_POINTS].sort(), 'every point was hit')

  for (const [c, log] of logs.entries()) {
    const byHrs = new Map<string, LogLine>()
    let problems = 0
    for (const l of log.filter((x) => x.released)) {
      if (!verify(pub, fromHex(l.signBytes as string), fromHex(l.signature as string))) {
        problems++
        t.fail(`chain ${c} run ${l.run} released a bad signature for ${l.hrs}`)
      }
      const prev = byHrs.get(l.hrs)
      if (prev === undefined) byHrs.set(l.hrs, l)
      else if (prev.signBytes !== l.signBytes || prev.signature !== l.signature) {
        problems++
        t.fail(`chain ${c}: double sign at ${l.hrs}: run ${prev.run} and run ${l.run}`)
      }
    }
    t.equal(problems, 0, `chain ${c}: no double sign among ${log.filter((x) => x.released).length} releases, all valid`)
    t.equal(new Set(log.map((l) => l.hrs)).size, streamLength, `chain ${c}: every HRS was signed or refused`)
    t.ok(log.some((l) => !l.released), `chain ${c}: conflicting requests after restarts were refused`)
    t.ok(log.some((l) => l.released && l.timestamp !== l.requested), `chain ${c}: timestamp-only re-signs returned the saved timestamp`)
  }
})
