import t from 'tap'
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  generateNodeKey, generatePrivValidatorKey, initialPrivValidatorState, loadNodeKey, loadPrivValidatorKey,
  loadPrivValidatorState, nodeIdFromPubKey, parseNodeKey, parsePrivValidatorKey, parsePrivValidatorState,
  writeNodeKey, writePrivValidatorKey, writePrivValidatorState,
} from '../../../src/config/keys.ts'
import { writeFileAtomic } from '../../../src/config/fsutil.ts'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { addressFromPubKey } from '../../../src/crypto/address.ts'
import { sign, verify } from '../../../src/crypto/ed25519.ts'
import { toHex } from '../../../src/bytes.ts'
import { AidError } from '../../../src/errors.ts'
import { expectAidError, mutate, prng, randomText, rejectsAid, tempDir } from './helpers.ts'

const posix = process.platform !== 'win32'

t.test('node key: CometBFT shape, id = libp2p peer id, seed exposed, 0600, loads back', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'node_key.json')
  const k = generateNodeKey(new Uint8Array(32).fill(9))
  // Cross-check against libp2p's own derivation from the same seed.
  t.equal(k.id, peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', k.seed)).toString())
  t.match(k.id, /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/)
  t.equal(k.seed.length, 32)
  await writeNodeKey(file, k)
  if (posix) t.equal((await stat(file)).mode & 0o777, 0o600)
  const json = JSON.parse(await readFile(file, 'utf8')) as { priv_key: { type: string, value: string } }
  t.same(Object.keys(json), ['priv_key'])
  t.equal(json.priv_key.type, 'tendermint/PrivKeyEd25519')
  t.same(Buffer.from(json.priv_key.value, 'base64'), Buffer.concat([k.seed, k.publicKey]))
  const back = await loadNodeKey(file)
  t.equal(back.id, k.id)
  t.same(back.seed, k.seed)
  t.equal(nodeIdFromPubKey(back.publicKey), k.id)
})

t.test('validator key and state: shapes, modes, signing works with the loaded key', async (t) => {
  const dir = await tempDir(t)
  const keyFile = join(dir, 'priv_validator_key.json')
  const stateFile = join(dir, 'priv_validator_state.json')
  const k = generatePrivValidatorKey()
  await writePrivValidatorKey(keyFile, k)
  await writePrivValidatorState(stateFile, initialPrivValidatorState())
  if (posix) {
    t.equal((await stat(keyFile)).mode & 0o777, 0o600)
    t.equal((await stat(stateFile)).mode & 0o777, 0o600)
  }
  const json = JSON.parse(await readFile(keyFile, 'utf8')) as Record<string, any>
  t.same(Object.keys(json), ['address', 'pub_key', 'priv_key'])
  t.equal(json.address, toHex(k.address).toUpperCase())
  t.equal(json.pub_key.type, 'tendermint/PubKeyEd25519')
  t.same(JSON.parse(await readFile(stateFile, 'utf8')), { height: '0', round: 0, step: 0 })
  const back = await loadPrivValidatorKey(keyFile)
  const msg = new TextEncoder().encode('vote')
  t.ok(verify(k.publicKey, msg, sign(back, msg)))
  t.same(await loadPrivValidatorState(stateFile), initialPrivValidatorState())
  const signed = { height: 12, round: 1, step: 2, signature: new Uint8Array(64).fill(1), signBytes: new Uint8Array([1, 2, 3]) }
  await writePrivValidatorState(stateFile, signed)
  t.same(await loadPrivValidatorState(stateFile), signed)
  t.match(await readFile(stateFile, 'utf8'), /"signbytes": "010203"/)
})

t.test('key files other users can access are refused (ERR_KEYFILE_INSECURE)', { skip: !posix && 'POSIX modes only' }, async (t) => {
  const dir = await tempDir(t)
  const nodeFile = join(dir, 'node_key.json')
  const valFile = join(dir, 'priv_validator_key.json')
  const stateFile = join(dir, 'priv_validator_state.json')
  await writeNodeKey(nodeFile, generateNodeKey())
  await writePrivValidatorKey(valFile, generatePrivValidatorKey())
  await writePrivValidatorState(stateFile, initialPrivValidatorState())
  for (const mode of [0o644, 0o640, 0o604, 0o620, 0o700 | 0o001]) {
    await chmod(nodeFile, mode)
    await chmod(valFile, mode)
    const e1 = await rejectsAid(t, loadNodeKey(nodeFile), 'ERR_KEYFILE_INSECURE', `node key ${mode.toString(8)}`)
    t.match(e1?.message, /chmod 600/)
    await rejectsAid(t, loadPrivValidatorKey(valFile), 'ERR_KEYFILE_INSECURE', `validator key ${mode.toString(8)}`)
  }
  await chmod(nodeFile, 0o400)
  await loadNodeKey(nodeFile)
  t.pass('0400 is fine')
  await chmod(stateFile, 0o644)
  await loadPrivValidatorState(stateFile)
  t.pass('a world-readable state file is accepted')
  await chmod(stateFile, 0o666)
  await rejectsAid(t, loadPrivValidatorState(stateFile), 'ERR_KEYFILE_INSECURE', 'world-writable state')
})

t.test('atomic writes leave no temp files and never a partial file', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'k.json')
  for (let i = 0; i < 20; i++) await writeFileAtomic(file, `{"n": ${i}}`, 0o600)
  t.same(await readdir(dir), ['k.json'])
  t.equal(await readFile(file, 'utf8'), '{"n": 19}')
  await Promise.all(Array.from({ length: 10 }, (_, i) => writeFileAtomic(file, 'x'.repeat(1000 * (i + 1)), 0o600)))
  const text = await readFile(file, 'utf8')
  t.ok(/^x+$/.test(text) && text.length % 1000 === 0, 'one complete write won')
  t.same(await readdir(dir), ['k.json'])
  const sub = join(dir, 'missing', 'k.json')
  await t.rejects(writeFileAtomic(sub, 'x', 0o600), { code: 'ENOENT' })
})

t.test('bad key files: typed errors naming the field', async (t) => {
  const nk = generateNodeKey()
  const vk = generatePrivValidatorKey()
  const other = generatePrivValidatorKey()
  const nodeText = JSON.stringify({ priv_key: { type: 'tendermint/PrivKeyEd25519', value: Buffer.from(nk.secretKey).toString('base64') } })
  const valJson = (): Record<string, any> => ({
    address: toHex(vk.address).toUpperCase(),
    pub_key: { type: 'tendermint/PubKeyEd25519', value: Buffer.from(vk.publicKey).toString('base64') },
    priv_key: { type: 'tendermint/PrivKeyEd25519', value: Buffer.from(vk.secretKey).toString('base64') },
  })
  const tampered = Buffer.from(vk.secretKey)
  tampered[40] = (tampered[40] ?? 0) ^ 1
  const nodeCases: Array<[string, string, RegExp]> = [
    ['not JSON', 'garbage', /nk: not valid JSON/],
    ['truncated', nodeText.slice(0, 30), /nk: not valid JSON/],
    ['missing priv_key', '{}', /nk: priv_key: required field is missing/],
    ['extra field', JSON.stringify({ ...JSON.parse(nodeText), id: 'x' }), /nk: id: unknown field/],
    ['wrong type', nodeText.replace('PrivKeyEd25519', 'PrivKeySecp256k1'), /priv_key\.type: expected "tendermint\/PrivKeyEd25519"/],
    ['32-byte value', JSON.stringify({ priv_key: { type: 'tendermint/PrivKeyEd25519', value: Buffer.from(nk.seed).toString('base64') } }), /priv_key\.value: expected 64 bytes/],
    ['value not a string', JSON.stringify({ priv_key: { type: 'tendermint/PrivKeyEd25519', value: 5 } }), /priv_key\.value: expected base64/],
  ]
  for (const [name, text, re] of nodeCases) {
    const err = expectAidError(t, () => parseNodeKey(text, 'nk'), 'ERR_KEYFILE_INVALID', name)
    if (err !== undefined) t.match(err.message, re, name)
  }
  const valCases: Array<[string, (x: Record<string, any>) => void, RegExp]> = [
    ['pub does not match priv', (x) => { x.pub_key.value = Buffer.from(other.publicKey).toString('base64') }, /vk: pub_key: does not match priv_key/],
    ['address does not match', (x) => { x.address = toHex(other.address) }, /vk: address: does not match pub_key/],
    ['tampered public half', (x) => { x.priv_key.value = tampered.toString('base64') }, /priv_key\.value: its public half does not match its seed/],
    ['missing address', (x) => { delete x.address }, /vk: address: required field is missing/],
    ['address not hex', (x) => { x.address = 'nothex' }, /address: expected 40 hex characters/],
  ]
  for (const [name, edit, re] of valCases) {
    const x = valJson()
    edit(x)
    const err = expectAidError(t, () => parsePrivValidatorKey(JSON.stringify(x), 'vk'), 'ERR_KEYFILE_INVALID', name)
    if (err !== undefined) t.match(err.message, re, name)
  }
  const stateCases: Array<[string, string, RegExp]> = [
    ['height as number', '{"height": 0, "round": 0, "step": 0}', /st: height: expected a decimal string/],
    ['negative round', '{"height": "0", "round": -1, "step": 0}', /st: round: expected an integer/],
    ['bad step', '{"height": "0", "round": 0, "step": 4}', /st: step: expected 0 \(none\)/],
    ['missing step', '{"height": "0", "round": 0}', /st: step: required field is missing/],
    ['short signature', '{"height": "1", "round": 0, "step": 1, "signature": "AAAA"}', /st: signature: expected 64 bytes/],
  ]
  for (const [name, text, re] of stateCases) {
    const err = expectAidError(t, () => parsePrivValidatorState(text, 'st'), 'ERR_KEYFILE_INVALID', name)
    if (err !== undefined) t.match(err.message, re, name)
  }
})

t.test('load: missing file, random bytes, oversize', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'node_key.json')
  await rejectsAid(t, loadNodeKey(file), 'ERR_KEYFILE_INVALID', 'missing')
  await writeFile(file, Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37) & 0xff)), { mode: 0o600 })
  await rejectsAid(t, loadNodeKey(file), 'ERR_KEYFILE_INVALID', 'random bytes')
  await writeFile(file, ' '.repeat(65 * 1024), { mode: 0o600 })
  await rejectsAid(t, loadNodeKey(file), 'ERR_KEYFILE_INVALID', 'oversize')
})

t.test('fuzz: mutated key files never crash the loaders', async (t) => {
  const seed = Number(process.env.FUZZ_SEED ?? 99)
  const r = prng(seed)
  const vk = generatePrivValidatorKey(new Uint8Array(32).fill(3))
  const bases: Array<[string, (s: string) => unknown]> = [
    [JSON.stringify({ priv_key: { type: 'tendermint/PrivKeyEd25519', value: Buffer.from(vk.secretKey).toString('base64') } }, null, 2), (s) => parseNodeKey(s)],
    [JSON.stringify({
      address: toHex(vk.address).toUpperCase(),
      pub_key: { type: 'tendermint/PubKeyEd25519', value: Buffer.from(vk.publicKey).toString('base64') },
      priv_key: { type: 'tendermint/PrivKeyEd25519', value: Buffer.from(vk.secretKey).toString('base64') },
    }, null, 2), (s) => parsePrivValidatorKey(s)],
    ['{"height": "5", "round": 2, "step": 3, "signature": "' + 'A'.repeat(86) + '==", "signbytes": "0A0B"}', (s) => parsePrivValidatorState(s)],
  ]
  let rejected = 0
  for (let i = 0; i < 3000; i++) {
    const [base, parse] = bases[i % bases.length] ?? bases[0]!
    let text = base
    for (let k = 1 + r.int(3); k > 0; k--) text = mutate(text, r)
    if (i % 10 === 0) text = randomText(r, r.int(200))
    try {
      parse(text)
    } catch (err) {
      if (!(err instanceof AidError) || err.code !== 'ERR_KEYFILE_INVALID') {
        t.fail(`seed ${seed} iteration ${i}: unexpected ${String(err)}\n${JSON.stringify(text)}`)
        return
      }
      rejected++
    }
  }
  t.ok(rejected > 2000, `${rejected} of 3000 mutations rejected with ERR_KEYFILE_INVALID (seed ${seed})`)
})
