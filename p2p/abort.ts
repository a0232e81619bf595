/**
 * Bounded waits for libp2p calls. Not AbortSignal.timeout: on Node 20 a timeout signal's
 * timer is ref'd while abort listeners are attached, and libp2p leaves some attached after
 * the call settles, so each one kept the process alive until it fired (measured: stop()
 * returned, the process exited 1 s later). Here the timer is cleared as soon as the call
 * settles, and the signal takes any number of listeners (libp2p adds one per stage).
 */
import { setMaxListeners } from 'node:events'

export async function withTimeout<T> (ms: number, parent: AbortSignal | undefined, what: string, f: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController()
  setMaxListeners(Infinity, ac.signal)
  const timer = setTimeout(() => { ac.abort(new Error(`${what} timed out after ${ms} ms`)) }, ms)
  const onParent = (): void => { ac.abort(parent?.reason) }
  if (parent?.aborted === true) onParent()
  else parent?.addEventListener('abort', onParent, { once: true })
  try {
    return await f(ac.signal)
  } finally {
    clearTimeout(timer)
    parent?.removeEventListener('abort', onParent)
  }
}
