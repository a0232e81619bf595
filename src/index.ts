/**
 * The aidledger package entry for app developers (DESIGN §1): the JSON-RPC client
 * (rpc/client.ts) wired to the social-assistance app (state/client.ts) — typed tx
 * builders for every operation, and queries decoded and verified against a committed
 * header. Like the CLI, the entry may import every folder; rpc/ and state/ stay apart.
 *
 *   import { connect, generateKeyPair } from 'aidledger'
 *   const c = connect({ url: 'http://127.0.0.1:26657' })
 *   const signed = await c.txs.applicationSubmit({ subjectId, programId: 1001 }, { signer: officeKey })
 *   const r = await c.broadcastTxCommit(signed.bytes)      // r.txResult.data = signed.opId
 *   const q = await c.query(`/application/${toHex(signed.opId)}`)
 *   // q.verified === true; q.value = [{ key, record }]; q.proof = { height, appHash, ... }
 *
 * (package.json should point "main"/"exports" here: `"exports": { ".": "./src/index.ts" }`.)
 */
import { createClient, type AidClient, type ClientOptions, type QueryResult } from '../rpc/client.ts'
import {
  appQueryCodec, BODY_TYPES, opName, signBody, type Body, type BodyOf, type BodyType, type QueryEntry, type SignedAppTx,
} from '../state/client.ts'
import type { Ed25519KeyPair, Ed25519Signer } from './crypto/ed25519.ts'

export * from '../rpc/client.ts'
export {
  appQueryCodec, body, tx, signBody, decodeAppTx, encodeBody, decodeBody, opName, bodyFields, bodyFromPlain, bodyToPlain,
  describeKind, fromPlain, kindOf, PlainValueError, BODY_TYPES,
  type Body, type BodyOf, type BodyType, type BodyBuilders, type TxBuilders, type FieldKind, type OpName, type QueryEntry,
  type SignOptions, type SignedAppTx,
} from '../state/client.ts'
export { resultName, ResultCodes, type ResultName } from '../state/codes.ts'
export { decodeQueryValue } from '../state/query.ts'
export { generateKeyPair, keyPairFromSeed, createSigner, type Ed25519KeyPair, type Ed25519Signer } from './crypto/ed25519.ts'
export { toHex, fromHex } from './bytes.ts'

/** Signing options of the connected builders: chain id and expiry come from the node unless given. */
export interface ConnectedSignOptions {
  signer: Ed25519KeyPair | Ed25519Signer
  /** expiresAtHeight = latest height + ttl (default 100) unless `expiresAtHeight` is given. */
  ttl?: number
  expiresAtHeight?: number
  chainId?: string
  nonce?: number
}

export type ConnectedTxBuilders = {
  [K in BodyType as ReturnType<typeof opName<K>>]: (value: BodyOf<K>, o: ConnectedSignOptions) => Promise<SignedAppTx>
}

export interface AppClient extends Omit<AidClient, 'query'> {
  /** Typed builders: `await c.txs.officeRegister({...}, { signer })` → signed envelope. */
  txs: ConnectedTxBuilders
  /** Builds, signs and commits one body; resolves with the signed tx and the node's answer. */
  send: (b: Body, o: ConnectedSignOptions) => Promise<{ signed: SignedAppTx, result: Awaited<ReturnType<AidClient['broadcastTxCommit']>> }>
  /** An app query, verified against header height+1 unless `prove: false`. */
  query: (path: string, o?: { height?: number, prove?: boolean, waitMs?: number }) => Promise<QueryResult<QueryEntry[]>>
}

/** A client for an aidledger node running the social-assistance app. */
export function connect (opts: ClientOptions): AppClient {
  const c = createClient({ ...opts, codec: opts.codec ?? appQueryCodec })
  let chainId: string | undefined = opts.chainId
  async function sign (b: Body, o: ConnectedSignOptions): Promise<SignedAppTx> {
    let cid = o.chainId ?? chainId
    let exp = o.expiresAtHeight
    if (cid === undefined || exp === undefined) {
      const st = await c.status()
      cid ??= st.network
      chainId ??= st.network
      exp ??= st.latestHeight + (o.ttl ?? 100)
    }
    return signBody(b, { signer: o.signer, chainId: cid, expiresAtHeight: exp, ...(o.nonce === undefined ? {} : { nonce: o.nonce }) })
  }
  const txs = Object.fromEntries(BODY_TYPES.map((t) => [opName(t), async (value: unknown, o: ConnectedSignOptions) => await sign({ type: t, value } as Body, o)])) as ConnectedTxBuilders
  return {
    ...c,
    txs,
    async send (b, o) {
      const signed = await sign(b, o)
      return { signed, result: await c.broadcastTxCommit(signed.bytes) }
    },
    query: async (path, o = {}) => await c.query<QueryEntry[]>(path, { ...o, codec: appQueryCodec }),
  }
}
