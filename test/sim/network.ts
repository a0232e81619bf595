/**
 * The simulated network: one `Transport` (src/transport.ts) per node incarnation, over the
 * world's event queue. A seeded RNG decides, per message: drop, duplication, delay (a
 * uniform base plus an occasional long tail, which reorders), and whether a link keeps
 * FIFO order per channel (the real libp2p streams do; `fifo: false` lifts it).
 *
 * Before GST the `preGst` profile applies, after it the `postGst` one (normally no drops
 * and a small delay bound: the partially synchronous model of the paper).
 *
 * Connectivity: two nodes are connected when both are up (attached) and no active
 * partition separates them. A link going down is reported to both ends as onPeerDown,
 * coming up as onPeerUp, each as an event of its own (so the loop awaits the receiver's
 * idle()), like a libp2p connection closing and reopening. `send` to a peer that is not
 * connected returns false; a message in flight on a link that goes down is lost.
 *
 * Observers see every message a node hands to the network (`onSend`, before drop and
 * delay: what left the node is what counts for double-sign checks) and every delivery
 * (`onDeliver`, for the trace hash).
 */
import { CHANNEL_MAX_BYTES, type ChannelId, type MisbehaviorKind, type PeerId, type Transport, type TransportHandler } from '../../src/transport.ts'
import type { Prng } from './rng.ts'
import type { SimWorld } from './world.ts'

export interface LinkProfile {
  /** Uniform base delay range (ms, inclusive). */
  minDelayMs: number
  maxDelayMs: number
  /** Probability of an extra delay uniform in [0, tailMs] (reorders messages). */
  tailProb: number
  tailMs: number
  dropProb: number
  dupProb: number
  /**
   * Probability that a directed link is slow, with an extra delay uniform in
   * [0, slowLinkMs] drawn once per link (asymmetric, persistent slowness: what makes
   * messages of a round arrive after the receiver moved on).
   */
  slowLinkProb?: number
  slowLinkMs?: number
}

export interface NetworkOptions {
  preGst: LinkProfile
  postGst: LinkProfile
  /** Simulated ms at which the network turns synchronous (postGst profile). */
  gstMs: number
  /** Keep per (from, to, channel) delivery order. */
  fifo: boolean
  /** When a node attaches, tell it onPeerUp for every connected peer (after subscribe). */
  announcePeers?: boolean
}

export const CALM_LINK: LinkProfile = { minDelayMs: 1, maxDelayMs: 10, tailProb: 0, tailMs: 0, dropProb: 0, dupProb: 0 }

export interface SendObservation {
  from: PeerId
  to: PeerId
  channel: ChannelId
  data: Uint8Array
  time: number
}

export interface NetworkObserver {
  onSend?: (o: SendObservation) => void
  onDeliver?: (o: SendObservation & { seq: number }) => void
  onMisbehavior?: (reporter: PeerId, peer: PeerId, kind: MisbehaviorKind, detail: string) => void
}

export interface NetworkStats {
  sent: number
  delivered: number
  dropped: number
  duplicated: number
  refused: number
  lostInFlight: number
  oversize: number
  misbehaviorReports: number
}

interface NodeSlot {
  id: PeerId
  up: boolean
  /** Increments on every attach: stale deliveries and notifications are dropped. */
  incarnation: number
  handler: TransportHandler | null
}

export class SimNetwork {
  private readonly nodes = new Map<PeerId, NodeSlot>()
  private readonly order: PeerId[] = []
  /** partition group of each node; nodes without a group are in group 0. */
  private group = new Map<PeerId, number>()
  private readonly lastDelivery = new Map<string, number>()
  /** Extra delay of each slow directed link, drawn at its first use (0 = not slow). */
  private readonly slowLinks = new Map<string, number>()
  /** Incremented each time a link goes down: messages sent on an older epoch are lost. */
  private readonly linkEpoch = new Map<string, number>()
  private readonly observers: NetworkObserver[] = []
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0, refused: 0, lostInFlight: 0, oversize: 0, misbehaviorReports: 0 }
  private deliverySeq = 0

  constructor (
    private readonly world: SimWorld,
    private readonly rng: Prng,
    private readonly opts: NetworkOptions,
  ) {}

  observe (o: NetworkObserver): void {
    this.observers.push(o)
  }

  /** Declares a node (down until attached). Order of declaration is the peers() order. */
  addNode (id: PeerId): void {
    if (this.nodes.has(id)) throw new Error(`node ${id} already declared`)
    this.nodes.set(id, { id, up: false, incarnation: 0, handler: null })
    this.order.push(id)
    this.order.sort()
  }

  isUp (id: PeerId): boolean {
    return this.nodes.get(id)?.up === true
  }

  connected (a: PeerId, b: PeerId): boolean {
    if (a === b) return false
    const sa = this.nodes.get(a)
    const sb = this.nodes.get(b)
    if (sa === undefined || sb === undefined || !sa.up || !sb.up) return false
    return (this.group.get(a) ?? 0) === (this.group.get(b) ?? 0)
  }

  private connectedPeers (id: PeerId): PeerId[] {
    return this.order.filter((p) => this.connected(id, p))
  }

  /** Snapshot of the connectivity matrix as a set of "a|b" (a < b) keys. */
  private links (): Set<string> {
    const s = new Set<string>()
    for (const a of this.order) for (const b of this.order) if (a < b && this.connected(a, b)) s.add(`${a}|${b}`)
    return s
  }

  /** Emits peer up/down notifications for every link whose state changed. */
  private diffLinks (before: Set<string>): void {
    const after = this.links()
    for (const k of before) {
      if (after.has(k)) continue
      this.linkEpoch.set(k, (this.linkEpoch.get(k) ?? 0) + 1)
      const [a, b] = k.split('|') as [string, string]
      this.notify(a, b, 'down')
      this.notify(b, a, 'down')
    }
    for (const k of after) {
      if (before.has(k)) continue
      const [a, b] = k.split('|') as [string, string]
      this.notify(a, b, 'up')
      this.notify(b, a, 'up')
    }
  }

  private notify (at: PeerId, peer: PeerId, what: 'up' | 'down'): void {
    const slot = this.nodes.get(at)
    if (slot === undefined || !slot.up) return
    const inc = slot.incarnation
    this.world.schedule(0, `peer-${what}`, at, () => {
      if (slot.incarnation !== inc || !slot.up || slot.handler === null) return
      if (what === 'up') slot.handler.onPeerUp(peer)
      else slot.handler.onPeerDown(peer)
    })
  }

  /**
   * Brings a node up and returns the transport for this incarnation. The engine should
   * subscribe synchronously (before the next event runs).
   */
  attach (id: PeerId): Transport {
    const slot = this.nodes.get(id)
    if (slot === undefined) throw new Error(`unknown node ${id}`)
    if (slot.up) throw new Error(`node ${id} is already attached`)
    const before = this.links()
    slot.up = true
    slot.incarnation++
    slot.handler = null
    const inc = slot.incarnation
    // Peers learn about the newcomer; the newcomer learns its peers from peers() or,
    // with announcePeers, from onPeerUp events after it subscribed.
    const after = this.links()
    for (const k of after) {
      if (before.has(k)) continue
      const [a, b] = k.split('|') as [string, string]
      const other = a === id ? b : a
      this.notify(other, id, 'up')
      if (this.opts.announcePeers === true) this.notify(id, other, 'up')
    }
    return this.transportFor(slot, inc)
  }

  /** Takes a node down (crash): its links go down, its in-flight messages are lost. */
  detach (id: PeerId): void {
    const slot = this.nodes.get(id)
    if (slot === undefined || !slot.up) return
    const before = this.links()
    slot.up = false
    slot.handler = null
    this.diffLinks(before)
  }

  /** Sets the partition: each inner list is a group; unlisted nodes form group 0. null heals. */
  setPartition (groups: ReadonlyArray<readonly PeerId[]> | null): void {
    const before = this.links()
    this.group = new Map()
    if (groups !== null) groups.forEach((g, i) => { for (const id of g) this.group.set(id, i + 1) })
    this.diffLinks(before)
  }

  private profile (): LinkProfile {
    return this.world.now >= this.opts.gstMs ? this.opts.postGst : this.opts.preGst
  }

  private transportFor (slot: NodeSlot, inc: number): Transport {
    const live = (): boolean => slot.up && slot.incarnation === inc
    const send = (peer: PeerId, channel: ChannelId, data: Uint8Array): boolean => {
      if (!live()) return false
      return this.send(slot.id, peer, channel, data)
    }
    return {
      localPeerId: slot.id,
      peers: () => (live() ? this.connectedPeers(slot.id) : []),
      send,
      broadcast: (channel, data, except) => {
        if (!live()) return
        for (const p of this.connectedPeers(slot.id)) if (p !== except) send(p, channel, data)
      },
      subscribe: (handler) => {
        if (live()) slot.handler = handler
        return () => { if (slot.handler === handler) slot.handler = null }
      },
      reportMisbehavior: (peer, kind, detail) => {
        this.stats.misbehaviorReports++
        for (const o of this.observers) o.onMisbehavior?.(slot.id, peer, kind, detail)
      },
    }
  }

  private send (from: PeerId, to: PeerId, channel: ChannelId, data: Uint8Array): boolean {
    if (!this.connected(from, to)) {
      this.stats.refused++
      return false
    }
    if (data.length > CHANNEL_MAX_BYTES[channel]) {
      // The real transport refuses oversize frames; the engine should never produce them.
      this.stats.oversize++
      return false
    }
    this.stats.sent++
    const time = this.world.now
    for (const o of this.observers) o.onSend?.({ from, to, channel, data, time })
    const p = this.profile()
    if (p.dropProb > 0 && this.rng.bool(p.dropProb)) {
      this.stats.dropped++
      return true
    }
    const copies = p.dupProb > 0 && this.rng.bool(p.dupProb) ? 2 : 1
    if (copies === 2) this.stats.duplicated++
    for (let c = 0; c < copies; c++) this.scheduleDelivery(from, to, channel, data, p)
    return true
  }

  private scheduleDelivery (from: PeerId, to: PeerId, channel: ChannelId, data: Uint8Array, p: LinkProfile): void {
    let delay = this.rng.range(p.minDelayMs, p.maxDelayMs)
    if (p.tailProb > 0 && this.rng.bool(p.tailProb)) delay += this.rng.range(0, p.tailMs)
    if ((p.slowLinkProb ?? 0) > 0) {
      const key = `${from}>${to}`
      let slow = this.slowLinks.get(key)
      if (slow === undefined) {
        slow = this.rng.bool(p.slowLinkProb) ? this.rng.range(1, p.slowLinkMs ?? 0) : 0
        this.slowLinks.set(key, slow)
      }
      delay += slow === 0 ? 0 : this.rng.range(slow >> 1, slow)
    }
    let at = this.world.now + delay
    if (this.opts.fifo) {
      const key = `${from}>${to}>${channel}`
      at = Math.max(at, this.lastDelivery.get(key) ?? 0)
      this.lastDelivery.set(key, at)
    }
    const dst = this.nodes.get(to) as NodeSlot
    const inc = dst.incarnation
    const link = from < to ? `${from}|${to}` : `${to}|${from}`
    const epoch = this.linkEpoch.get(link) ?? 0
    this.world.at(at, 'deliver', to, () => {
      if (dst.incarnation !== inc || (this.linkEpoch.get(link) ?? 0) !== epoch || !this.connected(from, to) || dst.handler === null) {
        this.stats.lostInFlight++
        return
      }
      this.stats.delivered++
      const seq = this.deliverySeq++
      for (const o of this.observers) o.onDeliver?.({ from, to, channel, data, time: this.world.now, seq })
      dst.handler.onMessage(from, channel, data)
    })
  }
}
