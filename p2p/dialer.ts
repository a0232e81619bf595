/**
 * Persistent peers: dial on start, redial after a disconnect or a failed dial with capped
 * exponential backoff (CometBFT `persistent_peers` semantics, without its random jitter).
 *
 * Delay for attempt n (0-based) is min(baseMs * 2^n, maxMs), plus a jitter of up to
 * `jitter` × that delay which is a deterministic function of (local id, remote id, n)
 * (FNV-1a), so two nodes that lost each other at the same instant do not redial in
 * lockstep, and a run replays the same schedule. A banned peer is retried when its ban
 * ends. Timers are owned here and cleared on stop; the dial itself is injected.
 */
import type { PeerId } from '../src/transport.ts'
import { withTimeout } from './abort.ts'
import type { PeerAddress } from './identity.ts'
import type { Logger } from './logger.ts'

export interface BackoffOptions {
  readonly baseMs: number
  readonly maxMs: number
  /** 0 ≤ jitter ≤ 1: extra delay of up to this fraction, deterministic per (pair, attempt). */
  readonly jitter: number
  /** A connection that lived this long resets the backoff; a shorter one escalates it. */
  readonly stableMs: number
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000, jitter: 0.2, stableMs: 10_000 }

/** FNV-1a over a string's UTF-16 code units, as a fraction in [0, 1). */
export function deterministicFraction (s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h / 0x1_0000_0000
}

export function backoffDelay (attempt: number, opts: BackoffOptions, pairKey: string): number {
  const exp = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(attempt, 30))
  return Math.round(exp * (1 + opts.jitter * deterministicFraction(`${pairKey}#${attempt}`)))
}

export interface DialerDeps {
  readonly localPeerId: PeerId
  /** Resolves once connected; rejects if the dial failed. */
  readonly dial: (addr: PeerAddress, signal: AbortSignal) => Promise<void>
  readonly isConnected: (peer: PeerId) => boolean
  readonly bannedUntil: (peer: PeerId) => number | undefined
  readonly now: () => number
  readonly log: Logger
}

interface Slot {
  readonly addr: PeerAddress
  attempt: number
  timer: ReturnType<typeof setTimeout> | undefined
  dialing: boolean
  /** performance.now() when the peer last connected (admitted us). */
  connectedAt: number
  up: boolean
  dials: number
  failures: number
}

export interface DialerStats {
  readonly dials: number
  readonly failures: number
}

export class PersistentDialer {
  private readonly slots = new Map<PeerId, Slot>()
  private readonly deps: DialerDeps
  private readonly backoff: BackoffOptions
  private readonly dialTimeoutMs: number
  private stopped = true
  private readonly abort = new AbortController()

  constructor (peers: readonly PeerAddress[], backoff: BackoffOptions, dialTimeoutMs: number, deps: DialerDeps) {
    this.deps = deps
    this.backoff = backoff
    this.dialTimeoutMs = dialTimeoutMs
    for (const addr of peers) {
      if (addr.peerId === deps.localPeerId) continue // a node listing itself is common in shared configs
      this.slots.set(addr.peerId, { addr, attempt: 0, timer: undefined, dialing: false, connectedAt: 0, up: false, dials: 0, failures: 0 })
    }
  }

  has (peer: PeerId): boolean {
    return this.slots.has(peer)
  }

  start (): void {
    this.stopped = false
    for (const slot of this.slots.values()) this.schedule(slot, 0)
  }

  stop (): void {
    this.stopped = true
    this.abort.abort()
    for (const slot of this.slots.values()) {
      if (slot.timer !== undefined) clearTimeout(slot.timer)
      slot.timer = undefined
    }
  }

  /** The peer connected (by our dial or theirs) and admitted us: no redial while it stays. */
  onConnect (peer: PeerId): void {
    const slot = this.slots.get(peer)
    if (slot === undefined) return
    slot.connectedAt = performance.now()
    slot.up = true
    if (slot.timer !== undefined) clearTimeout(slot.timer)
    slot.timer = undefined
  }

  /**
   * The peer's last connection closed: redial with backoff (or when a ban ends). A peer that
   * keeps accepting and then dropping us gets the same escalating delays as one that refuses.
   */
  onDisconnect (peer: PeerId): void {
    const slot = this.slots.get(peer)
    if (slot === undefined || this.stopped) return
    if (slot.up && performance.now() - slot.connectedAt >= this.backoff.stableMs) slot.attempt = 0
    slot.up = false
    this.retry(slot)
  }

  stats (): Record<PeerId, DialerStats> {
    const out: Record<PeerId, DialerStats> = {}
    for (const [id, s] of this.slots) out[id] = { dials: s.dials, failures: s.failures }
    return out
  }

  private pairKey (peer: PeerId): string {
    return `${this.deps.localPeerId}>${peer}`
  }

  private schedule (slot: Slot, delayMs: number): void {
    if (this.stopped) return
    if (slot.timer !== undefined) clearTimeout(slot.timer)
    const until = this.deps.bannedUntil(slot.addr.peerId)
    const wait = until === undefined ? delayMs : Math.max(delayMs, until - this.deps.now() + 1)
    slot.timer = setTimeout(() => {
      slot.timer = undefined
      void this.attempt(slot)
    }, wait)
  }

  private async attempt (slot: Slot): Promise<void> {
    const peer = slot.addr.peerId
    if (this.stopped || slot.dialing || this.deps.isConnected(peer)) return
    if (this.deps.bannedUntil(peer) !== undefined) {
      this.schedule(slot, 0)
      return
    }
    slot.dialing = true
    slot.dials++
    try {
      await withTimeout(this.dialTimeoutMs, this.abort.signal, 'dial', async (signal) => { await this.deps.dial(slot.addr, signal) })
      this.deps.log.debug('dialed persistent peer', { peer })
    } catch (err) {
      if (this.stopped) return
      slot.failures++
      const delay = this.retry(slot)
      this.deps.log.debug('dial failed; will retry', { peer, attempt: slot.attempt, delayMs: delay, err: (err as Error).message })
    } finally {
      slot.dialing = false
    }
    // A connection that opened and closed while the dial was in flight left no redial behind.
    if (!this.stopped && slot.timer === undefined && !this.deps.isConnected(peer)) this.retry(slot)
  }

  private retry (slot: Slot): number {
    const delay = backoffDelay(slot.attempt, this.backoff, this.pairKey(slot.addr.peerId))
    slot.attempt++
    this.schedule(slot, delay)
    return delay
  }
}
