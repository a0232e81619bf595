/**
 * The core schemas under the codec's strictness properties: real values (signed votes,
 * commits, blocks, parts, tx envelopes) round-trip, and every mutant or re-spelling of
 * their encodings is either rejected with ERR_CODEC_* or is exactly canonical.
 */
import t from 'tap'
import { toHex, utf8 } from '../../../src/bytes.ts'
import { type Schema, encode, tryDecode } from '../../../src/codec/index.ts'
import {
  BlockMetaSchema, BlockSchema, ChainStateSchema, CommitSchema, HeaderSchema, PartSchema, ProposalSchema, TxEnvelopeSchema,
  ValidatorSetSchema, VoteSchema, defaultConsensusParams, makePartSet, newBlockMeta, nilBlockId,
} from '../../../src/types/index.ts'
import { allTokens, alternativeEncodings, byteMutants, deepEqual, makeRng, readToken, splice } from '../codec/fuzz-helpers.ts'
import { CHAIN_ID, keyFor, makeChain, makeValidators, signVote } from './fixtures.ts'

const keyed = makeValidators([5, 6, 7])
const chain = makeChain(2, keyed)
const c = chain[1]!
const samples: Array<[string, Schema<any>, unknown]> = [
  ['Vote', VoteSchema, signVote(CHAIN_ID, keyed.keys[0]!, { type: 'prevote', height: 2, round: 0, blockId: c.blockId, timestamp: 5, validatorAddress: keyed.set.validators[0]!.address, validatorIndex: 0 })],
  ['Proposal', ProposalSchema, { height: 2, round: 3, polRound: -1, blockId: c.blockId, timestamp: 1_700_000_000_000, signature: new Uint8Array(64).fill(9) }],
  ['Commit', CommitSchema, c.seenCommit],
  ['Header', HeaderSchema, c.block.header],
  ['Block', BlockSchema, c.block],
  ['Part', PartSchema, makePartSet(new Uint8Array(3000).fill(1), 1000).parts[1]],
  ['TxEnvelope', TxEnvelopeSchema, { chainId: CHAIN_ID, signer: keyFor('o').publicKey, expiresAtHeight: 9, nonce: 2 ** 40, body: utf8('x'), signature: new Uint8Array(64) }],
  ['ValidatorSet', ValidatorSetSchema, { validators: keyed.set.validators.map((v, i) => ({ ...v, proposerPriority: BigInt(i) * -(2n ** 40n) })) }],
  ['BlockMeta', BlockMetaSchema, newBlockMeta(c.block, c.parts.header, 1234)],
  ['ChainState', ChainStateSchema, {
    chainId: CHAIN_ID, initialHeight: 1, lastBlockHeight: 2, lastBlockId: c.blockId, lastBlockTime: 7, nextValidators: keyed.set, validators: keyed.set,
    lastValidators: { validators: [] }, lastHeightValidatorsChanged: 1, consensusParams: defaultConsensusParams(), lastHeightConsensusParamsChanged: 1,
    lastResultsHash: new Uint8Array(32), appHash: new Uint8Array(0),
  }],
]

t.test('core values round-trip', async (t) => {
  for (const [name, schema, value] of samples) {
    const b = encode(schema, value)
    const r = tryDecode(schema, b)
    t.ok(r.ok && deepEqual(r.value, value), name)
  }
  const nilVote = { ...(samples[0]![2] as object), blockId: nilBlockId() }
  t.ok(tryDecode(VoteSchema, encode(VoteSchema, nilVote as never)).ok, 'nil vote')
})

t.test('mutants and re-spellings of core encodings: rejected with ERR_CODEC_* or canonical', async (t) => {
  const rng = makeRng(99)
  let n = 0
  for (const [name, schema, value] of samples) {
    const b = encode(schema, value)
    const candidates = byteMutants(rng, b, 300)
    for (const tok of allTokens(readToken(b))) {
      const { same, other } = alternativeEncodings(b, tok)
      for (const alt of [...same, ...other]) candidates.push(splice(b, tok.start, tok.end, alt))
    }
    for (const cand of candidates) {
      n++
      let r
      try {
        r = tryDecode(schema, cand)
      } catch (err) {
        t.fail(`${name}: threw ${String(err)}`)
        return
      }
      if (!r.ok) {
        if (!r.error.code.startsWith('ERR_CODEC_')) { t.fail(`${name}: ${r.error.code}`); return }
      } else if (toHex(encode(schema, r.value)) !== toHex(cand)) {
        t.fail(`${name}: accepted a non-canonical encoding`)
        return
      }
    }
  }
  t.ok(n > 3000, `${n} candidates`)
})
