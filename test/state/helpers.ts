/**
 * Test harness for the social-assistance app: deterministic office keys, a signature
 * verifier on the single-thread ZIP-215 Ed25519 verify, a tx builder, and a chain driver
 * that runs blocks through the Application interface only (finalizeBlock + commit).
 */
import type { Test } from 'tap'
import { createSigner, generateKeyPair, verify, type Ed25519KeyPair } from '../../src/crypto/ed25519.ts'
import { sha256 } from '../../src/crypto/hash.ts'
import { encode } from '../../src/codec/index.ts'
import { utf8 } from '../../src/bytes.ts'
import type { TxResult, TxSignatureVerifier, FinalizeBlockResponse } from '../../src/abci.ts'
import { TxEnvelopeSchema, txSignBytes } from '../../src/types/tx.ts'
import { BodySchema, type Body } from '../../state/schema.ts'
import { createSocialApp, type SocialApp } from '../../state/app.ts'
import { createMemoryStore } from '../../state/memory-kv.ts'
import type { AppStore } from '../../state/store-api.ts'
import { resultName, type ResultName } from '../../state/codes.ts'

export const CHAIN = 'aid-test'
export const T0 = Date.UTC(2026, 2, 1) // 2026-03-01T00:00Z, header time of genesis
export const DAY = 86_400_000

const keyCache = new Map<string, Ed25519KeyPair>()
export function key (name: string): Ed25519KeyPair {
  let k = keyCache.get(name)
  if (k === undefined) {
    k = generateKeyPair(sha256(utf8(`aidledger-test-key/${name}`)))
    keyCache.set(name, k)
  }
  return k
}
export const pub = (name: string): Uint8Array => key(name).publicKey
export const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex')
export const id = (name: string): Uint8Array => sha256(utf8(`pseudonym/${name}`))

export const verifier: TxSignatureVerifier = {
  verifyTxs: async (items) => items.map((i) => verify(i.pubKey, i.signBytes, i.signature)),
}

let nonceCounter = 0
/** Tx nonces come from a counter; reset it to build the very same txs twice. */
export function resetNonces (): void { nonceCounter = 0 }
export interface TxOpts { chainId?: string, expiresAtHeight?: number, nonce?: number }

/** A signed tx; returns the bytes and the opId (= id of anything the tx creates). */
export function tx (signer: string, body: Body, o: TxOpts & { height?: number } = {}): { bytes: Uint8Array, opId: Uint8Array } {
  const env = {
    chainId: o.chainId ?? CHAIN,
    signer: pub(signer),
    expiresAtHeight: o.expiresAtHeight ?? (o.height ?? 1) + 100,
    nonce: o.nonce ?? ++nonceCounter,
    body: encode(BodySchema, body),
  }
  const sb = txSignBytes(env)
  const signature = createSigner(key(signer)).sign(sb)
  return { bytes: encode(TxEnvelopeSchema, { ...env, signature }), opId: sha256(sb) }
}

export function rawTx (signer: string, bodyBytes: Uint8Array, o: TxOpts = {}): { bytes: Uint8Array, opId: Uint8Array } {
  const env = { chainId: o.chainId ?? CHAIN, signer: pub(signer), expiresAtHeight: o.expiresAtHeight ?? 100, nonce: o.nonce ?? ++nonceCounter, body: bodyBytes }
  const sb = txSignBytes(env)
  return { bytes: encode(TxEnvelopeSchema, { ...env, signature: createSigner(key(signer)).sign(sb) }), opId: sha256(sb) }
}

export const OPERATORS = ['op-a', 'op-b', 'op-c', 'op-d']
export const VALIDATORS = OPERATORS.map((o) => ({ pubKey: pub(`val-${o}`), power: 10 }))

/** Ministry roots: 1 civil-affairs, 2 finance, 3 health, 4 medical-security, 5 public-security. */
export function baseAppState (extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    operators: OPERATORS.map((o) => ({ operatorKey: hexOf(pub(o)), validatorPubKey: hexOf(pub(`val-${o}`)) })),
    offices: [
      { id: 1, level: 'ministry', department: 'civil-affairs', region: '000000', pubKey: hexOf(pub('mca')), parentId: 0, delegatedApproval: false },
      { id: 2, level: 'ministry', department: 'finance', region: '000000', pubKey: hexOf(pub('mof')), parentId: 0, delegatedApproval: false },
      { id: 3, level: 'ministry', department: 'health', region: '000000', pubKey: hexOf(pub('nhc')), parentId: 0, delegatedApproval: false },
      { id: 4, level: 'ministry', department: 'medical-security', region: '000000', pubKey: hexOf(pub('nhsa')), parentId: 0, delegatedApproval: false },
      { id: 5, level: 'ministry', department: 'public-security', region: '000000', pubKey: hexOf(pub('mps')), parentId: 0, delegatedApproval: false },
    ],
    programs: [
      { id: 1001, category: 'dibao', group: 'basic-living', payment: 'monthly', standardFen: 80_000, approvalLevel: 'county', ownerOfficeId: 1 },
    ],
    budgets: [{ programId: 1001, year: 2026, region: '000000', amountFen: 1_000_000_000 }],
    ...extra,
  }
}

export interface LoggedBlock { txs: Uint8Array[], height: number, time: number }

export interface Chain {
  /** Every block run so far, to replay elsewhere (determinism tests). */
  log: LoggedBlock[]
  app: SocialApp
  store: AppStore
  height: number
  time: number
  appHashes: Uint8Array[]
  /** Runs one block of txs; time advances by `advance` ms (default one day). */
  block: (txs: Array<{ bytes: Uint8Array } | Uint8Array>, advance?: number) => Promise<FinalizeBlockResponse>
  /** Runs one tx in its own block and returns its result. */
  run: (signer: string, body: Body, o?: TxOpts & { advance?: number }) => Promise<TxResult & { opId: Uint8Array, name: ResultName | undefined }>
}

export async function newChain (opts: { appState?: Record<string, unknown>, store?: AppStore, maxTxTtl?: number } = {}): Promise<Chain> {
  const store = opts.store ?? createMemoryStore()
  const app = createSocialApp({ store, verifier, chainId: CHAIN, ...(opts.maxTxTtl === undefined ? {} : { maxTxTtl: opts.maxTxTtl }) })
  const init = await app.initChain({
    chainId: CHAIN, time: T0, initialHeight: 1, consensusParams: null as never, validators: VALIDATORS,
    appStateBytes: utf8(JSON.stringify(opts.appState ?? baseAppState())),
  })
  return attach(app, store, 0, T0, [init.appHash])
}

export function attach (app: SocialApp, store: AppStore, height: number, time: number, appHashes: Uint8Array[]): Chain {
  const c: Chain = {
    log: [], app, store, height, time, appHashes,
    async block (txs, advance = DAY) {
      c.height += 1
      c.time += advance
      const raw = txs.map((t) => (t instanceof Uint8Array ? t : t.bytes))
      c.log.push({ txs: raw, height: c.height, time: c.time })
      const res = await app.finalizeBlock({
        txs: raw, height: c.height, time: c.time, hash: new Uint8Array(32),
        proposerAddress: new Uint8Array(20), misbehavior: [], nextValidatorsHash: new Uint8Array(32),
      })
      await app.commit()
      c.appHashes.push(res.appHash)
      return res
    },
    async run (signer, body, o = {}) {
      const t = tx(signer, body, { height: c.height + 1, ...o })
      const res = await c.block([t], o.advance)
      const r = res.txResults[0] as TxResult
      return { ...r, opId: t.opId, name: resultName(r.code) }
    },
  }
  return c
}

export type Row = [label: string, signer: string, body: Body, want: ResultName]

/** Runs each row as its own block, asserting its result code name. */
export async function table (t: Test, c: Chain, rows: Row[], advance = DAY): Promise<Array<TxResult & { opId: Uint8Array }>> {
  const out = []
  for (const [label, signer, body, want] of rows) {
    const r = await c.run(signer, body, { advance })
    t.equal(r.name, want, `${label}: ${r.log === '' ? 'ok' : r.log}`)
    out.push(r)
  }
  return out
}

/** Replays logged blocks into an app (finalizeBlock + commit), returning each app hash. */
export async function replay (app: SocialApp, blocks: LoggedBlock[]): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for (const b of blocks) {
    const res = await app.finalizeBlock({
      txs: b.txs, height: b.height, time: b.time, hash: new Uint8Array(32), proposerAddress: new Uint8Array(20), misbehavior: [], nextValidatorsHash: new Uint8Array(32),
    })
    await app.commit()
    out.push(res.appHash)
  }
  return out
}

export function initRequest (appState: Record<string, unknown> = baseAppState()): Parameters<SocialApp['initChain']>[0] {
  return { chainId: CHAIN, time: T0, initialHeight: 1, consensusParams: null as never, validators: VALIDATORS, appStateBytes: utf8(JSON.stringify(appState)) }
}

/** A small seeded PRNG (mulberry32) for property tests; failures print the seed. */
export function rng (seed: number): { next: () => number, int: (n: number) => number, pick: <T>(xs: readonly T[]) => T } {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let x = a
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number): number => Math.floor(next() * n)
  return { next, int, pick: (xs) => xs[int(xs.length)] as never }
}
