/**
 * Feeds the node's metrics (src/metrics.ts) from its components, following the "who
 * updates what" map in the header of src/metrics.ts: consensus engine events for blocks,
 * steps and block sync; the mempool and p2p stats on a timer; the app's per-tx results
 * and disbursement events for the app_* series. No per-person labels: operations, result
 * codes and program categories only.
 */
import type { TxResult } from './abci.ts'
import { tryDecode } from './codec/index.ts'
import type { Timers, CancelTimer } from './clock.ts'
import type { Metrics } from './metrics.ts'
import { encodeBlock, TxEnvelopeSchema, type Block, type ChainState } from './types/index.ts'
import type { ConsensusEngine } from '../consensus/engine.ts'
import type { Mempool } from '../consensus/mempool.ts'
import type { P2PTransport } from '../p2p/index.ts'
import { BodySchema } from '../state/schema.ts'

export interface MetricsWiring {
  metrics: Metrics
  engine: ConsensusEngine
  mempool: Mempool
  transport: P2PTransport
  timers: Timers
  mempoolLimits: { size: number, sizeBytes: number }
  /** How often mempool and p2p gauges are refreshed (ms). */
  pollMs?: number
}

function attr (ev: { attributes: Array<{ key: string, value: string }> }, key: string): string | undefined {
  return ev.attributes.find((a) => a.key === key)?.value
}

/** The operation name of a tx (its body's tag), for a tx the app rejected and so emitted nothing for. */
function operationOf (tx: Uint8Array): string {
  const env = tryDecode(TxEnvelopeSchema, tx)
  if (!env.ok) return 'malformed'
  const body = tryDecode(BodySchema, env.value.body)
  return body.ok ? body.value.type : 'malformed'
}

function observeTxs (metrics: Metrics, block: Block, results: readonly TxResult[]): void {
  results.forEach((r, i) => {
    const message = r.events.find((e) => e.type === 'message')
    const op = (message !== undefined ? attr(message, 'action') : undefined) ?? operationOf(block.txs[i] ?? new Uint8Array(0))
    metrics.observeTx(op, r.code)
    for (const e of r.events) {
      if (e.type !== 'disbursement') continue
      const category = attr(e, 'category')
      const amount = attr(e, 'amount_fen')
      if (category !== undefined && amount !== undefined && /^\d+$/.test(amount)) metrics.addDisbursed(category, BigInt(amount))
    }
  })
}

function lastCommitObservation (block: Block, state: ChainState): { height: number, signatures: Array<{ address: Uint8Array, power: number, signed: boolean }> } | undefined {
  const lc = block.lastCommit
  if (lc === null) return undefined
  const vals = state.lastValidators.validators
  return {
    height: lc.height,
    signatures: lc.signatures.map((s, i) => ({
      address: vals[i]?.address ?? s.validatorAddress,
      power: vals[i]?.votingPower ?? 0,
      signed: s.flag === 'commit',
    })),
  }
}

/** Subscribes and starts the poll timer; returns a stop function. */
export function wireMetrics (w: MetricsWiring): () => void {
  const { metrics, engine, mempool, transport, timers } = w
  const pollMs = w.pollMs ?? 5000
  let lastBlockTime: number | undefined
  let cancel: CancelTimer | undefined
  let stopped = false

  const poll = (): void => {
    if (stopped) return
    metrics.setMempool({ size: mempool.size(), sizeBytes: mempool.sizeBytes(), counters: mempool.counters(), sizeLimit: w.mempoolLimits.size, sizeBytesLimit: w.mempoolLimits.sizeBytes })
    metrics.setPeers(transport.stats())
    cancel = timers.schedule(pollMs, poll)
  }

  const unsubscribeTx = mempool.onTxAdded((tx) => { metrics.observeMempoolTx(tx.tx.length) })
  const unsubscribe = engine.subscribe((ev) => {
    switch (ev.type) {
      case 'new-block': {
        const state = engine.chainState()
        const b = ev.block
        const offenders = new Map<string, number>()
        for (const e of b.evidence) offenders.set(Buffer.from(e.voteA.validatorAddress).toString('hex'), e.validatorPower)
        metrics.observeBlock({
          height: ev.height,
          numTxs: b.txs.length,
          sizeBytes: encodeBlock(b).length,
          source: ev.source,
          processingMs: ev.processingMs,
          ...(lastBlockTime === undefined ? {} : { intervalSeconds: Math.max(0, b.header.time - lastBlockTime) / 1000 }),
          validators: { count: state.validators.validators.length, power: state.validators.validators.reduce((s, v) => s + v.votingPower, 0) },
          ...(b.lastCommit === null ? {} : { lastCommit: lastCommitObservation(b, state) }),
          ...(offenders.size === 0 ? {} : { byzantine: { count: offenders.size, power: [...offenders.values()].reduce((s, p) => s + p, 0) } }),
          validatorUpdates: ev.validatorUpdates.length,
          consensusParamUpdates: ev.consensusParamUpdates === null ? 0 : 1,
        })
        lastBlockTime = b.header.time
        observeTxs(metrics, b, ev.txResults)
        metrics.setMempool({ size: mempool.size(), sizeBytes: mempool.sizeBytes(), counters: mempool.counters() })
        break
      }
      case 'new-round-step':
        metrics.enterStep(ev.height, ev.round, ev.step)
        break
      case 'catching-up':
        metrics.setSyncing(ev.catchingUp)
        break
      default:
        break
    }
  })
  poll()
  return () => {
    stopped = true
    cancel?.()
    unsubscribe()
    unsubscribeTx()
  }
}
