import t from 'tap'
import { execFile } from 'node:child_process'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { main, type Command, type CliIo } from '../../../src/cli/main.ts'
import { homePaths, loadHome } from '../../../src/config/home.ts'
import { genesisHash } from '../../../src/config/genesis.ts'
import { writePrivValidatorState } from '../../../src/config/keys.ts'
import { toHex } from '../../../src/bytes.ts'
import { AidError } from '../../../src/errors.ts'
import { tempDir } from '../config/helpers.ts'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

interface Run { code: number, out: string, err: string }

async function run (argv: string[], opts: Parameters<typeof main>[1] = {}): Promise<Run> {
  let out = ''
  let err = ''
  const io: CliIo = { out: (s) => { out += s }, err: (s) => { err += s } }
  const code = await main(argv, { ...opts, io })
  return { code, out, err }
}

t.test('init then load back config, genesis and keys', async (t) => {
  const home = join(await tempDir(t, 'aidledger-cli-'), 'n')
  const r = await run(['init', '--home', home, '--chain-id', 'aid-prod-1', '--moniker', 'mca-beijing'])
  t.equal(r.code, 0, r.err)
  t.match(r.out, /^Initialized node home /)
  const h = await loadHome(home)
  t.equal(h.genesis.chainId, 'aid-prod-1')
  t.equal(h.config.moniker, 'mca-beijing')
  t.match(r.out, new RegExp(`node id: +${h.nodeKey.id}`))
  t.match(r.out, new RegExp(`genesis hash: +${toHex(genesisHash(h.genesis)).toUpperCase()}`))
  if (process.platform !== 'win32') {
    t.equal((await stat(homePaths(home).privValidatorKeyFile)).mode & 0o777, 0o600)
    t.equal((await stat(homePaths(home).nodeKeyFile)).mode & 0o777, 0o600)
  }
  const again = await run(['init', '--home', home, '--chain-id', 'x'])
  t.equal(again.code, 1)
  t.match(again.err, /ERR_HOME_EXISTS: .*already initialised.*--force/)
  const forced = await run(['init', '--home', home, '--chain-id', 'x', '--force'])
  t.equal(forced.code, 0, forced.err)
  t.match(forced.out, /existing keys kept/)
  t.equal((await loadHome(home)).nodeKey.id, h.nodeKey.id)

  const id = await run(['show-node-id', '--home', home])
  t.same(id, { code: 0, out: `${h.nodeKey.id}\n`, err: '' })
  const val = await run(['show-validator', '--home', home])
  t.equal(val.code, 0)
  t.same(JSON.parse(val.out), { type: 'tendermint/PubKeyEd25519', value: Buffer.from(h.privValidatorKey.publicKey).toString('base64') })
})

t.test('testnet --validators 4: homes load back, share one genesis, peers and ports as specified', async (t) => {
  const out = await tempDir(t, 'aidledger-cli-')
  const r = await run(['testnet', '--validators', '4', '--output', out, '--chain-id', 'tn', '--base-port', '46656'])
  t.equal(r.code, 0, r.err)
  const homes = await Promise.all([0, 1, 2, 3].map((i) => loadHome(join(out, `node${i}`))))
  t.equal(new Set(homes.map((h) => toHex(genesisHash(h.genesis)))).size, 1)
  t.equal(homes[0]?.genesis.chainId, 'tn')
  for (const [i, h] of homes.entries()) {
    const p2p = 46656 + 100 * i
    t.match(r.out, new RegExp(`node${i} +${h.nodeKey.id} +${p2p} +${p2p + 1} +${p2p + 4} `))
    t.equal(h.config.rpc.laddr, `tcp://127.0.0.1:${p2p + 1}`)
    t.equal(h.config.instrumentation.prometheus_listen_addr, `127.0.0.1:${p2p + 4}`)
    const others = homes.filter((_, j) => j !== i)
    t.same(h.config.p2p.allowed_peer_ids, others.map((o) => o.nodeKey.id))
    t.same(h.config.p2p.persistent_peers, others.map((o) => {
      const j = homes.indexOf(o)
      return `${o.nodeKey.id}@127.0.0.1:${46656 + 100 * j}`
    }))
  }
  const defaults = await run(['testnet', '--validators', '2', '--output', join(out, 'd')])
  t.equal(defaults.code, 0, defaults.err)
  const d1 = await loadHome(join(out, 'd', 'node1'))
  t.equal(d1.config.p2p.laddr, 'tcp://127.0.0.1:26756')
  t.equal(d1.config.rpc.laddr, 'tcp://127.0.0.1:26757')
  t.equal(d1.config.instrumentation.prometheus_listen_addr, '127.0.0.1:26760')
  t.equal(d1.genesis.chainId, 'aidledger-testnet')
})

t.test('the app_state hooks reach init and testnet', async (t) => {
  const dir = await tempDir(t, 'aidledger-cli-')
  const hooks = {
    defaultAppState: (ctx: { chainId: string, validators: readonly unknown[] }) => ({ roots: ctx.validators.length, chain: ctx.chainId }),
  }
  t.equal((await run(['testnet', '--validators', '3', '--output', join(dir, 'tn')], { hooks })).code, 0)
  t.same((await loadHome(join(dir, 'tn', 'node2'))).genesis.appState, { roots: 3, chain: 'aidledger-testnet' })
  const refusing = {
    defaultAppState: () => ({ broken: true }),
    validateAppState: () => { throw new AidError('ERR_TYPES_INVALID', 'root office missing', 'offices') },
  }
  const r = await run(['init', '--home', join(dir, 'h'), '--chain-id', 'c'], { hooks: refusing })
  t.equal(r.code, 1)
  t.match(r.err, /ERR_GENESIS_INVALID: .*app_state\.offices: root office missing/)
})

t.test('reset needs --yes, then wipes data and keeps keys and config', async (t) => {
  const home = join(await tempDir(t, 'aidledger-cli-'), 'n')
  t.equal((await run(['init', '--home', home, '--chain-id', 'c'])).code, 0)
  const p = homePaths(home)
  await writePrivValidatorState(p.privValidatorStateFile, { height: 5, round: 0, step: 1, signature: null, signBytes: null })
  const key = await readFile(p.privValidatorKeyFile)
  const noYes = await run(['reset', '--home', home])
  t.equal(noYes.code, 2)
  t.match(noYes.err, /would DELETE.*\n.*height 0.*\n.*re-run with --yes/s)
  t.equal((await loadHome(home)).privValidatorState.height, 5, 'nothing changed')
  const yes = await run(['reset', '--home', home, '--yes'])
  t.equal(yes.code, 0, yes.err)
  t.match(yes.out, /height 5 -> 0/)
  t.match(yes.err, /WARNING: this validator had signed up to height 5/)
  t.equal((await loadHome(home)).privValidatorState.height, 0)
  t.same(await readFile(p.privValidatorKeyFile), key)
  const notHome = await run(['reset', '--home', join(home, 'nope'), '--yes'])
  t.equal(notHome.code, 1)
  t.match(notHome.err, /ERR_HOME_INVALID: .*not an aidledger home/)
})

t.test('failures are exit 1 with a typed message, never a stack trace', async (t) => {
  const dir = await tempDir(t, 'aidledger-cli-')
  const r = await run(['show-node-id', '--home', dir])
  t.equal(r.code, 1)
  t.match(r.err, /^error: ERR_KEYFILE_INVALID: .*node_key\.json: key file not found\n$/)
})

t.test('usage errors: exit 2 with ERR_CLI_USAGE and a pointer to --help', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [[], /Usage: aidledger COMMAND/],
    [['bogus'], /ERR_CLI_USAGE: unknown command "bogus"/],
    [['--bogus'], /ERR_CLI_USAGE: expected a command before "--bogus"/],
    [['init'], /ERR_CLI_USAGE: required options are missing: --home, --chain-id/],
    [['init', '--home', '/tmp/x'], /ERR_CLI_USAGE: --chain-id: required option is missing\nRun 'aidledger init --help' for usage\./],
    [['init', '--home'], /ERR_CLI_USAGE: option --home needs a value/],
    [['init', '--home', '/tmp/x', '--chain-id', 'c', '--frobnicate'], /ERR_CLI_USAGE: unknown option --frobnicate/],
    [['init', '--home', '/tmp/x', '--chain-id', 'c', 'extra'], /ERR_CLI_USAGE: unexpected argument extra/],
    [['init', '--home', '', '--chain-id', 'c'], /ERR_CLI_USAGE: --home: must not be empty/],
    [['init', '--force=yes', '--home', 'h', '--chain-id', 'c'], /ERR_CLI_USAGE: option --force takes no value/],
    [['testnet', '--validators', 'four', '--output', '/tmp/x'], /ERR_CLI_USAGE: --validators: expected an integer in \[1, 100\], got "four"/],
    [['testnet', '--validators', '0', '--output', '/tmp/x'], /--validators: expected an integer in \[1, 100\]/],
    [['testnet', '--validators', '4', '--output', '/tmp/x', '--base-port', '65500'], /ERR_CLI_USAGE: --base-port: ports 65500\.\.65804 do not fit/],
    [['testnet', '--validators', '2', '--output', '/tmp/x', '--hostname', 'bad host'], /--hostname: "bad host" is not a host name/],
    [['show-node-id'], /--home: required option is missing/],
    [['init', '--home', '/tmp/x', '--chain-id', 'has space'], /ERR_CLI_USAGE: --chain-id: expected 1 to 50 letters/],
    [['testnet', '--validators', '1', '--output', '/tmp/x', '--chain-id=-x'], /ERR_CLI_USAGE: --chain-id: expected/],
    [['testnet', '--validators', '1', '--output', '/tmp/x', '--chain-id', '-x'], /ERR_CLI_USAGE: option --chain-id is followed by something starting with "-"; write --chain-id=VALUE/],
  ]
  for (const [argv, re] of cases) {
    const r = await run(argv)
    t.equal(r.code, 2, `exit 2: ${argv.join(' ')}`)
    t.equal(r.out, '', `nothing on stdout: ${argv.join(' ')}`)
    t.match(r.err, re, argv.join(' '))
  }
})

t.test('help and version', async (t) => {
  const top = await run(['--help'])
  t.equal(top.code, 0)
  for (const c of ['init', 'testnet', 'show-node-id', 'show-validator', 'reset', 'version']) t.match(top.out, new RegExp(`\\n  ${c} `))
  for (const c of ['init', 'testnet', 'show-node-id', 'show-validator', 'reset', 'version']) {
    const h = await run([c, '--help'])
    t.equal(h.code, 0, c)
    t.match(h.out, new RegExp(`^Usage: aidledger ${c}`), c)
    t.match(h.out, /-h, --help/, c)
    t.same(await run(['help', c]), h, `help ${c}`)
  }
  t.match((await run(['init', '-h'])).out, /--chain-id ID +Chain id/)
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  t.same(await run(['version']), { code: 0, out: `${pkg.version}\n`, err: '' })
  t.same(await run(['--version']), { code: 0, out: `${pkg.version}\n`, err: '' })
})

t.test('commands can be added, including groups such as `keys add`', async (t) => {
  const seen: string[] = []
  const mk = (name: string): Command => ({
    name,
    summary: `the ${name} command`,
    options: { name: { type: 'string', valueName: 'N', description: 'a name' } },
    positionals: [{ name: 'REST', description: 'anything', variadic: true }],
    run: (ctx) => { seen.push(`${ctx.name}:${String(ctx.values.name)}:${ctx.positionals.join(',')}`); return 0 },
  })
  const commands = [mk('keys add'), mk('keys list'), mk('start')]
  t.equal((await run(['keys', 'add', '--name', 'a', 'x', 'y'], { commands })).code, 0)
  t.equal((await run(['start'], { commands })).code, 0)
  t.same(seen, ['keys add:a:x,y', 'start:undefined:'])
  const group = await run(['keys'], { commands })
  t.equal(group.code, 2)
  t.match(group.err, /Subcommands:\n  keys add +the keys add command\n  keys list/)
  t.match(group.err, /keys needs a subcommand/)
  t.match((await run(['keys', 'frob'], { commands })).err, /unknown subcommand "frob" of keys/)
  t.equal((await run(['keys', '--help'], { commands })).code, 0)
  const boom = await run(['start'], { commands: [{ name: 'start', summary: 's', options: {}, run: () => { throw new Error('kaput') } }] })
  t.equal(boom.code, 1)
  t.match(boom.err, /unexpected failure: kaput/)
})

t.test('the real binary: node bin/aidledger.js', async (t) => {
  const dir = await tempDir(t, 'aidledger-cli-')
  const exec = promisify(execFile)
  const bin = join(ROOT, 'bin', 'aidledger.js')
  // A plain `node`, as an operator runs it: without the loaders tap puts in NODE_OPTIONS.
  const env = { ...process.env, NODE_OPTIONS: '' }
  const r = await exec(process.execPath, [bin, 'testnet', '--validators', '2', '--output', dir], { cwd: ROOT, env })
  t.match(r.stdout, /Created a 2-validator testnet/)
  const id = await exec(process.execPath, [bin, 'show-node-id', '--home', join(dir, 'node0')], { cwd: ROOT, env })
  t.equal(id.stdout, `${(await loadHome(join(dir, 'node0'))).nodeKey.id}\n`)
  const bad = await exec(process.execPath, [bin, 'init'], { cwd: ROOT, env }).catch((e: { code: number, stderr: string }) => e)
  t.equal((bad as { code: number }).code, 2, 'usage error exits 2')
  t.match((bad as { stderr: string }).stderr, /ERR_CLI_USAGE/)
})
