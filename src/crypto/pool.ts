/**
 * Signature verify pool: worker_threads, one per core (os.availableParallelism()), each
 * verifying under the ZIP-215 rule with the default backend (./zip215.ts), plus a bounded
 * verdict cache keyed by tx hash for the mempool and finalizeBlock (DESIGN §3).
 *
 * Batching: a batch travels as one packed ArrayBuffer, transferred both ways
 * (./pool-batch.ts), so a postMessage hop is paid per chunk, not per signature. Single
 * `verify` calls made in the same tick are coalesced into one batch (flushed in a
 * microtask). Scheduling and chunk sizes: see the comment above CHUNK_MIN.
 *
 * Lifecycle: workers start with the pool; `ready()` resolves once all have loaded;
 * `close()` terminates them, and every call after it rejects with ERR_CRYPTO_POOL_CLOSED.
 * A worker holds the process open while it loads or has a batch and is unref'd when idle,
 * so a forgotten pool never keeps the process alive. (Order matters: attaching a 'message'
 * listener re-refs a worker's port; unref'ing before it kept a test process alive.)
 * A worker that dies mid-batch is replaced and its chunks are queued again (verified on
 * the calling thread if no worker can load), so callers always get the rule's verdict.
 */
import { Worker } from 'node:worker_threads'
import { availableParallelism } from 'node:os'
import { AidError } from '../errors.ts'
import { createLru } from './lru.ts'
import { createVerifier, type Ed25519Backend, type Ed25519Verifier } from './zip215.ts'
import { isWellFormedItem, packBatch, unpackVerdicts, type VerifyItem } from './pool-batch.ts'

export type { VerifyItem } from './pool-batch.ts'

export interface VerifyPoolOptions {
  /** Worker count; default os.availableParallelism(). */
  size?: number
  /** Backend the workers use; default the rule-keeping default (./zip215.ts). */
  backend?: Ed25519Backend
  /** Verdicts kept by `verifyCached`; default 100,000 (~10 MB). */
  cacheSize?: number
  /** Largest chunk sent to a worker in one message; default 256. */
  maxChunk?: number
}

export interface VerifyPool {
  readonly size: number
  /** Resolves once every worker has loaded (benchmarks exclude startup with it). */
  ready: () => Promise<void>
  verify: (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array) => Promise<boolean>
  verifyBatch: (items: readonly VerifyItem[]) => Promise<boolean[]>
  /**
   * verify, with the verdict cached under `key`, which must commit to pub, msg and sig
   * (the hash of the signed tx envelope does). Concurrent calls for one key share a batch.
   */
  verifyCached: (key: Uint8Array, pub: Uint8Array, msg: Uint8Array, sig: Uint8Array) => Promise<boolean>
  /** The cached verdict for `key`, if any, without verifying (finalizeBlock's fast path). */
  cachedVerdict: (key: Uint8Array) => boolean | undefined
  close: () => Promise<void>
}

// Scheduling: a batch is cut into chunks that wait in one queue; each worker has at most
// WINDOW chunks in flight, so it always has the next one in its port while it works, and a
// worker the OS deschedules does not hold a batch back: a faster worker takes more chunks.
// Measured (2 cores shared with other jobs, load ~14, 4,096 signatures, ratio to one
// thread in interleaved rounds) with the first design, all chunks dealt out up front:
// maxChunk 16: 1.22x, 64: 1.20x, 256: 0.97x, 512: 0.93x, 1024: 0.76x, 2048: 0.59x; big
// static shares lost to stragglers, hence the queue. Cost of the pool itself, CPU per
// signature over all threads vs one thread (bench row ratio.pool/sodium.cpu-per-sig):
// 0.94x-1.14x, i.e. packing, transfer and messaging are lost in the noise of a ~50 us verify.
const CHUNK_MIN = 16
const CHUNK_MAX_DEFAULT = 256
const CHUNKS_PER_WORKER = 4
const WINDOW = 2

interface Job {
  items: readonly VerifyItem[]
  idx: number[]
  out: boolean[]
  done: () => void
  fail: (err: unknown) => void
}

interface Slot {
  worker: Worker
  ready: Promise<void>
  loaded: boolean
  /** Died before it loaded (e.g. a broken install): not respawned, never chosen. */
  dead: boolean
  inFlight: number
  jobs: Map<number, Job>
}

function workerUrl (): URL {
  // From TypeScript sources the worker needs tsx registered in its own thread (the boot
  // file does it); from compiled JavaScript it loads directly.
  return import.meta.url.endsWith('.ts')
    ? new URL('./pool-worker-boot.js', import.meta.url)
    : new URL('./pool-worker.js', import.meta.url)
}

export function createVerifyPool (opts: VerifyPoolOptions = {}): VerifyPool {
  const size = opts.size ?? availableParallelism()
  if (!Number.isSafeInteger(size) || size < 1) throw new RangeError(`pool size must be >= 1, got ${size}`)
  const maxChunk = Math.max(1, opts.maxChunk ?? CHUNK_MAX_DEFAULT)
  const backend = opts.backend
  const cache = createLru<string, boolean>(opts.cacheSize ?? 100_000)
  const inflightByKey = new Map<string, Promise<boolean>>()
  let local: Ed25519Verifier | undefined // when no worker can run
  let closed = false
  let nextJobId = 1
  const slots: Slot[] = []
  let waiting: Job[] = []

  const closedError = (): AidError => new AidError('ERR_CRYPTO_POOL_CLOSED')

  function verifyLocally (job: Job): void {
    local ??= createVerifier(backend === undefined ? {} : { backend })
    for (const i of job.idx) {
      const it = job.items[i] as VerifyItem
      job.out[i] = local.verify(it.pub, it.msg, it.sig)
    }
    job.done()
  }

  function spawn (index: number): Slot {
    const worker = new Worker(workerUrl(), { execArgv: [], workerData: { backend } })
    let markReady!: () => void
    const slot: Slot = {
      worker, ready: new Promise((resolve) => { markReady = resolve }), loaded: false, dead: false, inFlight: 0, jobs: new Map(),
    }
    worker.on('message', (msg: ArrayBuffer | string) => {
      if (typeof msg === 'string') {
        slot.loaded = true
        if (slot.inFlight === 0) worker.unref()
        markReady()
        return
      }
      const { jobId, verdicts } = unpackVerdicts(msg)
      const job = slot.jobs.get(jobId)
      if (job === undefined) return
      slot.jobs.delete(jobId)
      if (--slot.inFlight === 0 && slot.loaded) worker.unref()
      for (let k = 0; k < job.idx.length; k++) job.out[job.idx[k] as number] = verdicts[k] === 1
      job.done()
      pump()
    })
    const onDeath = (): void => {
      if (closed || slots[index] !== slot || slot.dead) return
      markReady()
      // Respawn a worker that ran; one that never loaded would only fail again.
      if (slot.loaded) slots[index] = spawn(index)
      else slot.dead = true
      waiting = [...slot.jobs.values(), ...waiting]
      slot.jobs.clear()
      pump()
    }
    worker.on('error', onDeath)
    worker.on('exit', onDeath)
    return slot
  }
  for (let i = 0; i < size; i++) slots.push(spawn(i))

  /** Hand waiting chunks to workers with room in their window. */
  function pump (): void {
    while (waiting.length > 0) {
      let slot: Slot | undefined
      let alive = false
      for (const s of slots) {
        if (s.dead) continue
        alive = true
        if (s.inFlight < WINDOW && (slot === undefined || s.inFlight < slot.inFlight)) slot = s
      }
      if (!alive) {
        const all = waiting
        waiting = []
        for (const job of all) verifyLocally(job)
        return
      }
      if (slot === undefined) return
      const job = waiting.shift() as Job
      const jobId = nextJobId
      nextJobId = nextJobId >= 0xffffffff ? 1 : nextJobId + 1
      slot.jobs.set(jobId, job)
      if (slot.inFlight++ === 0) slot.worker.ref()
      const buf = packBatch(jobId, job.items, job.idx)
      slot.worker.postMessage(buf, [buf])
    }
  }

  function verifyBatch (items: readonly VerifyItem[]): Promise<boolean[]> {
    if (closed) return Promise.reject(closedError())
    const out = new Array<boolean>(items.length).fill(false)
    const idx: number[] = []
    for (let i = 0; i < items.length; i++) if (isWellFormedItem(items[i] as VerifyItem)) idx.push(i)
    if (idx.length === 0) return Promise.resolve(out)
    // Several chunks per worker (balance), each within [CHUNK_MIN, maxChunk].
    const per = Math.min(maxChunk, Math.max(CHUNK_MIN, Math.ceil(idx.length / (slots.length * CHUNKS_PER_WORKER))))
    const chunks = Math.ceil(idx.length / per)
    return new Promise<boolean[]>((resolve, reject) => {
      let remaining = chunks
      let failed = false
      const done = (): void => { if (--remaining === 0 && !failed) resolve(out) }
      const fail = (err: unknown): void => { if (!failed) { failed = true; reject(err) } }
      for (let c = 0; c < chunks; c++) waiting.push({ items, idx: idx.slice(c * per, (c + 1) * per), out, done, fail })
      pump()
    })
  }

  // Coalescing of single verifies made in one tick.
  let queue: Array<{ item: VerifyItem, resolve: (v: boolean) => void, reject: (e: unknown) => void }> = []
  let flushScheduled = false
  function flush (): void {
    flushScheduled = false
    const q = queue
    queue = []
    if (q.length === 0) return
    verifyBatch(q.map((e) => e.item)).then(
      (verdicts) => { q.forEach((e, i) => e.resolve(verdicts[i] === true)) },
      (err: unknown) => { for (const e of q) e.reject(err) })
  }

  function verify (pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): Promise<boolean> {
    if (closed) return Promise.reject(closedError())
    const item = { pub, msg, sig }
    if (!isWellFormedItem(item)) return Promise.resolve(false)
    return new Promise<boolean>((resolve, reject) => {
      queue.push({ item, resolve, reject })
      if (queue.length >= maxChunk * slots.length) flush()
      else if (!flushScheduled) {
        flushScheduled = true
        queueMicrotask(flush)
      }
    })
  }

  const keyId = (key: Uint8Array): string => Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')

  function verifyCached (key: Uint8Array, pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): Promise<boolean> {
    if (closed) return Promise.reject(closedError())
    const id = keyId(key)
    const hit = cache.get(id)
    if (hit !== undefined) return Promise.resolve(hit)
    const pending = inflightByKey.get(id)
    if (pending !== undefined) return pending
    const p = verify(pub, msg, sig).then((v) => {
      cache.set(id, v)
      return v
    }).finally(() => { inflightByKey.delete(id) })
    inflightByKey.set(id, p)
    return p
  }

  async function close (): Promise<void> {
    if (closed) return
    closed = true
    const err = closedError()
    for (const e of queue) e.reject(err)
    queue = []
    for (const job of waiting) job.fail(err)
    waiting = []
    for (const s of slots) {
      for (const job of s.jobs.values()) job.fail(err)
      s.jobs.clear()
    }
    await Promise.all(slots.map(async (s) => { await s.worker.terminate() }))
    cache.clear()
  }

  return {
    size,
    ready: async () => {
      if (closed) throw closedError()
      await Promise.all(slots.map(async (s) => { await s.ready }))
    },
    verify,
    verifyBatch,
    verifyCached,
    cachedVerdict: (key) => cache.peek(keyId(key)),
    close,
  }
}
