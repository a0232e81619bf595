/**
 * A fake clock and timer queue for the engine tests: time moves only when `runUntil` fires
 * the next timer, after every engine has gone idle. With the in-memory transport delivering
 * synchronously into the engines' input queues, a run is deterministic and takes no real
 * time beyond the computation (a stripped-down version of what test/sim does).
 */
import type { CancelTimer, Clock, Timers } from '../../../src/clock.ts'

interface Timer { at: number, seq: number, fn: () => void, cancelled: boolean }

export class FakeTime implements Clock, Timers {
  private t: number
  private seq = 0
  private timers: Timer[] = []
  /** Called to let every engine finish its queued work (returns when all are idle). */
  settle: () => Promise<void> = async () => {}

  constructor (start = 1_700_000_000_000) {
    this.t = start
  }

  now = (): number => this.t

  schedule = (ms: number, fn: () => void): CancelTimer => {
    const timer: Timer = { at: this.t + Math.max(0, Math.floor(ms)), seq: this.seq++, fn, cancelled: false }
    this.timers.push(timer)
    return () => { timer.cancelled = true }
  }

  pending (): number {
    return this.timers.filter((x) => !x.cancelled).length
  }

  private next (): Timer | undefined {
    this.timers = this.timers.filter((x) => !x.cancelled)
    let best: Timer | undefined
    for (const x of this.timers) if (best === undefined || x.at < best.at || (x.at === best.at && x.seq < best.seq)) best = x
    return best
  }

  /** Fires timers in time order until `pred` holds (true) or `maxMs` of fake time pass (false). */
  async runUntil (pred: () => boolean, maxMs: number): Promise<boolean> {
    const end = this.t + maxMs
    for (;;) {
      await this.settle()
      if (pred()) return true
      const x = this.next()
      if (x === undefined || x.at > end) {
        this.t = Math.max(this.t, end)
        return pred()
      }
      this.timers.splice(this.timers.indexOf(x), 1)
      this.t = Math.max(this.t, x.at)
      x.fn()
    }
  }

  /** Lets `ms` of fake time pass, firing what falls due. */
  async advance (ms: number): Promise<void> {
    await this.runUntil(() => false, ms)
  }
}
