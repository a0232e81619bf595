/**
 * Tx execution (DESIGN §3, §6): envelope checks, then the body's handler, against an
 * overlay. Order of checks (each failure has its own result code):
 *
 *   decode envelope (TX_TOO_LARGE, TX_MALFORMED) → chain id (WRONG_CHAIN) → expiry
 *   (TX_EXPIRED: expiresAtHeight < height; TX_TTL_TOO_LONG: > height + maxTxTtl) → replay
 *   (TX_REPLAYED: opId = SHA-256(sign bytes) seen and not yet expired) → signature
 *   (BAD_SIGNATURE, verdicts from the injected TxSignatureVerifier, batched per block)
 *   → body decode (BODY_*) → signer (UNKNOWN_SIGNER, SIGNER_SUSPENDED) → handler.
 *
 * Replay protection is by sign-bytes hash, not tx hash, so a re-encoded or malleated
 * signature cannot replay an operation; entries live until their expiry height and are
 * pruned at block boundaries. In a block, a tx that passes the envelope checks consumes
 * its opId whatever its body's outcome; in checkTx a failed tx leaves no trace.
 */
import type { AppEvent, TxResult, TxSignatureVerifier } from '../src/abci.ts'
import { tryDecode } from '../src/codec/index.ts'
import { isAidError, type Result } from '../src/errors.ts'
import { MAX_TX_BYTES } from '../src/types/primitives.ts'
import { txHash, txSignBytes, TxEnvelopeSchema, type TxEnvelope } from '../src/types/tx.ts'
import { sha256 } from '../src/crypto/hash.ts'
import { bodyCodeFor, CODESPACE, reject, type Rejection, type ResultName } from './codes.ts'
import { emit, hex, type BlockCtx, type ExecCtx, type Signer } from './context.ts'
import { getRec, Overlay, putRec, type Kv } from './kv.ts'
import { K } from './keys.ts'
import { OfficeRefSchema, OfficeSchema, ReplaySchema } from './records.ts'
import { BodySchema, type Body } from './schema.ts'
import { dispatch } from './ops/index.ts'
import { isOperator, loadValidators } from './ops/governance.ts'

export interface PreparedTx {
  raw: Uint8Array
  txHash: Uint8Array
  env: TxEnvelope | null
  signBytes: Uint8Array | null
  opId: Uint8Array | null
  early: Rejection | null
  sigOk: boolean
  /** The body decoded once here (its errors are reported after the envelope checks, in execTx). */
  body: Result<Body> | null
}

/** Decodes envelopes and verifies all signatures in one batch. */
export async function prepareTxs (raws: readonly Uint8Array[], verifier: TxSignatureVerifier): Promise<PreparedTx[]> {
  const out: PreparedTx[] = raws.map((raw) => {
    const base = { raw, txHash: txHash(raw), env: null, signBytes: null, opId: null, sigOk: false, body: null }
    if (raw.length > MAX_TX_BYTES) return { ...base, early: reject('TX_TOO_LARGE', `${raw.length} > ${MAX_TX_BYTES} bytes`) }
    const r = tryDecode(TxEnvelopeSchema, raw, { maxBytes: MAX_TX_BYTES })
    if (!r.ok) return { ...base, early: reject('TX_MALFORMED', r.error.message) }
    const signBytes = txSignBytes(r.value)
    return { ...base, env: r.value, signBytes, opId: sha256(signBytes), early: null, body: tryDecode(BodySchema, r.value.body) }
  })
  const items = out.filter((p) => p.env !== null)
  if (items.length > 0) {
    const verdicts = await verifier.verifyTxs(items.map((p) => ({
      txHash: p.txHash, pubKey: (p.env as TxEnvelope).signer, signBytes: p.signBytes as Uint8Array, signature: (p.env as TxEnvelope).signature,
    })))
    items.forEach((p, i) => { p.sigOk = verdicts[i] === true })
  }
  return out
}

export const ENVELOPE_CODES: ReadonlySet<ResultName> = new Set<ResultName>([
  'TX_MALFORMED', 'TX_TOO_LARGE', 'WRONG_CHAIN', 'TX_EXPIRED', 'TX_TTL_TOO_LONG', 'TX_REPLAYED', 'BAD_SIGNATURE',
])

/** Envelope-level checks against `kv`; returns the rejection or null. */
export async function checkEnvelope (kv: Kv, block: BlockCtx, p: PreparedTx): Promise<Rejection | null> {
  if (p.early !== null) return p.early
  const env = p.env as TxEnvelope
  if (env.chainId !== block.chainId) return reject('WRONG_CHAIN', `tx is for chain ${env.chainId}`)
  if (env.expiresAtHeight < block.height) return reject('TX_EXPIRED', `expired at ${env.expiresAtHeight}, height is ${block.height}`)
  if (env.expiresAtHeight > block.height + block.params.maxTxTtl) {
    return reject('TX_TTL_TOO_LONG', `expiry ${env.expiresAtHeight} > ${block.height} + ${block.params.maxTxTtl}`)
  }
  if ((await kv.get(K.replay(p.opId as Uint8Array))) !== null) return reject('TX_REPLAYED')
  if (!p.sigOk) return reject('BAD_SIGNATURE')
  return null
}

export function recordReplay (kv: Kv, p: PreparedTx): void {
  const env = p.env as TxEnvelope
  const opId = p.opId as Uint8Array
  putRec(kv, ReplaySchema, K.replay(opId), { expiresAtHeight: env.expiresAtHeight })
  kv.set(K.replayExpiry(env.expiresAtHeight, opId), new Uint8Array(0))
}

async function resolveSigner (kv: Kv, key: Uint8Array): Promise<Signer | Rejection> {
  const ref = await getRec(kv, OfficeRefSchema, K.officeByKey(key))
  if (ref !== null) {
    const office = await getRec(kv, OfficeSchema, K.office(ref.id))
    if (office === null) return reject('INTERNAL', 'office index points nowhere')
    if (office.status !== 'active') return reject('SIGNER_SUSPENDED', `office ${office.id} is suspended`)
    return { kind: 'office', office }
  }
  if (isOperator(await loadValidators(kv), key)) return { kind: 'operator', key }
  return reject('UNKNOWN_SIGNER')
}

export type ExecMode = 'deliver' | 'check'

function result (r: Rejection | null, data: Uint8Array, events: AppEvent[]): TxResult {
  if (r === null) return { code: 0, codespace: '', log: '', data, events }
  return { code: r.code, codespace: CODESPACE, log: r.log, data: new Uint8Array(0), events: [] }
}

/**
 * Runs one prepared tx against `parent`. In 'deliver' mode the replay entry is written to
 * the parent once the envelope checks pass; the body's writes are merged only on success.
 */
export async function execTx (parent: Kv, block: BlockCtx, p: PreparedTx, mode: ExecMode): Promise<TxResult> {
  const env0 = await checkEnvelope(parent, block, p)
  if (env0 !== null) return result(env0, new Uint8Array(0), [])
  const env = p.env as TxEnvelope
  const tx = new Overlay(parent)
  recordReplay(mode === 'deliver' ? parent : tx, p)
  const decoded = p.body ?? tryDecode(BodySchema, env.body)
  if (!decoded.ok) return result(reject(bodyCodeFor(decoded.error.code), decoded.error.message), new Uint8Array(0), [])
  const signer = await resolveSigner(parent, env.signer)
  if ('rejected' in signer) return result(signer, new Uint8Array(0), [])
  const events: AppEvent[] = []
  const ctx: ExecCtx = {
    kv: tx, block, height: block.height, time: block.time, opId: p.opId as Uint8Array, action: decoded.value.type,
    signer, params: block.params, events, data: new Uint8Array(0),
  }
  let r: Rejection | undefined
  try {
    r = await dispatch(ctx, decoded.value)
  } catch (err) {
    // A stored record failing to decode is corruption; anything else is a bug. Both are
    // deterministic for a given state, so they become a result rather than a halt.
    r = reject('INTERNAL', isAidError(err) ? err.code : 'handler error')
  }
  if (r !== undefined) return result(r, new Uint8Array(0), [])
  tx.mergeInto(parent)
  emit(events, 'message', {
    action: decoded.value.type, office: signer.kind === 'office' ? signer.office.id : 0, sender: hex(env.signer), tx: hex(p.txHash),
  })
  return result(null, ctx.data, events)
}
