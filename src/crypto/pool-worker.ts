/**
 * Verify pool worker (worker_threads): verifies packed batches (./pool-batch.ts) with a
 * ZIP-215 verifier of the backend named in workerData, and answers with the verdicts.
 * Loaded through ./pool-worker-boot.js when running from TypeScript sources.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { createVerifier, type Ed25519Backend } from './zip215.ts'
import { verifyPacked } from './pool-batch.ts'

const port = parentPort
if (port === null) throw new Error('pool-worker.ts must run in a worker thread')

const data = workerData as { backend?: Ed25519Backend } | undefined
const verifier = createVerifier(data?.backend === undefined ? {} : { backend: data.backend })

port.on('message', (buf: ArrayBuffer) => {
  const out = verifyPacked(verifier, buf)
  port.postMessage(out, [out])
})
port.postMessage('ready')
