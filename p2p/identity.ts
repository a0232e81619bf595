/**
 * Node identity and peer addresses (DESIGN §8: "a node's libp2p identity is its node key").
 *
 * The node key (config/node_key.json) holds a 32-byte Ed25519 seed (RFC 8032 §5.1.5). The
 * libp2p private key is derived from that seed, and the peer id from its public key the
 * libp2p way (peer-ids spec: identity multihash of the protobuf-encoded public key,
 * base58btc, so Ed25519 ids start with `12D3KooW`). The same seed always gives the same
 * id, so `show-node-id` and `persistent_peers` (`<peerId>@<host>:<port>`) can be computed
 * offline, without starting a host.
 *
 * The public key is computed with @noble/curves (synchronous, the portable reference);
 * libp2p computes its own from the seed, and test/p2p checks the two agree.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { generateKeyPairFromSeed, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { AidError } from '../src/errors.ts'
import type { PeerId } from '../src/transport.ts'

export const NODE_KEY_SEED_LENGTH = 32
export const ED25519_PUBLIC_KEY_LENGTH = 32

function checkSeed (seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== NODE_KEY_SEED_LENGTH) {
    throw new AidError('ERR_P2P_BAD_NODE_KEY', `expected ${NODE_KEY_SEED_LENGTH} bytes`, 'node_key')
  }
}

/** The libp2p private key for a node key seed (what the host signs its Noise handshakes with). */
export async function libp2pPrivateKeyFromSeed (seed: Uint8Array): Promise<Ed25519PrivateKey> {
  checkSeed(seed)
  return await generateKeyPairFromSeed('Ed25519', seed)
}

/** The peer id string of a raw 32-byte Ed25519 public key. */
export function peerIdFromEd25519PublicKey (publicKey: Uint8Array): PeerId {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_LENGTH) {
    throw new AidError('ERR_P2P_BAD_NODE_KEY', `public key must be ${ED25519_PUBLIC_KEY_LENGTH} bytes`, 'public_key')
  }
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey)).toString()
}

/** The peer id string of a node key seed; the same as the running host's `localPeerId`. */
export function peerIdFromSeed (seed: Uint8Array): PeerId {
  checkSeed(seed)
  return peerIdFromEd25519PublicKey(ed25519.getPublicKey(seed))
}

/** Throws unless `id` is a well-formed Ed25519 libp2p peer id; returns it in canonical form. */
export function assertPeerId (id: string, at = 'peer_id'): PeerId {
  let parsed
  try {
    parsed = peerIdFromString(id)
  } catch {
    throw new AidError('ERR_P2P_BAD_PEER_ID', `not a peer id: ${JSON.stringify(id)}`, at)
  }
  if (parsed.type !== 'Ed25519') {
    throw new AidError('ERR_P2P_BAD_PEER_ID', `${id} is a ${parsed.type} peer id, expected Ed25519`, at)
  }
  return parsed.toString()
}

/** The raw Ed25519 public key inside an Ed25519 peer id (ids of this type embed the key). */
export function publicKeyFromPeerId (id: PeerId): Uint8Array {
  const parsed = peerIdFromString(assertPeerId(id))
  if (parsed.type !== 'Ed25519') throw new AidError('ERR_P2P_BAD_PEER_ID', id)
  return parsed.publicKey.raw
}

export interface PeerAddress {
  readonly peerId: PeerId
  /** Full dialable multiaddr, ending in `/p2p/<peerId>`. */
  readonly multiaddr: Multiaddr
}

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([^:@/\s[\]]+)):(\d{1,5})$/
const IPV4 = /^(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

/**
 * Parses a peer address: either CometBFT style `<peerId>@<host>:<port>` (host: IPv4, `[IPv6]`
 * or a DNS name) or a multiaddr ending in `/p2p/<peerId>` (`/ip4/…/tcp/…/p2p/12D3KooW…`).
 */
export function parsePeerAddress (s: string, at = 'persistent_peers'): PeerAddress {
  const text = s.trim()
  if (text.startsWith('/')) {
    let ma: Multiaddr
    try {
      ma = multiaddr(text)
    } catch (err) {
      throw new AidError('ERR_P2P_BAD_PEER_ADDRESS', `${JSON.stringify(s)}: ${(err as Error).message}`, at)
    }
    const last = ma.getComponents().at(-1)
    if (last?.name !== 'p2p' || last.value === undefined) {
      throw new AidError('ERR_P2P_BAD_PEER_ADDRESS', `${JSON.stringify(s)} does not end in /p2p/<peerId>`, at)
    }
    return { peerId: assertPeerId(last.value, at), multiaddr: ma }
  }
  const atSign = text.indexOf('@')
  if (atSign <= 0) throw new AidError('ERR_P2P_BAD_PEER_ADDRESS', JSON.stringify(s), at)
  const peerId = assertPeerId(text.slice(0, atSign), at)
  const m = HOST_PORT.exec(text.slice(atSign + 1))
  const port = m === null ? NaN : Number(m[3])
  if (m === null || !(port >= 1 && port <= 65535)) {
    throw new AidError('ERR_P2P_BAD_PEER_ADDRESS', `${JSON.stringify(s)}: expected host:port`, at)
  }
  const v6 = m[1]
  const host = m[2] ?? ''
  const proto = v6 !== undefined ? 'ip6' : IPV4.test(host) ? 'ip4' : 'dns'
  const hostPart = v6 ?? host
  try {
    return { peerId, multiaddr: multiaddr(`/${proto}/${hostPart}/tcp/${port}/p2p/${peerId}`) }
  } catch (err) {
    throw new AidError('ERR_P2P_BAD_PEER_ADDRESS', `${JSON.stringify(s)}: ${(err as Error).message}`, at)
  }
}

/** `<peerId>@<host>:<port>` for a host listening on `host:port` (what `testnet` writes out). */
export function formatPeerAddress (peerId: PeerId, host: string, port: number): string {
  return host.includes(':') ? `${peerId}@[${host}]:${port}` : `${peerId}@${host}:${port}`
}
