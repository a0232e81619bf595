/**
 * The node's home directory, laid out as CometBFT's (DESIGN §9; CometBFT config/toml.go
 * EnsureRoot and cmd/cometbft/commands/init.go, reset.go):
 *
 *   <home>/config/config.toml             settings (0644)
 *   <home>/config/genesis.json            the chain's genesis (0644)
 *   <home>/config/node_key.json           p2p identity key (0600)
 *   <home>/config/priv_validator_key.json validator signing key (0600)
 *   <home>/data/priv_validator_state.json double-sign guard (0600)
 *   <home>/data/cs.wal/                   consensus write-ahead log
 *   <home>/data/*                         block, state, app and evidence databases
 *
 * Directories are created 0700. `initHome` writes a one-validator home; `writeHome` is the
 * shared lower half that `testnet` (./testnet.ts) and devnets use with keys and genesis of
 * their own; `resetHome` wipes data/ but never config/ (keys, config, genesis).
 */
import { readdir, rm, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { toHex } from '../bytes.ts'
import { AidError, isAidError } from '../errors.ts'
import { type Config, type ConfigProfile, defaultConfig, loadConfig, writeConfig } from './config.ts'
import { ensureDir, pathExists } from './fsutil.ts'
import {
  type DefaultAppState, type Genesis, genesisHash, loadGenesis, newGenesis, type ValidateAppState, writeGenesis,
} from './genesis.ts'
import {
  generateNodeKey, generatePrivValidatorKey, initialPrivValidatorState, loadNodeKey, loadPrivValidatorKey,
  loadPrivValidatorState, type NodeKey, type PrivValidatorKey, type PrivValidatorState, writeNodeKey,
  writePrivValidatorKey, writePrivValidatorState,
} from './keys.ts'

export interface HomePaths {
  home: string
  configDir: string
  dataDir: string
  walDir: string
  configFile: string
  genesisFile: string
  nodeKeyFile: string
  privValidatorKeyFile: string
  privValidatorStateFile: string
}

export function homePaths (home: string): HomePaths {
  const root = resolve(home)
  const configDir = join(root, 'config')
  const dataDir = join(root, 'data')
  return {
    home: root,
    configDir,
    dataDir,
    walDir: join(dataDir, 'cs.wal'),
    configFile: join(configDir, 'config.toml'),
    genesisFile: join(configDir, 'genesis.json'),
    nodeKeyFile: join(configDir, 'node_key.json'),
    privValidatorKeyFile: join(configDir, 'priv_validator_key.json'),
    privValidatorStateFile: join(dataDir, 'priv_validator_state.json'),
  }
}

/** Voting power each validator gets in a generated genesis (CometBFT's init uses 10). */
export const DEFAULT_VALIDATOR_POWER = 10

/** Files whose presence marks a directory as an initialised home. */
function markerFiles (p: HomePaths): string[] {
  return [p.configFile, p.genesisFile, p.nodeKeyFile, p.privValidatorKeyFile, p.privValidatorStateFile]
}

/** The marker files that exist; empty for a fresh directory. */
export async function existingHomeFiles (p: HomePaths): Promise<string[]> {
  const found: string[] = []
  for (const f of markerFiles(p)) if (await pathExists(f)) found.push(f)
  return found
}

async function checkHomeDir (home: string): Promise<void> {
  const st = await stat(home).catch(() => undefined)
  if (st !== undefined && !st.isDirectory()) throw new AidError('ERR_HOME_INVALID', 'exists but is not a directory', home)
}

export async function ensureHomeDirs (p: HomePaths): Promise<void> {
  await checkHomeDir(p.home)
  await ensureDir(p.home)
  await ensureDir(p.configDir)
  await ensureDir(p.dataDir)
  await ensureDir(p.walDir)
}

export interface HomeContents {
  config: Config
  genesis: Genesis
  nodeKey: NodeKey
  privValidatorKey: PrivValidatorKey
  /** Written only when given or when the home has none (an existing guard is never lowered). */
  privValidatorState?: PrivValidatorState
}

/** Write a complete home: directories, config, genesis, keys and, if missing, the signing state. */
export async function writeHome (p: HomePaths, c: HomeContents): Promise<void> {
  await ensureHomeDirs(p)
  await writeNodeKey(p.nodeKeyFile, c.nodeKey)
  await writePrivValidatorKey(p.privValidatorKeyFile, c.privValidatorKey)
  if (c.privValidatorState !== undefined) {
    await writePrivValidatorState(p.privValidatorStateFile, c.privValidatorState)
  } else if (!(await pathExists(p.privValidatorStateFile))) {
    await writePrivValidatorState(p.privValidatorStateFile, initialPrivValidatorState())
  }
  await writeGenesis(p.genesisFile, c.genesis)
  await writeConfig(p.configFile, c.config)
}

export interface InitHomeOptions {
  home: string
  chainId: string
  /** Default: this machine's host name. */
  moniker?: string
  /** Rewrite config.toml and genesis.json of an existing home (its keys are kept). */
  force?: boolean
  /** Default: now. */
  genesisTimeMs?: number
  /** Default `default` (P2P on all interfaces). */
  profile?: ConfigProfile
  power?: number
  /** The application's default app_state; `{}` when absent. */
  appState?: DefaultAppState
  validateAppState?: ValidateAppState
}

export interface InitHomeResult {
  paths: HomePaths
  nodeId: string
  /** Upper-case hex, as CometBFT prints it. */
  validatorAddress: string
  genesisHash: string
  /** True when --force kept keys already present. */
  reusedKeys: boolean
  /** Things the operator should know (printed by the CLI). */
  warnings: string[]
}

async function loadIfPresent<T> (file: string, load: (f: string) => Promise<T>): Promise<T | undefined> {
  if (!(await pathExists(file))) return undefined
  try {
    return await load(file)
  } catch (err) {
    if (isAidError(err)) throw new AidError(err.code, `${err.message.replace(/^ERR_\w+: /, '')} — an existing key is never overwritten; move it away to generate a new one`)
    throw err
  }
}

/**
 * Initialise a one-validator home (`aidledger init`). Refuses (ERR_HOME_EXISTS) when the
 * directory already holds a home, unless `force`: then config.toml and genesis.json are
 * rewritten, while existing keys and the double-sign guard are kept — a validator key is
 * never silently replaced.
 */
export async function initHome (o: InitHomeOptions): Promise<InitHomeResult> {
  const p = homePaths(o.home)
  await checkHomeDir(p.home)
  const existing = await existingHomeFiles(p)
  if (existing.length > 0 && o.force !== true) {
    throw new AidError('ERR_HOME_EXISTS', `already initialised (found ${existing.map((f) => f.slice(p.home.length + 1)).join(', ')}); use --force to rewrite config.toml and genesis.json (keys are kept)`, p.home)
  }
  const warnings: string[] = []
  const oldNodeKey = await loadIfPresent(p.nodeKeyFile, loadNodeKey)
  const oldValKey = await loadIfPresent(p.privValidatorKeyFile, loadPrivValidatorKey)
  const oldState = await loadIfPresent(p.privValidatorStateFile, loadPrivValidatorState)
  const nodeKey = oldNodeKey ?? generateNodeKey()
  const privValidatorKey = oldValKey ?? generatePrivValidatorKey()
  const moniker = o.moniker ?? (hostname().trim() || 'aidledger-node')
  const config = defaultConfig(o.profile)
  config.moniker = moniker.slice(0, 64)
  const genesis = await newGenesis({
    chainId: o.chainId,
    genesisTimeMs: o.genesisTimeMs ?? Date.now(),
    validators: [{ pubKey: privValidatorKey.publicKey, power: o.power ?? DEFAULT_VALIDATOR_POWER, name: config.moniker }],
    appState: o.appState,
    validateAppState: o.validateAppState,
  })
  if (oldState !== undefined && oldState.height > 0) {
    warnings.push(`data/priv_validator_state.json has signed up to height ${oldState.height}; a new chain needs \`aidledger reset --home ${p.home} --yes\` before the validator can sign`)
  }
  const dataEntries = await readdir(p.dataDir).catch(() => [] as string[])
  if (dataEntries.some((e) => e !== 'priv_validator_state.json' && e !== 'cs.wal')) {
    warnings.push(`data/ holds chain data from before this genesis; run \`aidledger reset --home ${p.home} --yes\` to start the new chain cleanly`)
  }
  await writeHome(p, { config, genesis, nodeKey, privValidatorKey })
  return {
    paths: p,
    nodeId: nodeKey.id,
    validatorAddress: toHex(privValidatorKey.address).toUpperCase(),
    genesisHash: toHex(genesisHash(genesis)).toUpperCase(),
    reusedKeys: oldNodeKey !== undefined || oldValKey !== undefined,
    warnings,
  }
}

export interface LoadedHome extends Required<HomeContents> {
  paths: HomePaths
}

/** Load and check everything in a home (what `start` needs). Throws the file's own error code. */
export async function loadHome (home: string, opts: { validateAppState?: ValidateAppState } = {}): Promise<LoadedHome> {
  const paths = homePaths(home)
  if (!(await pathExists(paths.configDir))) {
    throw new AidError('ERR_HOME_INVALID', 'no config/ directory; run `aidledger init` first', paths.home)
  }
  return {
    paths,
    config: await loadConfig(paths.configFile),
    genesis: await loadGenesis(paths.genesisFile, opts),
    nodeKey: await loadNodeKey(paths.nodeKeyFile),
    privValidatorKey: await loadPrivValidatorKey(paths.privValidatorKeyFile),
    privValidatorState: await loadPrivValidatorState(paths.privValidatorStateFile),
  }
}

export interface ResetResult {
  /** Entries of data/ that were removed (names relative to data/). */
  removed: string[]
  /** The signing state that was reset to zero, if one was present. */
  previousState: PrivValidatorState | undefined
}

/**
 * `aidledger reset`: delete every database and the WAL under data/ and set the double-sign
 * guard back to height 0. config/ (keys, config.toml, genesis.json) is never touched.
 *
 * Only runs on a directory that looks like a home (config/genesis.json or config.toml
 * present), so a mistyped --home cannot empty an unrelated data/ directory.
 */
export async function resetHome (home: string): Promise<ResetResult> {
  const p = homePaths(home)
  const isHome = (await pathExists(p.genesisFile)) || (await pathExists(p.configFile))
  if (!isHome) {
    throw new AidError('ERR_HOME_INVALID', 'not an aidledger home (no config/genesis.json or config/config.toml); nothing was deleted', p.home)
  }
  let previousState: PrivValidatorState | undefined
  try {
    previousState = await loadPrivValidatorState(p.privValidatorStateFile)
  } catch {
    previousState = undefined // a corrupt or missing guard is replaced below anyway
  }
  const removed: string[] = []
  const entries = await readdir(p.dataDir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [] as string[]
    throw new AidError('ERR_HOME_INVALID', `cannot list data/: ${err.code ?? err.message}`, p.dataDir)
  })
  for (const name of entries.sort()) {
    if (name === 'priv_validator_state.json') continue
    await rm(join(p.dataDir, name), { recursive: true, force: true })
    removed.push(name)
  }
  await ensureHomeDirs(p)
  await writePrivValidatorState(p.privValidatorStateFile, initialPrivValidatorState())
  return { removed, previousState }
}
