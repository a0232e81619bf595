/**
 * Time as a dependency. The consensus shell, mempool and p2p read time and schedule
 * timeouts only through these interfaces, so the deterministic simulator (test/sim) can
 * substitute a simulated clock and run thousands of seeds without a real timer.
 * The pure consensus core reads neither: it receives timeouts as inputs.
 */

export interface Clock {
  /** Unix milliseconds (integer). */
  now: () => number
}

export type CancelTimer = () => void

export interface Timers {
  /** Calls `fn` once after `ms` milliseconds; returns a function that cancels it. */
  schedule: (ms: number, fn: () => void) => CancelTimer
}

export const systemClock: Clock = { now: () => Date.now() }

export const systemTimers: Timers = {
  schedule (ms, fn) {
    const t = setTimeout(fn, ms)
    return () => clearTimeout(t)
  },
}
