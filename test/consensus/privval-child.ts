/**
 * Child process for the private validator's crash test (privval.test.ts). It signs a fixed
 * stream of (height, round, step) requests from index START, and appends every released
 * signature (and every refusal) to an append-only log that the test reads. With KILL_POINT
 * and KILL_AT set, it SIGKILLs itself the KILL_AT-th time it reaches that point.
 *
 * Env: PV_DIR, RUN (data variant: which block / timestamp this run asks for), START,
 * KILL_POINT (a PersistPoint or 'after-release'), KILL_AT (1-based occurrence).
 */
import { appendFileSync } from 'node:fs'
import { join } from 'node:path'
import { openPrivValidator, type PersistPoint } from '../../consensus/privval.ts'
import { isAidError } from '../../src/errors.ts'
import { toHex } from '../../src/bytes.ts'
import { privvalStream, PRIVVAL_CHILD_SEED, CHAIN_ID } from './privval-stream.ts'

const env = (k: string): string => {
  const v = process.env[k]
  if (v === undefined) throw new Error(`missing env ${k}`)
  return v
}
const dir = env('PV_DIR')
const run = Number(env('RUN'))
const start = Number(env('START'))
const killPoint = process.env.KILL_POINT
const killAt = Number(process.env.KILL_AT ?? '0')
const logFile = join(dir, 'released.log')

let hits = 0
const maybeKill = (point: PersistPoint | 'after-release'): void => {
  if (point === killPoint && ++hits === killAt) process.kill(process.pid, 'SIGKILL')
}

const pv = await openPrivValidator({
  key: { secret: PRIVVAL_CHILD_SEED },
  stateFile: join(dir, 'priv_validator_state.json'),
  createIfMissing: true,
  faultHook: (point, hrs) => { if (hrs.height > 0) maybeKill(point) },
})

const stream = privvalStream(run)
for (let i = start; i < stream.length; i++) {
  const req = stream[i] as (typeof stream)[number]
  try {
    let signBytes: string, signature: string, timestamp: number
    if (req.kind === 'proposal') {
      const p = await pv.signProposal(CHAIN_ID, req.proposal)
      ;({ timestamp } = p)
      signature = toHex(p.signature)
      signBytes = toHex(req.signBytes(p.timestamp))
    } else {
      const v = await pv.signVote(CHAIN_ID, req.vote)
      ;({ timestamp } = v)
      signature = toHex(v.signature)
      signBytes = toHex(req.signBytes(v.timestamp))
    }
    appendFileSync(logFile, JSON.stringify({ run, i, hrs: req.hrs, released: true, signBytes, signature, requested: req.timestamp, timestamp }) + '\n')
    maybeKill('after-release')
  } catch (err) {
    if (!isAidError(err, 'ERR_PRIVVAL_CONFLICT')) throw err
    appendFileSync(logFile, JSON.stringify({ run, i, hrs: req.hrs, released: false, why: err.message }) + '\n')
  }
}
await pv.close()
