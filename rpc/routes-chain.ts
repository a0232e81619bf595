/**
 * Info routes over the chain and the node, after CometBFT rpc/core/{health,status,net,
 * blocks,consensus}.go: health, status, net_info, blockchain, block, block_by_hash,
 * block_results, commit, header, header_by_hash, validators, genesis, genesis_chunked,
 * consensus_params, consensus_state, dump_consensus_state. Argument names, defaults,
 * limits and error texts are CometBFT's.
 */
import { toBase64 } from '../src/bytes.ts'
import { addressFromPubKey } from '../src/crypto/address.ts'
import { genesisToJson } from '../src/config/genesis.ts'
import type { JsonValue } from '../src/config/json.ts'
import type { Genesis } from '../src/config/genesis.ts'
import {
  blockIdJson, blockJson, blockMetaJson, blockResultsJson, commitJson, consensusParamsJson, emptyBlockIdJson, headerJson,
  hex, int64, nodeInfoJson, peerJson, pubKeyJson, roundStateJson, roundStateSimpleJson, time, validatorJson, type Json,
} from './encode.ts'
import {
  appVersion, getHeight, latestUncommittedHeight, pageSlice, validatePage, validatePerPage, type Route, type RouteEnv,
} from './env.ts'
import { routeError } from './jsonrpc.ts'

/** The genesis document as CometBFT's GenesisDoc JSON (full consensus params, version.app 0). */
export function genesisDocJson (g: Genesis): Record<string, JsonValue> {
  const doc = genesisToJson(g)
  doc.consensus_params = consensusParamsJson(g.consensusParams, 0)
  return doc
}

/** CometBFT's InitGenesisChunks: the genesis JSON in `size`-byte pieces, base64 each. */
export function genesisChunksOf (g: Genesis, size: number): string[] {
  const data = Buffer.from(JSON.stringify(genesisDocJson(g)), 'utf8')
  const chunks: string[] = []
  for (let i = 0; i < data.length; i += size) chunks.push(toBase64(data.subarray(i, i + size)))
  return chunks
}

const LIMIT_BLOCKCHAIN = 20

async function status (env: RouteEnv): Promise<Json> {
  const { backend } = env
  const blocks = backend.blocks
  let earliest = { height: '0', hash: '', appHash: '', time: time(0) }
  const base = blocks.base()
  if (base > 0) {
    const m = await blocks.loadBlockMeta(base)
    if (m !== undefined) earliest = { height: int64(m.header.height), hash: hex(m.blockId.hash), appHash: hex(m.header.appHash), time: time(m.header.time) }
  }
  let latest = { hash: '', appHash: '', time: time(0) }
  const latestHeight = blocks.height()
  if (latestHeight !== 0) {
    const m = await blocks.loadBlockMeta(latestHeight)
    if (m !== undefined) latest = { hash: hex(m.blockId.hash), appHash: hex(m.header.appHash), time: time(m.header.time) }
  }
  const pub = backend.validatorPubKey()
  let validatorInfo: Json = { address: '', pub_key: null, voting_power: '0' }
  if (pub !== null) {
    const set = await backend.state.loadValidators(latestUncommittedHeight(env))
    const v = set?.validators.find((x) => Buffer.compare(x.pubKey, pub) === 0)
    validatorInfo = {
      address: v !== undefined ? hex(v.address) : hex(addressFromPubKey(pub)),
      pub_key: pubKeyJson(pub),
      voting_power: int64(v?.votingPower ?? 0),
    }
  }
  return {
    node_info: nodeInfoJson(backend.nodeInfo(), { txIndex: env.indexer === undefined ? 'off' : 'on', rpcAddress: env.rpcAddress() }),
    sync_info: {
      latest_block_hash: latest.hash,
      latest_app_hash: latest.appHash,
      latest_block_height: int64(latestHeight),
      latest_block_time: latest.time,
      earliest_block_hash: earliest.hash,
      earliest_app_hash: earliest.appHash,
      earliest_block_height: earliest.height,
      earliest_block_time: earliest.time,
      catching_up: backend.catchingUp(),
    },
    validator_info: validatorInfo,
  }
}

async function netInfo (env: RouteEnv): Promise<Json> {
  const n = await env.backend.netInfo()
  const now = env.now()
  return {
    listening: n.listening,
    listeners: n.listeners,
    n_peers: int64(n.peers.length),
    peers: n.peers.map((p) => peerJson(p, now)),
  }
}

/** CometBFT's filterMinMax. */
function filterMinMax (base: number, height: number, min: number, max: number, limit: number): { min: number, max: number } {
  if (min < 0 || max < 0) throw routeError('heights must be non-negative')
  if (min === 0) min = 1
  if (max === 0) max = height
  max = Math.min(height, max)
  min = Math.max(base, min)
  min = Math.max(min, max - limit + 1)
  if (min > max) throw routeError(`min height ${min} can't be greater than max height ${max}`)
  return { min, max }
}

async function blockchain (env: RouteEnv, args: Record<string, unknown>): Promise<Json> {
  const blocks = env.backend.blocks
  const { min, max } = filterMinMax(blocks.base(), blocks.height(), (args.minHeight as number | undefined) ?? 0, (args.maxHeight as number | undefined) ?? 0, LIMIT_BLOCKCHAIN)
  const metas: Json[] = []
  const av = appVersion(env)
  for (let h = max; h >= min; h--) {
    const m = await blocks.loadBlockMeta(h)
    metas.push(m === undefined ? null : blockMetaJson(m, av))
  }
  return { last_height: int64(blocks.height()), block_metas: metas }
}

async function block (env: RouteEnv, args: Record<string, unknown>): Promise<Json> {
  const blocks = env.backend.blocks
  const h = getHeight(env, blocks.height(), args.height)
  const [b, m] = await Promise.all([blocks.loadBlock(h), blocks.loadBlockMeta(h)])
  const av = appVersion(env)
  return { block_id: m === undefined ? emptyBlockIdJson() : blockIdJson(m.blockId), block: b === undefined ? null : blockJson(b, av) }
}

async function blockByHash (env: RouteEnv, args: Record<string, unknown>): Promise<Json> {
  const hash = (args.hash as Uint8Array | undefined) ?? new Uint8Array(0)
  const blocks = env.backend.blocks
  const b = hash.length === 0 ? undefined : await blocks.loadBlockByHash(hash)
  if (b === undefined) return { block_id: emptyBlockIdJson(), block: null }
  const m = await blocks.loadBlockMeta(b.header.height)
  return { block_id: m === undefined ? emptyBlockIdJson() : blockIdJson(m.blockId), block: blockJson(b, appVersion(env)) }
}

async function blockResults (env: RouteEnv, args: Record<string, unknown>): Promise<Json> {
  const h = getHeight(env, env.backend.blocks.height(), args.height)
  const r = env.backend.loadBlockResults !== undefined
    ? await env.backend.loadBlockResults(h)
    : await env.indexer?.blockResults(h)
  if (r === undefined) throw routeError(`could not find results for height #${h}`)
  return blockResultsJson(r)
}

async function commit (env: RouteEnv, args: Record<string, unknown>): Promise<Json> {
  const blocks = env.backend.blocks
  const top = blocks.height()
  const h = getHeight(env, top, args.height)
  const m = await blocks.loadBlockMeta(h)
  if (m === undefined) return null
  // The top block's commit is only the one this node saw; below it, the canonical one from block h+1.
  const canonical = h !== top
  const c = canonical ? await blocks.loadCommit(h) : await blocks.loadSeenCommit(h)
  return { signed_header: { header: headerJson(m.header, appVersion(env)), commit: c === undefined ? null : commitJson(c) }, canonical }
}

async function header (env: RouteEnv, args: Record<string, unknown>): Promise<Json> {
  const blocks = env.backend.blocks
  const h = getHeight(env, blocks.height(), args.height)
  const m = await blocks.loadBlockMeta(h)
  return { header: m === undefined ? null : headerJson(m.header, appVersion(env)) }
}

async function headerByHash (env: RouteEnv, args: Record<string, unknown>): Promise<Json> {
  const hash = (args.hash as Uint8Array | undefined) ?? new Uint8Array(0)
  const m = hash.length === 0 ? undefined : await env.backend.blocks.loadBlockMetaByHash(hash)
  return { header: m === undefined ? null : headerJson(m.header, appVersion(env)) }
}

async function validators (env: RouteEnv, args: Record<string, unknown>): Promise<Json> {
  const h = getHeight(env, latestUncommittedHeight(env), args.height)
  const set = await env.backend.state.loadValidators(h)
  if (set === undefined) throw routeError(`could not find validator set for height #${h}`)
  const total = set.validators.length
  const perPage = validatePerPage(args.per_page)
  const page = validatePage(args.page, perPage, total)
  const { start, end } = pageSlice(page, perPage, total)
  const v = set.validators.slice(start, end)
  return { block_height: int64(h), validators: v.map(validatorJson), count: int64(v.length), total: int64(total) }
}

async function genesis (env: RouteEnv): Promise<Json> {
  if (env.genesisChunks().length > 1) throw routeError('genesis response is large, please use the genesis_chunked API instead')
  return { genesis: genesisDocJson(env.backend.genesis()) }
}

async function genesisChunked (env: RouteEnv, args: Record<string, unknown>): Promise<Json> {
  const chunks = env.genesisChunks()
  if (chunks.length === 0) throw routeError('service configuration error, there are no chunks')
  const id = (args.chunk as number | undefined) ?? 0
  if (id > chunks.length - 1) throw routeError(`there are ${chunks.length - 1} chunks, ${id} is invalid`)
  return { chunk: int64(id), total: int64(chunks.length), data: chunks[id] ?? '' }
}

async function consensusParams (env: RouteEnv, args: Record<string, unknown>): Promise<Json> {
  const h = getHeight(env, latestUncommittedHeight(env), args.height)
  const p = await env.backend.state.loadConsensusParams(h)
  if (p === undefined) throw routeError(`could not find consensus params for height #${h}`)
  return { block_height: int64(h), consensus_params: consensusParamsJson(p, appVersion(env)) }
}

async function consensusState (env: RouteEnv): Promise<Json> {
  const rs = env.backend.roundState()
  if (rs === undefined) throw routeError('consensus is not running')
  return { round_state: roundStateSimpleJson(rs) }
}

async function dumpConsensusState (env: RouteEnv): Promise<Json> {
  const rs = env.backend.roundState()
  if (rs === undefined) throw routeError('consensus is not running')
  return { round_state: roundStateJson(rs), peers: [] }
}

export const chainRoutes: Record<string, Route> = {
  health: { args: [], handler: async () => ({}) },
  status: { args: [], handler: status },
  net_info: { args: [], handler: netInfo },
  blockchain: { args: [{ name: 'minHeight', type: 'int64' }, { name: 'maxHeight', type: 'int64' }], handler: blockchain },
  genesis: { args: [], handler: genesis },
  genesis_chunked: { args: [{ name: 'chunk', type: 'uint' }], handler: genesisChunked },
  block: { args: [{ name: 'height', type: 'int64' }], handler: block },
  block_by_hash: { args: [{ name: 'hash', type: 'bytes' }], handler: blockByHash },
  block_results: { args: [{ name: 'height', type: 'int64' }], handler: blockResults },
  commit: { args: [{ name: 'height', type: 'int64' }], handler: commit },
  header: { args: [{ name: 'height', type: 'int64' }], handler: header },
  header_by_hash: { args: [{ name: 'hash', type: 'hexbytes' }], handler: headerByHash },
  validators: {
    args: [{ name: 'height', type: 'int64' }, { name: 'page', type: 'int' }, { name: 'per_page', type: 'int' }],
    handler: validators,
  },
  dump_consensus_state: { args: [], handler: dumpConsensusState },
  consensus_state: { args: [], handler: consensusState },
  consensus_params: { args: [{ name: 'height', type: 'int64' }], handler: consensusParams },
}
