/**
 * A tiny in-memory network of drivers for the driver tests (not the simulator): every
 * signed proposal/vote is broadcast to every node including its sender (loopback, as the
 * shell does), delivered FIFO; timeouts fire only when a test says so.
 */
import {
  createDriver,
  type Driver, type DriverDecision, type DriverFaults, type DriverInput, type DriverOutput, type DriverResult,
} from '../../../consensus/core/driver.ts'
import type { Address, TimeoutStep, ValueId, VoterInfo } from '../../../consensus/core/types.ts'

export type D = Driver<string, string>
export type In = DriverInput<string, string>
export type Out = DriverOutput<string, string>

export interface NetOptions {
  readonly validators: readonly VoterInfo[]
  readonly height?: number
  readonly proposer: (round: number) => Address
  /** The value node `i` proposes when asked in `round`. */
  readonly valueFor?: (node: number, round: number) => ValueId
  /** valid(v) as judged by node `i`. */
  readonly validity?: (node: number, valueId: ValueId) => boolean
  readonly faults?: (node: number) => DriverFaults | undefined
  /** Extra non-validator nodes that only follow. */
  readonly followers?: number
}

export interface Msg { readonly from: number, readonly to: number, readonly input: In }

export class Net {
  readonly drivers: D[]
  readonly queue: Msg[] = []
  readonly timeouts: Array<{ node: number, height: number, round: number, step: TimeoutStep }> = []
  readonly decisions: Array<DriverDecision<string, string> | undefined>
  readonly outputs: Out[][]
  readonly results: Array<Array<{ input: In, result: DriverResult<string, string> }>>
  readonly down = new Set<number>()
  /** Return true to drop a message. */
  drop: (m: Msg) => boolean = () => false
  /** Return true to hold a message back until `release()` (a slow link). */
  hold: (m: Msg) => boolean = () => false
  readonly held: Msg[] = []
  private readonly opts: NetOptions
  readonly height: number

  constructor (opts: NetOptions) {
    this.opts = opts
    this.height = opts.height ?? 1
    const n = opts.validators.length + (opts.followers ?? 0)
    this.drivers = []
    for (let i = 0; i < n; i++) {
      const self = opts.validators[i]?.address ?? null
      this.drivers.push(createDriver<string, string>({
        height: this.height, validators: opts.validators, self, proposer: opts.proposer, faults: opts.faults?.(i),
      }))
    }
    this.decisions = this.drivers.map(() => undefined)
    this.outputs = this.drivers.map(() => [])
    this.results = this.drivers.map(() => [])
  }

  get size (): number { return this.drivers.length }

  /** Step node `i` directly and handle its outputs. */
  input (i: number, input: In): DriverResult<string, string> {
    const d = this.drivers[i] as D
    const result = d.step(input)
    this.results[i]?.push({ input, result })
    for (const o of result.outputs) this.handle(i, o)
    return result
  }

  private broadcast (from: number, input: In): void {
    this.queue.push({ from, to: from, input })
    for (let to = 0; to < this.size; to++) if (to !== from) this.queue.push({ from, to, input })
  }

  private handle (i: number, o: Out): void {
    this.outputs[i]?.push(o)
    const self = this.opts.validators[i]?.address ?? ''
    switch (o.kind) {
      case 'get-value':
        this.queue.push({ from: i, to: i, input: { kind: 'propose-value', round: o.round, valueId: this.valueFor(i, o.round) } })
        break
      case 'propose':
        this.broadcast(i, { kind: 'proposal', proposal: { ...o.proposal, signature: `sig:${self}` }, valid: true })
        break
      case 'vote':
        this.broadcast(i, { kind: 'vote', vote: { ...o.vote, signature: `sig:${self}` } })
        break
      case 'schedule-timeout':
        this.timeouts.push({ node: i, height: o.height, round: o.round, step: o.step })
        break
      case 'decision':
        this.decisions[i] = o
        break
      default:
        break
    }
  }

  valueFor (i: number, round: number): ValueId {
    return this.opts.valueFor?.(i, round) ?? `val-h${this.height}-n${i}-r${round}`
  }

  start (nodes: number[] = [...this.drivers.keys()]): void {
    for (const i of nodes) if (!this.down.has(i)) this.input(i, { kind: 'start' })
  }

  /** Deliver queued messages FIFO until none is left. */
  run (limit = 100_000): void {
    for (let k = 0; k < limit; k++) {
      const m = this.queue.shift()
      if (m === undefined) return
      if (this.down.has(m.to) || this.down.has(m.from) || this.drop(m)) continue
      if (this.hold(m)) { this.held.push(m); continue }
      let input = m.input
      if (input.kind === 'proposal') {
        const valid = this.opts.validity?.(m.to, input.proposal.valueId) ?? true
        input = { ...input, valid }
      }
      this.input(m.to, input)
    }
    throw new Error('network did not quiesce')
  }

  /** Deliver the held messages (and what follows from them); stop holding. */
  release (): void {
    this.hold = () => false
    this.queue.unshift(...this.held.splice(0))
    this.run()
  }

  /** Fire every pending timeout of `step` (all steps when omitted) at live nodes, then run. */
  fire (step?: TimeoutStep): number {
    const due = this.timeouts.filter((x) => step === undefined || x.step === step)
    for (const x of due) this.timeouts.splice(this.timeouts.indexOf(x), 1)
    let applied = 0
    for (const x of due) {
      if (this.down.has(x.node)) continue
      const r = this.input(x.node, { kind: 'timeout', height: x.height, round: x.round, step: x.step })
      if (r.status === 'applied') applied++
    }
    this.run()
    return applied
  }

  /** Run and fire timeouts (in schedule order) until every live validator decided. */
  runToDecision (maxTimeouts = 1000): void {
    this.run()
    for (let k = 0; k < maxTimeouts; k++) {
      if (this.live().every((i) => this.decisions[i] !== undefined)) return
      const x = this.timeouts.shift()
      if (x === undefined) throw new Error('stuck: no timeout pending and not all decided')
      if (this.down.has(x.node)) continue
      this.input(x.node, { kind: 'timeout', height: x.height, round: x.round, step: x.step })
      this.run()
    }
    throw new Error('no decision after many timeouts')
  }

  live (): number[] {
    return [...this.drivers.keys()].filter((i) => !this.down.has(i))
  }

  rejected (): Array<{ node: number, input: In, result: DriverResult<string, string> }> {
    const out: Array<{ node: number, input: In, result: DriverResult<string, string> }> = []
    this.results.forEach((rs, node) => {
      for (const r of rs) if (r.result.status === 'rejected') out.push({ node, ...r })
    })
    return out
  }
}

export const fourEqual: VoterInfo[] = ['v0', 'v1', 'v2', 'v3'].map((address) => ({ address, votingPower: 1 }))
export const roundRobin = (validators: readonly VoterInfo[], offset = 0) =>
  (round: number): Address => (validators[(round + offset) % validators.length] as VoterInfo).address
