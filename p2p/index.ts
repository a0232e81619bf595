/**
 * p2p/: the libp2p implementation of the kernel's Transport (DESIGN §8). The node assembly
 * imports this; consensus/ and the rest see only src/transport.ts.
 */
export { createP2PTransport, DEFAULT_SEND_QUEUE_BYTES, DEFAULT_SEND_QUEUE_MESSAGES } from './transport.ts'
export type { P2PStats, P2PTransport, P2PTransportDeps, P2PTransportOptions, PeerStats } from './transport.ts'
export {
  assertPeerId, formatPeerAddress, libp2pPrivateKeyFromSeed, parsePeerAddress, peerIdFromEd25519PublicKey,
  peerIdFromSeed, publicKeyFromPeerId, NODE_KEY_SEED_LENGTH,
} from './identity.ts'
export type { PeerAddress } from './identity.ts'
export { protocolFor, type ChannelCounters } from './channel.ts'
export { DEFAULT_SCORING, type ScoringOptions } from './scoring.ts'
export { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from './dialer.ts'
export { NOOP_LOGGER, type Logger, type LogFields } from './logger.ts'
