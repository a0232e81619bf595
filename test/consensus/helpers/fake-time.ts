/**
 * A fake clock and timer queue for the engine tests: time moves only when `runUntil` fires
 * the next timer, after every engine has gone idle. With the in-memory transport delivering
 * synchronously into the engines' input queues, a run is deterministic and takes no real
 * time beyond the computation (a stripped-down version of what test/sim does).
 */
import type { CancelTimer, Clock, Timers } from '../../../src/clock.ts'
import { TimeHeap } from '../../helpers/time-heap.ts'

interface Timer { time: number, seq: number, fn: () => void, cancelled: boolean }

export class FakeTime implements Clock, Timers {
  private t: number
  private seq = 0
  /** A delayed-message run keeps thousands of timers. */
  private readonly heap = new TimeHeap<Timer>()
  /** Called to let every engine finish its queued work (returns when all are idle). */
  settle: () => Promise<void> = async () => {}

  constructor (start = 1_700_000_000_000) {
    this.t = start
  }

  now = (): number => this.t

  schedule = (ms: number, fn: () => void): CancelTimer => {
    const timer: Timer = { time: this.t + Math.max(0, Math.floor(ms)), seq: this.seq++, fn, cancelled: false }
    this.heap.push(timer)
    return () => { timer.cancelled = true }
  }

  private next (): Timer | undefined {
    for (let x = this.heap.peek(); x !== undefined; x = this.heap.peek()) {
      if (!x.cancelled) return x
      this.heap.pop()
    }
    return undefined
  }

  /** Fires timers in time order until `pred` holds (true) or `maxMs` of fake time pass (false). */
  async runUntil (pred: () => boolean, maxMs: number): Promise<boolean> {
    const end = this.t + maxMs
    for (;;) {
      await this.settle()
      if (pred()) return true
      const x = this.next()
      if (x === undefined || x.time > end) {
        this.t = Math.max(this.t, end)
        return pred()
      }
      this.heap.pop()
      this.t = Math.max(this.t, x.time)
      x.fn()
      // fire everything else due at this instant before settling again
      for (let y = this.next(); y !== undefined && y.time <= this.t; y = this.next()) {
        this.heap.pop()
        y.fn()
      }
    }
  }

  /** Lets `ms` of fake time pass, firing what falls due. */
  async advance (ms: number): Promise<void> {
    await this.runUntil(() => false, ms)
  }
}
