/**
 * An in-memory network of Transports (src/transport.ts) for the engine tests: every node
 * that is up is linked to every other unless a link is cut; messages are delivered
 * synchronously (the engine only enqueues in onMessage), optionally dropped, duplicated
 * or held back by a filter; misbehavior reports are recorded.
 */
import type { ChannelId, MisbehaviorKind, PeerId, Transport, TransportHandler } from '../../../src/transport.ts'

export interface Misbehavior { reporter: PeerId, peer: PeerId, kind: MisbehaviorKind, detail: string }

export interface Delivery { from: PeerId, to: PeerId, channel: ChannelId, data: Uint8Array }

export class MemoryNetwork {
  private readonly up = new Set<PeerId>()
  private readonly handlers = new Map<PeerId, Set<TransportHandler>>()
  private readonly cut = new Set<string>()
  readonly misbehavior: Misbehavior[] = []
  /** Messages delivered so far (the fake scheduler watches it to know when work stopped). */
  delivered = 0
  /** Return 'drop' to lose a message, 'dup' to deliver it twice. */
  filter: (d: Delivery) => 'deliver' | 'drop' | 'dup' = () => 'deliver'
  /** Sees every message sent (before the filter). */
  tap: (d: Delivery) => void = () => {}
  /** Milliseconds to hold a message back (0: at once); needs `schedule` (reordering follows from unequal delays). */
  delay: (d: Delivery) => number = () => 0
  schedule: ((ms: number, fn: () => void) => unknown) | null = null

  private key (a: PeerId, b: PeerId): string {
    return a < b ? `${a}|${b}` : `${b}|${a}`
  }

  linked (a: PeerId, b: PeerId): boolean {
    return a !== b && this.up.has(a) && this.up.has(b) && !this.cut.has(this.key(a, b))
  }

  private notify (id: PeerId, fn: (h: TransportHandler) => void): void {
    for (const h of [...(this.handlers.get(id) ?? [])]) fn(h)
  }

  private peersOf (id: PeerId): PeerId[] {
    return [...this.up].filter((p) => this.linked(id, p)).sort()
  }

  /** Brings a node up (again) and returns its transport; linked peers see it come up. */
  connect (id: PeerId): Transport {
    this.up.add(id)
    for (const p of this.peersOf(id)) {
      this.notify(p, (h) => h.onPeerUp(id))
      this.notify(id, (h) => h.onPeerUp(p))
    }
    return this.transport(id)
  }

  /** Takes a node down: its handlers are dropped, its peers see it go. */
  disconnect (id: PeerId): void {
    const peers = this.peersOf(id)
    this.up.delete(id)
    this.handlers.delete(id)
    for (const p of peers) this.notify(p, (h) => h.onPeerDown(id))
  }

  /** Cuts (false) or restores (true) the link between a and b. */
  setLink (a: PeerId, b: PeerId, on: boolean): void {
    const was = this.linked(a, b)
    if (on) this.cut.delete(this.key(a, b))
    else this.cut.add(this.key(a, b))
    const now = this.linked(a, b)
    if (was && !now) {
      this.notify(a, (h) => h.onPeerDown(b))
      this.notify(b, (h) => h.onPeerDown(a))
    } else if (!was && now) {
      this.notify(a, (h) => h.onPeerUp(b))
      this.notify(b, (h) => h.onPeerUp(a))
    }
  }

  /** Splits the nodes into groups with no links between groups. */
  partition (...groups: PeerId[][]): void {
    for (const g of groups) {
      for (const h of groups) {
        if (g === h) continue
        for (const a of g) for (const b of h) this.setLink(a, b, false)
      }
    }
  }

  heal (): void {
    for (const k of [...this.cut]) {
      const [a, b] = k.split('|') as [string, string]
      this.setLink(a, b, true)
    }
  }

  private deliver (d: Delivery): void {
    this.tap(d)
    const verdict = this.filter(d)
    if (verdict === 'drop') return
    const times = verdict === 'dup' ? 2 : 1
    for (let i = 0; i < times; i++) {
      const ms = this.schedule === null ? 0 : this.delay(d)
      const hand = (): void => {
        if (!this.linked(d.from, d.to)) return
        this.delivered++
        this.notify(d.to, (h) => h.onMessage(d.from, d.channel, d.data))
      }
      if (ms > 0 && this.schedule !== null) this.schedule(ms, hand)
      else hand()
    }
  }

  transport (id: PeerId): Transport {
    return {
      localPeerId: id,
      peers: () => this.peersOf(id),
      send: (peer, channel, data) => {
        if (!this.linked(id, peer)) return false
        this.deliver({ from: id, to: peer, channel, data })
        return true
      },
      broadcast: (channel, data, except) => {
        for (const p of this.peersOf(id)) if (p !== except) this.deliver({ from: id, to: p, channel, data })
      },
      subscribe: (handler) => {
        let set = this.handlers.get(id)
        if (set === undefined) this.handlers.set(id, set = new Set())
        set.add(handler)
        return () => { this.handlers.get(id)?.delete(handler) }
      },
      reportMisbehavior: (peer, kind, detail) => { this.misbehavior.push({ reporter: id, peer, kind, detail }) },
    }
  }
}
