/**
 * Key files in CometBFT's shapes: `node_key.json` (p2p/key.go NodeKey), and
 * `priv_validator_key.json` / `priv_validator_state.json` (privval/file.go FilePVKey and
 * FilePVLastSignState). Ed25519 keys come from src/crypto/ed25519.ts; the secret value is
 * base64(seed || public key), 64 bytes, as CometBFT and libsodium lay it out.
 *
 * Every file here is written atomically with mode 0600 (./fsutil.ts), so a crash never
 * leaves a half-written key, and loading refuses key files other users may access
 * (ERR_KEYFILE_INSECURE; see checkKeyFileMode for why refuse rather than warn).
 *
 * The node id is the libp2p peer id of the node key (where CometBFT uses the key's hex
 * address): the networking layer derives its libp2p identity from the same key, and
 * `NodeKey.seed` is the raw 32-byte Ed25519 seed.
 */
import { stat } from 'node:fs/promises'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { addressFromPubKey } from '../crypto/address.ts'
import { generateKeyPair, keyPairFromSecretKey, type Ed25519KeyPair } from '../crypto/ed25519.ts'
import { equalBytes, fromBase64, fromHex, toBase64, toHex } from '../bytes.ts'
import { AidError, isAidError } from '../errors.ts'
import { PUBKEY_TYPE_ED25519, pubKeyToJson } from './genesis.ts'
import { checkKeyFileMode, KEY_FILE_MODE, readTextFile, writeFileAtomic } from './fsutil.ts'

export const PRIVKEY_TYPE_ED25519 = 'tendermint/PrivKeyEd25519'
/** Key and state files are tiny; anything bigger is not one. */
export const MAX_KEY_FILE_BYTES = 64 * 1024

export interface NodeKey extends Ed25519KeyPair {
  /** 40 lower-case hex characters: the address of the public key (CometBFT p2p.ID). */
  readonly id: string
}

export interface PrivValidatorKey extends Ed25519KeyPair {
  /** First 20 bytes of SHA-256(public key). */
  readonly address: Uint8Array
}

/**
 * The double-sign guard's last signed (height, round, step) and what was signed.
 * Steps as CometBFT privval: 0 none, 1 propose, 2 prevote, 3 precommit.
 */
export interface PrivValidatorState {
  height: number
  round: number
  step: number
  signature: Uint8Array | null
  signBytes: Uint8Array | null
}

/**
 * The node id is the libp2p peer id of the node key (DESIGN §8: the node key is the libp2p
 * identity): identity multihash of the protobuf-encoded Ed25519 public key, base58btc, so
 * it starts with `12D3KooW`. `show-node-id` and `persistent_peers` use it as is.
 */
export function nodeIdFromPubKey (pub: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(pub)).toString()
}

export function nodeKeyFromKeyPair (kp: Ed25519KeyPair): NodeKey {
  return { seed: kp.seed, publicKey: kp.publicKey, secretKey: kp.secretKey, id: nodeIdFromPubKey(kp.publicKey) }
}

export function privValidatorKeyFromKeyPair (kp: Ed25519KeyPair): PrivValidatorKey {
  return { seed: kp.seed, publicKey: kp.publicKey, secretKey: kp.secretKey, address: addressFromPubKey(kp.publicKey) }
}

/** A fresh node key from the OS CSPRNG (or from `seed`, for tests). */
export function generateNodeKey (seed?: Uint8Array): NodeKey {
  return nodeKeyFromKeyPair(generateKeyPair(seed))
}

/** A fresh validator key from the OS CSPRNG (or from `seed`, for tests). */
export function generatePrivValidatorKey (seed?: Uint8Array): PrivValidatorKey {
  return privValidatorKeyFromKeyPair(generateKeyPair(seed))
}

export function initialPrivValidatorState (): PrivValidatorState {
  return { height: 0, round: 0, step: 0, signature: null, signBytes: null }
}

// ---- JSON shapes -------------------------------------------------------------------------

function privKeyToJson (kp: Ed25519KeyPair): { type: string, value: string } {
  return { type: PRIVKEY_TYPE_ED25519, value: toBase64(kp.secretKey) }
}

export function nodeKeyToJson (k: NodeKey): Record<string, unknown> {
  return { priv_key: privKeyToJson(k) }
}

export function privValidatorKeyToJson (k: PrivValidatorKey): Record<string, unknown> {
  return { address: toHex(k.address).toUpperCase(), pub_key: pubKeyToJson(k.publicKey), priv_key: privKeyToJson(k) }
}

export function privValidatorStateToJson (s: PrivValidatorState): Record<string, unknown> {
  const out: Record<string, unknown> = { height: String(s.height), round: s.round, step: s.step }
  if (s.signature !== null) out.signature = toBase64(s.signature)
  if (s.signBytes !== null) out.signbytes = toHex(s.signBytes).toUpperCase()
  return out
}

class KeyReader {
  constructor (readonly file: string) {}

  fail (path: string, detail: string): AidError {
    return new AidError('ERR_KEYFILE_INVALID', detail, path === '' ? this.file : `${this.file}: ${path}`)
  }

  json (text: string): unknown {
    try {
      return JSON.parse(text)
    } catch (err) {
      throw this.fail('', `not valid JSON: ${err instanceof Error ? err.message : String(err)}`)
    }
  }

  object (v: unknown, path: string, required: readonly string[], optional: readonly string[] = []): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw this.fail(path, `expected an object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`)
    const o = v as Record<string, unknown>
    const known = [...required, ...optional]
    for (const k of Object.keys(o)) {
      if (!known.includes(k)) throw this.fail(path === '' ? k : `${path}.${k}`, `unknown field (known: ${known.join(', ')})`)
    }
    for (const k of required) {
      if (!Object.prototype.hasOwnProperty.call(o, k)) throw this.fail(path === '' ? k : `${path}.${k}`, 'required field is missing')
    }
    return o
  }

  base64 (v: unknown, path: string, len: number, what: string): Uint8Array {
    if (typeof v !== 'string') throw this.fail(path, `expected base64 of ${what}, got ${typeof v}`)
    let b: Uint8Array
    try {
      b = fromBase64(v)
    } catch {
      throw this.fail(path, `expected standard padded base64 of ${what}`)
    }
    if (b.length !== len) throw this.fail(path, `expected ${len} bytes (${what}), got ${b.length}`)
    return b
  }

  typedKey (v: unknown, path: string, type: string, len: number, what: string): Uint8Array {
    const o = this.object(v, path, ['type', 'value'])
    if (o.type !== type) throw this.fail(`${path}.type`, `expected "${type}", got ${JSON.stringify(o.type)?.slice(0, 60) ?? 'nothing'}`)
    return this.base64(o.value, `${path}.value`, len, what)
  }

  privKey (v: unknown, path: string): Ed25519KeyPair {
    const secret = this.typedKey(v, path, PRIVKEY_TYPE_ED25519, 64, 'seed || public key')
    try {
      return keyPairFromSecretKey(secret, path)
    } catch (err) {
      if (isAidError(err)) throw this.fail(`${path}.value`, 'its public half does not match its seed (corrupt or tampered key)')
      throw err
    }
  }
}

export function parseNodeKey (text: string, file = 'node_key.json'): NodeKey {
  const r = new KeyReader(file)
  const o = r.object(r.json(text), '', ['priv_key'])
  return nodeKeyFromKeyPair(r.privKey(o.priv_key, 'priv_key'))
}

export function parsePrivValidatorKey (text: string, file = 'priv_validator_key.json'): PrivValidatorKey {
  const r = new KeyReader(file)
  const o = r.object(r.json(text), '', ['address', 'pub_key', 'priv_key'])
  const kp = r.privKey(o.priv_key, 'priv_key')
  const pub = r.typedKey(o.pub_key, 'pub_key', PUBKEY_TYPE_ED25519, 32, 'an Ed25519 public key')
  if (!equalBytes(pub, kp.publicKey)) throw r.fail('pub_key', 'does not match priv_key')
  const key = privValidatorKeyFromKeyPair(kp)
  if (typeof o.address !== 'string' || !/^[0-9a-fA-F]{40}$/.test(o.address)) throw r.fail('address', 'expected 40 hex characters')
  if (!equalBytes(fromHex(o.address), key.address)) {
    throw r.fail('address', `does not match pub_key (expected ${toHex(key.address).toUpperCase()})`)
  }
  return key
}

export function parsePrivValidatorState (text: string, file = 'priv_validator_state.json'): PrivValidatorState {
  const r = new KeyReader(file)
  const o = r.object(r.json(text), '', ['height', 'round', 'step'], ['signature', 'signbytes'])
  if (typeof o.height !== 'string' || !/^(0|[1-9]\d{0,15})$/.test(o.height) || !Number.isSafeInteger(Number(o.height))) {
    throw r.fail('height', 'expected a decimal string like "0"')
  }
  if (typeof o.round !== 'number' || !Number.isInteger(o.round) || o.round < 0 || o.round > 2 ** 31 - 1) {
    throw r.fail('round', 'expected an integer in [0, 2147483647]')
  }
  if (typeof o.step !== 'number' || !Number.isInteger(o.step) || o.step < 0 || o.step > 3) {
    throw r.fail('step', 'expected 0 (none), 1 (propose), 2 (prevote) or 3 (precommit)')
  }
  const signature = o.signature === undefined ? null : r.base64(o.signature, 'signature', 64, 'an Ed25519 signature')
  let signBytes: Uint8Array | null = null
  if (o.signbytes !== undefined) {
    if (typeof o.signbytes !== 'string' || !/^([0-9a-fA-F]{2}){0,65536}$/.test(o.signbytes)) throw r.fail('signbytes', 'expected hex')
    signBytes = fromHex(o.signbytes)
  }
  return { height: Number(o.height), round: o.round, step: o.step, signature, signBytes }
}

// ---- files -------------------------------------------------------------------------------

function render (json: Record<string, unknown>): string {
  return JSON.stringify(json, null, 2) + '\n'
}

async function readKeyFile (file: string): Promise<string> {
  await checkKeyFileMode(file)
  return await readTextFile(file, { code: 'ERR_KEYFILE_INVALID', maxBytes: MAX_KEY_FILE_BYTES, what: 'key file' })
}

export async function loadNodeKey (file: string): Promise<NodeKey> {
  return parseNodeKey(await readKeyFile(file), file)
}

export async function loadPrivValidatorKey (file: string): Promise<PrivValidatorKey> {
  return parsePrivValidatorKey(await readKeyFile(file), file)
}

/**
 * The state file holds no secret, but whoever can rewrite it can switch off the double-sign
 * guard, so one writable by group or others is refused.
 */
export async function loadPrivValidatorState (file: string): Promise<PrivValidatorState> {
  if (process.platform !== 'win32') {
    const mode = await stat(file).then((s) => s.mode & 0o777, () => undefined)
    if (mode !== undefined && (mode & 0o022) !== 0) {
      throw new AidError('ERR_KEYFILE_INSECURE', `mode ${mode.toString(8).padStart(4, '0')} lets other users rewrite the double-sign guard; run \`chmod 600 ${file}\``, file)
    }
  }
  const text = await readTextFile(file, { code: 'ERR_KEYFILE_INVALID', maxBytes: 4 * MAX_KEY_FILE_BYTES, what: 'validator state file' })
  return parsePrivValidatorState(text, file)
}

export async function writeNodeKey (file: string, k: NodeKey): Promise<void> {
  await writeFileAtomic(file, render(nodeKeyToJson(k)), KEY_FILE_MODE)
}

export async function writePrivValidatorKey (file: string, k: PrivValidatorKey): Promise<void> {
  await writeFileAtomic(file, render(privValidatorKeyToJson(k)), KEY_FILE_MODE)
}

/** Atomic and fsynced: privval must have this on disk before it releases a signature. */
export async function writePrivValidatorState (file: string, s: PrivValidatorState): Promise<void> {
  await writeFileAtomic(file, render(privValidatorStateToJson(s)), KEY_FILE_MODE)
}
