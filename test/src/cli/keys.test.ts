/**
 * `aidledger keys add|list|show` in-process: key files are CometBFT-shaped JSON with mode
 * 0600 in a 0700 keyring, load back to the same key, are refused when other users may read
 * them or when tampered with; keyring resolution (--keyring, --home, env, default).
 */
import t from 'tap'
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { main, type CliIo } from '../../../src/cli/main.ts'
import { keyringDir, loadKey } from '../../../src/cli/commands/keys.ts'
import { generateKeyPair } from '../../../src/crypto/ed25519.ts'
import { fromHex, toHex } from '../../../src/bytes.ts'
import { addressFromPubKey } from '../../../src/crypto/address.ts'
import { tempDir } from '../config/helpers.ts'

interface Run { code: number, out: string, err: string }

async function run (argv: string[]): Promise<Run> {
  let out = ''
  let err = ''
  const io: CliIo = { out: (s) => { out += s }, err: (s) => { err += s } }
  return { code: await main(argv, { io }), out, err }
}

const posix = process.platform !== 'win32'

t.test('add writes a 0600 CometBFT-style key file that loads back; list and show', async (t) => {
  const dir = join(await tempDir(t, 'aidledger-keys-'), 'ring')
  const add = await run(['keys', 'add', 'mca', '--keyring', dir])
  t.equal(add.code, 0, add.err)
  t.match(add.out, /^name +mca\naddress +[0-9A-F]{40}\npubkey +[0-9a-f]{64}\nfile +.*mca\.json\n$/)
  const file = join(dir, 'mca.json')
  if (posix) {
    t.equal((await stat(file)).mode & 0o777, 0o600, 'key file 0600')
    t.equal((await stat(dir)).mode & 0o777, 0o700, 'keyring dir 0700')
  }
  const json = JSON.parse(await readFile(file, 'utf8')) as Record<string, any>
  t.same(Object.keys(json), ['name', 'address', 'pub_key', 'priv_key'])
  t.equal(json.pub_key.type, 'tendermint/PubKeyEd25519')
  t.equal(json.priv_key.type, 'tendermint/PrivKeyEd25519')
  t.equal(Buffer.from(json.priv_key.value, 'base64').length, 64, 'seed || public key')
  const k = await loadKey(dir, 'mca')
  t.equal(toHex(k.publicKey), /pubkey +([0-9a-f]{64})/.exec(add.out)?.[1])
  t.equal(json.address, toHex(addressFromPubKey(k.publicKey)).toUpperCase())

  const seed = '07'.repeat(32)
  const two = await run(['keys', 'add', 'a-ca', 'a-fin', '--keyring', dir, '--json'])
  t.equal(two.code, 0, two.err)
  t.equal(two.out.trim().split('\n').length, 2, 'one JSON line per key')
  const seeded = await run(['keys', 'add', 'fixed', '--seed', seed, '--keyring', dir, '--json'])
  t.equal(JSON.parse(seeded.out).pubkey, toHex(generateKeyPair(fromHex(seed)).publicKey), '--seed is deterministic')

  const list = await run(['keys', 'list', '--keyring', dir])
  t.equal(list.code, 0)
  t.match(list.out, /^name +address +pubkey\n/)
  t.same(list.out.trim().split('\n').slice(1).map((l) => l.split(/ +/)[0]), ['a-ca', 'a-fin', 'fixed', 'mca'], 'sorted by name')
  const listJson = JSON.parse((await run(['keys', 'list', '--keyring', dir, '--json'])).out) as Array<{ name: string, pubkey: string }>
  t.equal(listJson.length, 4)
  t.notOk(JSON.stringify(listJson).includes(json.priv_key.value), 'list never shows a private key')

  const show = await run(['keys', 'show', 'mca', '--keyring', dir])
  t.equal(show.out, add.out, 'show prints what add printed')
  t.notOk(show.out.includes(json.priv_key.value))
  t.equal((await run(['keys', 'show', 'mca', '--keyring', dir, '--pubkey'])).out, `${toHex(k.publicKey)}\n`)
  t.equal((await run(['keys', 'show', 'mca', '--keyring', dir, '--address'])).out, `${json.address as string}\n`)
  t.equal((await run(['keys', 'list', '--keyring', join(dir, 'none')])).out, `no keys in ${join(dir, 'none')}\n`)
})

t.test('refusals: existing name, bad names, missing key, insecure mode, tampered file', async (t) => {
  const dir = await tempDir(t, 'aidledger-keys-')
  t.equal((await run(['keys', 'add', 'mca', '--keyring', dir])).code, 0)
  const again = await run(['keys', 'add', 'mca', '--keyring', dir])
  t.equal(again.code, 1)
  t.match(again.err, /ERR_KEYFILE_INVALID: .*mca\.json: a key named mca already exists/)
  const dup = await run(['keys', 'add', 'x', 'x', '--keyring', dir])
  t.equal(dup.code, 2)
  for (const bad of ['../evil', '.hidden', 'a/b', 'x'.repeat(65)]) {
    const r = await run(['keys', 'add', bad, '--keyring', dir])
    t.equal(r.code, 2, `bad name ${bad.slice(0, 10)}`)
    t.match(r.err, /key names are 1 to 64 letters/)
  }
  t.equal((await run(['keys', 'add', 'y', '--seed', 'abc', '--keyring', dir])).code, 2, 'bad seed')
  const missing = await run(['keys', 'show', 'nobody', '--keyring', dir])
  t.equal(missing.code, 1)
  t.match(missing.err, /no key named nobody in the keyring/)

  const file = join(dir, 'mca.json')
  if (posix) {
    await chmod(file, 0o644)
    const loose = await run(['keys', 'show', 'mca', '--keyring', dir])
    t.equal(loose.code, 1)
    t.match(loose.err, /ERR_KEYFILE_INSECURE: .*mode 0644 lets other users access this private key/)
    await chmod(file, 0o600)
  }
  const json = JSON.parse(await readFile(file, 'utf8')) as Record<string, any>
  const other = generateKeyPair()
  json.pub_key.value = Buffer.from(other.publicKey).toString('base64')
  await writeFile(file, JSON.stringify(json), { mode: 0o600 })
  const tampered = await run(['keys', 'show', 'mca', '--keyring', dir])
  t.equal(tampered.code, 1)
  t.match(tampered.err, /ERR_KEYFILE_INVALID: .*pub_key: does not match priv_key/)
  json.name = 'someone-else'
  await writeFile(file, JSON.stringify(json), { mode: 0o600 })
  t.match((await run(['keys', 'show', 'mca', '--keyring', dir])).err, /"name" is not "mca"/)
})

t.test('keyring location: --keyring, then --home/keyring, then $AIDLEDGER_KEYRING, then ~/.aidledger-keys', async (t) => {
  t.equal(keyringDir({ keyring: '/k', home: '/h', env: { AIDLEDGER_KEYRING: '/e' } }), '/k')
  t.equal(keyringDir({ home: '/h', env: { AIDLEDGER_KEYRING: '/e' } }), '/h/keyring')
  t.equal(keyringDir({ env: { AIDLEDGER_KEYRING: '/e' } }), '/e')
  t.equal(keyringDir({ env: {} }), join(homedir(), '.aidledger-keys'))
  const home = await tempDir(t, 'aidledger-keys-')
  t.equal((await run(['keys', 'add', 'op', '--home', home])).code, 0)
  t.ok((await stat(join(home, 'keyring', 'op.json'))).isFile(), '--home puts keys in <home>/keyring')
})
