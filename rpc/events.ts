/**
 * The event bus and subscriptions, after CometBFT libs/pubsub (pubsub.go, subscription.go)
 * and types/event_bus.go: publishers hand in an event with its flattened attribute map
 * ("tm.event", "tx.hash", "tx.height", "<type>.<key>" → values); every subscription whose
 * query matches gets it, synchronously and in publish order, so a subscriber sees each
 * event exactly once and in order. Each subscriber's sink is bounded: a sink that reports
 * it cannot take more (its client does not keep up) has its subscription cancelled with a
 * reason, as CometBFT cancels slow subscriptions (ErrOutOfCapacity) instead of dropping
 * events silently.
 *
 * Also here: turning the node's NodeEvents into CometBFT's events (state/execution.go
 * fireEvents order: NewBlock, NewBlockHeader, NewBlockEvents, NewEvidence…, Tx…,
 * ValidatorSetUpdates), with their `{type: "tendermint/event/…", value}` JSON rendered
 * once per event, lazily, however many subscribers receive it.
 */
import { toHex } from '../src/bytes.ts'
import type { BlockResults, NodeEvent } from '../src/node-api.ts'
import { txHash, type Block, type BlockId } from '../src/types/index.ts'
import {
  b64, blockIdJson, blockJson, eventJson, evidenceJson, execTxResultJson, finalizeBlockJson, headerJson, hex, int64,
  validatorFromUpdateJson, voteJson, type Json,
} from './encode.ts'
import { flattenEvents, type Query } from './query.ts'

export interface BusMessage {
  /** CometBFT event name: NewBlock, Tx, NewRoundStep… */
  eventType: string
  events: Record<string, string[]>
  /** The typed payload, for in-process consumers (broadcast_tx_commit). */
  raw: unknown
  /** `{"type":"tendermint/event/…","value":…}` (memoized). */
  dataJson: () => string
  /** The events map as JSON (memoized). */
  eventsJson: () => string
}

export interface Subscription {
  readonly clientId: string
  readonly query: Query
}

export interface SubscriptionSink {
  /** Takes one message; false when the subscriber cannot keep up (the bus then cancels it). */
  deliver: (sub: Subscription, msg: BusMessage) => boolean
  /** The subscription ended other than by unsubscribe: the subscriber was too slow, or the bus closed. */
  onCancel?: (sub: Subscription, reason: string, cause: 'slow' | 'closed') => void
}

export interface EventBusOptions {
  /** Most distinct clients with subscriptions (CometBFT max_subscription_clients, default 100). */
  maxClients?: number
  /** Most subscriptions of one client (CometBFT max_subscriptions_per_client, default 5). */
  maxSubscriptionsPerClient?: number
}

export interface EventBus {
  /** Throws BusError: limits reached or already subscribed. */
  subscribe: (clientId: string, query: Query, sink: SubscriptionSink) => Subscription
  /** Throws BusError('subscription not found'). */
  unsubscribe: (clientId: string, queryText: string) => void
  unsubscribeAll: (clientId: string) => void
  /** Drops a client's subscriptions without error (its connection closed). */
  removeClient: (clientId: string) => void
  publish: (msg: BusMessage) => void
  /** Is anyone subscribed at all? (Lets publishers skip building messages.) */
  hasSubscribers: () => boolean
  numClients: () => number
  numClientSubscriptions: (clientId: string) => number
  /** Cancels every subscription with `reason`. */
  close: (reason: string) => void
}

export class BusError extends Error {
  override name = 'BusError'
}

interface Entry extends Subscription { sink: SubscriptionSink }

export function createEventBus (opts: EventBusOptions = {}): EventBus {
  const maxClients = opts.maxClients ?? 100
  const maxPerClient = opts.maxSubscriptionsPerClient ?? 5
  /** clientId → (query text → entry), insertion-ordered so delivery order is stable. */
  const clients = new Map<string, Map<string, Entry>>()

  const cancel = (e: Entry, reason: string, cause: 'slow' | 'closed'): void => {
    const subs = clients.get(e.clientId)
    if (subs?.get(e.query.text) !== e) return
    subs.delete(e.query.text)
    if (subs.size === 0) clients.delete(e.clientId)
    try { e.sink.onCancel?.(e, reason, cause) } catch { /* a sink's failure is its own */ }
  }

  return {
    subscribe: (clientId, query, sink) => {
      let subs = clients.get(clientId)
      if (subs === undefined && clients.size >= maxClients) throw new BusError(`max_subscription_clients ${maxClients} reached`)
      if (subs !== undefined && subs.size >= maxPerClient) throw new BusError(`max_subscriptions_per_client ${maxPerClient} reached`)
      if (subs?.has(query.text) === true) throw new BusError('already subscribed')
      if (subs === undefined) {
        subs = new Map()
        clients.set(clientId, subs)
      }
      const e: Entry = { clientId, query, sink }
      subs.set(query.text, e)
      return e
    },
    unsubscribe: (clientId, queryText) => {
      const subs = clients.get(clientId)
      if (subs?.has(queryText) !== true) throw new BusError('subscription not found')
      subs.delete(queryText)
      if (subs.size === 0) clients.delete(clientId)
    },
    unsubscribeAll: (clientId) => {
      if (!clients.has(clientId)) throw new BusError('subscription not found')
      clients.delete(clientId)
    },
    removeClient: (clientId) => { clients.delete(clientId) },
    publish: (msg) => {
      const slow: Entry[] = []
      for (const subs of clients.values()) {
        for (const e of subs.values()) {
          if (!e.query.matches(msg.events)) continue
          let ok = false
          try { ok = e.sink.deliver(e, msg) } catch { ok = false }
          if (!ok) slow.push(e)
        }
      }
      for (const e of slow) cancel(e, 'client is not pulling messages fast enough', 'slow')
    },
    hasSubscribers: () => clients.size > 0,
    numClients: () => clients.size,
    numClientSubscriptions: (clientId) => clients.get(clientId)?.size ?? 0,
    close: (reason) => {
      const all = [...clients.values()].flatMap((m) => [...m.values()])
      for (const e of all) cancel(e, reason, 'closed')
      clients.clear()
    },
  }
}

// ---- NodeEvent → CometBFT events -------------------------------------------------------------

function message (
  eventType: string, events: Record<string, string[]>, raw: unknown, value: () => Json, dataType = eventType,
): BusMessage {
  let data: string | undefined
  let ev: string | undefined
  return {
    eventType,
    events,
    raw,
    dataJson: () => (data ??= JSON.stringify({ type: `tendermint/event/${dataType}`, value: value() })),
    eventsJson: () => (ev ??= JSON.stringify(events)),
  }
}

function withType (events: Record<string, string[]>, eventType: string): Record<string, string[]> {
  const list = Object.prototype.hasOwnProperty.call(events, 'tm.event') ? events['tm.event'] : undefined
  if (list === undefined) events['tm.event'] = [eventType]
  else list.push(eventType)
  return events
}

/** The payload broadcast_tx_commit waits for. */
export interface TxEventData { height: number, index: number, tx: Uint8Array, hash: Uint8Array, result: BlockResults['txResults'][number] }

const STEP_PREFIX = 'RoundStep'

/**
 * CometBFT's events for one NodeEvent, in CometBFT's order. `appVersion` renders the
 * header version (our headers carry none).
 */
export function busMessagesFor (ev: NodeEvent, appVersion: number): BusMessage[] {
  switch (ev.type) {
    case 'NewBlock': return blockMessages(ev.block, ev.blockId, ev.results, appVersion)
    case 'NewRound':
      return [message(ev.type, withType({}, ev.type), ev, () => ({
        height: int64(ev.height), round: ev.round, step: STEP_PREFIX + ev.step,
        proposer: { address: hex(ev.proposer.address), index: ev.proposer.index },
      }))]
    case 'CompleteProposal':
      return [message(ev.type, withType({}, ev.type), ev, () => ({
        height: int64(ev.height), round: ev.round, step: STEP_PREFIX + ev.step, block_id: blockIdJson(ev.blockId),
      }))]
    case 'Vote':
      return [message(ev.type, withType({}, ev.type), ev, () => ({ Vote: voteJson(ev.vote) }))]
    default:
      // Round-state events (NewRoundStep, Polka, Lock, …) carry EventDataRoundState ("RoundState").
      return [message(ev.type, withType({}, ev.type), ev, () => ({
        height: int64(ev.height), round: ev.round, step: STEP_PREFIX + ev.step,
      }), 'RoundState')]
  }
}

function blockMessages (block: Block, blockId: BlockId, results: BlockResults, appVersion: number): BusMessage[] {
  const h = block.header.height
  const out: BusMessage[] = []
  out.push(message('NewBlock', withType(flattenEvents(results.events), 'NewBlock'), { block, blockId, results }, () => ({
    block: blockJson(block, appVersion), block_id: blockIdJson(blockId), result_finalize_block: finalizeBlockJson(results),
  })))
  out.push(message('NewBlockHeader', withType({}, 'NewBlockHeader'), block.header, () => ({ header: headerJson(block.header, appVersion) })))
  out.push(message('NewBlockEvents', withType(flattenEvents(results.events), 'NewBlockEvents'), results.events, () => ({
    height: int64(h), events: results.events.map(eventJson), num_txs: int64(block.txs.length),
  })))
  for (const evidence of block.evidence) {
    out.push(message('NewEvidence', withType({}, 'NewEvidence'), evidence, () => ({ height: int64(h), evidence: evidenceJson(evidence) })))
  }
  for (const [index, tx] of block.txs.entries()) {
    const result = results.txResults[index] ?? { code: 0, codespace: '', log: '', data: new Uint8Array(0), events: [] }
    const hash = txHash(tx)
    const events = flattenEvents(result.events)
    withType(events, 'Tx')
    events['tx.hash'] = [...(events['tx.hash'] ?? []), toHex(hash).toUpperCase()]
    events['tx.height'] = [...(events['tx.height'] ?? []), String(h)]
    const data: TxEventData = { height: h, index, tx, hash, result }
    out.push(message('Tx', events, data, () => {
      // abci.TxResult through libs/json: height and index are omitempty.
      const txr: { [k: string]: Json } = {}
      if (h !== 0) txr.height = int64(h)
      if (index !== 0) txr.index = index
      if (tx.length > 0) txr.tx = b64(tx)
      txr.result = execTxResultJson(result)
      return { TxResult: txr }
    }))
  }
  if (results.validatorUpdates.length > 0) {
    out.push(message('ValidatorSetUpdates', withType({}, 'ValidatorSetUpdates'), results.validatorUpdates, () => ({
      validator_updates: results.validatorUpdates.map(validatorFromUpdateJson),
    })))
  }
  return out
}
