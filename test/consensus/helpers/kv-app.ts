/**
 * A minimal deterministic Application for the engine tests: txs are signed envelopes
 * (src/types TxEnvelope, as the mempool requires) whose body is `key=value`; the app hash
 * is a hash chain over the previous app hash, the height and every tx; a body
 * `val:<pubkey hex>:<power>` returns a validator update. State persists (like a real app's
 * database) in a `KvDisk` object that survives an engine restart; it is written at commit,
 * CometBFT style, so a crash between finalizeBlock and commit leaves the app one block behind.
 */
import type {
  AppInfo, Application, CheckTxResult, FinalizeBlockResponse, InitChainResponse, TxResult,
} from '../../../src/abci.ts'
import { fromHex, toHex, utf8 } from '../../../src/bytes.ts'
import { tryDecode } from '../../../src/codec/index.ts'
import { keyPairFromSeed, sign, type Ed25519KeyPair } from '../../../src/crypto/ed25519.ts'
import { sha256Concat } from '../../../src/crypto/hash.ts'
import { encode } from '../../../src/codec/index.ts'
import { TxEnvelopeSchema, evidenceHash, txHash, txSignBytes, type ValidatorUpdate } from '../../../src/types/index.ts'

export interface KvDisk {
  chainId: string | null
  height: number
  appHash: Uint8Array
  entries: Map<string, string>
  /** tx hash hex → height committed */
  committed: Map<string, number>
}

export function newKvDisk (): KvDisk {
  return { chainId: null, height: 0, appHash: new Uint8Array(0), entries: new Map(), committed: new Map() }
}

export interface KvApp extends Application {
  readonly disk: KvDisk
  /** Calls per method (tests look at replay behaviour). */
  readonly calls: Record<string, number>
}

const dec = new TextDecoder()

function bodyOf (tx: Uint8Array): string | null {
  const env = tryDecode(TxEnvelopeSchema, tx)
  return env.ok ? dec.decode(env.value.body) : null
}

export interface KvAppOptions {
  /** When the block's state reaches the disk: at commit (classic ABCI, default; state/app.ts too) or already in finalizeBlock (apps that do keep a crash window the handshake reports). */
  persistAt?: 'commit' | 'finalize'
}

export function createKvApp (disk: KvDisk, opts: KvAppOptions = {}): KvApp {
  const calls: Record<string, number> = {}
  const count = (m: string): void => { calls[m] = (calls[m] ?? 0) + 1 }
  let pending: { height: number, appHash: Uint8Array, sets: Array<[string, string]>, txs: string[] } | null = null
  const persist = (): void => {
    if (pending === null) return
    for (const [k, v] of pending.sets) disk.entries.set(k, v)
    for (const t of pending.txs) if (!disk.committed.has(t)) disk.committed.set(t, pending.height)
    disk.height = pending.height
    disk.appHash = pending.appHash
    pending = null
  }

  const info = async (): Promise<AppInfo> => {
    count('info')
    return { version: 'kv-test', appVersion: 1, lastBlockHeight: disk.height, lastBlockAppHash: disk.appHash }
  }

  return {
    disk,
    calls,
    info,
    initChain: async (req): Promise<InitChainResponse> => {
      count('initChain')
      if (disk.chainId === null) {
        disk.chainId = req.chainId
        disk.appHash = sha256Concat(utf8('kv-genesis'), utf8(req.chainId), req.appStateBytes)
        disk.height = req.initialHeight - 1
      }
      return { validators: null, consensusParams: null, appHash: disk.appHash }
    },
    checkTx: async (tx): Promise<CheckTxResult> => {
      count('checkTx')
      const env = tryDecode(TxEnvelopeSchema, tx)
      if (!env.ok) return { code: 1, codespace: 'kv', log: 'malformed', sender: '' }
      if (disk.committed.has(toHex(txHash(tx)))) return { code: 2, codespace: 'kv', log: 'already committed', sender: toHex(env.value.signer) }
      return { code: 0, codespace: '', log: '', sender: toHex(env.value.signer) }
    },
    prepareProposal: async (req) => {
      count('prepareProposal')
      const out: Uint8Array[] = []
      let size = 0
      for (const tx of req.txs) {
        const n = tx.length + 5
        if (size + n > req.maxTxBytes) break
        out.push(tx)
        size += n
      }
      return out
    },
    processProposal: async (req) => {
      count('processProposal')
      for (const tx of req.txs) if (bodyOf(tx) === 'reject-me') return 'reject'
      return 'accept'
    },
    finalizeBlock: async (req): Promise<FinalizeBlockResponse> => {
      count('finalizeBlock')
      if (req.height !== disk.height + 1) throw new Error(`kv app: finalizeBlock(${req.height}) at height ${disk.height}`)
      let h = sha256Concat(disk.appHash, utf8(`h${req.height}`))
      const txResults: TxResult[] = []
      const sets: Array<[string, string]> = []
      const validatorUpdates: ValidatorUpdate[] = []
      const txs: string[] = []
      const seen = new Set<string>()
      for (const tx of req.txs) {
        const key = toHex(txHash(tx))
        const body = bodyOf(tx)
        const dup = disk.committed.has(key) || seen.has(key)
        seen.add(key)
        txs.push(key)
        h = sha256Concat(h, txHash(tx))
        if (body === null || dup) {
          txResults.push({ code: dup ? 2 : 1, codespace: 'kv', log: dup ? 'duplicate' : 'malformed', data: new Uint8Array(0), events: [] })
          continue
        }
        if (body.startsWith('val:')) {
          const [, pub, power] = body.split(':')
          validatorUpdates.push({ pubKey: fromHex(pub ?? ''), power: Number(power) })
        } else {
          const eq = body.indexOf('=')
          sets.push([body.slice(0, eq), body.slice(eq + 1)])
        }
        txResults.push({
          code: 0, codespace: '', log: '', data: utf8(body.slice(0, 16)),
          events: [{ type: 'kv', attributes: [{ key: 'tx', value: body.slice(0, 64), index: true }] }],
        })
      }
      for (const ev of req.misbehavior) h = sha256Concat(h, evidenceHash(ev))
      pending = { height: req.height, appHash: h, sets, txs }
      if (opts.persistAt === 'finalize') persist()
      return { txResults, events: [{ type: 'block', attributes: [{ key: 'height', value: String(req.height), index: true }] }], validatorUpdates, consensusParamUpdates: null, appHash: h }
    },
    commit: async () => {
      count('commit')
      persist()
      return { retainHeight: 0 }
    },
    query: async (req) => {
      count('query')
      const v = disk.entries.get(dec.decode(req.data))
      return { code: v === undefined ? 1 : 0, codespace: '', log: '', key: req.data, value: utf8(v ?? ''), proofOps: [], height: disk.height }
    },
  }
}

/** A client that signs tx envelopes for `chainId`. */
export function createTxClient (chainId: string, seedByte: number): { key: Ed25519KeyPair, tx: (body: string, nonce?: number) => Uint8Array } {
  const key = keyPairFromSeed(new Uint8Array(32).fill(seedByte))
  let n = 0
  return {
    key,
    tx: (body, nonce) => {
      const unsigned = { chainId, signer: key.publicKey, expiresAtHeight: 1_000_000, nonce: nonce ?? n++, body: utf8(body) }
      return encode(TxEnvelopeSchema, { ...unsigned, signature: sign(key, txSignBytes(unsigned)) })
    },
  }
}
