/**
 * Test helpers for p2p/: deterministic seeds, transports on 127.0.0.1 port 0, a recording
 * handler, and waitFor (poll a condition with a bound, never sleep-and-hope).
 */
import { createHash } from 'node:crypto'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Stream } from '@libp2p/interface'
import { CHANNELS, type ChannelId, type PeerId, type TransportHandler } from '../../src/transport.ts'
import { protocolFor } from '../../p2p/channel.ts'
import { createP2PTransport, type P2PTransport, type P2PTransportOptions } from '../../p2p/transport.ts'
import { libp2pPrivateKeyFromSeed, peerIdFromSeed } from '../../p2p/identity.ts'

export function seedOf (name: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`aidledger-test-seed:${name}`).digest())
}

export async function waitFor (cond: () => boolean, label: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${label}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

export interface Received {
  peer: PeerId
  channel: ChannelId
  data: Uint8Array
}

export class Recorder implements TransportHandler {
  readonly messages: Received[] = []
  readonly events: string[] = []
  readonly up = new Set<PeerId>()

  onMessage = (peer: PeerId, channel: ChannelId, data: Uint8Array): void => {
    this.messages.push({ peer, channel, data })
  }

  onPeerUp = (peer: PeerId): void => {
    this.up.add(peer)
    this.events.push(`up:${peer}`)
  }

  onPeerDown = (peer: PeerId): void => {
    this.up.delete(peer)
    this.events.push(`down:${peer}`)
  }

  from (peer: PeerId, channel?: ChannelId): Received[] {
    return this.messages.filter((m) => m.peer === peer && (channel === undefined || m.channel === channel))
  }
}

export interface TestNode {
  name: string
  seed: Uint8Array
  id: PeerId
  t: P2PTransport
  rec: Recorder
  /** `<peerId>@127.0.0.1:<port>` once started. */
  addr: string
  port: number
}

export const FAST: Partial<P2PTransportOptions> = {
  backoff: { baseMs: 50, maxMs: 400, jitter: 0.2, stableMs: 10_000 },
  dialTimeoutMs: 3_000,
  inboundConnectionsPerSecond: 1_000,
}

export async function startNode (name: string, opts: Partial<P2PTransportOptions> = {}, now?: () => number): Promise<TestNode> {
  const seed = seedOf(name)
  const t = createP2PTransport({ nodeKeySeed: seed, listen: ['/ip4/127.0.0.1/tcp/0'], ...FAST, ...opts }, now === undefined ? {} : { now })
  const rec = new Recorder()
  t.subscribe(rec)
  await t.start()
  const ma = t.listenAddresses()[0]
  const port = Number(/\/tcp\/(\d+)\//.exec(ma ?? '')?.[1])
  if (!(port > 0)) throw new Error(`no listen address: ${String(ma)}`)
  return { name, seed, id: t.localPeerId, t, rec, addr: `${t.localPeerId}@127.0.0.1:${port}`, port }
}

export function idOf (name: string): PeerId {
  return peerIdFromSeed(seedOf(name))
}

/**
 * A bare libp2p host with a node key, to act as a misbehaving or unknown peer. It accepts
 * every channel protocol (reading nothing), so the transport's own streams to it open;
 * `onStream` sees each one.
 */
export async function rawHost (name: string, onStream?: (channel: ChannelId, stream: Stream) => void): Promise<Libp2p> {
  const node = await createLibp2p({
    privateKey: await libp2pPrivateKeyFromSeed(seedOf(name)),
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    connectionManager: { inboundConnectionThreshold: 1_000 },
  })
  for (const c of CHANNELS) {
    await node.handle(protocolFor(c), (stream) => { onStream?.(c, stream) })
  }
  return node
}

export function bytes (...xs: number[]): Uint8Array {
  return new Uint8Array(xs)
}

/** A payload that says which message it is: `<channel>:<i>` padded to `size` bytes. */
export function payload (channel: string, i: number, size = 0): Uint8Array {
  const head = new TextEncoder().encode(`${channel}:${i}`)
  const out = new Uint8Array(Math.max(size, head.length))
  out.set(head)
  return out
}

export function text (b: Uint8Array): string {
  return new TextDecoder().decode(b).replace(/\0+$/, '')
}
