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
import { TimeHeap } from '../helpers/time-heap.ts'

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

/** The global event queue: by (time, seq). */
export class EventQueue extends TimeHeap<SimEvent> {}

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
