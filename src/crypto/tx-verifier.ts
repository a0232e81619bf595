/**
 * TxSignatureVerifier implementations (src/abci.ts): the one the node uses, over the worker
 * pool with its verdict cache keyed by tx hash (a tx verified on entry to the mempool costs
 * nothing in finalizeBlock — DESIGN §3), and a single-thread one for tests and tools.
 *
 * The pool coalesces the single verifies issued in one tick into one batch, so verifying a
 * block's worth of envelopes with Promise.all costs one round-trip to the workers.
 */
import type { TxSignatureVerifier } from '../abci.ts'
import type { VerifyPool } from './pool.ts'
import { verify } from './zip215.ts'

export function poolTxVerifier (pool: Pick<VerifyPool, 'verifyCached'>): TxSignatureVerifier {
  return {
    verifyTxs: async (items) => await Promise.all(items.map(async (it) =>
      await pool.verifyCached(it.txHash, it.pubKey, it.signBytes, it.signature))),
  }
}

export const singleThreadTxVerifier: TxSignatureVerifier = {
  verifyTxs: async (items) => items.map((it) => verify(it.pubKey, it.signBytes, it.signature)),
}
