/**
 * Block-boundary rules, run at the start of every block before its txs, over the
 * committed state (the block overlay is still empty, so store iteration sees exactly what
 * every node sees):
 *
 *   1. replay pruning: entries whose expiry height is below this block's height can never
 *      match an includable tx again; the rx/<expiry>/<opId> index lists them in expiry
 *      order, at most PRUNE_PER_BLOCK per block (the rest next block, same order);
 *   2. alert escalation by header time (ops/alerts.ts).
 */
import { scanWhile, type AppStore } from './store-api.ts'
import { getRec, type Kv, type KvReader } from './kv.ts'
import { K, readU64be } from './keys.ts'
import { ParamsSchema, type Params } from './records.ts'
import type { BlockCtx } from './context.ts'
import { escalateDueAlerts } from './ops/alerts.ts'

export const PRUNE_PER_BLOCK = 10_000

export const DEFAULT_PARAMS: Params = {
  maxTxTtl: 1000,
  publicityMinMs: 7 * 86_400_000,
  alertAckWindowMs: 3 * 86_400_000,
  applicationDeadlineMs: 30 * 86_400_000,
  proposalTtl: 10_000,
  maxValidators: 150,
}

export async function loadParams (kv: KvReader): Promise<Params> {
  return (await getRec(kv, ParamsSchema, K.params())) ?? DEFAULT_PARAMS
}

export async function pruneReplay (store: AppStore, kv: Kv, height: number): Promise<number> {
  const entries = await scanWhile(store, K.replayExpiryPrefix(), PRUNE_PER_BLOCK, (key) => readU64be(key, 3) < height)
  for (const { key } of entries) {
    kv.delete(key)
    kv.delete(K.replay(key.slice(11)))
  }
  return entries.length
}

export async function beginBlock (store: AppStore, kv: Kv, block: BlockCtx): Promise<void> {
  await pruneReplay(store, kv, block.height)
  await escalateDueAlerts(store, kv, block)
}
