/**
 * config.toml: the node's local settings (CometBFT config/config.go and its TOML template,
 * the sections and keys this node uses, with CometBFT's defaults where they exist).
 *
 * The schema below is one table of typed fields (./fields.ts). It drives the loader (reject
 * unknown keys and wrong types, naming the file, the key path and what was expected; fill
 * defaults), the `Config` type, and the writer, which emits every key with a comment above
 * it and its default.
 *
 * Field names in `Config` are the TOML keys, so one name serves the file, the code and the
 * error messages. Durations are integer milliseconds once loaded.
 */
import { parse as parseToml, TomlError } from 'smol-toml'
import { AidError } from '../errors.ts'
import { MAX_TX_BYTES } from '../types/primitives.ts'
import {
  boolField, durationField, enumField, type Field, FieldError, hostPortField, intField,
  nodeIdItem, parsePeerAddress, peerItem, stringField, stringListField, tcpAddrField,
} from './fields.ts'
import { PUBLIC_FILE_MODE, readTextFile, writeFileAtomic } from './fsutil.ts'

export const DEFAULT_P2P_PORT = 26656
export const DEFAULT_RPC_PORT = 26657
export const DEFAULT_METRICS_PORT = 26660
/** config.toml larger than this is refused before parsing. */
export const MAX_CONFIG_BYTES = 1024 * 1024

const ROOT = {
  moniker: stringField({
    doc: 'A name for this node, shown to peers, in logs and in metrics. Not unique, not secret.',
    default: 'aidledger-node',
    max: 64,
    pattern: /^\S(.*\S)?$/,
    expected: 'a name of 1 to 64 characters without leading or trailing spaces',
  }),
  log_level: enumField(['debug', 'info', 'warn', 'error'] as const, {
    doc: 'Least severe log level written: "debug", "info", "warn" or "error".',
    default: 'info',
  }),
  log_format: enumField(['json', 'plain'] as const, {
    doc: 'Log line format: "json" (one JSON object per line, for log collectors) or "plain" (for people).',
    default: 'json',
  }),
}

const SECTIONS = {
  rpc: {
    laddr: tcpAddrField({
      doc: 'TCP address the JSON-RPC server (HTTP and WebSocket) listens on. Keep it on 127.0.0.1\n' +
        'unless a reverse proxy or firewall guards it; port 0 picks a free port.',
      default: `tcp://127.0.0.1:${DEFAULT_RPC_PORT}`,
    }),
    cors_allowed_origins: stringListField({
      doc: 'Origins allowed to call the RPC from a browser (CORS), e.g. ["https://case.example.gov.cn"];\n' +
        '["*"] allows any origin; [] disables CORS.',
      default: [],
      max: 100,
      unique: true,
      item: stringField({
        doc: '',
        default: '',
        pattern: /^(\*|https?:\/\/[^\s/]+)$/,
        expected: '"*" or an origin like "https://host[:port]"',
      }),
    }),
    max_body_bytes: intField({ doc: 'Largest HTTP request body, and WebSocket message, accepted, in bytes.', default: 1_000_000, min: 1024, max: 100 * 1024 * 1024 }),
    max_batch_size: intField({ doc: 'Most JSON-RPC calls accepted in one batch request.', default: 10, min: 1, max: 1000 }),
    max_open_connections: intField({ doc: 'Most simultaneous RPC connections (HTTP and WebSocket); 0 means no limit.', default: 900, max: 100_000 }),
    max_subscription_clients: intField({ doc: 'Most WebSocket clients that may hold event subscriptions at once.', default: 100, max: 100_000 }),
    max_subscriptions_per_client: intField({ doc: 'Most event subscriptions one WebSocket client may hold.', default: 5, min: 1, max: 10_000 }),
    timeout_broadcast_tx_commit: durationField({
      doc: 'How long broadcast_tx_commit waits for the tx to be committed in a block before giving up.',
      default: 10_000,
      min: 1,
      max: 3_600_000,
    }),
    rate_limit_per_ip: intField({ doc: 'Sustained RPC requests per second allowed from one client IP address; 0 turns rate limiting off.', default: 100, max: 1_000_000 }),
    rate_limit_burst: intField({ doc: 'Requests one client IP may send in a burst above the sustained rate.', default: 200, max: 1_000_000 }),
  },
  p2p: {
    laddr: tcpAddrField({
      doc: 'TCP address the peer-to-peer (libp2p) listener binds to.',
      default: `tcp://0.0.0.0:${DEFAULT_P2P_PORT}`,
    }),
    external_address: stringField({
      doc: 'Address other nodes should dial to reach this one, "host:port"; "" means the listen address.',
      default: '',
      expected: '"" or an address like "203.0.113.7:26656"',
      check: (s) => {
        if (s === '') return undefined
        const p = parsePeerAddress(`${'0'.repeat(40)}@${s}`)
        return typeof p === 'string' ? p : undefined
      },
    }),
    persistent_peers: stringListField({
      doc: 'Peers this node always keeps a connection to, redialling when it drops: "node_id@host:port",\n' +
        'where node_id is the peer\'s `aidledger show-node-id`. Persistent peers are always allowed in.',
      default: [],
      item: peerItem,
      unique: true,
    }),
    allowed_peer_ids: stringListField({
      doc: 'The network is permissioned: node ids (from `aidledger show-node-id`) allowed to connect to this\n' +
        'node, besides its persistent peers. Any other peer is refused at connection time.',
      default: [],
      item: nodeIdItem,
      unique: true,
    }),
    max_num_inbound_peers: intField({ doc: 'Most inbound peer connections.', default: 40, max: 1000 }),
    max_num_outbound_peers: intField({ doc: 'Most outbound peer connections (persistent peers included).', default: 10, max: 1000 }),
    dial_timeout: durationField({ doc: 'How long to wait for a TCP connection to a peer.', default: 3000, min: 1, max: 300_000 }),
    handshake_timeout: durationField({ doc: 'How long to wait for the encrypted handshake (Noise) and stream setup with a peer.', default: 20_000, min: 1, max: 300_000 }),
    max_frame_bytes: intField({
      doc: 'Largest single message frame a peer may send on any channel, in bytes; a peer that sends a\n' +
        'larger one is disconnected. Channels apply smaller caps of their own (votes, txs).',
      default: 10 * 1024 * 1024,
      min: 128 * 1024,
      max: 64 * 1024 * 1024,
    }),
    ban_duration: durationField({
      doc: 'How long a peer that misbehaved (malformed or oversize messages) stays disconnected.',
      default: 600_000,
      max: 7 * 24 * 3_600_000,
    }),
  },
  mempool: {
    size: intField({ doc: 'Most transactions held in the mempool.', default: 5000, min: 1, max: 10_000_000 }),
    max_txs_bytes: intField({ doc: 'Most bytes of transactions held in the mempool, all together.', default: 1024 * 1024 * 1024, min: 1024 }),
    max_tx_bytes: intField({ doc: `Largest single transaction accepted, in bytes (at most ${MAX_TX_BYTES}).`, default: MAX_TX_BYTES, min: 1, max: MAX_TX_BYTES }),
    cache_size: intField({ doc: 'Hashes of recently seen transactions remembered, so duplicates are dropped cheaply; 0 disables the cache.', default: 10_000, max: 10_000_000 }),
    recheck: boolField({ doc: 'Re-check the remaining mempool transactions against the new state after every block.', default: true }),
    broadcast: boolField({ doc: 'Gossip transactions received over RPC to peers.', default: true }),
    verify_workers: intField({ doc: 'Signature-verifying worker threads; 0 means one per CPU core. Lower it when several nodes share one machine (the devnet uses 1).', default: 0, max: 256 }),
  },
  consensus: {
    timeout_propose: durationField({ doc: 'How long to wait for a proposal in round 0 before prevoting nil.', default: 3000, min: 1 }),
    timeout_propose_delta: durationField({ doc: 'Added to timeout_propose for every further round.', default: 500 }),
    timeout_prevote: durationField({ doc: 'How long to wait, after seeing +2/3 prevotes for anything, for a polka before precommitting nil.', default: 1000, min: 1 }),
    timeout_prevote_delta: durationField({ doc: 'Added to timeout_prevote for every further round.', default: 500 }),
    timeout_precommit: durationField({ doc: 'How long to wait, after seeing +2/3 precommits for anything, before moving to the next round.', default: 1000, min: 1 }),
    timeout_precommit_delta: durationField({ doc: 'Added to timeout_precommit for every further round.', default: 500 }),
    timeout_commit: durationField({ doc: 'How long to wait after committing a block, collecting late precommits, before starting the next height.', default: 1000 }),
    skip_timeout_commit: boolField({ doc: 'Start the next height as soon as all precommits are in, instead of waiting timeout_commit.', default: false }),
    create_empty_blocks: boolField({ doc: 'Propose blocks even when the mempool is empty.', default: true }),
    create_empty_blocks_interval: durationField({ doc: 'With create_empty_blocks, the least time between empty blocks; "0s" means no extra wait.', default: 0 }),
    max_clock_drift: durationField({
      doc: 'How far ahead of this node\'s clock a proposal\'s time may be before the node prevotes nil.\n' +
        'Keep every validator\'s clock synchronised (NTP); this is a safety margin, not a substitute.',
      default: 10_000,
      min: 1,
    }),
  },
  storage: {
    keep_recent: intField({
      doc: 'Application state versions (heights) kept for queries and proofs; older ones are pruned.\n' +
        '0 keeps every version.',
      default: 100,
    }),
    retain_blocks: intField({
      doc: 'Blocks kept on disk; older ones are pruned. 0 keeps every block, as auditors need: only\n' +
        'prune on nodes that do not serve history.',
      default: 0,
    }),
  },
  tx_index: {
    indexer: enumField(['kv', 'null'] as const, {
      doc: 'Transaction indexer behind tx and tx_search: "kv" indexes every tx by hash, height and events;\n' +
        '"null" turns indexing off.',
      default: 'kv',
    }),
  },
  instrumentation: {
    prometheus: boolField({ doc: 'Serve Prometheus metrics at http://prometheus_listen_addr/metrics.', default: true }),
    prometheus_listen_addr: hostPortField({
      doc: 'Address the metrics server listens on, "host:port". Bound to 127.0.0.1 by default;\n' +
        'expose it only to your monitoring network.',
      default: `127.0.0.1:${DEFAULT_METRICS_PORT}`,
    }),
    namespace: stringField({
      doc: 'Prefix of every metric name, e.g. aidledger_consensus_height.',
      default: 'aidledger',
      max: 64,
      pattern: /^[a-zA-Z_][a-zA-Z0-9_]*$/,
      expected: 'a metric prefix matching [a-zA-Z_][a-zA-Z0-9_]*',
    }),
    max_open_connections: intField({ doc: 'Most simultaneous connections to the metrics server; 0 means no limit.', default: 3, max: 10_000 }),
  },
}

const SECTION_DOCS: Record<keyof typeof SECTIONS, string> = {
  rpc: 'JSON-RPC server (CometBFT v0.38 routes), HTTP and WebSocket',
  p2p: 'Peer-to-peer network (libp2p: TCP, Noise, Yamux), permissioned',
  mempool: 'Mempool: transactions waiting for a block',
  consensus: 'Consensus timeouts (Tendermint; CometBFT defaults)',
  storage: 'Storage and pruning',
  tx_index: 'Transaction indexing',
  instrumentation: 'Instrumentation: Prometheus metrics',
}

type Fields = Record<string, Field<any>>
type ValuesOf<F extends Fields> = { -readonly [K in keyof F]: F[K] extends Field<infer T> ? T : never }

export type RpcConfig = ValuesOf<typeof SECTIONS.rpc>
export type P2PConfig = ValuesOf<typeof SECTIONS.p2p>
export type MempoolConfig = ValuesOf<typeof SECTIONS.mempool>
/** All durations in milliseconds. */
export type ConsensusConfig = ValuesOf<typeof SECTIONS.consensus>
export type StorageConfig = ValuesOf<typeof SECTIONS.storage>
export type TxIndexConfig = ValuesOf<typeof SECTIONS.tx_index>
export type InstrumentationConfig = ValuesOf<typeof SECTIONS.instrumentation>
export type SectionName = keyof typeof SECTIONS
export type Config = ValuesOf<typeof ROOT> & { [S in SectionName]: ValuesOf<typeof SECTIONS[S]> }

const SECTION_NAMES = Object.keys(SECTIONS) as SectionName[]

/**
 * `default`: the values above (P2P on all interfaces). `local`: a single-machine devnet or
 * testnet home, whose P2P listener stays on 127.0.0.1.
 */
export type ConfigProfile = 'default' | 'local'

function defaultsOf<F extends Fields> (fields: F): ValuesOf<F> {
  const out: Record<string, unknown> = {}
  for (const [k, f] of Object.entries(fields)) {
    const v = f.defaultValue as unknown
    out[k] = Array.isArray(v) ? [...v] : v
  }
  return out as ValuesOf<F>
}

export function defaultConfig (profile: ConfigProfile = 'default'): Config {
  const cfg = { ...defaultsOf(ROOT) } as Config
  for (const s of SECTION_NAMES) (cfg as Record<string, unknown>)[s] = defaultsOf(SECTIONS[s])
  if (profile === 'local') cfg.p2p.laddr = `tcp://127.0.0.1:${DEFAULT_P2P_PORT}`
  return cfg
}

// ---- loading -----------------------------------------------------------------------------

function invalid (file: string, path: string, detail: string): AidError {
  return new AidError('ERR_CONFIG_INVALID', detail, path === '' ? file : `${file}: ${path}`)
}

function isTable (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && v.constructor?.name !== 'TomlDate'
}

/** Levenshtein distance, for "did you mean" on a misspelt key. */
function distance (a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length] ?? 0
}

function unknownKey (key: string, known: readonly string[], where: string): string {
  const best = known.map((k) => ({ k, d: distance(key, k) })).sort((x, y) => x.d - y.d)[0]
  const hint = best !== undefined && best.d <= Math.max(2, Math.floor(key.length / 4)) ? `; did you mean "${best.k}"?` : ''
  return `unknown key ${JSON.stringify(key.slice(0, 60))} in ${where}${hint} (known: ${known.join(', ')})`
}

function readFields<F extends Fields> (table: Record<string, unknown>, fields: F, prefix: string, file: string, skip: ReadonlySet<string>): ValuesOf<F> {
  const known = Object.keys(fields)
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(table)) {
    if (skip.has(key)) continue
    if (!Object.prototype.hasOwnProperty.call(fields, key)) {
      if (prefix === '' && isTable(table[key])) {
        throw invalid(file, key, unknownKey(key, SECTION_NAMES, 'the section names').replace('unknown key', 'unknown section'))
      }
      const where = prefix === '' ? 'the top level' : `[${prefix}]`
      const extra = prefix === '' ? [...known, ...SECTION_NAMES.map((s) => `[${s}]`)] : known
      throw invalid(file, prefix === '' ? key : `${prefix}.${key}`, unknownKey(key, extra, where))
    }
  }
  for (const [key, field] of Object.entries(fields)) {
    const path = prefix === '' ? key : `${prefix}.${key}`
    if (!Object.prototype.hasOwnProperty.call(table, key)) {
      const v = field.defaultValue as unknown
      out[key] = Array.isArray(v) ? [...v] : v
      continue
    }
    try {
      out[key] = field.parse(table[key])
    } catch (err) {
      if (err instanceof FieldError) throw invalid(file, path + err.sub, err.message)
      throw err
    }
  }
  return out as ValuesOf<F>
}

function crossCheck (cfg: Config, file: string): void {
  if (cfg.mempool.max_tx_bytes > cfg.mempool.max_txs_bytes) {
    throw invalid(file, 'mempool.max_tx_bytes', `must not exceed mempool.max_txs_bytes (${cfg.mempool.max_txs_bytes})`)
  }
  const ids = new Set<string>()
  cfg.p2p.persistent_peers.forEach((p, i) => {
    const id = p.slice(0, p.indexOf('@'))
    if (ids.has(id)) throw invalid(file, `p2p.persistent_peers[${i}]`, `node id ${id} is listed twice`)
    ids.add(id)
  })
}

/**
 * Parse config.toml text. Missing keys and sections take their defaults; anything else
 * wrong throws ERR_CONFIG_INVALID with `at` = "<file>: <section>.<key>".
 */
export function parseConfig (text: string, file = 'config.toml'): Config {
  let doc: Record<string, unknown>
  try {
    doc = parseToml(text, { integersAsBigInt: true, unsafeKeyBehaviour: 'throw', maxDepth: 16 })
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0] ?? ''
      throw invalid(file, '', `not valid TOML at line ${err.line}, column ${err.column}: ${first}`)
    }
    throw invalid(file, '', `not valid TOML: ${err instanceof Error ? err.message : String(err)}`)
  }
  const sectionSet = new Set<string>(SECTION_NAMES)
  const cfg = readFields(doc, ROOT, '', file, sectionSet) as Config
  for (const s of SECTION_NAMES) {
    const raw = Object.prototype.hasOwnProperty.call(doc, s) ? doc[s] : {}
    if (!isTable(raw)) throw invalid(file, s, `expected a table [${s}], got a value`)
    ;(cfg as Record<string, unknown>)[s] = readFields(raw, SECTIONS[s], s, file, new Set())
  }
  crossCheck(cfg, file)
  return cfg
}

export async function loadConfig (file: string): Promise<Config> {
  const text = await readTextFile(file, { code: 'ERR_CONFIG_INVALID', maxBytes: MAX_CONFIG_BYTES, what: 'config file' })
  return parseConfig(text, file)
}

// ---- writing -----------------------------------------------------------------------------

function commentLines (text: string): string[] {
  return text.split('\n').map((l) => `# ${l}`)
}

function renderFields<F extends Fields> (fields: F, values: ValuesOf<F>, out: string[]): void {
  for (const [key, field] of Object.entries(fields)) {
    out.push(...commentLines(field.doc))
    out.push(`# default: ${field.render(field.defaultValue)}`)
    out.push(`${key} = ${field.render((values as Record<string, unknown>)[key])}`)
    out.push('')
  }
}

/** config.toml text with every key, each under a comment explaining it and giving its default. */
export function renderConfig (cfg: Config): string {
  const out: string[] = [
    '# aidledger node configuration (CometBFT config.toml layout).',
    '#',
    '# Every key is listed, each with a comment and its default. Delete a key to use its default;',
    '# an unknown key or a value of the wrong type stops the node with an error naming it.',
    '# Durations are strings such as "500ms", "3s" or "1m30s" (units: ms, s, m, h).',
    '',
  ]
  renderFields(ROOT, cfg, out)
  for (const s of SECTION_NAMES) {
    out.push('#'.repeat(80), `# ${SECTION_DOCS[s]}`, '#'.repeat(80), `[${s}]`, '')
    renderFields(SECTIONS[s], cfg[s] as never, out)
  }
  return out.join('\n')
}

/**
 * Write config.toml atomically (mode 0644). The rendered text is parsed back first, so a
 * file this writes always loads; an invalid value throws ERR_CONFIG_INVALID instead.
 */
export async function writeConfig (file: string, cfg: Config): Promise<void> {
  const text = renderConfig(cfg)
  parseConfig(text, file)
  await writeFileAtomic(file, text, PUBLIC_FILE_MODE)
}

/** The key paths the schema knows, e.g. `rpc.laddr` (for docs and tests). */
export function configKeys (): string[] {
  return [...Object.keys(ROOT), ...SECTION_NAMES.flatMap((s) => Object.keys(SECTIONS[s]).map((k) => `${s}.${k}`))]
}
