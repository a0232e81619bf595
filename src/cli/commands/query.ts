/**
 * `aidledger query <what> ARGS… [--node URL] [--height H] [--no-prove]`: the app's query
 * paths (state/query.ts) through abci_query, printed as JSON. By default every answer is
 * verified (rpc/client.ts `query`): the proofs against the app_hash of header height+1,
 * that header against its commit (+2/3 of the validator set it names), and the set against
 * the genesis set (or > 1/3 of it signing). A failed check prints which step failed and
 * exits 1. `query raw PATH` sends any path.
 *
 * Output: { path, height, verified, proof: { height, appHash, blockHash, signedPower,
 * totalPower, trust }, entries: [ { key, record } ] } — one entry per store key the answer
 * consists of (record null when the key is absent, with a non-membership proof).
 */
import { EXIT_FAILURE, EXIT_OK, flag, intOption, stringOption, usageError, type Command, type CommandContext, type OptionSpec, type PositionalSpec } from '../command.ts'
import { createClient, ProofVerificationError, type QueryResult } from '../../../rpc/client.ts'
import { appQueryCodec, type QueryEntry } from '../../../state/client.ts'
import { ATTESTATION_TYPES, CATEGORIES, CONSENT_PURPOSES, EXCLUSIVITY_GROUPS } from '../../../state/schema.ts'
import { nodeOption, nodeUrl, withClient } from './tx.ts'

interface QuerySpec {
  name: string
  summary: string
  args: Array<[name: string, description: string, required?: boolean]>
  /** Listing queries: their completeness is not proven. */
  listing?: boolean
}

const HEX32 = '32-byte id as hex'

export const QUERIES: QuerySpec[] = [
  { name: 'office', summary: 'An office record.', args: [['ID', 'office id']] },
  { name: 'office-by-key', summary: 'The office a public key belongs to.', args: [['PUBKEY', 'public key as hex']] },
  { name: 'program', summary: 'A program; with REGION, also the standards set along the region chain.', args: [['ID', 'program id'], ['REGION', 'region code', false]] },
  { name: 'budget', summary: 'Budget use of a program in a region and year.', args: [['PROGRAM', 'program id'], ['YEAR', 'year'], ['REGION', 'region code']] },
  { name: 'household', summary: 'A household record.', args: [['ID', HEX32]] },
  { name: 'subject', summary: 'A person record and its household.', args: [['ID', HEX32]] },
  { name: 'enrolled', summary: 'Is the subject enrolled in the exclusivity group (and where)?', args: [['SUBJECT', HEX32], ['GROUP', EXCLUSIVITY_GROUPS.join('|')]] },
  { name: 'enrollments', summary: 'Every enrollment of a subject, in any province.', args: [['SUBJECT', HEX32]] },
  { name: 'enrollment', summary: 'An enrollment record.', args: [['ID', HEX32]] },
  { name: 'disbursement', summary: 'The payment of an enrollment for a period.', args: [['ENROLLMENT', HEX32], ['PERIOD', 'YYYYMM']] },
  { name: 'application', summary: 'An application with its timeline.', args: [['ID', HEX32]] },
  { name: 'attestation', summary: 'The latest attestation of a type for a subject.', args: [['SUBJECT', HEX32], ['TYPE', ATTESTATION_TYPES.join('|')]] },
  { name: 'consent', summary: 'A household consent for a purpose.', args: [['HOUSEHOLD', HEX32], ['PURPOSE', CONSENT_PURPOSES.join('|')]] },
  { name: 'alert', summary: 'An alert.', args: [['ID', HEX32]] },
  { name: 'emergency', summary: 'An emergency declaration.', args: [['ID', HEX32]] },
  { name: 'proposal', summary: 'A governance proposal.', args: [['ID', HEX32]] },
  {
    name: 'audit',
    summary: 'The audit trail of an entity: count, then entries FROM..FROM+LIMIT.',
    args: [['KIND', 'office|program|budget|household|subject|application|enrollment|alert|emergency|proposal'], ['ID', 'id (budget: PROGRAM-YEAR-REGION)'], ['FROM', 'first entry', false], ['LIMIT', '1..100', false]],
  },
  { name: 'count', summary: 'Active enrollments of a category in a region.', args: [['CATEGORY', CATEGORIES.join('|')], ['REGION', 'region code']] },
  { name: 'alerts', summary: 'Unresolved alerts addressed to an office (latest height only).', args: [['OFFICE', 'office id']], listing: true },
  { name: 'reviews-due', summary: 'Live enrollments of a county due for review by a time (latest height only).', args: [['COUNTY', 'county region code'], ['TIME', 'unix ms']], listing: true },
  { name: 'params', summary: 'The app parameters.', args: [] },
  { name: 'validators', summary: 'The app\'s validator/operator record.', args: [] },
  { name: 'meta', summary: 'Chain meta (chain id, heights, last time).', args: [] },
  { name: 'store', summary: 'Any raw store key.', args: [['KEY', 'key as hex']] },
  { name: 'raw', summary: 'Any query path, e.g. /enrolled/<subject>/basic-living.', args: [['PATH', 'query path']] },
]

const OPTIONS: Record<string, OptionSpec> = {
  node: nodeOption,
  height: { type: 'string', valueName: 'H', description: 'Query the state after block H.', defaultText: 'latest' },
  prove: { type: 'boolean', description: 'Verify the answer (the default).' },
  'no-prove': { type: 'boolean', description: 'Skip proof and header verification.' },
  trust: { type: 'string', valueName: 'ROOT', description: 'Validator set to trust: genesis or node.', defaultText: 'genesis' },
  'wait-ms': { type: 'string', valueName: 'MS', description: 'How long to wait for block height+1 (whose header proves the answer).', defaultText: '60000' },
  compact: { type: 'boolean', description: 'Print one line of JSON.' },
}

export function queryPath (spec: QuerySpec, args: readonly string[]): string {
  if (spec.name === 'raw') {
    const p = args[0] ?? ''
    return p.startsWith('/') ? p : `/${p}`
  }
  for (const a of args) if (a === '' || a.includes('/')) throw usageError(`arguments must be non-empty and contain no '/': ${JSON.stringify(a.slice(0, 60))}`)
  return `/${[spec.name, ...args].join('/')}`
}

export function queryOutput (r: QueryResult<QueryEntry[]>, listing: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { path: r.path, height: r.height, verified: r.verified }
  if (r.proof !== undefined) out.proof = r.proof
  if (listing) out.note = 'each listed record is proven; the completeness of the listing is not'
  out.entries = r.value
  return out
}

function queryCommand (spec: QuerySpec): Command {
  const positionals: PositionalSpec[] = spec.args.map(([name, description, required]) => ({ name, description, required: required ?? true }))
  return {
    name: `query ${spec.name}`,
    summary: spec.summary,
    options: OPTIONS,
    positionals,
    examples: [`aidledger query ${spec.name}${spec.args.map(([n, , r]) => (r === false ? ` [${n}]` : ` ${n}`)).join('')} --node http://127.0.0.1:26657`],
    async run (ctx: CommandContext) {
      const path = queryPath(spec, ctx.positionals)
      const height = intOption(ctx, 'height', { min: 1, max: Number.MAX_SAFE_INTEGER })
      const waitMs = intOption(ctx, 'wait-ms', { min: 1, max: 3_600_000 })
      if (flag(ctx, 'prove') && flag(ctx, 'no-prove')) throw usageError('give --prove or --no-prove, not both', '--prove')
      const trust = stringOption(ctx, 'trust') ?? 'genesis'
      if (trust !== 'genesis' && trust !== 'node') throw usageError('expected genesis or node', '--trust')
      const client = createClient({ url: nodeUrl(ctx), codec: appQueryCodec, trust })
      return await withClient(ctx, client, async () => {
        try {
          const r = await client.query<QueryEntry[]>(path, { ...(height === undefined ? {} : { height }), prove: !flag(ctx, 'no-prove'), ...(waitMs === undefined ? {} : { waitMs }) })
          ctx.io.out(JSON.stringify(queryOutput(r, spec.listing === true), null, flag(ctx, 'compact') ? undefined : 2) + '\n')
          return EXIT_OK
        } catch (err) {
          if (!(err instanceof ProofVerificationError)) throw err
          ctx.io.err(`error: ${err.message}\n`)
          ctx.io.out(JSON.stringify({ path, verified: false, failedStep: err.step, height: err.height, error: err.message }) + '\n')
          return EXIT_FAILURE
        }
      })
    },
  }
}

export const queryCommands: Command[] = QUERIES.map(queryCommand)
