/**
 * A fake clock and timer queue for the engine tests: time moves only when `runUntil` fires
 * the next timer, after every engine has gone idle. With the in-memory transport delivering
 * synchronously into the engines' input queues, a run is deterministic and takes no real
 * time beyond the computation (a stripped-down version of what test/sim does).
 */
import type { CancelTimer, Clock, Timers } from '../../../src/clock.ts'

interface Timer { at: number, seq: number, fn: () => void, cancelled: boolean }

function before (a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}

/** A binary min-heap on (at, seq): a delayed-message run keeps thousands of timers. */
class Heap {
  private readonly a: Timer[] = []
  get size (): number { return this.a.length }
  push (x: Timer): void {
    const a = this.a
    a.push(x)
    let i = a.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(a[i] as Timer, a[p] as Timer)) break
      ;[a[i], a[p]] = [a[p] as Timer, a[i] as Timer]
      i = p
    }
  }

  peek (): Timer | undefined { return this.a[0] }
  pop (): Timer | undefined {
    const a = this.a
    const top = a[0]
    const last = a.pop()
    if (a.length > 0 && last !== undefined) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && before(a[l] as Timer, a[m] as Timer)) m = l
        if (r < a.length && before(a[r] as Timer, a[m] as Timer)) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m] as Timer, a[i] as Timer]
        i = m
      }
    }
    return top
  }
}

export class FakeTime implements Clock, Timers {
  private t: number
  private seq = 0
  private readonly heap = new Heap()
  /** Called to let every engine finish its queued work (returns when all are idle). */
  settle: () => Promise<void> = async () => {}

  constructor (start = 1_700_000_000_000) {
    this.t = start
  }

  now = (): number => this.t

  schedule = (ms: number, fn: () => void): CancelTimer => {
    const timer: Timer = { at: this.t + Math.max(0, Math.floor(ms)), seq: this.seq++, fn, cancelled: false }
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
      if (x === undefined || x.at > end) {
        this.t = Math.max(this.t, end)
        return pred()
      }
      this.heap.pop()
      this.t = Math.max(this.t, x.at)
      x.fn()
      // fire everything else due at this instant before settling again
      for (let y = this.next(); y !== undefined && y.at <= this.t; y = this.next()) {
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
