/**
 * The Transport interface (DESIGN §2, §8): how consensus, mempool, evidence and block sync
 * reach peers, without knowing whether the network is libp2p (p2p/) or the in-memory
 * simulated one (test/sim). Messages are opaque canonical bytes per channel; each channel
 * has its own size cap, enforced by the transport before a handler sees anything.
 */

export const CHANNELS = ['consensus', 'votes', 'block-parts', 'mempool', 'evidence', 'blocksync'] as const
export type ChannelId = typeof CHANNELS[number]

/** Per-channel frame caps. A block part is 64 KiB plus its proof; blocksync carries whole blocks. */
export const CHANNEL_MAX_BYTES: Record<ChannelId, number> = {
  consensus: 16 * 1024,
  votes: 4 * 1024,
  'block-parts': 80 * 1024,
  mempool: 64 * 1024,
  evidence: 64 * 1024,
  blocksync: 10 * 1024 * 1024,
}

/** A peer's stable id (its libp2p peer id string, or a node name in the simulator). */
export type PeerId = string

export interface TransportHandler {
  onMessage: (peer: PeerId, channel: ChannelId, data: Uint8Array) => void
  onPeerUp: (peer: PeerId) => void
  onPeerDown: (peer: PeerId) => void
}

export type MisbehaviorKind = 'malformed' | 'oversize' | 'invalid-signature' | 'protocol' | 'spam'

export interface Transport {
  readonly localPeerId: PeerId
  /** Currently connected peers, in a deterministic order. */
  peers: () => PeerId[]
  /** Queues a message; false when the peer is gone or its send queue for the channel is full. */
  send: (peer: PeerId, channel: ChannelId, data: Uint8Array) => boolean
  /** Sends to every connected peer except `except`. */
  broadcast: (channel: ChannelId, data: Uint8Array, except?: PeerId) => void
  /** Registers the handler; returns an unsubscribe function. One handler per node is usual. */
  subscribe: (handler: TransportHandler) => () => void
  /** Scores a peer down; repeat offenders are disconnected and banned for a while. */
  reportMisbehavior: (peer: PeerId, kind: MisbehaviorKind, detail: string) => void
}
