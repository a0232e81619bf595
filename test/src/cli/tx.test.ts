/**
 * `aidledger tx … --dry-run` for every operation of BodySchema: flags derived from the
 * schema parse into a body, the signed envelope printed as base64 decodes strictly (as the
 * node decodes it), its body round-trips to exactly the flags' values, and its signature
 * verifies under the keyring key. Then the usage errors: each names the offending flag.
 */
import t from 'tap'
import { main, type CliIo } from '../../../src/cli/main.ts'
import { flagName, txCommands } from '../../../src/cli/commands/tx.ts'
import { queryCommands, QUERIES, queryPath } from '../../../src/cli/commands/query.ts'
import { loadKey } from '../../../src/cli/commands/keys.ts'
import { BODY_TYPES, bodyFields, bodyFromPlain, decodeAppTx, type FieldKind } from '../../../state/client.ts'
import { verify } from '../../../src/crypto/ed25519.ts'
import { sha256 } from '../../../src/crypto/hash.ts'
import { toHex, utf8 } from '../../../src/bytes.ts'
import { txSignBytes } from '../../../src/types/tx.ts'
import { tempDir } from '../config/helpers.ts'

interface Run { code: number, out: string, err: string }

async function run (argv: string[]): Promise<Run> {
  let out = ''
  let err = ''
  const io: CliIo = { out: (s) => { out += s }, err: (s) => { err += s } }
  return { code: await main(argv, { io }), out, err }
}

/** A plain value that satisfies the codec for a field (the handlers' rules are not checked here). */
function sample (field: string, k: FieldKind, i: number): string | boolean | undefined {
  switch (k.kind) {
    case 'int': return field === 'year' ? '2026' : field === 'period' ? '202603' : field === 'standardFen' || field.endsWith('Fen') ? '80000' : String(1 + (i % 7))
    case 'bool': return true
    case 'bytes': return toHex(sha256(utf8(`${field}/${i}`)))
    case 'enum': return k.values[i % k.values.length] as string
    case 'region': return /hukou|residence/i.test(field) ? '420102001' : '420000'
    case 'list':
      if (k.item.kind === 'enum') return k.item.values.slice(0, Math.min(2, k.max)).join(',')
      return [0, 1].map((j) => toHex(sha256(utf8(`${field}/${i}/${j}`)))).join(',')
    case 'optional': return (field.length + i) % 2 === 0 ? undefined : sample(field, k.inner, i)
    case 'union': return JSON.stringify({ type: 'param', value: { name: 'maxTxTtl', value: 500 } })
    default: throw new Error(`no sample for ${k.kind}`)
  }
}

t.test('a command per operation; --dry-run output decodes and round-trips for every one', async (t) => {
  const ring = await tempDir(t, 'aidledger-tx-')
  t.equal((await run(['keys', 'add', 'office', '--keyring', ring])).code, 0)
  const key = await loadKey(ring, 'office')
  t.equal(txCommands.length, BODY_TYPES.length, 'one command per body type')
  t.equal(BODY_TYPES.length, 35, 'every operation of state/schema.ts')
  for (const [i, type] of BODY_TYPES.entries()) {
    const fields = bodyFields(type)
    const plain: Record<string, unknown> = {}
    const args: string[] = []
    for (const [f, k] of Object.entries(fields)) {
      const v = sample(f, k, i)
      plain[f] = v
      if (v === true) args.push(`--${flagName(f)}`)
      else if (typeof v === 'string') args.push(`--${flagName(f)}`, v)
    }
    const argv = ['tx', ...type.split('.'), '--from', 'office', '--keyring', ring, '--dry-run', '--chain-id', 'aid-test-1', '--expiry-height', String(100 + i), '--nonce', String(i), ...args]
    const r = await run(argv)
    t.equal(r.code, 0, `${type}: ${r.err}`)
    const bytes = new Uint8Array(Buffer.from(r.out.trim(), 'base64'))
    t.equal(Buffer.from(bytes).toString('base64'), r.out.trim(), `${type}: output is base64`)
    const d = decodeAppTx(bytes)
    t.same(d.body, bodyFromPlain(type, plain), `${type}: body round-trips`)
    t.equal(d.envelope.chainId, 'aid-test-1')
    t.equal(d.envelope.expiresAtHeight, 100 + i)
    t.equal(d.envelope.nonce, i)
    t.same(d.envelope.signer, key.publicKey, `${type}: signed by --from`)
    t.ok(verify(key.publicKey, txSignBytes(d.envelope), d.envelope.signature), `${type}: signature verifies`)
  }

  const j = await run(['tx', 'application', 'submit', '--from', 'office', '--keyring', ring, '--dry-run', '--json', '--chain-id', 'c', '--expiry-height', '9',
    '--subject-id', 'ab'.repeat(32), '--program-id', '1001'])
  const out = JSON.parse(j.out) as { tx: string, hash: string, opId: string, body: unknown, nonce: number }
  const d = decodeAppTx(new Uint8Array(Buffer.from(out.tx, 'base64')))
  t.equal(out.hash, d.hash)
  t.equal(out.opId, toHex(d.opId), 'the op id (the application id to come) is known before sending')
  t.same(out.body, { type: 'application.submit', value: { subjectId: 'ab'.repeat(32), programId: 1001 } })
  t.ok(out.nonce >= 0, 'random nonce by default')
})

t.test('usage errors name the flag (exit 2); a missing key or node is a failure (exit 1)', async (t) => {
  const ring = await tempDir(t, 'aidledger-tx-')
  t.equal((await run(['keys', 'add', 'k', '--keyring', ring])).code, 0)
  const base = ['--from', 'k', '--keyring', ring, '--dry-run', '--chain-id', 'c', '--expiry-height', '9']
  const cases: Array<[string[], RegExp]> = [
    [['tx', 'budget', 'allocate', ...base, '--program-id', '1', '--year', '1999', '--amount-fen', '5'], /--year: 1999 not in \[2000, 2199\]/],
    [['tx', 'budget', 'allocate', ...base, '--program-id', 'x', '--year', '2026', '--amount-fen', '5'], /--program-id: expected a non-negative integer/],
    [['tx', 'budget', 'allocate', ...base, '--year', '2026', '--amount-fen', '5'], /--program-id: required option is missing/],
    [['tx', 'office', 'register', ...base, '--id', '1', '--level', 'emperor', '--department', 'finance', '--region', '420000', '--pub-key', '00'.repeat(32)], /--level: expected one of ministry, province/],
    [['tx', 'office', 'register', ...base, '--id', '1', '--level', 'province', '--department', 'finance', '--region', '4200', '--pub-key', '00'.repeat(32)], /--region: /],
    [['tx', 'office', 'suspend', ...base, '--office-id', '1', '--suspended', '--bogus'], /unknown option --bogus/],
    [['tx', 'application', 'accept', ...base, '--application-id', 'abc'], /--application-id: expected hex/],
    [['tx', 'application', 'accept', ...base, '--application-id', 'abcd'], /--application-id: expected 32 bytes \(64 hex digits\), got 2/],
    [['tx', 'household', 'register', ...base, '--household-id', '11'.repeat(32), '--hukou-region', '420102001', '--residence-region', '420102001', '--members', Array(33).fill('22'.repeat(32)).join(',')], /--members: at most 32 items/],
    [['tx', 'household', 'propose-change', ...base, '--household-id', '11'.repeat(32), '--statutory-check', 'maybe'], /--statutory-check: expected true or false/],
    [['tx', 'gov', 'propose', ...base, '--change', '{"type":"coup","value":{}}'], /--change: type must be one of validator, param/],
    [['tx', 'gov', 'propose', ...base, '--change', 'not json'], /--change: not JSON/],
    [['tx', 'enrollment', 'resume', '--from', 'k', '--keyring', ring, '--enrollment-id', '11'.repeat(32), '--ttl', '5', '--expiry-height', '9'], /give --ttl or --expiry-height, not both/],
    [['tx', 'enrollment', 'resume', ...base, '--enrollment-id', '11'.repeat(32), '--broadcast', 'never'], /--broadcast: expected commit, sync or async/],
  ]
  for (const [argv, want] of cases) {
    const r = await run(argv)
    t.equal(r.code, 2, `${argv.slice(0, 3).join(' ')}: exit 2 (${r.err.trim().split('\n')[0] ?? ''})`)
    t.match(r.err, want)
  }
  const noKey = await run(['tx', 'enrollment', 'resume', '--from', 'nobody', '--keyring', ring, '--dry-run', '--chain-id', 'c', '--expiry-height', '9', '--enrollment-id', '11'.repeat(32)])
  t.equal(noKey.code, 1)
  t.match(noKey.err, /no key named nobody/)
  const noNode = await run(['tx', 'enrollment', 'resume', '--from', 'k', '--keyring', ring, '--dry-run', '--node', 'http://127.0.0.1:1', '--enrollment-id', '11'.repeat(32)])
  t.equal(noNode.code, 1, 'without --chain-id and --expiry-height the node is asked, and it is not there')
  t.match(noNode.err, /ERR_CLIENT_HTTP/)
})

t.test('query commands: one per query path, paths built from arguments', async (t) => {
  t.equal(queryCommands.length, QUERIES.length)
  const spec = (n: string): typeof QUERIES[number] => QUERIES.find((q) => q.name === n) as typeof QUERIES[number]
  t.equal(queryPath(spec('budget'), ['1001', '2026', '420102']), '/budget/1001/2026/420102')
  t.equal(queryPath(spec('program'), ['1001']), '/program/1001')
  t.equal(queryPath(spec('params'), []), '/params')
  t.equal(queryPath(spec('raw'), ['enrolled/ab/basic-living']), '/enrolled/ab/basic-living')
  t.throws(() => queryPath(spec('office'), ['1/2']), { code: 'ERR_CLI_USAGE' })
  const r = await run(['query', 'budget', '1001'])
  t.equal(r.code, 2)
  t.match(r.err, /missing argument YEAR/)
  const dead = await run(['query', 'office', '1', '--node', 'http://127.0.0.1:1'])
  t.equal(dead.code, 1)
  t.match(dead.err, /ERR_CLIENT_HTTP/)
})
