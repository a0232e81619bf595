/**
 * A minimal deterministic Application (src/abci.ts, DESIGN §5) for the simulator: a
 * key-value store over signed tx envelopes whose body is `key=value`. The real
 * social-assistance app (state/) is far too heavy for thousands of seeds; this one keeps
 * the contract that matters to consensus: same blocks → same results and app hash, on
 * every node, on every run, after any restart.
 *
 *   app_hash(h) = SHA-256("aidledger-sim/app/v1" || app_hash(h−1) || u64be(h) || SHA-256(tx)…)
 *   app_hash(0) = SHA-256("aidledger-sim/genesis/v1" || chain id)          (initChain)
 *
 * Persistence: the committed state lives in a `SimAppDisk` that outlives the app object,
 * as an app's database outlives its process. finalizeBlock works on a copy; commit()
 * makes it the disk state. A crash between the two loses the copy, and the engine's
 * handshake replays the block (CometBFT's Handshaker does the same).
 *
 * Validity: a tx is valid when its envelope decodes strictly, names this chain, its
 * signature verifies under the consensus rule, and its body matches KEY=VALUE. A proposal
 * with an invalid or repeated tx is rejected (processProposal), so a committed block with
 * one is a validity violation the checks report.
 */
import type {
  AppInfo, Application, CheckTxResult, FinalizeBlockRequest, FinalizeBlockResponse, InitChainRequest,
  InitChainResponse, ProcessProposalRequest, QueryRequest, QueryResponse, PrepareProposalRequest, TxResult,
} from '../../src/abci.ts'
import { toHex, utf8 } from '../../src/bytes.ts'
import { encode, tryDecode } from '../../src/codec/index.ts'
import { sha256, sha256Concat } from '../../src/crypto/hash.ts'
import { sign, verify, type Ed25519KeyPair } from '../../src/crypto/ed25519.ts'
import { TxEnvelopeSchema, txSignBytes } from '../../src/types/index.ts'

const BODY_RE = /^[a-z0-9]{1,16}=[a-z0-9]{0,32}$/
const APP_TAG = utf8('aidledger-sim/app/v1')
const GENESIS_TAG = utf8('aidledger-sim/genesis/v1')

/** The app's durable state: survives crash-restart of the node. */
export interface SimAppDisk {
  height: number
  appHash: Uint8Array
  kv: Map<string, string>
  /** Hash of the block at `height`, as finalizeBlock saw it. */
  blockHash: Uint8Array
}

export function newAppDisk (): SimAppDisk {
  return { height: 0, appHash: new Uint8Array(0), kv: new Map(), blockHash: new Uint8Array(0) }
}

export interface AppObservation {
  node: string
  height: number
  blockHash: Uint8Array
  appHash: Uint8Array
  txs: number
  time: number
  /** True when finalizeBlock re-executed a height this app's disk had already passed. */
  replay: boolean
}

export interface SimAppObserver {
  onFinalize?: (o: AppObservation) => void
  onCommit?: (o: { node: string, height: number, appHash: Uint8Array }) => void
  /** A proposal this app rejected, with the reason (for verbose traces). */
  onReject?: (o: { node: string, height: number, reason: string }) => void
}

export interface SimAppOptions {
  node: string
  chainId: string
  disk: SimAppDisk
  observer?: SimAppObserver
}

export function genesisAppHash (chainId: string): Uint8Array {
  return sha256Concat(GENESIS_TAG, utf8(chainId))
}

function u64 (n: number): Uint8Array {
  const b = new Uint8Array(8)
  new DataView(b.buffer).setBigUint64(0, BigInt(n))
  return b
}

/** Why `tx` is invalid for `chainId`, or null when it is valid. */
export function txProblem (tx: Uint8Array, chainId: string): string | null {
  const r = tryDecode(TxEnvelopeSchema, tx)
  if (!r.ok) return `undecodable envelope: ${r.error.message}`
  const env = r.value
  if (env.chainId !== chainId) return 'wrong chain'
  const body = Buffer.from(env.body).toString('latin1')
  if (!BODY_RE.test(body)) return 'body is not KEY=VALUE'
  if (!verify(env.signer, txSignBytes(env), env.signature)) return 'bad signature'
  return null
}

/** Builds a valid sim tx `key=value` signed by `client`. */
export function makeTx (chainId: string, client: Ed25519KeyPair, key: string, value: string, nonce: number): Uint8Array {
  const body = utf8(`${key}=${value}`)
  const unsigned = { chainId, signer: client.publicKey, expiresAtHeight: 1_000_000, nonce, body }
  return encode(TxEnvelopeSchema, { ...unsigned, signature: sign(client, txSignBytes(unsigned)) })
}

function parseBody (tx: Uint8Array): [string, string] {
  const r = tryDecode(TxEnvelopeSchema, tx)
  if (!r.ok) return ['', '']
  const body = Buffer.from(r.value.body).toString('latin1')
  const eq = body.indexOf('=')
  return [body.slice(0, eq), body.slice(eq + 1)]
}

/** Checks a whole block's txs: each valid, none repeated. */
export function blockTxsProblem (txs: readonly Uint8Array[], chainId: string): string | null {
  const seen = new Set<string>()
  for (const [i, tx] of txs.entries()) {
    const p = txProblem(tx, chainId)
    if (p !== null) return `tx ${i}: ${p}`
    const h = toHex(sha256(tx))
    if (seen.has(h)) return `tx ${i}: repeated`
    seen.add(h)
  }
  return null
}

export function createSimApp (opts: SimAppOptions): Application {
  const { node, chainId, disk, observer } = opts
  let working: SimAppDisk | null = null

  const ok = (): TxResult => ({ code: 0, codespace: '', log: '', data: new Uint8Array(0), events: [] })

  return {
    info: async (): Promise<AppInfo> => ({
      version: 'sim-1', appVersion: 1, lastBlockHeight: disk.height, lastBlockAppHash: disk.appHash,
    }),

    initChain: async (req: InitChainRequest): Promise<InitChainResponse> => {
      const appHash = genesisAppHash(req.chainId)
      // The genesis state is what the first block executes on; it becomes durable with
      // the first commit (as an ABCI app that persists at Commit).
      working = { height: 0, appHash, kv: new Map(), blockHash: new Uint8Array(0) }
      if (disk.height === 0) disk.appHash = appHash
      return { validators: null, consensusParams: null, appHash }
    },

    checkTx: async (tx): Promise<CheckTxResult> => {
      const p = txProblem(tx, chainId)
      const r = tryDecode(TxEnvelopeSchema, tx)
      return { code: p === null ? 0 : 1, codespace: p === null ? '' : 'sim', log: p ?? '', sender: r.ok ? toHex(r.value.signer) : '' }
    },

    prepareProposal: async (req: PrepareProposalRequest): Promise<Uint8Array[]> => {
      const out: Uint8Array[] = []
      const seen = new Set<string>()
      let bytes = 0
      for (const tx of req.txs) {
        if (txProblem(tx, chainId) !== null) continue
        const h = toHex(sha256(tx))
        if (seen.has(h)) continue
        if (req.maxTxBytes >= 0 && bytes + tx.length > req.maxTxBytes) break
        seen.add(h)
        bytes += tx.length
        out.push(tx)
      }
      return out
    },

    processProposal: async (req: ProcessProposalRequest): Promise<'accept' | 'reject'> => {
      const p = blockTxsProblem(req.txs, chainId)
      if (p !== null) observer?.onReject?.({ node, height: req.height, reason: p })
      return p === null ? 'accept' : 'reject'
    },

    finalizeBlock: async (req: FinalizeBlockRequest): Promise<FinalizeBlockResponse> => {
      const base = disk
      const replay = req.height <= base.height
      const kv = new Map(base.kv)
      const txResults: TxResult[] = []
      const parts: Uint8Array[] = [APP_TAG, base.appHash, u64(req.height)]
      for (const tx of req.txs) {
        const [k, v] = parseBody(tx)
        kv.set(k, v)
        parts.push(sha256(tx))
        txResults.push(ok())
      }
      const appHash = sha256Concat(...parts)
      working = { height: req.height, appHash, kv, blockHash: req.hash }
      observer?.onFinalize?.({ node, height: req.height, blockHash: req.hash, appHash, txs: req.txs.length, time: req.time, replay })
      return { txResults, events: [], validatorUpdates: [], consensusParamUpdates: null, appHash }
    },

    commit: async () => {
      if (working !== null && working.height > disk.height) {
        disk.height = working.height
        disk.appHash = working.appHash
        disk.kv = working.kv
        disk.blockHash = working.blockHash
        observer?.onCommit?.({ node, height: disk.height, appHash: disk.appHash })
      }
      working = null
      return { retainHeight: 0 }
    },

    query: async (req: QueryRequest): Promise<QueryResponse> => {
      const key = Buffer.from(req.data).toString('latin1')
      const v = disk.kv.get(key)
      return {
        code: v === undefined ? 1 : 0, codespace: v === undefined ? 'sim' : '', log: '', key: req.data,
        value: v === undefined ? new Uint8Array(0) : utf8(v), proofOps: [], height: disk.height,
      }
    },
  }
}
