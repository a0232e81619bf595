import t from 'tap'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import {
  canonicalGenesisBytes, checkAppState, formatRfc3339Ms, genesisHash, genesisToJson, loadGenesis, newGenesis, parseGenesis,
  parseRfc3339Ms, renderGenesis, writeGenesis, type Genesis,
} from '../../../src/config/genesis.ts'
import { canonicalJson } from '../../../src/config/json.ts'
import { generateKeyPair } from '../../../src/crypto/ed25519.ts'
import { toHex } from '../../../src/bytes.ts'
import { AidError } from '../../../src/errors.ts'
import { defaultConsensusParams, validateValidatorSet, totalVotingPower } from '../../../src/types/index.ts'
import { expectAidError, mutate, prng, randomText, rejectsAid, tempDir } from './helpers.ts'

const seedOf = (n: number): Uint8Array => new Uint8Array(32).fill(n)
const keys = [1, 2, 3].map((n) => generateKeyPair(seedOf(n)))
const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 678)

const SAMPLE = await newGenesis({
  chainId: 'aid-test-1',
  genesisTimeMs: T0,
  validators: keys.map((k, i) => ({ pubKey: k.publicKey, power: 10 * (i + 1), name: `v${i}` })),
  appState: { offices: [{ id: 'mca', level: 'ministry' }] },
})

/** A fresh copy of the sample genesis. */
function sample (): Genesis {
  return parseGenesis(renderGenesis(SAMPLE))
}

/** The sample as a mutable JSON object. */
function sampleJson (): Record<string, any> {
  return JSON.parse(renderGenesis(sample())) as Record<string, any>
}

t.test('newGenesis → render → parse round-trips and converts to core types', async (t) => {
  const g = sample()
  const back = parseGenesis(renderGenesis(g))
  t.same(back, g)
  t.equal(back.genesisTimeMs, T0)
  t.equal(back.initialHeight, 1)
  t.same(back.consensusParams, defaultConsensusParams())
  t.equal(back.validators.length, 3)
  t.equal(back.validatorSet.validators.length, 3)
  t.ok(validateValidatorSet(back.validatorSet).ok)
  t.equal(totalVotingPower(back.validatorSet), 60)
  t.equal(back.validatorSet.validators[0]?.votingPower, 30, 'canonical order: power descending')
  const j = genesisToJson(g)
  t.equal(j.genesis_time, '2026-01-02T03:04:05.678Z')
  t.equal(j.initial_height, '1')
  const v0 = (j.validators as Array<Record<string, any>>)[0]
  t.match(v0?.address, /^[0-9A-F]{40}$/)
  t.same(v0?.pub_key, { type: 'tendermint/PubKeyEd25519', value: Buffer.from(keys[0]?.publicKey ?? []).toString('base64') })
  t.equal(v0?.power, '10')
})

t.test('RFC 3339 times', async (t) => {
  const good: Array<[string, number]> = [
    ['2026-01-02T03:04:05Z', Date.UTC(2026, 0, 2, 3, 4, 5)],
    ['2026-01-02T03:04:05.678Z', T0],
    ['2026-01-02T03:04:05.678999999Z', T0],
    ['2026-01-02T11:04:05.678+08:00', T0],
    ['2026-01-01T22:04:05.678-05:00', T0],
    ['2024-02-29T00:00:00Z', Date.UTC(2024, 1, 29)],
    ['1970-01-01T00:00:00Z', 0],
  ]
  for (const [s, ms] of good) t.equal(parseRfc3339Ms(s), ms, s)
  const bad = ['2026-01-02', '2026-01-02 03:04:05Z', '2026-13-01T00:00:00Z', '2025-02-29T00:00:00Z', '2026-01-02T24:00:00Z',
    '2026-01-02T03:04:60Z', '2026-01-02T03:04:05', '2026-01-02T03:04:05.Z', '2026-01-02T03:04:05.1234567890Z', '1969-12-31T23:59:59Z',
    '2026-01-02t03:04:05z', '+2026-01-02T03:04:05Z', '2026-01-02T03:04:05+24:00']
  for (const s of bad) t.type(parseRfc3339Ms(s), 'string', s)
  t.equal(formatRfc3339Ms(Date.UTC(2026, 0, 1)), '2026-01-01T00:00:00Z')
  t.equal(formatRfc3339Ms(Date.UTC(2026, 0, 1, 0, 0, 0, 500)), '2026-01-01T00:00:00.5Z')
})

t.test('genesis hash: SHA-256 of RFC 8785 canonical JSON; stable under formatting, changes with meaning', async (t) => {
  const g = sample()
  const h = genesisHash(g)
  t.equal(h.length, 32)
  t.equal(toHex(h), createHash('sha256').update(canonicalJson(genesisToJson(g))).digest('hex'))
  t.notMatch(Buffer.from(canonicalGenesisBytes(g)).toString(), /\s"/, 'no whitespace between tokens')
  // Same meaning, different text: compact, reordered keys, omitted defaults, +08:00 time, lower-case hex.
  const j = sampleJson()
  const reordered: Record<string, unknown> = {}
  for (const k of Object.keys(j).reverse()) reordered[k] = j[k]
  delete reordered.consensus_params
  delete reordered.initial_height
  reordered.genesis_time = '2026-01-02T11:04:05.678+08:00'
  ;(reordered.validators as Array<Record<string, string>>).forEach((v) => { v.address = v.address?.toLowerCase() ?? '' })
  t.equal(toHex(genesisHash(parseGenesis(JSON.stringify(reordered)))), toHex(h))
  // Different meaning: every field counts.
  const variants: Array<(x: Record<string, any>) => void> = [
    (x) => { x.chain_id = 'aid-test-2' },
    (x) => { x.genesis_time = '2026-01-02T03:04:05.679Z' },
    (x) => { x.initial_height = '2' },
    (x) => { x.validators[0].power = '11' },
    (x) => { x.validators[0].name = 'other' },
    (x) => { x.validators.reverse() },
    (x) => { x.app_hash = 'AB' },
    (x) => { x.app_state.offices[0].level = 'province' },
    (x) => { x.consensus_params.block.max_bytes = '2097152' },
  ]
  const seen = new Set([toHex(h)])
  for (const [i, change] of variants.entries()) {
    const x = sampleJson()
    change(x)
    const hx = toHex(genesisHash(parseGenesis(JSON.stringify(x))))
    t.notOk(seen.has(hx), `variant ${i} changes the hash`)
    seen.add(hx)
  }
})

t.test('canonical JSON follows RFC 8785 key order and number forms', async (t) => {
  t.equal(canonicalJson({ b: 1, a: [true, null, 'x'], A: { z: -0, y: 1e21, x: 0.1 } }), '{"A":{"x":0.1,"y":1e+21,"z":0},"a":[true,null,"x"],"b":1}')
  // UTF-16 code unit order: U+FFFD sorts after U+1F600's high surrogate (0xD83D).
  t.equal(canonicalJson({ '\uFFFD': 1, '\u{1F600}': 2 }), '{"\u{1F600}":2,"\uFFFD":1}')
  const withProto = JSON.parse('{"__proto__": {"x": 1}, "a": 2}') as Record<string, never>
  t.equal(canonicalJson(withProto), '{"__proto__":{"x":1},"a":2}')
})

t.test('app_state is opaque unless a validateAppState hook is given', async (t) => {
  const j = sampleJson()
  j.app_state = { anything: [1, 'two', { three: null }] }
  t.same(parseGenesis(JSON.stringify(j)).appState, j.app_state)
  delete j.app_state
  t.same(parseGenesis(JSON.stringify(j)).appState, {}, 'absent app_state is {}')
  j.app_state = { offices: 'nope' }
  const text = JSON.stringify(j)
  let seenCtx: unknown
  const hook = (s: unknown, ctx: unknown): void => {
    seenCtx = ctx
    if (typeof (s as { offices?: unknown }).offices !== 'object') throw new AidError('ERR_TYPES_INVALID', 'expected a list of offices', 'offices')
  }
  const parsed = parseGenesis(text, { file: 'g.json' })
  t.same(parsed.appState, { offices: 'nope' }, 'parseGenesis alone keeps app_state opaque')
  const err = await rejectsAid(t, checkAppState(parsed, hook, 'g.json'), 'ERR_GENESIS_INVALID', 'hook')
  t.equal(err?.message, 'ERR_GENESIS_INVALID: g.json: app_state.offices: expected a list of offices')
  t.equal((seenCtx as { chainId: string }).chainId, 'aid-test-1')
  t.ok(err?.cause instanceof AidError, 'the app error is kept as cause')
  const plain = await rejectsAid(t, checkAppState(parsed, () => { throw new Error('boom') }), 'ERR_GENESIS_INVALID', 'plain error')
  t.match(plain?.message, /app_state: boom/)
  // An async check (state/ replays genesis on a scratch store) whose paths already start at app_state.
  const asyncHook = async (): Promise<void> => { throw new AidError('ERR_GENESIS_INVALID', 'expected an array', 'app_state.offices') }
  const asy = await rejectsAid(t, checkAppState(parsed, asyncHook, 'g.json'), 'ERR_GENESIS_INVALID', 'async hook')
  t.equal(asy?.message, 'ERR_GENESIS_INVALID: g.json: app_state.offices: expected an array')
  const dir = await tempDir(t)
  await writeFile(join(dir, 'genesis.json'), text)
  await rejectsAid(t, loadGenesis(join(dir, 'genesis.json'), { validateAppState: asyncHook }), 'ERR_GENESIS_INVALID', 'loadGenesis runs the hook')
  // newGenesis runs the app's default builder (sync or async) and its check.
  const g = await newGenesis({
    chainId: 'c', genesisTimeMs: 0, validators: [{ pubKey: keys[0]?.publicKey ?? new Uint8Array(), power: 1 }],
    appState: async (ctx) => ({ validators: ctx.validators.length }),
  })
  t.same(g.appState, { validators: 1 })
  await rejectsAid(t, newGenesis({
    chainId: 'c', genesisTimeMs: 0, validators: [{ pubKey: keys[0]?.publicKey ?? new Uint8Array(), power: 1 }],
    validateAppState: asyncHook,
  }), 'ERR_GENESIS_INVALID', 'newGenesis runs the hook')
  const deep = '['.repeat(200) + ']'.repeat(200)
  const tooDeep = expectAidError(t, () => parseGenesis(text.replace('{"offices":"nope"}', deep)), 'ERR_GENESIS_INVALID', 'deep')
  t.match(tooDeep?.message, /app_state: nested deeper than 128/)
})

type Edit = (x: Record<string, any>) => unknown
const badCases: Array<[string, Edit | string, RegExp]> = [
  ['not JSON', 'hello', /g\.json: not valid JSON/],
  ['truncated JSON', '{"genesis_time": "2026-01-02T03:04:05Z", "chain', /g\.json: not valid JSON.*line 1/],
  ['empty file', '', /not valid JSON/],
  ['array document', '[]', /g\.json: expected an object, got an array/],
  ['unknown top-level field', (x) => { x.genesis_tme = x.genesis_time }, /g\.json: genesis_tme: unknown field/],
  ['missing genesis_time', (x) => { delete x.genesis_time }, /genesis_time: required field is missing/],
  ['missing chain_id', (x) => { delete x.chain_id }, /chain_id: required field is missing/],
  ['missing validators', (x) => { delete x.validators }, /validators: required field is missing/],
  ['bad time', (x) => { x.genesis_time = '2026-02-30T00:00:00Z' }, /genesis_time: day 30 is out of range/],
  ['time as number', (x) => { x.genesis_time = 1767322800000 }, /genesis_time: expected an RFC 3339 time/],
  ['bad chain id', (x) => { x.chain_id = 'has space' }, /chain_id: .*does not match/],
  ['long chain id', (x) => { x.chain_id = 'c'.repeat(51) }, /chain_id: 51 chars > max 50/],
  ['empty chain id', (x) => { x.chain_id = '' }, /chain_id/],
  ['initial_height as number', (x) => { x.initial_height = 1 }, /initial_height: expected a decimal string like "1"/],
  ['negative initial_height', (x) => { x.initial_height = '-1' }, /initial_height: -1 is outside/],
  ['no validators', (x) => { x.validators = [] }, /validators: at least one validator is required/],
  ['validators not an array', (x) => { x.validators = {} }, /validators: expected an array/],
  ['address mismatch', (x) => { x.validators[1].address = x.validators[0].address }, /validators\[1\]\.address: [0-9A-F]{40} does not match pub_key \(whose address is [0-9A-F]{40}\)/],
  ['address not hex', (x) => { x.validators[0].address = 'zz' }, /validators\[0\]\.address: expected 40 hex characters/],
  ['missing address', (x) => { delete x.validators[0].address }, /validators\[0\]\.address: required field is missing/],
  ['duplicate validator', (x) => { x.validators.push({ ...x.validators[0] }) }, /validators\[3\]: duplicate validator: same key as validators\[0\]/],
  ['zero power', (x) => { x.validators[2].power = '0' }, /validators\[2\]\.power: must be positive, got "0"/],
  ['negative power', (x) => { x.validators[2].power = '-5' }, /validators\[2\]\.power: must be positive, got "-5"/],
  ['power as number', (x) => { x.validators[0].power = 10 }, /validators\[0\]\.power: expected a decimal string like "10", got number 10/],
  ['power too large', (x) => { x.validators[0].power = String(2 ** 51) }, /validators\[0\]\.power: .*outside/],
  ['total power too large', (x) => { for (const v of x.validators) v.power = String(2 ** 49) }, /validators: total voting power exceeds/],
  ['wrong key type', (x) => { x.validators[0].pub_key.type = 'tendermint/PubKeySecp256k1' }, /validators\[0\]\.pub_key\.type: expected "tendermint\/PubKeyEd25519"/],
  ['short key', (x) => { x.validators[0].pub_key.value = 'AAAA' }, /validators\[0\]\.pub_key\.value: expected a 32-byte Ed25519 public key, got 3 bytes/],
  ['key not base64', (x) => { x.validators[0].pub_key.value = '!!' }, /pub_key\.value: expected standard padded base64/],
  ['unknown validator field', (x) => { x.validators[0].voting_power = '1' }, /validators\[0\]\.voting_power: unknown field/],
  ['name with control char', (x) => { x.validators[0].name = 'a\u0000' }, /validators\[0\]\.name/],
  ['app_hash not hex', (x) => { x.app_hash = 'xyz' }, /app_hash: expected "" or hex/],
  ['app_hash too long', (x) => { x.app_hash = 'AB'.repeat(33) }, /app_hash/],
  ['unknown consensus section', (x) => { x.consensus_params.version = { app: '0' } }, /consensus_params\.version: unknown field/],
  ['max_bytes too small', (x) => { x.consensus_params.block.max_bytes = '10' }, /consensus_params\.block\.max_bytes: 10 not in \[1024, /],
  ['evidence > block', (x) => { x.consensus_params.evidence.max_bytes = '5000000' }, /consensus_params\.evidence\.max_bytes: must not exceed block\.max_bytes/],
  ['max_age_duration not ms', (x) => { x.consensus_params.evidence.max_age_duration = '1500' }, /max_age_duration: must be a whole number of milliseconds/],
  ['pub_key_types', (x) => { x.consensus_params.validator.pub_key_types = ['secp256k1'] }, /pub_key_types: only \["ed25519"\]/],
  ['too many validators', (x) => { x.consensus_params.validator.max_validators = '2' }, /validators: 3 validators, more than consensus_params\.validator\.max_validators \(2\)/],
]

t.test('bad genesis files: typed errors naming the field', async (t) => {
  for (const [name, edit, re] of badCases) {
    let text: string
    if (typeof edit === 'string') {
      text = edit
    } else {
      const x = sampleJson()
      edit(x)
      text = JSON.stringify(x)
    }
    const err = expectAidError(t, () => parseGenesis(text, { file: 'g.json' }), 'ERR_GENESIS_INVALID', name)
    if (err !== undefined) t.match(err.message, re, name)
  }
})

t.test('CometBFT spellings accepted: max_gas -1, initial_height "0" as 1, lower-case hex', async (t) => {
  const x = sampleJson()
  x.consensus_params.block.max_gas = '-1'
  x.initial_height = '0'
  x.app_hash = 'abcd'
  const g = parseGenesis(JSON.stringify(x))
  t.equal(g.consensusParams.block.maxGas, 0)
  t.equal(g.initialHeight, 1)
  t.equal(toHex(g.appHash), 'abcd')
  t.equal(genesisToJson(g).app_hash, 'ABCD')
})

t.test('loadGenesis and writeGenesis', async (t) => {
  const dir = await tempDir(t)
  const file = join(dir, 'genesis.json')
  await rejectsAid(t, loadGenesis(file), 'ERR_GENESIS_INVALID', 'missing')
  await writeFile(file, Buffer.from([0xc3, 0x28, 0x7b]))
  await rejectsAid(t, loadGenesis(file), 'ERR_GENESIS_INVALID', 'invalid UTF-8')
  const g = sample()
  await writeGenesis(file, g)
  t.same(await loadGenesis(file), g)
  const bad = { ...g, chainId: 'bad id' }
  await rejectsAid(t, writeGenesis(file, bad), 'ERR_GENESIS_INVALID', 'invalid genesis is not written')
  t.same(await loadGenesis(file), g, 'previous file intact')
})

t.test('fuzz: random mutations of genesis.json never crash the loader', async (t) => {
  const seed = Number(process.env.FUZZ_SEED ?? 7)
  const r = prng(seed)
  const pretty = renderGenesis(sample())
  const compact = JSON.stringify(JSON.parse(pretty))
  let rejected = 0
  for (let i = 0; i < 3000; i++) {
    let text = i % 2 === 0 ? compact : pretty
    for (let k = 1 + r.int(3); k > 0; k--) text = mutate(text, r)
    if (i % 10 === 0) text = randomText(r, r.int(300))
    try {
      parseGenesis(text, { file: 'fuzz.json' })
    } catch (err) {
      if (!(err instanceof AidError) || err.code !== 'ERR_GENESIS_INVALID' || !err.message.startsWith('ERR_GENESIS_INVALID: fuzz.json')) {
        t.fail(`seed ${seed} iteration ${i}: unexpected ${String(err)}\n${JSON.stringify(text.slice(0, 400))}`)
        return
      }
      rejected++
    }
  }
  t.ok(rejected > 2000, `${rejected} of 3000 mutations rejected with ERR_GENESIS_INVALID (seed ${seed})`)
})
