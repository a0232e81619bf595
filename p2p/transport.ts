/**
 * The libp2p Transport (DESIGN §8): a libp2p 3 host with TCP + Noise + Yamux whose identity
 * is the node key, admitting only allow-listed peers, carrying the six channels of
 * src/transport.ts as `/aidledger/<channel>/1.0.0` streams of length-prefixed frames.
 *
 * - Admission: one predicate (allow-listed and not banned) at every gate libp2p 3 offers
 *   for dials (denyDialPeer, denyDialMultiaddr) and after the Noise handshake has proven
 *   the remote's key (deny{In,Out}boundEncryptedConnection), again after muxing, and on
 *   every inbound stream. No discovery, no identify, no autodial, no relay: nothing but
 *   the configured peers ever gets a connection.
 * - Persistent peers are dialled on start and redialled with capped backoff (dialer.ts).
 * - A bad frame (oversize prefix, malformed prefix, empty) disconnects the sender and
 *   scores it; `reportMisbehavior` feeds the same scores; bans are enforced by the gater
 *   (scoring.ts).
 * - Streams, queues and counters per (peer, channel) live in channel.ts.
 *
 * Node 20 note: libp2p 3 needs `Promise.withResolvers`; src/polyfills.ts must be loaded
 * first (src/register.js does it), or dials fail with ECONNRESET.
 */
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Connection, PeerId as LibPeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { AidError } from '../src/errors.ts'
import {
  CHANNELS, CHANNEL_MAX_BYTES,
  type ChannelId, type MisbehaviorKind, type PeerId, type Transport, type TransportHandler,
} from '../src/transport.ts'
import {
  newCounters, OutChannel, protocolFor, readInbound, SendQueue, type ChannelCounters,
} from './channel.ts'
import { DEFAULT_BACKOFF, PersistentDialer, type BackoffOptions } from './dialer.ts'
import { withTimeout } from './abort.ts'
import type { FrameError } from './frame.ts'
import { assertPeerId, libp2pPrivateKeyFromSeed, parsePeerAddress, peerIdFromSeed, type PeerAddress } from './identity.ts'
import { NOOP_LOGGER, type Logger } from './logger.ts'
import { DEFAULT_SCORING, PeerScores, type ScoringOptions } from './scoring.ts'

export interface P2PTransportOptions {
  /** The 32-byte Ed25519 seed from config/node_key.json. */
  readonly nodeKeySeed: Uint8Array
  /** Listen multiaddrs; default `/ip4/0.0.0.0/tcp/26656`. Port 0 picks a free port. */
  readonly listen?: readonly string[]
  /** `<peerId>@<host>:<port>` or `/ip4/…/tcp/…/p2p/<peerId>`; dialled and kept connected, and allowed in. */
  readonly persistentPeers?: readonly string[]
  /** More peer ids allowed to connect (to us or by our dial), e.g. validators that dial in. */
  readonly allowedPeers?: readonly string[]
  /** Send queue bound per (peer, channel), in messages. */
  readonly sendQueueMessages?: Partial<Record<ChannelId, number>>
  /** Send queue bound per (peer, channel), in bytes (one message is always admitted to an empty queue). */
  readonly sendQueueBytes?: number
  /** Frame caps; default CHANNEL_MAX_BYTES. Both ends must agree: this is protocol. */
  readonly channelMaxBytes?: Partial<Record<ChannelId, number>>
  readonly scoring?: Partial<ScoringOptions>
  readonly backoff?: Partial<BackoffOptions>
  /** Per dial attempt, ms. */
  readonly dialTimeoutMs?: number
  /** Opening one channel stream (multistream-select), ms. */
  readonly streamOpenTimeoutMs?: number
  /** libp2p connection monitor ping period, ms (aborts dead connections). */
  readonly pingIntervalMs?: number
  /** libp2p's per-remote-host inbound connection rate limit, per second. */
  readonly inboundConnectionsPerSecond?: number
  readonly maxConnections?: number
}

export interface P2PTransportDeps {
  readonly logger?: Logger
  /** Clock for scores and bans (ms); Date.now by default. Timers use real time. */
  readonly now?: () => number
}

export const DEFAULT_SEND_QUEUE_MESSAGES: Readonly<Record<ChannelId, number>> = {
  consensus: 1024, votes: 4096, 'block-parts': 1024, mempool: 2048, evidence: 256, blocksync: 64,
}
export const DEFAULT_SEND_QUEUE_BYTES = 32 * 1024 * 1024

export interface PeerStats {
  readonly connected: boolean
  readonly score: number
  readonly offenses: number
  readonly bannedUntil: number | null
  readonly dials: number
  readonly dialFailures: number
  readonly channels: Record<ChannelId, ChannelCounters & { queued: number }>
}

export interface P2PStats {
  readonly peers: number
  readonly channels: Record<ChannelId, ChannelCounters>
  readonly perPeer: Record<PeerId, PeerStats>
  /** Disconnects for bad frames or reported misbehaviour. */
  readonly misbehaviorDisconnects: number
  readonly bans: number
  /** Inbound connections refused at the gater after the Noise handshake (not allowed or banned). */
  readonly refusedInbound: number
}

export interface P2PTransport extends Transport {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Listening multiaddrs with `/p2p/<id>` (after start). */
  listenAddresses: () => string[]
  stats: () => P2PStats
  /** Replaces `allowedPeers` (persistent peers stay allowed); disconnects peers no longer allowed. */
  setAllowedPeers: (ids: readonly string[]) => void
  isBanned: (peer: PeerId) => boolean
  unban: (peer: PeerId) => void
}

/**
 * A connected peer. It is announced (onPeerUp, listed by peers(), sendable) only once the
 * remote has shown it admitted us: one of our channel streams negotiated, or one of its
 * streams arrived. Libp2p alone cannot tell: the dialer's upgrade completes (and
 * peer:connect fires) before the listener's post-handshake gate drops the connection
 * (observed on loopback with libp2p 3.3 / noise 17 / yamux 8).
 */
interface Session {
  readonly id: PeerId
  readonly out: Record<ChannelId, OutChannel>
  announced: boolean
  /** Set once we decided to drop the peer: nothing more is delivered from it. */
  closing: boolean
  /** Ids of the connections aborted when it was dropped; the session ends when all have closed. */
  doomed: Set<string> | undefined
}

function perChannel<T> (f: (c: ChannelId) => T): Record<ChannelId, T> {
  const out = {} as Record<ChannelId, T>
  for (const c of CHANNELS) out[c] = f(c)
  return out
}

function checkPositiveInt (v: number, at: string): number {
  if (!Number.isSafeInteger(v) || v < 1) throw new AidError('ERR_P2P_INVALID_OPTIONS', `${at} must be a positive integer`, at)
  return v
}

export function createP2PTransport (options: P2PTransportOptions, deps: P2PTransportDeps = {}): P2PTransport {
  const log = deps.logger ?? NOOP_LOGGER
  const now = deps.now ?? Date.now
  const seed = options.nodeKeySeed
  const localPeerId = peerIdFromSeed(seed)
  const listen = [...(options.listen ?? ['/ip4/0.0.0.0/tcp/26656'])]
  const persistent: PeerAddress[] = (options.persistentPeers ?? []).map((s, i) => parsePeerAddress(s, `persistent_peers[${i}]`))
  const persistentIds = new Set(persistent.map((p) => p.peerId))
  let allowed = new Set((options.allowedPeers ?? []).map((s, i) => assertPeerId(s, `allowed_peers[${i}]`)))
  const caps = perChannel((c) => checkPositiveInt(options.channelMaxBytes?.[c] ?? CHANNEL_MAX_BYTES[c], `channel_max_bytes.${c}`))
  const queueMessages = perChannel((c) => checkPositiveInt(options.sendQueueMessages?.[c] ?? DEFAULT_SEND_QUEUE_MESSAGES[c], `send_queue_messages.${c}`))
  const queueBytes = checkPositiveInt(options.sendQueueBytes ?? DEFAULT_SEND_QUEUE_BYTES, 'send_queue_bytes')
  const dialTimeoutMs = checkPositiveInt(options.dialTimeoutMs ?? 10_000, 'dial_timeout_ms')
  const streamOpenTimeoutMs = checkPositiveInt(options.streamOpenTimeoutMs ?? 10_000, 'stream_open_timeout_ms')
  const scores = new PeerScores({ ...DEFAULT_SCORING, ...options.scoring }, now)
  const backoff = { ...DEFAULT_BACKOFF, ...options.backoff }

  const handlers = new Set<TransportHandler>()
  const sessions = new Map<PeerId, Session>()
  const peerCounters = new Map<PeerId, Record<ChannelId, ChannelCounters>>()
  const totals = perChannel(() => newCounters())
  let misbehaviorDisconnects = 0
  let refusedInbound = 0
  let node: Libp2p | undefined
  let state: 'new' | 'starting' | 'started' | 'stopped' = 'new'

  const admits = (id: PeerId): boolean => id !== localPeerId && (persistentIds.has(id) || allowed.has(id)) && !scores.isBanned(id)
  const denies = (p: LibPeerId): boolean => !admits(p.toString())

  const countersOf = (id: PeerId): Record<ChannelId, ChannelCounters> => {
    let c = peerCounters.get(id)
    if (c === undefined) {
      c = perChannel(() => newCounters())
      peerCounters.set(id, c)
    }
    return c
  }

  const emit = (f: (h: TransportHandler) => void, what: string): void => {
    for (const h of handlers) {
      try {
        f(h)
      } catch (err) {
        log.error('transport handler threw', { what, err: (err as Error).message })
      }
    }
  }

  const connectionsOf = (id: PeerId): Connection[] => {
    if (node === undefined) return []
    return node.getConnections(peerIdFromString(id)).filter((c) => c.status === 'open')
  }

  const dropPeer = (id: PeerId, reason: string): void => {
    const s = sessions.get(id)
    const conns = node?.getConnections(peerIdFromString(id)) ?? []
    if (s !== undefined) {
      s.closing = true
      s.doomed = new Set(conns.map((c) => c.id))
    }
    for (const c of conns) c.abort(new Error(reason))
    // No connection left to report a peer:disconnect: close the session here.
    if (conns.length === 0) markDown(id)
  }

  const punish = (id: PeerId, kind: MisbehaviorKind, detail: string, forceDisconnect: boolean): void => {
    if (!persistentIds.has(id) && !allowed.has(id) && !sessions.has(id)) return // scores only for peers we know
    const v = scores.penalize(id, kind)
    log.warn('peer misbehaved', { peer: id, kind, detail, score: v.score, ban: v.ban })
    if (v.disconnect || forceDisconnect) {
      misbehaviorDisconnects++
      dropPeer(id, `misbehavior: ${kind}: ${detail}`)
    }
  }

  const announcedIds = (): PeerId[] => [...sessions.values()].filter((s) => s.announced && !s.closing).map((s) => s.id).sort()

  const openStream = async (id: PeerId, channel: ChannelId): Promise<Stream> => {
    // Oldest open connection first, so both channels of a duplicate pair settle on one.
    const conns = connectionsOf(id).sort((a, b) => a.timeline.open - b.timeline.open || (a.id < b.id ? -1 : 1))
    const conn = conns[0]
    if (conn === undefined) throw new Error('no open connection')
    return await withTimeout(streamOpenTimeoutMs, undefined, `open ${channel} stream`, async (signal) => await conn.newStream(protocolFor(channel), { signal }))
  }

  const announce = (session: Session): void => {
    if (session.announced || session.closing || sessions.get(session.id) !== session) return
    session.announced = true
    dialer.onConnect(session.id)
    log.info('peer up', { peer: session.id })
    emit((h) => { h.onPeerUp(session.id) }, 'onPeerUp')
  }

  const ensureSession = (id: PeerId): Session => {
    const existing = sessions.get(id)
    if (existing !== undefined) return existing
    const counters = countersOf(id)
    const session: Session = {
      id,
      announced: false,
      closing: false,
      doomed: undefined,
      out: perChannel((channel) => new OutChannel({
        channel,
        queue: new SendQueue(queueMessages[channel], queueBytes),
        counters: [counters[channel], totals[channel]],
        openStream: async () => {
          const stream = await openStream(id, channel)
          announce(session)
          return stream
        },
        onFailure: (reason) => {
          log.warn('dropping peer: channel failed', { peer: id, channel, reason })
          dropPeer(id, reason)
        },
        onPeerWrote: (bytes) => { punish(id, 'protocol', `${bytes} bytes written on our ${channel} stream`, true) },
        log,
      })),
    }
    sessions.set(id, session)
    for (const c of CHANNELS) session.out[c].start()
    return session
  }

  const markDown = (id: PeerId): void => {
    const s = sessions.get(id)
    if (s === undefined) return
    sessions.delete(id)
    let discarded = 0
    for (const c of CHANNELS) discarded += s.out[c].dispose()
    if (s.announced) {
      log.info('peer down', { peer: id, discarded })
      emit((h) => { h.onPeerDown(id) }, 'onPeerDown')
    } else {
      log.debug('connection dropped before the peer admitted us', { peer: id })
    }
    dialer.onDisconnect(id)
  }

  const dialer = new PersistentDialer(persistent, backoff, dialTimeoutMs, {
    localPeerId,
    dial: async (addr: PeerAddress, signal: AbortSignal) => {
      if (node === undefined) throw new AidError('ERR_P2P_NOT_STARTED')
      const conn = await node.dial(addr.multiaddr, { signal })
      if (conn.status !== 'open') throw new Error('connection closed while opening')
    },
    isConnected: (id) => sessions.has(id),
    bannedUntil: (id) => scores.bannedUntil(id),
    now,
    log,
  })

  const onInboundStream = (channel: ChannelId) => (stream: Stream, conn: Connection): void => {
    const id = conn.remotePeer.toString()
    if (state !== 'started' || !admits(id)) {
      stream.abort(new Error('peer not admitted'))
      return
    }
    const session = ensureSession(id)
    announce(session)
    readInbound(stream, {
      channel,
      maxFrameBytes: caps[channel],
      counters: [countersOf(id)[channel], totals[channel]],
      onFrame: (frame) => {
        // The current session, not the one the stream arrived in: a stream from a peer's new
        // connection may arrive while its previous session is still closing.
        const cur = sessions.get(id)
        if (cur === undefined || cur.closing || !cur.announced) return
        emit((h) => { h.onMessage(id, channel, frame) }, 'onMessage')
      },
      onBadFrame: (err: FrameError) => {
        const detail = err.kind === 'oversize' ? `${channel} frame of ${err.length} bytes > cap ${err.max}` : `${channel}: ${err.detail}`
        punish(id, err.kind, detail, true)
      },
    })
  }

  const gateInbound = (p: LibPeerId): boolean => {
    const deny = denies(p)
    if (deny) {
      refusedInbound++
      log.debug('refused inbound peer', { peer: p.toString(), banned: scores.isBanned(p.toString()) })
    }
    return deny
  }

  const lastP2p = (ma: Multiaddr): string | undefined => ma.getComponents().findLast((c) => c.name === 'p2p')?.value

  async function start (): Promise<void> {
    if (state !== 'new') throw new AidError('ERR_P2P_INVALID_OPTIONS', `cannot start a transport that is ${state}`)
    state = 'starting'
    const privateKey = await libp2pPrivateKeyFromSeed(seed)
    node = await createLibp2p({
      start: false,
      privateKey,
      nodeInfo: { name: 'aidledger' },
      addresses: { listen },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: {
        denyDialPeer: denies,
        denyDialMultiaddr: (ma) => {
          const id = lastP2p(ma)
          return id !== undefined && !admits(id)
        },
        denyInboundEncryptedConnection: gateInbound,
        denyOutboundEncryptedConnection: denies,
        denyInboundUpgradedConnection: denies,
        denyOutboundUpgradedConnection: denies,
      },
      connectionManager: {
        maxConnections: options.maxConnections ?? 128,
        inboundConnectionThreshold: options.inboundConnectionsPerSecond ?? 5,
        dialTimeout: dialTimeoutMs,
        reconnectRetries: 0,
      },
      connectionMonitor: { pingInterval: options.pingIntervalMs ?? 10_000 },
    })
    for (const c of CHANNELS) {
      await node.handle(protocolFor(c), onInboundStream(c), { maxInboundStreams: 4, maxOutboundStreams: 4 })
    }
    node.addEventListener('peer:connect', (evt) => {
      const id = evt.detail.toString()
      if (state !== 'started') return
      if (!admits(id)) {
        dropPeer(id, 'not admitted')
        return
      }
      ensureSession(id)
    })
    node.addEventListener('peer:disconnect', (evt) => { markDown(evt.detail.toString()) })
    // A dropped peer that redialled before its old connections finished closing gets no
    // peer:disconnect/peer:connect pair: end the old session and start one on the new connection.
    node.addEventListener('connection:close', (evt) => {
      const id = evt.detail.remotePeer.toString()
      const s = sessions.get(id)
      if (s?.doomed === undefined) return
      s.doomed.delete(evt.detail.id)
      if (s.doomed.size > 0) return
      markDown(id)
      if (state === 'started' && admits(id) && connectionsOf(id).length > 0) ensureSession(id)
    })
    await node.start()
    // stop() may have run while we were starting: it could not stop a host it did not have yet.
    if ((state as string) === 'stopped') {
      await node.stop()
      return
    }
    state = 'started'
    log.info('p2p started', { peerId: localPeerId, listen: listenAddresses() })
    dialer.start()
  }

  async function stop (): Promise<void> {
    if (state === 'stopped') return
    const wasStarted = state === 'started'
    state = 'stopped'
    dialer.stop()
    for (const id of [...sessions.keys()]) markDown(id)
    if (node !== undefined) {
      // Close connections ourselves first: libp2p's stop() closes each with an AbortSignal
      // shared by all its streams and no setMaxListeners, so a connection with > 10 streams
      // (we have 12) prints MaxListenersExceededWarning on every shutdown.
      await withTimeout(1_000, undefined, 'close', async (signal) => {
        await Promise.all(node?.getConnections().map(async (c) => {
          try {
            await c.close({ signal })
          } catch (err) {
            c.abort(err as Error)
          }
        }) ?? [])
      })
      await node.stop()
    }
    if (wasStarted) log.info('p2p stopped', { peerId: localPeerId })
  }

  function listenAddresses (): string[] {
    return node === undefined ? [] : node.getMultiaddrs().map((ma) => ma.toString())
  }

  function send (peer: PeerId, channel: ChannelId, data: Uint8Array): boolean {
    const s = sessions.get(peer)
    if (s === undefined || s.closing || !s.announced) return false
    if (data.byteLength === 0 || data.byteLength > caps[channel]) {
      log.warn('refusing to send a frame outside the channel cap', { peer, channel, bytes: data.byteLength })
      countersOf(peer)[channel].drops++
      totals[channel].drops++
      return false
    }
    if (s.out[channel].enqueue(data)) return true
    countersOf(peer)[channel].drops++
    totals[channel].drops++
    return false
  }

  function stats (): P2PStats {
    const perPeer: Record<PeerId, PeerStats> = {}
    const dials = dialer.stats()
    const known = new Set([...peerCounters.keys(), ...persistentIds, ...allowed])
    for (const id of [...known].sort()) {
      const sc = scores.snapshot(id)
      const counters = countersOf(id)
      const session = sessions.get(id)
      perPeer[id] = {
        connected: session?.announced === true,
        score: sc.score,
        offenses: sc.offenses,
        bannedUntil: sc.bannedUntil,
        dials: dials[id]?.dials ?? 0,
        dialFailures: dials[id]?.failures ?? 0,
        channels: perChannel((c) => ({ ...counters[c], queued: session?.out[c].queued ?? 0 })),
      }
    }
    return {
      peers: announcedIds().length,
      channels: perChannel((c) => ({ ...totals[c] })),
      perPeer,
      misbehaviorDisconnects,
      bans: scores.bans,
      refusedInbound,
    }
  }

  return {
    localPeerId,
    start,
    stop,
    listenAddresses,
    stats,
    peers: announcedIds,
    send,
    broadcast (channel, data, except) {
      for (const id of announcedIds()) {
        if (id !== except) send(id, channel, data)
      }
    },
    subscribe (handler) {
      handlers.add(handler)
      return () => { handlers.delete(handler) }
    },
    reportMisbehavior (peer, kind, detail) {
      punish(peer, kind, detail, false)
    },
    setAllowedPeers (ids) {
      allowed = new Set(ids.map((s, i) => assertPeerId(s, `allowed_peers[${i}]`)))
      for (const id of [...sessions.keys()]) {
        if (!admits(id)) dropPeer(id, 'no longer allowed')
      }
    },
    isBanned: (peer) => scores.isBanned(peer),
    unban: (peer) => { scores.unban(peer) },
  }
}
