/**
 * `aidledger keys add|list|show`: a keyring of office keys (DESIGN §6: every tx is signed
 * by an office key). One file per key, `<keyring>/<NAME>.json`, in CometBFT's key-file
 * shape (privval FilePVKey, with the key's name):
 *
 *   { "name": "mca", "address": "<20 bytes, upper hex>",
 *     "pub_key":  { "type": "tendermint/PubKeyEd25519",  "value": "<base64 32 bytes>" },
 *     "priv_key": { "type": "tendermint/PrivKeyEd25519", "value": "<base64 seed || pub>" } }
 *
 * Files are written atomically with mode 0600 in a 0700 directory (src/config/fsutil.ts),
 * and a key file other users may access is refused on load (ERR_KEYFILE_INSECURE), as the
 * node's own key files are. The keyring is `--keyring DIR`, else `<--home>/keyring`, else
 * $AIDLEDGER_KEYRING, else ~/.aidledger-keys.
 */
import { readdir } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { addressFromPubKey } from '../../crypto/address.ts'
import { generateKeyPair, type Ed25519KeyPair } from '../../crypto/ed25519.ts'
import { fromHex, toBase64, toHex } from '../../bytes.ts'
import { AidError } from '../../errors.ts'
import { checkKeyFileMode, DIR_MODE, ensureDir, KEY_FILE_MODE, pathExists, readTextFile, writeFileAtomic } from '../../config/fsutil.ts'
import { PUBKEY_TYPE_ED25519 } from '../../config/genesis.ts'
import { MAX_KEY_FILE_BYTES, PRIVKEY_TYPE_ED25519, parsePrivValidatorKey } from '../../config/keys.ts'
import { flag, stringOption, usageError, type Command, type CommandContext, type OptionSpec } from '../command.ts'

export const KEY_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/
export const DEFAULT_KEYRING = '.aidledger-keys'

export interface KeyringKey extends Ed25519KeyPair {
  name: string
  /** First 20 bytes of SHA-256(public key). */
  address: Uint8Array
  file: string
}

export const keyringOptions: Record<string, OptionSpec> = {
  keyring: { type: 'string', valueName: 'DIR', description: 'Keyring directory.', defaultText: '<--home>/keyring, $AIDLEDGER_KEYRING or ~/.aidledger-keys' },
  home: { type: 'string', valueName: 'DIR', description: 'Node home; its keyring/ subdirectory is the keyring.' },
}

/** Where the keyring is, from --keyring, --home, $AIDLEDGER_KEYRING or the default. */
export function keyringDir (o: { keyring?: string | undefined, home?: string | undefined, env?: NodeJS.ProcessEnv }): string {
  if (o.keyring !== undefined) return resolve(o.keyring)
  if (o.home !== undefined) return resolve(o.home, 'keyring')
  const env = (o.env ?? process.env).AIDLEDGER_KEYRING
  if (env !== undefined && env !== '') return resolve(env)
  return join(homedir(), DEFAULT_KEYRING)
}

export function keyringFromCtx (ctx: CommandContext): string {
  return keyringDir({ keyring: stringOption(ctx, 'keyring'), home: stringOption(ctx, 'home') })
}

function checkName (name: string): string {
  if (!KEY_NAME.test(name)) throw usageError(`key names are 1 to 64 letters, digits, '.', '_' or '-' (starting with a letter or digit), got ${JSON.stringify(name.slice(0, 70))}`, 'NAME')
  return name
}

export function keyFile (dir: string, name: string): string {
  return join(dir, `${checkName(name)}.json`)
}

export function keyToJson (name: string, kp: Ed25519KeyPair): Record<string, unknown> {
  return {
    name,
    address: toHex(addressFromPubKey(kp.publicKey)).toUpperCase(),
    pub_key: { type: PUBKEY_TYPE_ED25519, value: toBase64(kp.publicKey) },
    priv_key: { type: PRIVKEY_TYPE_ED25519, value: toBase64(kp.secretKey) },
  }
}

/** Writes a new key (refuses to overwrite); `seed` makes it deterministic. */
export async function addKey (dir: string, name: string, seed?: Uint8Array): Promise<KeyringKey> {
  const file = keyFile(dir, name)
  await ensureDir(dir, DIR_MODE)
  if (await pathExists(file)) throw new AidError('ERR_KEYFILE_INVALID', `a key named ${name} already exists; choose another name`, file)
  const kp = generateKeyPair(seed)
  await writeFileAtomic(file, JSON.stringify(keyToJson(name, kp), null, 2) + '\n', KEY_FILE_MODE)
  return { ...kp, name, address: addressFromPubKey(kp.publicKey), file }
}

/** Loads a key; refuses files other users may access, and files whose halves disagree. */
export async function loadKey (dir: string, name: string): Promise<KeyringKey> {
  const file = keyFile(dir, name)
  if (!(await pathExists(file))) throw new AidError('ERR_KEYFILE_INVALID', `no key named ${name} in the keyring ${dir} (run \`aidledger keys add ${name}\`)`, file)
  await checkKeyFileMode(file)
  const text = await readTextFile(file, { code: 'ERR_KEYFILE_INVALID', maxBytes: MAX_KEY_FILE_BYTES, what: 'key file' })
  let json: Record<string, unknown>
  try {
    json = JSON.parse(text) as Record<string, unknown>
  } catch (err) {
    throw new AidError('ERR_KEYFILE_INVALID', `not valid JSON: ${err instanceof Error ? err.message : String(err)}`, file)
  }
  if (typeof json !== 'object' || json === null || json.name !== name) throw new AidError('ERR_KEYFILE_INVALID', `"name" is not ${JSON.stringify(name)}`, file)
  const { name: _n, ...rest } = json
  // The rest is exactly CometBFT's priv_validator_key.json shape: reuse its strict parser.
  const k = parsePrivValidatorKey(JSON.stringify(rest), file)
  return { seed: k.seed, publicKey: k.publicKey, secretKey: k.secretKey, address: k.address, name, file }
}

export async function listKeys (dir: string): Promise<KeyringKey[]> {
  let names: string[]
  try {
    names = (await readdir(dir)).filter((f) => f.endsWith('.json') && KEY_NAME.test(f.slice(0, -5))).map((f) => f.slice(0, -5)).sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new AidError('ERR_KEYFILE_INVALID', `cannot read the keyring: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, dir)
  }
  const out: KeyringKey[] = []
  for (const n of names) out.push(await loadKey(dir, n))
  return out
}

function describe (k: KeyringKey): Record<string, string> {
  return { name: k.name, address: toHex(k.address).toUpperCase(), pubkey: toHex(k.publicKey), file: k.file }
}

function table (rows: Array<Record<string, string>>): string {
  if (rows.length === 0) return ''
  const cols = Object.keys(rows[0] as Record<string, string>)
  const w = cols.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? '').length)))
  const line = (r: Record<string, string>): string => cols.map((c, i) => (r[c] ?? c).padEnd(w[i] ?? 0)).join('  ').trimEnd()
  return [line(Object.fromEntries(cols.map((c) => [c, c]))), ...rows.map(line)].join('\n') + '\n'
}

function printKey (ctx: CommandContext, k: KeyringKey): void {
  if (flag(ctx, 'json')) { ctx.io.out(JSON.stringify(describe(k)) + '\n'); return }
  const d = describe(k)
  ctx.io.out(Object.entries(d).map(([a, b]) => `${a.padEnd(8)} ${b}`).join('\n') + '\n')
}

const json: OptionSpec = { type: 'boolean', description: 'Print JSON.' }

export const keysAddCommand: Command = {
  name: 'keys add',
  summary: 'Create an office key in the keyring.',
  description: 'Writes <keyring>/NAME.json (mode 0600). Give the printed pubkey to the parent office that\nregisters this office (`aidledger tx office register --pub-key …`).',
  options: {
    ...keyringOptions,
    seed: { type: 'string', valueName: 'HEX', description: 'Derive the key from this 32-byte seed (recovery, tests) instead of the OS CSPRNG.' },
    json,
  },
  positionals: [{ name: 'NAME', description: 'Key name (letters, digits, . _ -); several names add several keys.', required: true, variadic: true }],
  examples: ['aidledger keys add hubei-ca', 'aidledger keys add mca mof nhc --keyring ./keys'],
  async run (ctx) {
    const names = ctx.positionals.map(checkName)
    if (new Set(names).size !== names.length) throw usageError('a name is given twice', 'NAME')
    const seedHex = stringOption(ctx, 'seed')
    let seed: Uint8Array | undefined
    if (seedHex !== undefined) {
      if (!/^[0-9a-fA-F]{64}$/.test(seedHex)) throw usageError('expected 64 hex digits', '--seed')
      if (names.length > 1) throw usageError('a seed makes one key; give one NAME', '--seed')
      seed = fromHex(seedHex)
    }
    const dir = keyringFromCtx(ctx)
    for (const n of names) if (await pathExists(keyFile(dir, n))) throw new AidError('ERR_KEYFILE_INVALID', `a key named ${n} already exists; choose another name`, keyFile(dir, n))
    for (const [i, n] of names.entries()) {
      if (i > 0 && !flag(ctx, 'json')) ctx.io.out('\n')
      printKey(ctx, await addKey(dir, n, seed))
    }
  },
}

export const keysListCommand: Command = {
  name: 'keys list',
  summary: 'List the keys in the keyring.',
  options: { ...keyringOptions, json },
  examples: ['aidledger keys list', 'aidledger keys list --keyring ./keys --json'],
  async run (ctx) {
    const dir = keyringFromCtx(ctx)
    const keys = await listKeys(dir)
    if (flag(ctx, 'json')) {
      ctx.io.out(JSON.stringify(keys.map(describe)) + '\n')
      return
    }
    if (keys.length === 0) {
      ctx.io.out(`no keys in ${dir}\n`)
      return
    }
    ctx.io.out(table(keys.map((k) => { const { file: _f, ...d } = describe(k); return d })))
  },
}

export const keysShowCommand: Command = {
  name: 'keys show',
  summary: 'Show one key (never its private half).',
  options: {
    ...keyringOptions,
    pubkey: { type: 'boolean', description: 'Print only the public key as hex (for --pub-key flags).' },
    address: { type: 'boolean', description: 'Print only the address.' },
    json,
  },
  positionals: [{ name: 'NAME', description: 'Key name.', required: true }],
  examples: ['aidledger keys show mca', 'aidledger tx office register … --pub-key $(aidledger keys show hubei-ca --pubkey)'],
  async run (ctx) {
    const k = await loadKey(keyringFromCtx(ctx), checkName(ctx.positionals[0] ?? ''))
    if (flag(ctx, 'pubkey')) ctx.io.out(toHex(k.publicKey) + '\n')
    else if (flag(ctx, 'address')) ctx.io.out(toHex(k.address).toUpperCase() + '\n')
    else printKey(ctx, k)
  },
}

export const keysCommands: Command[] = [keysAddCommand, keysListCommand, keysShowCommand]
