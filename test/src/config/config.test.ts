import t from 'tap'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parse as parseToml } from 'smol-toml'
import {
  configKeys, defaultConfig, loadConfig, parseConfig, renderConfig, writeConfig, type Config,
} from '../../../src/config/config.ts'
import { formatDurationMs, parseDurationMs } from '../../../src/config/fields.ts'
import { AidError } from '../../../src/errors.ts'
import { expectAidError, mutate, prng, randomText, rejectsAid, tempDir } from './helpers.ts'
import { nodeIdFromPubKey } from '../../../src/config/keys.ts'
import { publicKeyFromSeed } from '../../../src/crypto/ed25519.ts'

/** Three well-formed node ids (libp2p peer ids of fixed seeds). */
const [ID_A, ID_B, ID_C] = [1, 2, 3].map((n) => nodeIdFromPubKey(publicKeyFromSeed(new Uint8Array(32).fill(n)))) as [string, string, string]

t.test('defaults follow CometBFT and DESIGN §9', async (t) => {
  const c = defaultConfig()
  t.equal(c.rpc.laddr, 'tcp://127.0.0.1:26657')
  t.equal(c.p2p.laddr, 'tcp://0.0.0.0:26656')
  t.equal(defaultConfig('local').p2p.laddr, 'tcp://127.0.0.1:26656')
  t.equal(c.instrumentation.prometheus_listen_addr, '127.0.0.1:26660')
  t.equal(c.instrumentation.namespace, 'aidledger')
  t.same(
    [c.consensus.timeout_propose, c.consensus.timeout_propose_delta, c.consensus.timeout_prevote, c.consensus.timeout_prevote_delta,
      c.consensus.timeout_precommit, c.consensus.timeout_precommit_delta, c.consensus.timeout_commit],
    [3000, 500, 1000, 500, 1000, 500, 1000])
  // defaults are fresh objects, not shared
  defaultConfig().p2p.persistent_peers.push('x')
  t.same(defaultConfig().p2p.persistent_peers, [])
})

t.test('rendered config has every key, a comment and a default above each, and loads back equal', async (t) => {
  const c = defaultConfig('local')
  c.moniker = 'mca "beijing" #1'
  c.p2p.persistent_peers = [`${ID_A}@10.0.0.1:26656`, `${ID_B}@[::1]:26756`]
  c.p2p.allowed_peer_ids = [ID_C]
  c.consensus.timeout_commit = 90_500
  c.rpc.cors_allowed_origins = ['*']
  const text = renderConfig(c)
  t.same(parseConfig(text), c)
  const lines = text.split('\n')
  for (const path of configKeys()) {
    const key = path.split('.').pop() ?? ''
    const section = path.includes('.') ? path.split('.')[0] : undefined
    const start = section === undefined ? 0 : lines.indexOf(`[${section}]`)
    t.ok(start >= 0, `section of ${path}`)
    const i = lines.findIndex((l, j) => j > start && l.startsWith(`${key} = `))
    t.ok(i > 0, `${path} is written`)
    t.match(lines[i - 1] ?? '', /^# default: /, `${path} has its default above`)
    t.match(lines[i - 2] ?? '', /^# \S/, `${path} has a comment`)
  }
  t.equal(formatDurationMs(90_500), '1m30.5s')
  t.match(text, /timeout_commit = "1m30.5s"/)
  // What smol-toml reads is what we meant (no private dialect).
  const raw = parseToml(text) as Record<string, Record<string, unknown>>
  t.equal(raw.moniker, 'mca "beijing" #1')
  t.equal(raw.p2p?.laddr, 'tcp://127.0.0.1:26656')
})

t.test('missing keys and sections take defaults', async (t) => {
  t.same(parseConfig(''), defaultConfig())
  const c = parseConfig('moniker = "n1"\n[consensus]\ntimeout_commit = "250ms"\n')
  t.equal(c.moniker, 'n1')
  t.equal(c.consensus.timeout_commit, 250)
  t.equal(c.consensus.timeout_propose, 3000)
  t.same(c.rpc, defaultConfig().rpc)
})

t.test('durations parse strictly to integer milliseconds', async (t) => {
  const good: Array<[string, number]> = [
    ['0', 0], ['0s', 0], ['1ms', 1], ['500ms', 500], ['3s', 3000], ['1.5s', 1500], ['1.001s', 1001], ['1m30s', 90_000],
    ['2h', 7_200_000], ['1h1m1s1ms', 3_661_001], ['0.5m', 30_000], ['0.0001h', 360],
  ]
  for (const [s, ms] of good) t.equal(parseDurationMs(s), ms, s)
  const bad = ['', '3', '-1s', '1us', '1ns', '1.0005s', '1 s', 's', '1.s', '.5s', '1d', '3S', '1s ', 'ms', '1e3ms', '0x10s']
  for (const s of bad) t.type(parseDurationMs(s), 'string', JSON.stringify(s))
  for (const ms of [0, 1, 999, 1000, 1500, 59_999, 60_000, 3_600_000, 3_661_001, 86_400_000]) {
    t.equal(parseDurationMs(formatDurationMs(ms)), ms, `format/parse ${ms}`)
  }
})

t.test('bad config files: typed errors naming the file, the key and what was expected', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['unknown top-level key', 'monikr = "x"', /cfg\.toml: monikr: unknown key .*did you mean "moniker"/],
    ['unknown section', '[rcp]\nladdr = "tcp://127.0.0.1:1"', /cfg\.toml: rcp: unknown section .*did you mean "rpc"/],
    ['unknown key in section', '[rpc]\nmax_body = 5', /rpc\.max_body: unknown key .* in \[rpc\]/],
    ['section as value', 'rpc = 5', /cfg\.toml: rpc: expected a table/],
    ['string for int', '[rpc]\nmax_body_bytes = "1000"', /rpc\.max_body_bytes: expected an integer in \[1024, .*got string "1000"/],
    ['float for int', '[mempool]\nsize = 10.0', /mempool\.size: expected an integer .*got float 10\.0/],
    ['int out of range', '[mempool]\nsize = 0', /mempool\.size: expected an integer in \[1,/],
    ['int for bool', '[mempool]\nrecheck = 1', /mempool\.recheck: expected true or false, got integer 1/],
    ['bad enum', 'log_level = "verbose"', /log_level: expected one of "debug", "info", "warn", "error"/],
    ['int for duration', '[consensus]\ntimeout_propose = 3000', /consensus\.timeout_propose: expected a duration like .*got integer 3000/],
    ['sub-ms duration', '[consensus]\ntimeout_propose = "1us"', /consensus\.timeout_propose: .*units: ms, s, m, h/],
    ['zero timeout', '[consensus]\ntimeout_prevote = "0s"', /consensus\.timeout_prevote: expected a duration .*\[1ms,/],
    ['laddr without scheme', '[rpc]\nladdr = "127.0.0.1:26657"', /rpc\.laddr: expected an address like "tcp:\/\/127\.0\.0\.1:26657": must start with tcp:\/\//],
    ['bad port', '[p2p]\nladdr = "tcp://0.0.0.0:99999"', /p2p\.laddr: .*bad port/],
    ['peer list as string', '[p2p]\npersistent_peers = "a@b:1"', /p2p\.persistent_peers: expected an array of strings/],
    ['bad peer id', `[p2p]\npersistent_peers = ["${ID_A}@h:1", "xyz@h:1"]`, /p2p\.persistent_peers\[1\]: .*libp2p Ed25519 peer id/],
    ['hex (CometBFT-style) peer id', `[p2p]\nallowed_peer_ids = ["${'a'.repeat(40)}"]`, /p2p\.allowed_peer_ids\[0\]: expected a node id/],
    ['duplicate peer id', `[p2p]\npersistent_peers = ["${ID_A}@h:1", "${ID_A}@h:2"]`, /persistent_peers\[1\]: node id 12D3KooW\w+ is listed twice/],
    ['peer port 0', `[p2p]\npersistent_peers = ["${ID_A}@h:0"]`, /port 0 cannot be dialled/],
    ['bad namespace', '[instrumentation]\nnamespace = "aid-ledger"', /instrumentation\.namespace: expected a metric prefix/],
    ['empty moniker', 'moniker = ""', /moniker: expected a name of 1 to 64/],
    ['control char in moniker', 'moniker = "a\\u0007b"', /moniker: .*control characters/],
    ['cross-field', '[mempool]\nmax_txs_bytes = 2048\nmax_tx_bytes = 4096', /mempool\.max_tx_bytes: must not exceed mempool\.max_txs_bytes/],
    ['date value', 'moniker = 1979-05-27T07:32:00Z', /moniker: expected .*got a date-time/],
    ['table in section', '[rpc.extra]\nx = 1', /rpc\.extra: unknown key/],
    ['truncated TOML', '[rpc\nladdr = "tcp://', /cfg\.toml: not valid TOML at line 1/],
    ['duplicate key', 'moniker = "a"\nmoniker = "b"', /not valid TOML/],
    ['prototype key', '__proto__ = 1', /not valid TOML|unknown key/],
  ]
  for (const [name, text, re] of cases) {
    const err = expectAidError(t, () => parseConfig(text, '/x/cfg.toml'), 'ERR_CONFIG_INVALID', name)
    if (err !== undefined) t.match(err.message, re, name)
  }
})

t.test('loadConfig: missing file, binary file, oversize file, and a written file', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'config.toml')
  const missing = await rejectsAid(t, loadConfig(file), 'ERR_CONFIG_INVALID', 'missing')
  t.match(missing?.message ?? '', /config file not found/)
  await writeFile(file, Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3]))
  const bin = await rejectsAid(t, loadConfig(file), 'ERR_CONFIG_INVALID', 'binary')
  t.match(bin?.message ?? '', /not valid UTF-8/)
  await writeFile(file, '#'.repeat(1024 * 1024 + 1))
  await rejectsAid(t, loadConfig(file), 'ERR_CONFIG_INVALID', 'oversize')
  const c = defaultConfig()
  c.mempool.size = 77
  await writeConfig(file, c)
  t.same(await loadConfig(file), c)
  t.match(await readFile(file, 'utf8'), /^# aidledger node configuration/)
})

t.test('writeConfig refuses a config that would not load back, and writes nothing', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'config.toml')
  const bad: Config = defaultConfig()
  bad.rpc.laddr = 'nonsense'
  await rejectsAid(t, writeConfig(file, bad), 'ERR_CONFIG_INVALID', 'bad laddr')
  await rejectsAid(t, loadConfig(file), 'ERR_CONFIG_INVALID', 'nothing written')
})

t.test('fuzz: random mutations of a valid config.toml never crash the loader', async (t) => {
  const seed = Number(process.env.FUZZ_SEED ?? 20261121)
  const r = prng(seed)
  const c = defaultConfig('local')
  c.p2p.persistent_peers = [`${ID_A}@127.0.0.1:26656`, `${ID_B}@127.0.0.1:26756`]
  const full = renderConfig(c)
  // Without comments most edits land on keys and values, which is where the checks are.
  const bare = full.split('\n').filter((l) => !l.startsWith('#') && l !== '').join('\n')
  let accepted = 0
  let rejected = 0
  for (let i = 0; i < 3000; i++) {
    let text = i % 2 === 0 ? bare : full
    const edits = 1 + r.int(4)
    for (let k = 0; k < edits; k++) text = mutate(text, r)
    if (i % 10 === 0) text = randomText(r, r.int(200))
    try {
      parseConfig(text, 'fuzz.toml')
      accepted++
    } catch (err) {
      if (!(err instanceof AidError) || err.code !== 'ERR_CONFIG_INVALID') {
        t.fail(`seed ${seed} iteration ${i}: unexpected ${String(err)}\n${JSON.stringify(text.slice(0, 400))}`)
        return
      }
      if (!/^ERR_CONFIG_INVALID: fuzz\.toml/.test(err.message)) t.fail(`message does not name the file: ${err.message}`)
      rejected++
    }
  }
  t.ok(rejected > 1500, `most mutations rejected (${rejected} rejected, ${accepted} accepted, seed ${seed})`)
})
