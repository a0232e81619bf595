/**
 * Node identity (p2p/identity.ts): peer ids derived offline from the node key seed match
 * libp2p's own derivation (and a live host's id), a golden id pins the derivation, and peer
 * address parsing accepts CometBFT and multiaddr forms and refuses the rest.
 */
import t from 'tap'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ed25519 } from '@noble/curves/ed25519.js'
import {
  assertPeerId, formatPeerAddress, libp2pPrivateKeyFromSeed, parsePeerAddress, peerIdFromEd25519PublicKey,
  peerIdFromSeed, publicKeyFromPeerId,
} from '../../p2p/identity.ts'
import { seedOf, startNode } from './helpers.ts'

t.test('peer id from the seed equals libp2p\'s, offline and live', async (t) => {
  for (const name of ['a', 'b', 'c', 'd']) {
    const seed = seedOf(name)
    const key = await libp2pPrivateKeyFromSeed(seed)
    t.equal(peerIdFromSeed(seed), peerIdFromPrivateKey(key).toString(), name)
    t.same([...key.publicKey.raw], [...ed25519.getPublicKey(seed)], `${name}: same public key as RFC 8032 (noble)`)
    t.equal(peerIdFromEd25519PublicKey(ed25519.getPublicKey(seed)), peerIdFromSeed(seed))
    t.same([...publicKeyFromPeerId(peerIdFromSeed(seed))], [...ed25519.getPublicKey(seed)], 'the id embeds the key')
  }
  const n = await startNode('identity-live')
  t.teardown(async () => { await n.t.stop() })
  t.equal(n.t.localPeerId, peerIdFromSeed(seedOf('identity-live')))
  t.match(n.t.listenAddresses()[0], new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${n.id}$`))
})

t.test('golden: the all-zero seed', async (t) => {
  // RFC 8032 public key of the zero seed, and its libp2p peer id (identity multihash of the
  // protobuf public key, base58btc). Pinned so a dependency change cannot silently move ids.
  const seed = new Uint8Array(32)
  t.equal(Buffer.from(ed25519.getPublicKey(seed)).toString('hex'), '3b6a27bcceb6a42d62a3a8d02a6f0d73653215771de243a63ac048a18b59da29')
  t.equal(peerIdFromSeed(seed), '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN')
})

t.test('bad keys and ids are refused with stable codes', async (t) => {
  t.throws(() => peerIdFromSeed(new Uint8Array(31)), { code: 'ERR_P2P_BAD_NODE_KEY' })
  t.throws(() => peerIdFromSeed(new Uint8Array(64)), { code: 'ERR_P2P_BAD_NODE_KEY' })
  await t.rejects(libp2pPrivateKeyFromSeed(new Uint8Array(1)), { code: 'ERR_P2P_BAD_NODE_KEY' })
  t.throws(() => peerIdFromEd25519PublicKey(new Uint8Array(33)), { code: 'ERR_P2P_BAD_NODE_KEY' })
  for (const bad of ['', 'hello', '12D3KooW', 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N', 'f'.repeat(40)]) {
    t.throws(() => assertPeerId(bad), { code: 'ERR_P2P_BAD_PEER_ID' }, JSON.stringify(bad))
  }
})

t.test('peer addresses', async (t) => {
  const id = peerIdFromSeed(seedOf('addr'))
  const ok: Array<[string, string]> = [
    [`${id}@127.0.0.1:26656`, `/ip4/127.0.0.1/tcp/26656/p2p/${id}`],
    [`${id}@[::1]:26756`, `/ip6/::1/tcp/26756/p2p/${id}`],
    [`${id}@node1.ministry.example:26656`, `/dns/node1.ministry.example/tcp/26656/p2p/${id}`],
    [` ${id}@10.0.0.2:1 `, `/ip4/10.0.0.2/tcp/1/p2p/${id}`],
    [`/ip4/192.168.1.9/tcp/26656/p2p/${id}`, `/ip4/192.168.1.9/tcp/26656/p2p/${id}`],
    [`/dns4/validator-3/tcp/26956/p2p/${id}`, `/dns4/validator-3/tcp/26956/p2p/${id}`],
  ]
  for (const [input, ma] of ok) {
    const p = parsePeerAddress(input)
    t.equal(p.peerId, id, input)
    t.equal(p.multiaddr.toString(), ma, input)
  }
  const bad = [
    '127.0.0.1:26656', `${id}@127.0.0.1`, `${id}@127.0.0.1:0`, `${id}@127.0.0.1:65536`, `${id}@:26656`,
    `nope@127.0.0.1:26656`, `/ip4/127.0.0.1/tcp/26656`, `/ip4/127.0.0.1/tcp/26656/p2p/nope`, '/not/a/multiaddr',
    `${id}@[zz]:1`,
  ]
  for (const input of bad) {
    t.throws(() => parsePeerAddress(input), { message: /^(ERR_P2P_BAD_PEER_ADDRESS|ERR_P2P_BAD_PEER_ID):/ }, input)
  }
  t.equal(formatPeerAddress(id, '127.0.0.1', 26656), `${id}@127.0.0.1:26656`)
  t.equal(formatPeerAddress(id, '::1', 26656), `${id}@[::1]:26656`)
  t.equal(parsePeerAddress(formatPeerAddress(id, '::1', 26656)).multiaddr.toString(), `/ip6/::1/tcp/26656/p2p/${id}`)
})
