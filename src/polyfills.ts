/**
 * Runtime polyfills every entry point loads first (CLI, tests, benches, child processes).
 *
 * libp2p 3 calls `Promise.withResolvers` (ES2024), which Node 20 lacks; without it, dials
 * fail with ECONNRESET deep inside the stack. Keep this module tiny and side-effect only.
 */
interface PromiseWithResolversShape<T> {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}

const PromiseCtor = Promise as unknown as { withResolvers?: <T>() => PromiseWithResolversShape<T> }
if (typeof PromiseCtor.withResolvers !== 'function') {
  PromiseCtor.withResolvers = function withResolvers<T>(): PromiseWithResolversShape<T> {
    let resolve!: (value: T | PromiseLike<T>) => void
    let reject!: (reason?: unknown) => void
    const promise = new Promise<T>((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
}

export {}
