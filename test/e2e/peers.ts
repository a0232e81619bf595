/**
 * Peers that are not ordinary validators, for the admission tests (DESIGN §8):
 * - a "stranger" full node: its own node key and validator key, the testnet's genesis, the
 *   validators as persistent peers and allowed ids — but no validator allows it;
 * - a raw libp2p host (TCP + Noise + Yamux, as p2p/ uses) with a given node key seed, to
 *   open channel streams and write whatever bytes a test wants.
 */
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { join } from 'node:path'
import { defaultConfig } from '../../src/config/config.ts'
import { homePaths, writeHome } from '../../src/config/home.ts'
import { generateNodeKey, generatePrivValidatorKey, type NodeKey } from '../../src/config/keys.ts'
import { fastConsensus, testnetPorts } from '../../src/config/testnet.ts'
import { CHANNELS, type ChannelId } from '../../src/transport.ts'
import { protocolFor } from '../../p2p/channel.ts'
import { libp2pPrivateKeyFromSeed } from '../../p2p/identity.ts'
import { E2ENode, probeModeFromEnv, type Testnet } from './harness.ts'

/**
 * Writes a non-validator home at slot `net.nodes.length` of the testnet's port range that
 * dials every validator and allows only them, and adopts it into `net` (destroy() cleans it).
 */
export async function addStranger (net: Testnet, name = 'stranger', extraArgs: string[] = []): Promise<E2ENode> {
  const index = net.nodes.length
  const ports = testnetPorts(net.basePort, index)
  const home = join(net.dir, name)
  const nodeKey = generateNodeKey()
  const cfg = defaultConfig('local')
  cfg.moniker = name
  cfg.log_format = 'json'
  cfg.p2p.laddr = `tcp://127.0.0.1:${ports.p2p}`
  cfg.rpc.laddr = `tcp://127.0.0.1:${ports.rpc}`
  cfg.instrumentation.prometheus_listen_addr = `127.0.0.1:${ports.metrics}`
  cfg.p2p.persistent_peers = net.result.nodes.map((n) => n.peerAddress)
  cfg.p2p.allowed_peer_ids = net.result.nodes.map((n) => n.nodeId)
  cfg.rpc.rate_limit_per_ip = 0
  fastConsensus(cfg)
  await writeHome(homePaths(home), { config: cfg, genesis: net.result.genesis, nodeKey, privValidatorKey: generatePrivValidatorKey() })
  return net.adopt(new E2ENode({ index, name, home, ports, nodeId: nodeKey.id, validatorAddress: '', extraArgs, reaper: net.reaper }, probeModeFromEnv()))
}

/** A fresh node key for a raw peer (put its id in the validators' allow-list to let it in). */
export function rawPeerKey (): NodeKey {
  return generateNodeKey()
}

export interface RawPeer {
  host: Libp2p
  id: string
  /** Opens `channel`'s protocol stream to the node and writes `bytes`. */
  write: (node: { ports: { p2p: number }, nodeId: string }, channel: ChannelId, bytes: Uint8Array) => Promise<Stream>
  /** Open connections to the node. */
  connections: (node: { nodeId: string }) => number
  dial: (node: { ports: { p2p: number }, nodeId: string }) => Promise<boolean>
  stop: () => Promise<void>
}

export async function startRawPeer (key: NodeKey): Promise<RawPeer> {
  const host = await createLibp2p({
    privateKey: await libp2pPrivateKeyFromSeed(key.seed),
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
  })
  // Accept (and ignore) the node's own channel streams, so its side opens normally.
  for (const c of CHANNELS) await host.handle(protocolFor(c), () => {})
  const addr = (n: { ports: { p2p: number }, nodeId: string }): ReturnType<typeof multiaddr> => multiaddr(`/ip4/127.0.0.1/tcp/${n.ports.p2p}/p2p/${n.nodeId}`)
  return {
    host,
    id: host.peerId.toString(),
    write: async (n, channel, bytes) => {
      const s = await host.dialProtocol(addr(n), protocolFor(channel))
      s.send(bytes)
      return s
    },
    connections: (n) => host.getConnections().filter((c) => c.remotePeer.toString() === n.nodeId && c.status === 'open').length,
    dial: async (n) => {
      try {
        const c = await host.dial(addr(n))
        return c.status === 'open'
      } catch {
        return false
      }
    },
    stop: async () => { await host.stop() },
  }
}
