/**
 * NodeProbe: how the e2e harness reads a node's committed heights and hashes.
 *
 * - RpcProbe: CometBFT v0.38 JSON-RPC (DESIGN §9) — `/status` (sync_info), `/block`,
 *   `/block_results`. Knows everything, live.
 * - LogProbe: the node's JSON log (`committed block height=… hash=…` from consensus,
 *   `blocksync: applied block` at debug level, `consensus starting height=H` = H-1 is
 *   committed). Knows block hashes only, and only of heights the log names.
 * - StoreProbe: the node's block store and finalize-response store opened directly, after
 *   the process has stopped. Knows everything, offline.
 *
 * Hashes are upper-case hex everywhere (RPC's block hashes already are; RPC's
 * block_results app_hash is base64 and is converted).
 */
import { ClassicLevel } from 'classic-level'
import { join } from 'node:path'
import { toHex } from '../../src/bytes.ts'
import { sha256 } from '../../src/crypto/hash.ts'
import { openBlockStore, type BlockStore } from '../../src/store/index.ts'
import { createFinalizeResponseStore, type FinalizeResponseStore } from '../../consensus/block-exec.ts'
import { num, type LogReader } from './logs.ts'

export interface EvidenceInfo {
  /** Validator address, upper-case hex. */
  validator: string
  height: number
}

export interface BlockInfo {
  height: number
  /** Block id hash. */
  hash: string
  /** The header's app_hash (state after height-1). */
  headerAppHash?: string
  /** The node's own app hash after executing this block (block_results / finalize response). */
  appHash?: string
  /** SHA-256 of each tx. */
  txHashes?: string[]
  /** Result code of each tx. */
  txCodes?: number[]
  evidence?: EvidenceInfo[]
  /** Validators whose precommit for height-1 is in this block's last_commit. */
  lastCommitSigners?: string[]
}

export interface NodeProbe {
  readonly kind: 'rpc' | 'log' | 'store'
  /** Latest committed height (0 before the first block). Rejects when the node cannot be asked. */
  height: () => Promise<number>
  /** What the probe knows of block `h`; undefined when it does not know. */
  block: (h: number) => Promise<BlockInfo | undefined>
}

const upperHex = (b: Uint8Array): string => toHex(b).toUpperCase()

// ---------------------------------------------------------------------------------------
// RPC

export async function rpcGet (url: string, path: string, timeoutMs = 3000): Promise<unknown> {
  const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(timeoutMs) })
  const body = await res.json() as { result?: unknown, error?: { message?: string, data?: string } }
  if (body.error !== undefined) throw new Error(`${path}: ${body.error.message ?? ''} ${body.error.data ?? ''}`.trim())
  return body.result
}

/** True when `GET /status` answers with a height. */
export async function rpcAnswers (url: string): Promise<boolean> {
  try {
    const r = await rpcGet(url, '/status', 2000) as { sync_info?: { latest_block_height?: unknown } }
    return typeof r?.sync_info?.latest_block_height === 'string'
  } catch {
    return false
  }
}

type J = Record<string, unknown>
const obj = (v: unknown): J => (typeof v === 'object' && v !== null ? v as J : {})
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)

export class RpcProbe implements NodeProbe {
  readonly kind = 'rpc' as const
  constructor (readonly url: string) {}

  async height (): Promise<number> {
    const r = obj(await rpcGet(this.url, '/status'))
    const h = Number(str(obj(r.sync_info).latest_block_height))
    if (!Number.isSafeInteger(h)) throw new Error('status without latest_block_height')
    return h
  }

  async block (h: number): Promise<BlockInfo | undefined> {
    let b: J
    try {
      b = obj(await rpcGet(this.url, `/block?height=${h}`))
    } catch {
      return undefined
    }
    const hash = str(obj(b.block_id).hash)
    if (hash === undefined || hash === '') return undefined
    const block = obj(b.block)
    const header = obj(block.header)
    const txs = arr(obj(block.data).txs).map((t) => upperHex(sha256(Buffer.from(String(t), 'base64'))))
    const evidence = arr(obj(block.evidence).evidence).map((e) => {
      const va = obj(obj(obj(e).value).vote_a)
      return { validator: String(va.validator_address ?? ''), height: Number(va.height ?? 0) }
    })
    const signers = arr(obj(block.last_commit).signatures)
      .map(obj).filter((s) => s.block_id_flag === 2).map((s) => String(s.validator_address ?? ''))
    const info: BlockInfo = {
      height: h,
      hash: hash.toUpperCase(),
      txHashes: txs,
      evidence,
      lastCommitSigners: signers,
    }
    const ah = str(header.app_hash)
    if (ah !== undefined) info.headerAppHash = ah.toUpperCase()
    try {
      const r = obj(await rpcGet(this.url, `/block_results?height=${h}`))
      const app = str(r.app_hash)
      if (app !== undefined) info.appHash = upperHex(Buffer.from(app, 'base64'))
      info.txCodes = arr(r.txs_results).map((x) => Number(obj(x).code ?? 0))
    } catch {}
    return info
  }
}

// ---------------------------------------------------------------------------------------
// Logs

export class LogProbe implements NodeProbe {
  readonly kind = 'log' as const
  private scanned = 0
  private readonly hashes = new Map<number, string>()
  private top = 0

  constructor (readonly log: LogReader) {}

  private scan (): void {
    this.log.refresh()
    const es = this.log.entries
    for (; this.scanned < es.length; this.scanned++) {
      const e = es[this.scanned]
      if (e === undefined) continue
      const h = num(e.height)
      if (h === undefined) continue
      if (e.msg === 'committed block' || e.msg === 'blocksync: applied block') {
        if (typeof e.hash === 'string') this.hashes.set(h, e.hash.toUpperCase())
        this.top = Math.max(this.top, h)
      } else if (e.msg === 'consensus starting' || e.msg === 'node started') {
        this.top = Math.max(this.top, h - 1)
      } else if (e.msg === 'block sync caught up; switching to consensus') {
        this.top = Math.max(this.top, h)
      }
    }
  }

  async height (): Promise<number> {
    this.scan()
    return this.top
  }

  async block (h: number): Promise<BlockInfo | undefined> {
    this.scan()
    const hash = this.hashes.get(h)
    return hash === undefined ? undefined : { height: h, hash }
  }

  /** Heights this node committed through consensus (not block sync) in log entries from `from` on. */
  consensusCommits (from = 0): number[] {
    return this.log.find((e) => e.msg === 'committed block', from).map((e) => num(e.height) ?? 0)
  }
}

// ---------------------------------------------------------------------------------------
// Stores (offline)

export class StoreProbe implements NodeProbe {
  readonly kind = 'store' as const
  private constructor (
    private readonly blocks: BlockStore,
    private readonly responsesDb: ClassicLevel<Uint8Array, Uint8Array>,
    private readonly responses: FinalizeResponseStore,
  ) {}

  /** Opens a stopped node's stores (LevelDB's lock refuses while the node runs). */
  static async open (home: string): Promise<StoreProbe> {
    const data = join(home, 'data')
    const blocks = await openBlockStore({ path: join(data, 'blockstore.db'), sync: false })
    const db = new ClassicLevel<Uint8Array, Uint8Array>(join(data, 'abci_responses.db'), { keyEncoding: 'view', valueEncoding: 'view' })
    try {
      await db.open()
    } catch (err) {
      await blocks.close()
      throw err
    }
    return new StoreProbe(blocks, db, createFinalizeResponseStore(db))
  }

  async height (): Promise<number> { return this.blocks.height() }
  base (): number { return this.blocks.base() }

  async block (h: number): Promise<BlockInfo | undefined> {
    const meta = await this.blocks.loadBlockMeta(h)
    const block = await this.blocks.loadBlock(h)
    if (meta === undefined || block === undefined) return undefined
    const info: BlockInfo = {
      height: h,
      hash: upperHex(meta.blockId.hash),
      headerAppHash: upperHex(block.header.appHash),
      txHashes: block.txs.map((t) => upperHex(sha256(t))),
      evidence: block.evidence.map((e) => ({ validator: upperHex(e.voteA.validatorAddress), height: e.voteA.height })),
      lastCommitSigners: (block.lastCommit?.signatures ?? []).filter((s) => s.flag === 'commit').map((s) => upperHex(s.validatorAddress)),
    }
    const r = await this.responses.load(h)
    if (r !== undefined) {
      info.appHash = upperHex(r.appHash)
      info.txCodes = r.txResults.map((t) => t.code)
    }
    return info
  }

  async close (): Promise<void> {
    await this.blocks.close()
    await this.responsesDb.close()
  }
}
