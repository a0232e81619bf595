/**
 * Peer misbehaviour scoring and bans (DESIGN §8: "a peer that sends a malformed or oversize
 * message is disconnected and scored down"). Pure logic over an injected clock; the shell
 * (p2p/transport.ts) does the disconnecting and the connection gater asks `isBanned`.
 *
 * Model, in the spirit of CometBFT's `StopPeerForError` plus a ban list:
 * - each report adds the kind's penalty (integer points) to the peer's score;
 * - the score decays by `decayPoints` every `decayIntervalMs` (whole steps, integers only,
 *   so the same history always gives the same verdict);
 * - at `disconnectAt` points or more the peer is disconnected; at `banAt` or more it is
 *   also banned for `banMs` and its score resets to zero.
 * With the defaults one bad frame (50) disconnects and a second within ~a minute (100)
 * bans for 10 minutes; four `spam` reports (10 each) cost as much as one bad frame.
 */
import type { MisbehaviorKind, PeerId } from '../src/transport.ts'

export interface ScoringOptions {
  readonly penalties: Readonly<Record<MisbehaviorKind, number>>
  readonly disconnectAt: number
  readonly banAt: number
  readonly banMs: number
  readonly decayPoints: number
  readonly decayIntervalMs: number
}

export const DEFAULT_SCORING: ScoringOptions = {
  penalties: { malformed: 50, oversize: 50, protocol: 50, 'invalid-signature': 50, spam: 10 },
  disconnectAt: 50,
  banAt: 100,
  banMs: 10 * 60_000,
  decayPoints: 10,
  decayIntervalMs: 60_000,
}

export interface Verdict {
  readonly score: number
  readonly disconnect: boolean
  readonly ban: boolean
}

interface Entry {
  points: number
  /** Time the current points were last decayed to. */
  at: number
  bannedUntil: number
  offenses: number
}

export interface PeerScoreSnapshot {
  readonly score: number
  readonly offenses: number
  /** Ban end (the injected clock's ms), or null when not banned. */
  readonly bannedUntil: number | null
}

export class PeerScores {
  private readonly opts: ScoringOptions
  private readonly now: () => number
  private readonly entries = new Map<PeerId, Entry>()
  bans = 0

  constructor (opts: ScoringOptions, now: () => number) {
    for (const [k, v] of Object.entries(opts.penalties)) {
      if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`penalty ${k} must be a non-negative integer`)
    }
    for (const k of ['disconnectAt', 'banAt', 'banMs', 'decayPoints', 'decayIntervalMs'] as const) {
      if (!Number.isSafeInteger(opts[k]) || opts[k] < 0) throw new RangeError(`${k} must be a non-negative integer`)
    }
    if (opts.decayIntervalMs === 0) throw new RangeError('decayIntervalMs must be positive')
    this.opts = opts
    this.now = now
  }

  /** Adds the penalty for `kind` and says what the shell must do. */
  penalize (peer: PeerId, kind: MisbehaviorKind): Verdict {
    const e = this.decayed(peer)
    e.points += this.opts.penalties[kind]
    e.offenses++
    const score = e.points
    if (score >= this.opts.banAt) {
      e.bannedUntil = this.now() + this.opts.banMs
      e.points = 0
      this.bans++
      return { score, disconnect: true, ban: true }
    }
    return { score, disconnect: score >= this.opts.disconnectAt, ban: false }
  }

  isBanned (peer: PeerId): boolean {
    const e = this.entries.get(peer)
    return e !== undefined && e.bannedUntil > this.now()
  }

  /** Ban end time, or undefined when the peer is not banned now. */
  bannedUntil (peer: PeerId): number | undefined {
    const e = this.entries.get(peer)
    return e !== undefined && e.bannedUntil > this.now() ? e.bannedUntil : undefined
  }

  /** Lifts a ban and clears the score (operator action, or tests). */
  unban (peer: PeerId): void {
    this.entries.delete(peer)
  }

  snapshot (peer: PeerId): PeerScoreSnapshot {
    const e = this.entries.get(peer)
    if (e === undefined) return { score: 0, offenses: 0, bannedUntil: null }
    const d = this.decayed(peer)
    return { score: d.points, offenses: d.offenses, bannedUntil: d.bannedUntil > this.now() ? d.bannedUntil : null }
  }

  private decayed (peer: PeerId): Entry {
    const now = this.now()
    let e = this.entries.get(peer)
    if (e === undefined) {
      e = { points: 0, at: now, bannedUntil: 0, offenses: 0 }
      this.entries.set(peer, e)
      return e
    }
    const steps = Math.floor(Math.max(0, now - e.at) / this.opts.decayIntervalMs)
    if (steps > 0) {
      e.points = Math.max(0, e.points - steps * this.opts.decayPoints)
      e.at += steps * this.opts.decayIntervalMs
    }
    if (e.points === 0) e.at = now
    return e
  }
}
