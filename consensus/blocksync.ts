/**
 * Block sync (DESIGN §8: "lagging nodes catch up by block sync, verified against commits,
 * then switch to consensus"), after CometBFT blocksync/pool.go and reactor.go, simplified:
 *
 *  - Every node announces its block store's base and height (status) periodically and on
 *    request, and serves blocks from its store: a block with a commit for it (the next
 *    block's last commit, or the seen commit at the tip).
 *  - A node whose best peer is `lagThreshold` (2) or more heights ahead of its last block
 *    stops consensus and requests the next heights, a small window at a time, each from a
 *    peer that has it (fewest requests in flight first). Responses are applied strictly in
 *    height order: the commit must verify against the validator set the chain state holds
 *    for that height (verifyCommit, > 2/3 of its power), the block must pass validation
 *    against the chain state, then block-exec applies it like a decided block.
 *  - A bad response (undecodable, wrong block, commit that does not verify, invalid block) →
 *    misbehavior report, the peer is not asked for that height again, another peer is.
 *    A request that times out or gets `noBlock` lowers what we believe the peer has, so a
 *    peer that announces heights it cannot serve cannot hold the node in sync mode.
 *  - The node switches back to consensus once its last block is within one height of the
 *    best peer (that peer's consensus gossips the remaining commit).
 *
 * `createBlockPool` is the pure scheduling part (no I/O, time as an argument);
 * `createBlocksync` adds serving, verification and application.
 */
import { toHex } from '../src/bytes.ts'
import type { Logger } from '../src/log.ts'
import type { BlockStore } from '../src/store/index.ts'
import type { PeerId, Transport } from '../src/transport.ts'
import {
  type Block, type BlockId, type Commit, type PartSet, blockIdEquals, encodeBlock, headerHash, makePartSet,
} from '../src/types/index.ts'
import type { AppliedBlock, BlockExecutor } from './block-exec.ts'
import { encodeBlocksync, type BlocksyncMessage } from './messages.ts'

// ---- the pool (pure) ----

export interface BlockPoolOptions {
  window: number
  requestTimeoutMs: number
}

export interface PeerStatus { base: number, height: number }

interface Request {
  height: number
  peer: PeerId
  sentAt: number
  response: { block: Block, commit: Commit } | null
}

export interface BlockPool {
  setPeer: (peer: PeerId, status: PeerStatus) => void
  removePeer: (peer: PeerId) => void
  peers: () => ReadonlyMap<PeerId, PeerStatus>
  /** Highest height any peer announced (0 with no peers). */
  maxPeerHeight: () => number
  /** Requests to send now for heights from `next` on (new ones and re-requests of timed-out ones). */
  schedule: (next: number, now: number) => Array<{ peer: PeerId, height: number }>
  /** A response; false if we did not ask `peer` for `height` (ignored). */
  received: (peer: PeerId, height: number, block: Block, commit: Commit) => boolean
  /** `peer` cannot serve `height`: lower its announced height and ask someone else. */
  noBlock: (peer: PeerId, height: number) => void
  /** The response for `height`, if it has arrived. */
  ready: (height: number) => { peer: PeerId, block: Block, commit: Commit } | undefined
  /** The response for `height` from `peer` was bad: never ask that peer for that height again. */
  reject: (height: number, peer: PeerId) => void
  /** Heights up to `height` are applied. */
  advance: (height: number) => void
  clear: () => void
  inFlight: () => number
}

export function createBlockPool (opts: BlockPoolOptions): BlockPool {
  const statuses = new Map<PeerId, PeerStatus>()
  const requests = new Map<number, Request>()
  /** height → peers that failed it */
  const failed = new Map<number, Set<PeerId>>()

  const pending = (peer: PeerId): number => {
    let n = 0
    for (const r of requests.values()) if (r.peer === peer && r.response === null) n++
    return n
  }

  const choosePeer = (height: number, exclude: ReadonlySet<PeerId>): PeerId | undefined => {
    let best: PeerId | undefined
    let bestLoad = Infinity
    const ids = [...statuses.keys()].sort()
    for (const id of ids) {
      const st = statuses.get(id) as PeerStatus
      if (st.height < height || (st.base > height && st.base !== 0) || exclude.has(id) || failed.get(height)?.has(id) === true) continue
      const load = pending(id)
      if (load < bestLoad) {
        best = id
        bestLoad = load
      }
    }
    return best
  }

  const lowerPeer = (peer: PeerId, height: number): void => {
    const st = statuses.get(peer)
    if (st !== undefined && st.height >= height) statuses.set(peer, { base: st.base, height: height - 1 })
  }

  return {
    setPeer: (peer, status) => { statuses.set(peer, { ...status }) },
    removePeer: (peer) => {
      statuses.delete(peer)
      for (const [h, r] of requests) if (r.peer === peer && r.response === null) requests.delete(h)
    },
    peers: () => statuses,
    maxPeerHeight: () => {
      let m = 0
      for (const s of statuses.values()) if (s.height > m) m = s.height
      return m
    },
    schedule: (next, now) => {
      const out: Array<{ peer: PeerId, height: number }> = []
      for (const [h, r] of requests) if (h < next) requests.delete(h)
      for (let h = next; h < next + opts.window; h++) {
        const r = requests.get(h)
        if (r !== undefined && (r.response !== null || now - r.sentAt < opts.requestTimeoutMs)) continue
        if (r !== undefined) {
          // timed out: the peer evidently cannot serve it now
          lowerPeer(r.peer, h)
          requests.delete(h)
        }
        const peer = choosePeer(h, new Set(r === undefined ? [] : [r.peer]))
        if (peer === undefined) break
        requests.set(h, { height: h, peer, sentAt: now, response: null })
        out.push({ peer, height: h })
      }
      return out
    },
    received: (peer, height, block, commit) => {
      const r = requests.get(height)
      if (r === undefined || r.peer !== peer || r.response !== null) return false
      r.response = { block, commit }
      return true
    },
    noBlock: (peer, height) => {
      lowerPeer(peer, height)
      const r = requests.get(height)
      if (r !== undefined && r.peer === peer && r.response === null) requests.delete(height)
    },
    ready: (height) => {
      const r = requests.get(height)
      return r?.response == null ? undefined : { peer: r.peer, block: r.response.block, commit: r.response.commit }
    },
    reject: (height, peer) => {
      let s = failed.get(height)
      if (s === undefined) failed.set(height, s = new Set())
      s.add(peer)
      requests.delete(height)
    },
    advance: (height) => {
      for (const h of [...requests.keys()]) if (h <= height) requests.delete(h)
      for (const h of [...failed.keys()]) if (h <= height) failed.delete(h)
    },
    clear: () => { requests.clear() },
    inFlight: () => [...requests.values()].filter((r) => r.response === null).length,
  }
}

// ---- serving, verification, application ----

export interface BlocksyncOptions {
  window: number
  requestTimeoutMs: number
  statusIntervalMs: number
  lagThreshold: number
}

export interface BlocksyncDeps {
  transport: Pick<Transport, 'send' | 'broadcast' | 'reportMisbehavior'>
  blockStore: Pick<BlockStore, 'base' | 'height' | 'loadBlock' | 'loadCommit' | 'loadSeenCommit'>
  exec: Pick<BlockExecutor, 'state' | 'validateBlock' | 'applyBlock' | 'verifyCommit'>
  logger: Logger
}

export interface SyncedBlock {
  block: Block
  parts: PartSet
  commit: Commit
  applied: AppliedBlock
}

export interface Blocksync {
  readonly pool: BlockPool
  onPeerUp: (peer: PeerId) => void
  onPeerDown: (peer: PeerId) => void
  /** Serves requests, records statuses and responses. */
  handle: (peer: PeerId, msg: BlocksyncMessage) => Promise<void>
  /** Announces our status every statusIntervalMs; while syncing, sends the due requests. */
  tick: (now: number, syncing: boolean) => void
  /** Whether our last block is `lagThreshold` or more behind the best peer. */
  lagging: () => boolean
  /** Whether we are within one height of the best peer. */
  caughtUp: () => boolean
  /** Verifies and applies every response that is next in line; returns what was applied. */
  applyReady: () => Promise<SyncedBlock[]>
}

export function createBlocksync (opts: BlocksyncOptions, deps: BlocksyncDeps): Blocksync {
  const { transport, blockStore, exec } = deps
  const log = deps.logger
  const pool = createBlockPool({ window: opts.window, requestTimeoutMs: opts.requestTimeoutMs })
  let lastStatusAt = -Infinity

  const statusMsg = (): Uint8Array => encodeBlocksync({ type: 'status', value: { base: blockStore.base(), height: blockStore.height() } })
  const lastHeight = (): number => exec.state().lastBlockHeight

  const serve = async (peer: PeerId, height: number): Promise<void> => {
    const block = height >= blockStore.base() && height <= blockStore.height() ? await blockStore.loadBlock(height) : undefined
    const commit = block === undefined ? undefined : (await blockStore.loadCommit(height)) ?? (await blockStore.loadSeenCommit(height))
    if (block === undefined || commit === undefined) {
      transport.send(peer, 'blocksync', encodeBlocksync({ type: 'noBlock', value: { height } }))
      return
    }
    transport.send(peer, 'blocksync', encodeBlocksync({ type: 'blockResponse', value: { block, commit } }))
  }

  const verifyAndApply = async (height: number, block: Block, commit: Commit): Promise<{ ok: true, synced: SyncedBlock } | { ok: false, why: string }> => {
    if (block.header.height !== height) return { ok: false, why: `asked for ${height}, got block ${block.header.height}` }
    const parts = makePartSet(encodeBlock(block))
    const blockId: BlockId = { hash: headerHash(block.header), partSetHeader: parts.header }
    if (!blockIdEquals(commit.blockId, blockId)) return { ok: false, why: 'the commit is for another block' }
    const c = await exec.verifyCommit(exec.state().validators, blockId, height, commit)
    if (!c.ok) return { ok: false, why: `commit does not verify: ${c.error.message}` }
    const v = await exec.validateBlock(block, { checkDrift: false, processProposal: false })
    if (!v.ok) return { ok: false, why: `invalid block: ${v.error.message}` }
    const applied = await exec.applyBlock(block, parts, commit)
    return { ok: true, synced: { block, parts, commit, applied } }
  }

  return {
    pool,
    onPeerUp: (peer) => {
      transport.send(peer, 'blocksync', statusMsg())
      transport.send(peer, 'blocksync', encodeBlocksync({ type: 'statusRequest', value: {} }))
    },
    onPeerDown: (peer) => { pool.removePeer(peer) },
    handle: async (peer, msg) => {
      switch (msg.type) {
        case 'statusRequest':
          transport.send(peer, 'blocksync', statusMsg())
          return
        case 'status':
          pool.setPeer(peer, { base: msg.value.base, height: msg.value.height })
          return
        case 'blockRequest':
          await serve(peer, msg.value.height)
          return
        case 'blockResponse': {
          const h = msg.value.block.header.height
          if (!pool.received(peer, h, msg.value.block, msg.value.commit)) log.debug('blocksync: unrequested block response', { peer, height: h })
          return
        }
        case 'noBlock':
          pool.noBlock(peer, msg.value.height)
      }
    },
    tick: (now, syncing) => {
      if (now - lastStatusAt >= opts.statusIntervalMs) {
        lastStatusAt = now
        transport.broadcast('blocksync', statusMsg())
      }
      if (!syncing) return
      for (const { peer, height } of pool.schedule(lastHeight() + 1, now)) {
        transport.send(peer, 'blocksync', encodeBlocksync({ type: 'blockRequest', value: { height } }))
      }
    },
    lagging: () => pool.maxPeerHeight() >= lastHeight() + opts.lagThreshold,
    caughtUp: () => lastHeight() >= pool.maxPeerHeight() - 1,
    applyReady: async () => {
      const out: SyncedBlock[] = []
      for (;;) {
        const height = lastHeight() + 1
        const r = pool.ready(height)
        if (r === undefined) break
        const res = await verifyAndApply(height, r.block, r.commit)
        if (!res.ok) {
          log.warn('blocksync: bad block from peer', { peer: r.peer, height, why: res.why })
          transport.reportMisbehavior(r.peer, 'protocol', `blocksync block ${height}: ${res.why}`)
          pool.reject(height, r.peer)
          break
        }
        pool.advance(height)
        log.debug('blocksync: applied block', { height, hash: toHex(res.synced.applied.blockId.hash) })
        out.push(res.synced)
      }
      return out
    },
  }
}
