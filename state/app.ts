/**
 * The social-assistance Application (DESIGN §5, src/abci.ts). State lives only in the
 * authenticated store; this object holds caches that are rebuilt from it, so a restart
 * over the same store answers exactly as before.
 *
 *   initChain        applies genesis app_state (state/genesis.ts), commits, returns its root
 *   checkTx          runs the tx against the check-state: an overlay over the committed
 *                    state that accumulates accepted txs and is dropped after every commit
 *                    (so recheck starts from the new state at no cost)
 *   prepareProposal  keeps mempool txs, in order, that succeed against a scratch overlay
 *                    and fit maxTxBytes
 *   processProposal  rejects a block holding a tx that fails the envelope checks
 *                    (malformed, wrong chain, expired, ttl too long, replayed, bad signature)
 *   finalizeBlock    boundary rules, then every tx in order against a block overlay; then the
 *                    meta record, a sorted flush and a store prepare: the prepared root is
 *                    app_hash. Nothing is written yet. Reads of the committed state go
 *                    through a per-block ReadCache filled ahead by state/prefetch.ts
 *                    (block-scoped: the store only changes at the flush), as do the
 *                    proposal checks'.
 *   commit           writes the prepared store version (one LevelDB batch), then moves the
 *                    app's meta to the block, resets the check-state and reports the retain
 *                    height.
 *   info             the last WRITTEN height and its root
 *   query            state/query.ts, over committed versions only
 *
 * Why the store is written in commit, not in finalizeBlock: the engine saves the block's
 * finalize response and its chain state between the two (consensus/block-exec.ts). Were
 * the store written first, a kill -9 before those saves would leave an app one block ahead
 * of everything the engine kept, which it cannot recover from. Written last, a crash
 * anywhere leaves the app at H−1 with the chain state at H−1 (the block is applied again)
 * or at H (the handshake replays block H into the app and checks its app hash).
 * finalizeBlock may run again for a height that was finalized and not committed: it
 * drops the prepared version and executes the block again over the committed state, as a
 * restart would. initChain commits directly: the engine saves nothing before it.
 *
 * Determinism: header time is the only clock; integers only; overlays flush in key order;
 * the tx hash set and every index are keyed, never iterated out of a Map or Set.
 */
import type {
  AppInfo, Application, CheckTxMode, CheckTxResult, FinalizeBlockRequest, FinalizeBlockResponse, InitChainRequest,
  InitChainResponse, PrepareProposalRequest, ProcessProposalRequest, QueryRequest, QueryResponse, TxSignatureVerifier,
} from '../src/abci.ts'
import { AidError } from '../src/errors.ts'
import { CODESPACE, reject, ResultCodes } from './codes.ts'
import { beginBlock, DEFAULT_PARAMS, loadParams } from './block.ts'
import { hex, type BlockCtx } from './context.ts'
import { ENVELOPE_CODES, checkEnvelope, execTx, prepareTxs, recordReplay } from './execute.ts'
import { applyGenesis, parseAppStateBytes } from './genesis.ts'
import { getRec, Overlay, putRec, ReadCache, storeReader } from './kv.ts'
import { K } from './keys.ts'
import { MetaSchema, type Meta } from './records.ts'
import { prefetchBlock } from './prefetch.ts'
import { runQuery } from './query.ts'
import { collectEntries, type AppStore } from './store-api.ts'
import { resultName } from './codes.ts'

export const APP_VERSION = 1
export const SOFTWARE_VERSION = '0.1.0'

export interface SocialAppOptions {
  store: AppStore
  /** Signature checks (the node passes the worker pool + verified-tx cache). */
  verifier: TxSignatureVerifier
  /** When set, initChain refuses a genesis for another chain id. */
  chainId?: string
  /** Default for params.maxTxTtl when genesis app_state does not set it. */
  maxTxTtl?: number
  /** Blocks to keep below the latest (commit's retainHeight); 0 keeps everything. */
  retainBlocks?: number
  /**
   * Read the keys a block's txs will need ahead of running them, concurrently
   * (state/prefetch.ts); default true. Results are the same either way; off only saves
   * the planning work where reads cost nothing (an in-memory store).
   */
  readAhead?: boolean
}

export interface SocialApp extends Application {
  /** The committed meta record (null before initChain); a finalized block counts from its commit(). */
  meta: () => Meta | null
}

export function createSocialApp (opts: SocialAppOptions): SocialApp {
  const { store, verifier } = opts
  const readAhead = opts.readAhead ?? true
  const reader = storeReader(store)
  /** The meta record of the last written store version. */
  let meta: Meta | null = null
  let metaLoaded = false
  /** The meta of the block finalizeBlock prepared and commit() has not written yet. */
  let finalized: Meta | null = null
  let check = new Overlay(reader)

  const loadMeta = async (): Promise<Meta | null> => {
    if (!metaLoaded) {
      meta = await getRec(reader, MetaSchema, K.meta())
      metaLoaded = true
    }
    return meta
  }

  const requireMeta = async (): Promise<Meta> => {
    const m = await loadMeta()
    if (m === null) throw new AidError('ERR_GENESIS_INVALID', 'app has no genesis state: initChain first')
    return m
  }

  const newBlock = async (m: Meta, height: number, time: number): Promise<BlockCtx> => ({
    chainId: m.chainId, height, time, params: await loadParams(reader), events: [], validatorUpdates: [],
  })

  return {
    meta: () => meta,

    async info (): Promise<AppInfo> {
      const m = await loadMeta()
      return {
        version: SOFTWARE_VERSION,
        appVersion: APP_VERSION,
        lastBlockHeight: m === null ? 0 : m.lastHeight,
        lastBlockAppHash: m === null ? new Uint8Array(0) : await store.rootHash(),
      }
    },

    async initChain (req: InitChainRequest): Promise<InitChainResponse> {
      if (opts.chainId !== undefined && opts.chainId !== req.chainId) {
        throw new AidError('ERR_GENESIS_INVALID', `genesis chain id ${req.chainId} differs from configured ${opts.chainId}`, 'chain_id')
      }
      const existing = await loadMeta()
      if (existing !== null) {
        if (existing.chainId !== req.chainId) throw new AidError('ERR_GENESIS_INVALID', `store holds chain ${existing.chainId}`, 'chain_id')
        return { validators: null, consensusParams: null, appHash: await store.rootHash() }
      }
      const state = parseAppStateBytes(req.appStateBytes, opts.maxTxTtl === undefined ? {} : { maxTxTtl: opts.maxTxTtl })
      const kv = new Overlay(reader)
      const block: BlockCtx = { chainId: req.chainId, height: req.initialHeight - 1, time: req.time, params: state.params, events: [], validatorUpdates: [] }
      await applyGenesis(kv, state, block, req.validators)
      const m: Meta = { chainId: req.chainId, initialHeight: req.initialHeight, lastHeight: req.initialHeight - 1, lastTime: req.time }
      putRec(kv, MetaSchema, K.meta(), m)
      await kv.flushTo(store)
      const { rootHash } = await store.commit()
      meta = m
      metaLoaded = true
      check = new Overlay(reader)
      return { validators: null, consensusParams: null, appHash: rootHash }
    },

    async checkTx (tx: Uint8Array, _mode: CheckTxMode): Promise<CheckTxResult> {
      // Store reads see a finalized block's prepared writes, so its meta goes with them.
      const m = finalized ?? await requireMeta()
      const [p] = await prepareTxs([tx], verifier)
      const prepared = p as NonNullable<typeof p>
      const block: BlockCtx = { ...(await newBlock(m, m.lastHeight + 1, m.lastTime)), params: await loadParams(check) }
      const r = await execTx(check, block, prepared, 'check')
      return { code: r.code, codespace: r.codespace, log: r.log, sender: prepared.env === null ? '' : hex(prepared.env.signer) }
    },

    async prepareProposal (req: PrepareProposalRequest): Promise<Uint8Array[]> {
      const m = await requireMeta()
      const block = await newBlock(m, req.height, req.time)
      const reads = new ReadCache(reader)
      const scratch = new Overlay(reads)
      await beginBlock(store, scratch, block)
      const prepared = await prepareTxs(req.txs, verifier)
      if (readAhead) await prefetchBlock(reads, prepared)
      const out: Uint8Array[] = []
      let size = 0
      for (const p of prepared) {
        if (size + p.raw.length > req.maxTxBytes) continue
        const r = await execTx(scratch, block, p, 'check')
        if (r.code !== 0) continue
        out.push(p.raw)
        size += p.raw.length
      }
      return out
    },

    async processProposal (req: ProcessProposalRequest): Promise<'accept' | 'reject'> {
      const m = await requireMeta()
      const block = await newBlock(m, req.height, req.time)
      const reads = new ReadCache(reader)
      const scratch = new Overlay(reads)
      await beginBlock(store, scratch, block)
      const prepared = await prepareTxs(req.txs, verifier)
      if (readAhead) await reads.prefetch(prepared.flatMap((p) => (p.opId === null ? [] : [K.replay(p.opId)])))
      for (const p of prepared) {
        const r = await checkEnvelope(scratch, block, p)
        if (r !== null) {
          const name = resultName(r.code)
          if (name !== undefined && ENVELOPE_CODES.has(name)) return 'reject'
        }
        if (p.opId !== null) recordReplay(scratch, p)
      }
      return 'accept'
    },

    async finalizeBlock (req: FinalizeBlockRequest): Promise<FinalizeBlockResponse> {
      const m = await requireMeta()
      if (req.height !== m.lastHeight + 1) {
        throw new AidError('ERR_STORE_CORRUPT', `finalizeBlock at height ${req.height}, app is at ${m.lastHeight}`)
      }
      // Execute over the committed state only: a block finalized and never committed (run
      // again here) or writes left by a finalizeBlock that failed half way are dropped.
      await store.discard()
      finalized = null
      const block = await newBlock(m, req.height, req.time)
      // Block-scoped read cache + read-ahead: see state/kv.ts ReadCache and state/prefetch.ts.
      const reads = new ReadCache(reader)
      const kv = new Overlay(reads)
      await beginBlock(store, kv, block)
      const prepared = await prepareTxs(req.txs, verifier)
      if (readAhead) await prefetchBlock(reads, prepared)
      const txResults = []
      for (const p of prepared) txResults.push(await execTx(kv, block, p, 'deliver'))
      const next: Meta = { ...m, lastHeight: req.height, lastTime: req.time }
      putRec(kv, MetaSchema, K.meta(), next)
      await kv.flushTo(store)
      const { rootHash } = await store.prepare()
      finalized = next
      return { txResults, events: block.events, validatorUpdates: block.validatorUpdates, consensusParamUpdates: null, appHash: rootHash }
    },

    async commit (): Promise<{ retainHeight: number }> {
      if (finalized !== null) {
        const next = finalized
        finalized = null
        try {
          await store.commit()
        } catch (err) {
          // Nothing was written; leave no writes behind for the next block to inherit.
          await store.discard()
          throw err
        }
        // The version is durable: only now does the app's meta move to the block.
        meta = next
      }
      check = new Overlay(reader)
      const m = await loadMeta()
      const keep = opts.retainBlocks ?? 0
      return { retainHeight: m === null || keep === 0 ? 0 : Math.max(0, m.lastHeight - keep) }
    },

    async query (req: QueryRequest): Promise<QueryResponse> {
      const m = await loadMeta()
      const version = await store.version()
      return await runQuery(req, {
        resolveHeight: async (h) => {
          if (m === null) return reject('QUERY_HEIGHT_UNAVAILABLE', 'no state yet')
          const height = h === 0 ? m.lastHeight : h
          const v = version - (m.lastHeight - height)
          if (height > m.lastHeight || height < m.initialHeight - 1 || v < 1) return reject('QUERY_HEIGHT_UNAVAILABLE', `height ${h}`)
          try {
            await store.rootHash(v)
          } catch {
            return reject('QUERY_HEIGHT_UNAVAILABLE', `height ${height} is pruned`)
          }
          return { height, version: v, latest: height === m.lastHeight }
        },
        // The committed state only: a finalized block's prepared writes are not at `height` yet.
        scan: async (prefix, limit) => (await collectEntries(await store.iterate(prefix, { limit, pending: false }))).map((e) => e.key),
        getAt: async (key, v) => (await store.getAt(key, v)) ?? null,
        prove: async (key, v) => await store.prove(key, v),
      })
    },
  }
}

export { CODESPACE, ResultCodes, DEFAULT_PARAMS }
