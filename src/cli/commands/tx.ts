/**
 * `aidledger tx <group> <action> --from NAME …fields`: one command per operation of the
 * app's BodySchema (state/schema.ts), generated from the schema: each body field becomes a
 * `--kebab-case` flag parsed by its kind (state/client.ts bodyFields): integers, enums
 * (checked against their values), region codes, 32-byte ids as hex, booleans as plain
 * flags (optional ones as true/false), lists comma-separated, the governance change as
 * JSON. `office.rotate-key` is `aidledger tx office rotate-key`.
 *
 * The tx is signed with the keyring key `--from` (./keys.ts) for `--chain-id` (default: the
 * node's network) and expires at `--expiry-height` or latest height + `--ttl` (default 100).
 * `--dry-run` prints the signed tx as base64 and sends nothing (with --chain-id and
 * --expiry-height it needs no node). Otherwise it is broadcast (`--broadcast commit`, the
 * default: broadcast_tx_commit; `sync`: broadcast_tx_sync then wait for it in the index;
 * `async`: fire and forget) and the result printed: code and its name (state/codes.ts),
 * log, height, hash, and TxResult.data as hex (the op id of whatever the tx created).
 *
 * Exit codes: 0 committed with code 0; 1 rejected (CheckTx or block) or the node failed;
 * 2 bad usage (a flag that does not parse, or a body the schema refuses).
 */
import { toBase64, toHex } from '../../bytes.ts'
import { isAidError } from '../../errors.ts'
import type { TxResult } from '../../abci.ts'
import { createClient, isClientError, type AidClient } from '../../../rpc/client.ts'
import {
  BODY_TYPES, bodyFields, bodyFromPlain, bodyToPlain, describeKind, encodeBody, PlainValueError, signBody,
  type Body, type BodyType, type FieldKind,
} from '../../../state/client.ts'
import { resultName } from '../../../state/codes.ts'
import { EXIT_FAILURE, EXIT_OK, flag, intOption, stringOption, usageError, chainIdOption, type Command, type CommandContext, type OptionSpec } from '../command.ts'
import { keyringFromCtx, keyringOptions, loadKey } from './keys.ts'

export const DEFAULT_NODE = 'http://127.0.0.1:26657'
export const DEFAULT_TTL = 100

export const nodeOption: OptionSpec = { type: 'string', valueName: 'URL', description: 'Node RPC address.', defaultText: `$AIDLEDGER_NODE or ${DEFAULT_NODE}` }

export function nodeUrl (ctx: CommandContext): string {
  return stringOption(ctx, 'node') ?? (process.env.AIDLEDGER_NODE !== undefined && process.env.AIDLEDGER_NODE !== '' ? process.env.AIDLEDGER_NODE : DEFAULT_NODE)
}

/**
 * Runs `use` with `client` and closes the client after. A client error (node unreachable,
 * RPC error) that `use` lets through is printed as `error: …` and gives exit 1.
 */
export async function withClient (ctx: CommandContext, client: AidClient, use: () => Promise<number>): Promise<number> {
  try {
    return await use()
  } catch (err) {
    if (isClientError(err)) {
      ctx.io.err(`error: ${err.message}\n`)
      return EXIT_FAILURE
    }
    throw err
  } finally {
    await client.close()
  }
}

const COMMON: Record<string, OptionSpec> = {
  from: { type: 'string', valueName: 'NAME', required: true, description: 'Keyring key (office key) that signs.' },
  node: nodeOption,
  'chain-id': { type: 'string', valueName: 'ID', description: 'Chain id to sign for.', defaultText: "the node's network" },
  ttl: { type: 'string', valueName: 'BLOCKS', description: 'Expire this many blocks after the latest height.', defaultText: String(DEFAULT_TTL) },
  'expiry-height': { type: 'string', valueName: 'HEIGHT', description: 'Expire at this height (instead of --ttl).' },
  nonce: { type: 'string', valueName: 'N', description: 'Envelope nonce (the same body twice needs two nonces).', defaultText: 'random' },
  'dry-run': { type: 'boolean', description: 'Print the signed tx as base64; send nothing.' },
  broadcast: { type: 'string', valueName: 'MODE', description: 'commit (wait for the block), sync (CheckTx, then wait) or async.', defaultText: 'commit' },
  json: { type: 'boolean', description: 'Print the result as JSON.' },
  ...keyringOptions,
}

export function flagName (field: string): string {
  return field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)
}

function valueName (k: FieldKind): string {
  switch (k.kind) {
    case 'int': return 'N'
    case 'bytes': return 'HEX'
    case 'enum': return 'VALUE'
    case 'region': return 'CODE'
    case 'list': return 'A,B,…'
    case 'optional': return valueName(k.inner)
    case 'union': case 'struct': return 'JSON'
    default: return 'VALUE'
  }
}

function fieldOption (field: string, k: FieldKind): OptionSpec {
  const what = describeKind(k)
  if (k.kind === 'bool') return { type: 'boolean', description: `${field} = true (absent: false).` }
  if (k.kind === 'list') return { type: 'string', valueName: valueName(k), description: `${field}: ${what}.`, defaultText: 'empty' }
  if (k.kind === 'optional') {
    return { type: 'string', valueName: k.inner.kind === 'bool' ? 'true|false' : valueName(k), description: `${field}: ${describeKind(k.inner)}.`, defaultText: 'none' }
  }
  return { type: 'string', valueName: valueName(k), required: true, description: `${field}: ${what}.` }
}

export function commandNameOf (type: BodyType): string {
  return `tx ${type.replace('.', ' ')}`
}

/** The body a tx command's flags describe; usage errors name the flag. */
export function bodyFromFlags (type: BodyType, values: CommandContext['values']): Body {
  const fields = bodyFields(type)
  const plain: Record<string, unknown> = {}
  for (const [f, k] of Object.entries(fields)) {
    const v = values[flagName(f)]
    plain[f] = k.kind === 'bool' ? v === true : v
  }
  let b: Body
  try {
    b = bodyFromPlain(type, plain)
  } catch (err) {
    if (err instanceof PlainValueError) throw usageError(err.message.slice(err.at.length + 2), `--${flagName(err.at.split(/[.[]/)[0] ?? err.at)}`)
    throw err
  }
  try {
    encodeBody(b)
  } catch (err) {
    if (isAidError(err)) {
      const at = err.at ?? ''
      const i = at.indexOf(`${type}.`)
      const field = i < 0 ? '' : at.slice(i + type.length + 1).split(/[.[]/)[0] ?? ''
      const detail = at === '' ? err.message : err.message.slice(err.message.indexOf(at) + at.length + 2)
      throw usageError(detail, field === '' ? undefined : `--${flagName(field)}`)
    }
    throw err
  }
  return b
}

export interface TxOutcome {
  phase: 'check' | 'deliver' | 'sent'
  code: number
  name: string
  codespace: string
  log: string
  height: number
  hash: string
  /** TxResult.data, hex. */
  data: string
  /** The tx's op id (SHA-256 of its sign bytes), hex. */
  opId: string
}

function outcomeOf (phase: TxOutcome['phase'], r: Pick<TxResult, 'code' | 'codespace' | 'log' | 'data'>, height: number, hash: string, opId: Uint8Array): TxOutcome {
  return {
    phase, code: r.code, name: r.code === 0 ? 'OK' : resultName(r.code) ?? 'UNKNOWN', codespace: r.codespace, log: r.log, height, hash,
    data: toHex(r.data), opId: toHex(opId),
  }
}

function printOutcome (ctx: CommandContext, o: TxOutcome): void {
  if (flag(ctx, 'json')) { ctx.io.out(JSON.stringify(o) + '\n'); return }
  const rows: Array<[string, string]> = [
    ['code', `${o.code} ${o.name}${o.phase === 'check' && o.code !== 0 ? ' (refused by CheckTx)' : ''}`],
    ['log', o.log],
    ['height', String(o.height)],
    ['hash', o.hash],
    ['data', o.data],
  ]
  if (o.data !== o.opId) rows.push(['op id', o.opId])
  ctx.io.out(rows.map(([k, v]) => `${k.padEnd(6)}  ${v}`).join('\n') + '\n')
}

async function send (ctx: CommandContext, client: AidClient, bytes: Uint8Array, hash: string, opId: Uint8Array): Promise<TxOutcome> {
  const mode = stringOption(ctx, 'broadcast') ?? 'commit'
  if (mode === 'commit') {
    try {
      const r = await client.broadcastTxCommit(bytes)
      if (r.checkTx.code !== 0) return outcomeOf('check', r.checkTx, 0, r.hash, opId)
      return outcomeOf('deliver', r.txResult, r.height, r.hash, opId)
    } catch (err) {
      // The node gave up waiting (timeout_broadcast_tx_commit) but the tx passed CheckTx and
      // may still be included: keep waiting for it in the index.
      if (!isClientError(err, 'ERR_CLIENT_RPC') || !/timed out waiting for tx to be included/.test(err.message)) throw err
      const done = await client.waitForTx(hash, { timeoutMs: 120_000 })
      return outcomeOf('deliver', done.txResult, done.height, done.hash, opId)
    }
  }
  const r = mode === 'sync' ? await client.broadcastTxSync(bytes) : await client.broadcastTxAsync(bytes)
  if (r.code !== 0 || mode === 'async') return outcomeOf(mode === 'async' ? 'sent' : 'check', { ...r, data: new Uint8Array(0) }, 0, r.hash, opId)
  const done = await client.waitForTx(hash, { timeoutMs: 120_000 })
  return outcomeOf('deliver', done.txResult, done.height, done.hash, opId)
}

function txCommand (type: BodyType): Command {
  const fields = bodyFields(type)
  const options: Record<string, OptionSpec> = { ...COMMON }
  for (const [f, k] of Object.entries(fields)) {
    const name = flagName(f)
    if (name in options) throw new TypeError(`tx ${type}: field ${f} collides with the option --${name}`)
    options[name] = fieldOption(f, k)
  }
  const example = Object.entries(fields).filter(([, k]) => k.kind !== 'optional' && k.kind !== 'list' && k.kind !== 'bool').map(([f, k]) => `--${flagName(f)}${k.kind === 'bool' ? '' : ` ${valueName(k)}`}`).join(' ')
  return {
    name: commandNameOf(type),
    summary: `Sign and send ${type}.`,
    description: `Body fields: ${Object.entries(fields).map(([f, k]) => `${f} (${describeKind(k)})`).join(', ')}.\n` +
      'Prints code and name, log, height, hash and TxResult.data (hex); exits 1 when the tx is refused.',
    options,
    examples: [`aidledger ${commandNameOf(type)} --from NAME ${example}`.trimEnd(), `aidledger ${commandNameOf(type)} --from NAME … --dry-run --chain-id ID --expiry-height H`],
    async run (ctx) {
      const b = bodyFromFlags(type, ctx.values)
      const mode = stringOption(ctx, 'broadcast')
      if (mode !== undefined && !['commit', 'sync', 'async'].includes(mode)) throw usageError('expected commit, sync or async', '--broadcast')
      const ttl = intOption(ctx, 'ttl', { min: 1, max: 100_000 })
      const expiresAtFlag = intOption(ctx, 'expiry-height', { min: 1, max: Number.MAX_SAFE_INTEGER })
      if (ttl !== undefined && expiresAtFlag !== undefined) throw usageError('give --ttl or --expiry-height, not both', '--ttl')
      const nonce = intOption(ctx, 'nonce', { min: 0, max: Number.MAX_SAFE_INTEGER })
      const key = await loadKey(keyringFromCtx(ctx), requiredFrom(ctx))
      let chainId = chainIdOption(ctx)
      let expiresAtHeight = expiresAtFlag
      const dry = flag(ctx, 'dry-run')
      const client = createClient({ url: nodeUrl(ctx) })
      return await withClient(ctx, client, async () => {
        if (chainId === undefined || expiresAtHeight === undefined) {
          const st = await client.status()
          chainId ??= st.network
          expiresAtHeight ??= st.latestHeight + (ttl ?? DEFAULT_TTL)
        }
        const signed = signBody(b, { signer: key, chainId, expiresAtHeight, ...(nonce === undefined ? {} : { nonce }) })
        if (dry) {
          if (flag(ctx, 'json')) {
            ctx.io.out(JSON.stringify({ tx: toBase64(signed.bytes), hash: signed.hash, opId: toHex(signed.opId), chainId, expiresAtHeight, nonce: signed.envelope.nonce, body: bodyToPlain(b) }) + '\n')
          } else ctx.io.out(toBase64(signed.bytes) + '\n')
          return EXIT_OK
        }
        const outcome = await send(ctx, client, signed.bytes, signed.hash, signed.opId)
        printOutcome(ctx, outcome)
        return outcome.code === 0 ? EXIT_OK : EXIT_FAILURE
      })
    },
  }
}

function requiredFrom (ctx: CommandContext): string {
  const v = stringOption(ctx, 'from')
  if (v === undefined) throw usageError('required option is missing', '--from')
  return v
}

/** One command per operation, in BodySchema order. */
export const txCommands: Command[] = BODY_TYPES.map(txCommand)
