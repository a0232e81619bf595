import t from 'tap'
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { homePaths, initHome, loadHome, resetHome } from '../../../src/config/home.ts'
import { findFreeBasePort, generateTestnet, testnetPorts } from '../../../src/config/testnet.ts'
import { genesisHash } from '../../../src/config/genesis.ts'
import { writePrivValidatorState } from '../../../src/config/keys.ts'
import { parsePeerAddress } from '../../../src/config/fields.ts'
import { toHex } from '../../../src/bytes.ts'
import { rejectsAid, tempDir } from './helpers.ts'

const posix = process.platform !== 'win32'

t.test('initHome writes the DESIGN §9 layout and loadHome reads it all back', async (t) => {
  const home = join(await tempDir(t), 'h')
  const res = await initHome({ home, chainId: 'aid-prod-1', moniker: 'mca-beijing', genesisTimeMs: 1_700_000_000_000 })
  const p = homePaths(home)
  t.same((await readdir(p.configDir)).sort(), ['config.toml', 'genesis.json', 'node_key.json', 'priv_validator_key.json'])
  t.same((await readdir(p.dataDir)).sort(), ['cs.wal', 'priv_validator_state.json'])
  if (posix) {
    for (const f of [p.nodeKeyFile, p.privValidatorKeyFile, p.privValidatorStateFile]) t.equal((await stat(f)).mode & 0o777, 0o600, f)
    for (const d of [p.configDir, p.dataDir, p.walDir]) t.equal((await stat(d)).mode & 0o777, 0o700, d)
  }
  const h = await loadHome(home)
  t.equal(h.config.moniker, 'mca-beijing')
  t.equal(h.config.p2p.laddr, 'tcp://0.0.0.0:26656')
  t.equal(h.genesis.chainId, 'aid-prod-1')
  t.equal(h.genesis.genesisTimeMs, 1_700_000_000_000)
  t.equal(h.genesis.validators.length, 1)
  t.same(h.genesis.validators[0]?.pubKey, h.privValidatorKey.publicKey)
  t.equal(h.genesis.validators[0]?.name, 'mca-beijing')
  t.equal(h.genesis.validators[0]?.power, 10)
  t.equal(h.nodeKey.id, res.nodeId)
  t.equal(toHex(h.privValidatorKey.address).toUpperCase(), res.validatorAddress)
  t.equal(toHex(genesisHash(h.genesis)).toUpperCase(), res.genesisHash)
  t.equal(h.privValidatorState.height, 0)
  t.same(res.warnings, [])
})

t.test('initHome refuses an existing home; --force rewrites config and genesis but keeps keys', async (t) => {
  const home = join(await tempDir(t), 'h')
  const first = await initHome({ home, chainId: 'c1' })
  const before = await loadHome(home)
  await rejectsAid(t, initHome({ home, chainId: 'c2' }), 'ERR_HOME_EXISTS', 'no --force')
  t.equal((await loadHome(home)).genesis.chainId, 'c1', 'untouched')
  await writePrivValidatorState(homePaths(home).privValidatorStateFile, { height: 40, round: 0, step: 3, signature: null, signBytes: null })
  await writeFile(join(homePaths(home).dataDir, 'blockstore.db'), 'x')
  const second = await initHome({ home, chainId: 'c2', force: true })
  t.ok(second.reusedKeys)
  t.equal(second.nodeId, first.nodeId)
  t.equal(second.validatorAddress, first.validatorAddress)
  const after = await loadHome(home)
  t.equal(after.genesis.chainId, 'c2')
  t.same(after.privValidatorKey.seed, before.privValidatorKey.seed)
  t.equal(after.privValidatorState.height, 40, 'the double-sign guard is not lowered by init --force')
  t.equal(second.warnings.length, 2)
  t.match(second.warnings.join('\n'), /signed up to height 40/)
  t.match(second.warnings.join('\n'), /data\/ holds chain data/)
})

t.test('initHome with a corrupt existing key refuses rather than replacing it', async (t) => {
  const home = join(await tempDir(t), 'h')
  await initHome({ home, chainId: 'c1' })
  await writeFile(homePaths(home).privValidatorKeyFile, '{', { mode: 0o600 })
  const err = await rejectsAid(t, initHome({ home, chainId: 'c1', force: true }), 'ERR_KEYFILE_INVALID', 'corrupt key')
  t.match(err?.message, /never overwritten/)
  t.equal(await readFile(homePaths(home).privValidatorKeyFile, 'utf8'), '{')
})

t.test('initHome rejects a bad chain id and a home that is a file, writing nothing', async (t) => {
  const dir = await tempDir(t)
  await rejectsAid(t, initHome({ home: join(dir, 'h'), chainId: 'bad id!' }), 'ERR_GENESIS_INVALID', 'chain id')
  t.same(await readdir(dir), [], 'nothing created')
  await writeFile(join(dir, 'file'), 'x')
  await rejectsAid(t, initHome({ home: join(dir, 'file'), chainId: 'c' }), 'ERR_HOME_INVALID', 'file as home')
})

t.test('resetHome: wipes data/ and the WAL, zeroes the guard, never touches config/', async (t) => {
  const home = join(await tempDir(t), 'h')
  await initHome({ home, chainId: 'c1' })
  const p = homePaths(home)
  const configBefore = await Promise.all([p.configFile, p.genesisFile, p.nodeKeyFile, p.privValidatorKeyFile].map((f) => readFile(f)))
  await mkdir(join(p.dataDir, 'blockstore.db'))
  await writeFile(join(p.dataDir, 'blockstore.db', '000001.log'), 'x')
  await writeFile(join(p.walDir, 'wal-0'), 'y')
  await writePrivValidatorState(p.privValidatorStateFile, { height: 9, round: 1, step: 2, signature: null, signBytes: null })
  const res = await resetHome(home)
  t.same(res.removed, ['blockstore.db', 'cs.wal'])
  t.equal(res.previousState?.height, 9)
  t.same((await readdir(p.dataDir)).sort(), ['cs.wal', 'priv_validator_state.json'])
  t.same(await readdir(p.walDir), [])
  t.equal((await loadHome(home)).privValidatorState.height, 0)
  const configAfter = await Promise.all([p.configFile, p.genesisFile, p.nodeKeyFile, p.privValidatorKeyFile].map((f) => readFile(f)))
  t.same(configAfter, configBefore)
  const stray = join(await tempDir(t), 'not-a-home')
  await mkdir(join(stray, 'data'), { recursive: true })
  await writeFile(join(stray, 'data', 'precious'), 'z')
  await rejectsAid(t, resetHome(stray), 'ERR_HOME_INVALID', 'not a home')
  t.same(await readdir(join(stray, 'data')), ['precious'])
})

t.test('generateTestnet: 4 homes, one genesis, peers and ports per DESIGN §9', async (t) => {
  const out = await tempDir(t)
  const res = await generateTestnet({ output: out, validators: 4, chainId: 'tn-1', basePort: 36656 })
  t.equal(res.nodes.length, 4)
  const loaded = await Promise.all(res.nodes.map((n) => loadHome(n.paths.home)))
  const hashes = new Set(loaded.map((h) => toHex(genesisHash(h.genesis))))
  t.equal(hashes.size, 1, 'one genesis')
  t.equal(loaded[0]?.genesis.validators.length, 4)
  for (const [i, h] of loaded.entries()) {
    const ports = testnetPorts(36656, i)
    t.same(ports, { p2p: 36656 + 100 * i, rpc: 36657 + 100 * i, metrics: 36660 + 100 * i })
    t.equal(h.config.moniker, `node${i}`)
    t.equal(h.config.p2p.laddr, `tcp://127.0.0.1:${ports.p2p}`)
    t.equal(h.config.rpc.laddr, `tcp://127.0.0.1:${ports.rpc}`)
    t.equal(h.config.instrumentation.prometheus_listen_addr, `127.0.0.1:${ports.metrics}`)
    const others = res.nodes.filter((n) => n.index !== i)
    t.same(h.config.p2p.persistent_peers, others.map((n) => `${n.nodeId}@127.0.0.1:${36656 + 100 * n.index}`))
    t.same(h.config.p2p.allowed_peer_ids, others.map((n) => n.nodeId))
    for (const peer of h.config.p2p.persistent_peers) t.type(parsePeerAddress(peer), 'object')
    t.ok(h.genesis.validators.some((v) => toHex(v.address) === toHex(h.privValidatorKey.address)), 'own key is a genesis validator')
  }
  t.equal(new Set(loaded.map((h) => h.nodeKey.id)).size, 4, 'distinct node keys')
  await rejectsAid(t, generateTestnet({ output: out, validators: 2 }), 'ERR_HOME_EXISTS', 'refuses to overwrite')
  await rejectsAid(t, generateTestnet({ output: out, validators: 0 }), 'ERR_CLI_USAGE', 'zero validators')
  await rejectsAid(t, generateTestnet({ output: out, validators: 5, basePort: 65200 }), 'ERR_CLI_USAGE', 'ports overflow')
})

t.test('findFreeBasePort: a base whose node ports stay below the ephemeral range', async (t) => {
  const base = await findFreeBasePort(5)
  t.ok(base >= 12_000 && base % 10 === 0, `base ${base}`)
  t.ok(testnetPorts(base, 4).metrics < 32_768, 'last node below 32768')
})
