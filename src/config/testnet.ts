/**
 * N validator homes on one machine sharing one genesis (CometBFT
 * cmd/cometbft/commands/testnet.go), for `aidledger testnet` and the devnet.
 *
 * Ports (DESIGN §9): node i uses P2P base+100·i, RPC base+1+100·i and metrics
 * base+4+100·i, with base 26656 by default (so 26656, 26657, 26660 for node 0). Each node
 * lists every other node as a persistent peer "id@host:port" and allows exactly those ids.
 */
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { toHex } from '../bytes.ts'
import { AidError } from '../errors.ts'
import { DEFAULT_P2P_PORT, defaultConfig, type Config } from './config.ts'
import { parseHostPort } from './fields.ts'
import { type DefaultAppState, type Genesis, genesisHash, newGenesis, type ValidateAppState } from './genesis.ts'
import { DEFAULT_VALIDATOR_POWER, existingHomeFiles, homePaths, type HomePaths, writeHome } from './home.ts'
import { generateNodeKey, generatePrivValidatorKey, type NodeKey, type PrivValidatorKey } from './keys.ts'

export const DEFAULT_TESTNET_CHAIN_ID = 'aidledger-testnet'
export const MAX_TESTNET_VALIDATORS = 100
/** Port stride between consecutive nodes. */
export const PORT_STRIDE = 100

export interface NodePorts { p2p: number, rpc: number, metrics: number }

export function testnetPorts (basePort: number, index: number): NodePorts {
  const p2p = basePort + PORT_STRIDE * index
  return { p2p, rpc: p2p + 1, metrics: p2p + 4 }
}

export interface TestnetOptions {
  output: string
  validators: number
  chainId?: string
  basePort?: number
  /** Host the nodes dial each other on; default 127.0.0.1. */
  hostname?: string
  /** Default: now. */
  genesisTimeMs?: number
  power?: number
  /** Adjust each node's config after the testnet defaults are applied (the devnet shortens timeouts). */
  configure?: (cfg: Config, index: number) => void
  appState?: DefaultAppState
  validateAppState?: ValidateAppState
  /** Node directory name; default `node${i}`. */
  nodeDirName?: (index: number) => string
}

export interface TestnetNode {
  index: number
  moniker: string
  paths: HomePaths
  nodeId: string
  /** Validator address, upper-case hex. */
  validatorAddress: string
  ports: NodePorts
  /** This node's "id@host:port" as the others list it. */
  peerAddress: string
}

export interface TestnetResult {
  output: string
  chainId: string
  genesis: Genesis
  /** Upper-case hex. */
  genesisHash: string
  nodes: TestnetNode[]
}

function usage (detail: string, at: string): AidError {
  return new AidError('ERR_CLI_USAGE', detail, at)
}

/** Check options before anything is written; throws ERR_CLI_USAGE naming the option. */
export function checkTestnetOptions (o: TestnetOptions): Required<Pick<TestnetOptions, 'basePort' | 'hostname' | 'chainId'>> {
  if (!Number.isSafeInteger(o.validators) || o.validators < 1 || o.validators > MAX_TESTNET_VALIDATORS) {
    throw usage(`expected an integer in [1, ${MAX_TESTNET_VALIDATORS}], got ${o.validators}`, '--validators')
  }
  const basePort = o.basePort ?? DEFAULT_P2P_PORT
  const last = testnetPorts(basePort, o.validators - 1)
  if (!Number.isSafeInteger(basePort) || basePort < 1 || last.metrics > 65535) {
    throw usage(`ports ${basePort}..${last.metrics} do not fit in 1..65535 for ${o.validators} nodes`, '--base-port')
  }
  const hostname = o.hostname ?? '127.0.0.1'
  if (typeof parseHostPort(`${hostname}:1`) === 'string') throw usage(`${JSON.stringify(hostname)} is not a host name or IP address`, '--hostname')
  return { basePort, hostname, chainId: o.chainId ?? DEFAULT_TESTNET_CHAIN_ID }
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]'])

/**
 * Generate the homes. Refuses (ERR_HOME_EXISTS) if any node directory already holds a
 * home, before writing anything.
 */
export async function generateTestnet (o: TestnetOptions): Promise<TestnetResult> {
  const { basePort, hostname, chainId } = checkTestnetOptions(o)
  const output = resolve(o.output)
  const dirName = o.nodeDirName ?? ((i: number) => `node${i}`)
  const n = o.validators
  const homes = Array.from({ length: n }, (_, i) => homePaths(join(output, dirName(i))))
  for (const p of homes) {
    const found = await existingHomeFiles(p)
    if (found.length > 0) throw new AidError('ERR_HOME_EXISTS', 'already holds a node home; remove it or choose another --output', p.home)
  }
  const nodeKeys: NodeKey[] = homes.map(() => generateNodeKey())
  const valKeys: PrivValidatorKey[] = homes.map(() => generatePrivValidatorKey())
  const monikers = homes.map((_, i) => dirName(i))
  const genesis = await newGenesis({
    chainId,
    genesisTimeMs: o.genesisTimeMs ?? Date.now(),
    validators: valKeys.map((k, i) => ({ pubKey: k.publicKey, power: o.power ?? DEFAULT_VALIDATOR_POWER, name: monikers[i] })),
    appState: o.appState,
    validateAppState: o.validateAppState,
  })
  const ports = homes.map((_, i) => testnetPorts(basePort, i))
  const peerAddrs = nodeKeys.map((k, i) => `${k.id}@${hostname}:${ports[i]?.p2p ?? 0}`)
  const bindHost = LOOPBACK.has(hostname) ? '127.0.0.1' : '0.0.0.0'
  const nodes: TestnetNode[] = []
  for (const [i, paths] of homes.entries()) {
    const nodeKey = nodeKeys[i] as NodeKey
    const valKey = valKeys[i] as PrivValidatorKey
    const port = ports[i] as NodePorts
    const cfg = defaultConfig('local')
    cfg.moniker = monikers[i] ?? `node${i}`
    cfg.p2p.laddr = `tcp://${bindHost}:${port.p2p}`
    cfg.rpc.laddr = `tcp://127.0.0.1:${port.rpc}`
    cfg.instrumentation.prometheus_listen_addr = `127.0.0.1:${port.metrics}`
    cfg.p2p.persistent_peers = peerAddrs.filter((_, j) => j !== i)
    cfg.p2p.allowed_peer_ids = nodeKeys.filter((_, j) => j !== i).map((k) => k.id)
    o.configure?.(cfg, i)
    await writeHome(paths, { config: cfg, genesis, nodeKey, privValidatorKey: valKey })
    nodes.push({
      index: i,
      moniker: cfg.moniker,
      paths,
      nodeId: nodeKey.id,
      validatorAddress: toHex(valKey.address).toUpperCase(),
      ports: port,
      peerAddress: peerAddrs[i] ?? '',
    })
  }
  return { output, chainId, genesis, genesisHash: toHex(genesisHash(genesis)).toUpperCase(), nodes }
}

/** Short timeouts so a 4-node loopback testnet commits every ~0.5–1 s (the demo's devnet, the e2e tests). */
export function fastConsensus (cfg: Config): void {
  cfg.consensus.timeout_propose = 1000
  cfg.consensus.timeout_propose_delta = 500
  cfg.consensus.timeout_prevote = 500
  cfg.consensus.timeout_prevote_delta = 500
  cfg.consensus.timeout_precommit = 500
  cfg.consensus.timeout_precommit_delta = 500
  cfg.consensus.timeout_commit = 500
}

async function portFree (port: number): Promise<boolean> {
  return await new Promise((resolvePromise) => {
    const s = createServer()
    s.once('error', () => { resolvePromise(false) })
    s.listen({ port, host: '127.0.0.1', exclusive: true }, () => { s.close(() => { resolvePromise(true) }) })
  })
}

/**
 * A base port such that node i's P2P, RPC and metrics ports (testnetPorts) are all free
 * right now, for `count` nodes. Random, so parallel runs rarely meet; probed, so a taken
 * port is skipped; below Linux's ephemeral range (32768-60999), so an outgoing connection
 * cannot take a killed node's port before it restarts. (A port can still be taken between
 * the probe and the bind: the node then exits with EADDRINUSE in its log.)
 */
export async function findFreeBasePort (count: number): Promise<number> {
  const top = 32_000 - PORT_STRIDE * count
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 12_000 + 10 * Math.floor(Math.random() * ((top - 12_000) / 10))
    let ok = true
    for (let i = 0; i < count && ok; i++) {
      const p = testnetPorts(base, i)
      ok = (await portFree(p.p2p)) && (await portFree(p.rpc)) && (await portFree(p.metrics))
    }
    if (ok) return base
  }
  throw new Error(`no free port range for ${count} nodes after 200 tries`)
}
