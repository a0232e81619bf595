/**
 * The simulated world of the deterministic simulator (DESIGN §4, "Deterministic
 * simulation"): one global event queue ordered by (simulated time, sequence number), a
 * simulated Clock and Timers per node (src/clock.ts), and a run loop that executes one
 * event at a time and then waits until the node it touched is idle.
 *
 * Determinism argument: nothing in the simulation reads the wall clock or a real timer;
 * every event is created by a deterministic action (a node's serial processing of the
 * previous event, or the seeded scenario), and gets the next sequence number, so the
 * queue order is a function of the seed. A node's processing may await real I/O (the WAL
 * and the private validator write files), but simulated time is frozen while it runs and
 * the next event is taken only after `settle(node)` resolves (the engine's `idle()`), so
 * the interleaving is the same on every run.
 *
 * Timers belong to one node incarnation: `dispose()` (a crash) drops every pending timer
 * of that incarnation, as a killed process loses its timers.
 */
import type { CancelTimer, Clock, Timers } from '../../src/clock.ts'

export interface SimEvent {
  readonly time: number
  readonly seq: number
  /** Short label for traces ("deliver", "timer", "crash", ...). */
  readonly kind: string
  /** The node whose idle() the loop awaits after running the event; null for none. */
  readonly target: string | null
  cancelled: boolean
  readonly run: () => void | Promise<void>
}

/** Min-heap by (time, seq). */
export class EventQueue {
  private readonly heap: SimEvent[] = []

  get size (): number { return this.heap.length }

  push (ev: SimEvent): void {
    const h = this.heap
    h.push(ev)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(h[i] as SimEvent, h[p] as SimEvent)) break
      swap(h, i, p)
      i = p
    }
  }

  peek (): SimEvent | undefined { return this.heap[0] }

  pop (): SimEvent | undefined {
    const h = this.heap
    const top = h[0]
    const last = h.pop()
    if (top === undefined || last === undefined) return undefined
    if (h.length > 0) {
      h[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && before(h[l] as SimEvent, h[m] as SimEvent)) m = l
        if (r < h.length && before(h[r] as SimEvent, h[m] as SimEvent)) m = r
        if (m === i) break
        swap(h, i, m)
        i = m
      }
    }
    return top
  }
}

function before (a: SimEvent, b: SimEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq)
}

function swap (h: SimEvent[], i: number, j: number): void {
  const t = h[i] as SimEvent
  h[i] = h[j] as SimEvent
  h[j] = t
}

/** Timers of one node incarnation. */
export interface SimTimers extends Timers {
  /** Cancels every pending timer of this incarnation (crash). */
  dispose: () => void
  /** Pending (not cancelled, not fired) timers. */
  pending: () => number
}

export interface WorldOptions {
  /** Unix ms that simulated time 0 corresponds to. */
  epochMs: number
}

export interface RunOptions {
  /** Stop before the first event later than this simulated time. */
  untilMs: number
  /** Checked after every event; true stops the loop. */
  done?: () => boolean
  /** Wait until `target` has no queued or in-flight work (the engine's idle()). */
  settle?: (target: string) => Promise<void>
  /** Called after every event has settled (the safety checks). */
  afterEvent?: (ev: SimEvent) => void | Promise<void>
  /** Safety valve against a livelock of zero-delay events. */
  maxEvents?: number
}

export interface RunResult {
  events: number
  /** Why the loop stopped. */
  reason: 'done' | 'time' | 'empty' | 'max-events'
}

export class SimWorld {
  readonly epochMs: number
  private readonly queue = new EventQueue()
  private seq = 0
  private nowMs = 0
  private executed = 0

  constructor (opts: WorldOptions) {
    this.epochMs = opts.epochMs
  }

  /** Simulated milliseconds since the start. */
  get now (): number { return this.nowMs }
  get eventsRun (): number { return this.executed }
  get queued (): number { return this.queue.size }

  /** Schedules `run` at `now + delayMs` (delay ≥ 0, integer ms). */
  schedule (delayMs: number, kind: string, target: string | null, run: () => void | Promise<void>): SimEvent {
    const d = Math.max(0, Math.round(delayMs))
    return this.at(this.nowMs + d, kind, target, run)
  }

  /** Schedules `run` at absolute simulated time `timeMs` (not before now). */
  at (timeMs: number, kind: string, target: string | null, run: () => void | Promise<void>): SimEvent {
    const ev: SimEvent = { time: Math.max(this.nowMs, Math.round(timeMs)), seq: this.seq++, kind, target, cancelled: false, run }
    this.queue.push(ev)
    return ev
  }

  /** A node's clock: simulated time plus a constant skew (ms, may be negative). */
  clock (skewMs = 0): Clock {
    return { now: () => this.epochMs + this.nowMs + skewMs }
  }

  /** Timers for one incarnation of `node`. */
  timers (node: string): SimTimers {
    const live = new Set<SimEvent>()
    let disposed = false
    return {
      schedule: (ms: number, fn: () => void): CancelTimer => {
        if (disposed) return () => {}
        if (!Number.isFinite(ms) || ms < 0) ms = 0
        const ev = this.schedule(ms, 'timer', node, () => {
          live.delete(ev)
          if (!disposed) fn()
        })
        live.add(ev)
        return () => {
          ev.cancelled = true
          live.delete(ev)
        }
      },
      dispose: () => {
        disposed = true
        for (const ev of live) ev.cancelled = true
        live.clear()
      },
      pending: () => live.size,
    }
  }

  /** Runs events in (time, seq) order until a stop condition. */
  async run (opts: RunOptions): Promise<RunResult> {
    const maxEvents = opts.maxEvents ?? Number.POSITIVE_INFINITY
    let events = 0
    for (;;) {
      if (opts.done?.() === true) return { events, reason: 'done' }
      const next = this.queue.peek()
      if (next === undefined) return { events, reason: 'empty' }
      if (next.time > opts.untilMs) {
        this.nowMs = Math.max(this.nowMs, opts.untilMs)
        return { events, reason: 'time' }
      }
      if (events >= maxEvents) return { events, reason: 'max-events' }
      this.queue.pop()
      if (next.cancelled) continue
      this.nowMs = next.time
      events++
      this.executed++
      await next.run()
      if (next.target !== null && opts.settle !== undefined) await opts.settle(next.target)
      if (opts.afterEvent !== undefined) await opts.afterEvent(next)
    }
  }
}
