/**
 * Golden vectors for the core types: canonical encodings, sign bytes, hashes and Ed25519
 * signatures of a Vote, a Proposal, a Commit, a Header, a small Block, a ValidatorSet and a
 * TxEnvelope, pinned as hex.
 *
 * How they were produced: the values below are built from fixed inputs only (keys from
 * seeds SHA-256("aidledger-golden/<name>"), fixed heights, times and byte strings); the hex
 * was printed once by running this file with GOLDEN_PRINT=1 at the commit that added it,
 * checked by hand against the msgpack spec for the Vote (see the annotated breakdown in
 * the first test), and frozen. Ed25519 signatures are deterministic (RFC 8032), so they are
 * pinned too. If one of these changes, the wire format or a hash changed: every node of a
 * network must change together, so do not "update the constants" without meaning to.
 *
 * Independent cross-checks: the header hash, data hash, last-commit hash and validator-set
 * hash are recomputed here with @noble/hashes and a recursive RFC 6962 tree written in this
 * file, and every pinned signature is verified with @noble/curves (ZIP-215).
 */
import t from 'tap'
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js'
import { ed25519 } from '@noble/curves/ed25519.js'
import { toHex, utf8 } from '../../../src/bytes.ts'
import { encode } from '../../../src/codec/index.ts'
import { keyPairFromSeed, sign } from '../../../src/crypto/ed25519.ts'
import { sha256 } from '../../../src/crypto/hash.ts'
import {
  type Block, type BlockId, type Commit, type Header, type Proposal, type TxEnvelope, type Vote, BlockSchema, CommitSchema,
  CommitSigSchema, HeaderSchema, ProposalSchema, TxEnvelopeSchema, ValidatorSetSchema, VoteSchema, absentCommitSig,
  commitHash, dataHash, evidenceListHash, headerHash, newValidatorSet, proposalSignBytes, txHash, txSignBytes,
  validateBlock, validatorSetHash, voteSignBytes,
} from '../../../src/types/index.ts'

const CHAIN = 'aid-golden'
const h32 = (label: string): Uint8Array => sha256(utf8(label))
const key = (name: string) => keyPairFromSeed(h32(`aidledger-golden/${name}`))
const keys = [key('val-0'), key('val-1'), key('val-2'), key('val-3')]
const set = newValidatorSet(keys.map((k, i) => ({ pubKey: k.publicKey, votingPower: 10 * (i + 1) })))
const keyOf = (i: number) => keys.find((k) => toHex(k.publicKey) === toHex(set.validators[i]!.pubKey))!
const blockId: BlockId = { hash: h32('golden block'), partSetHeader: { total: 2, hash: h32('golden parts') } }

const voteUnsigned = { type: 'precommit' as const, height: 7, round: 1, blockId, timestamp: 1_700_000_000_123, validatorAddress: set.validators[0]!.address, validatorIndex: 0 }
const vote: Vote = { ...voteUnsigned, signature: sign(keyOf(0), voteSignBytes(CHAIN, voteUnsigned)) }

const proposalUnsigned = { height: 7, round: 1, polRound: 0, blockId, timestamp: 1_700_000_000_100 }
const proposal: Proposal = { ...proposalUnsigned, signature: sign(keyOf(3), proposalSignBytes(CHAIN, proposalUnsigned)) }

const commit: Commit = {
  height: 7,
  round: 1,
  blockId,
  signatures: (['commit', 'nil', 'absent', 'commit'] as const).map((flag, i) => {
    if (flag === 'absent') return absentCommitSig()
    const timestamp = 1_700_000_000_200 + i
    const sb = voteSignBytes(CHAIN, { type: 'precommit', height: 7, round: 1, blockId: flag === 'commit' ? blockId : { hash: new Uint8Array(0), partSetHeader: { total: 0, hash: new Uint8Array(0) } }, timestamp })
    return { flag, validatorAddress: set.validators[i]!.address, timestamp, signature: sign(keyOf(i), sb) }
  }),
}

const txs = [utf8('golden tx a'), utf8('golden tx b')]
const header: Header = {
  chainId: CHAIN,
  height: 8,
  time: 1_700_000_001_000,
  lastBlockId: blockId,
  lastCommitHash: commitHash(commit),
  dataHash: dataHash(txs),
  validatorsHash: validatorSetHash(set),
  nextValidatorsHash: validatorSetHash(set),
  consensusHash: h32('golden params'),
  appHash: h32('golden app'),
  lastResultsHash: h32('golden results'),
  evidenceHash: evidenceListHash([]),
  proposerAddress: set.validators[1]!.address,
}
const block: Block = { header, txs, evidence: [], lastCommit: commit }

const office = key('office')
const txUnsigned = { chainId: CHAIN, signer: office.publicKey, expiresAtHeight: 100, nonce: 3, body: utf8('golden body') }
const tx: TxEnvelope = { ...txUnsigned, signature: sign(office, txSignBytes(txUnsigned)) }

const computed = {
  voteEncoding: toHex(encode(VoteSchema, vote)),
  voteSignBytes: toHex(voteSignBytes(CHAIN, vote)),
  voteSignature: toHex(vote.signature),
  proposalEncoding: toHex(encode(ProposalSchema, proposal)),
  proposalSignBytes: toHex(proposalSignBytes(CHAIN, proposal)),
  proposalSignature: toHex(proposal.signature),
  commitEncoding: toHex(encode(CommitSchema, commit)),
  commitHash: toHex(commitHash(commit)),
  headerEncoding: toHex(encode(HeaderSchema, header)),
  headerHash: toHex(headerHash(header)),
  dataHash: toHex(dataHash(txs)),
  blockEncoding: toHex(encode(BlockSchema, block)),
  validatorSetEncoding: toHex(encode(ValidatorSetSchema, set)),
  validatorSetHash: toHex(validatorSetHash(set)),
  txEncoding: toHex(encode(TxEnvelopeSchema, tx)),
  txSignBytes: toHex(txSignBytes(tx)),
  txSignature: toHex(tx.signature),
  txHash: toHex(txHash(encode(TxEnvelopeSchema, tx))),
}

// Frozen with GOLDEN_PRINT=1 (see the header comment).
const GOLDEN: Record<keyof typeof computed, string> = {
  voteEncoding:
    '98a9707265636f6d6d6974070192c4205534fb7de04920ed7bf0200167fe347c8cb1572b6fad32cf056b780016e7448d' +
    '9202c4200e8a7a9bead527da43918f98edac008248a7e96976c1ea457808cf1babdd45c6d30000018bcfe5687bc4144f' +
    '67593a3caface4f9e7361f537d7e00a3a701f800c4405df555ac76dc6f32c9cf8c9e59d84ade1150f04323bab6cf31be' +
    '226914a5d3075724a11d85d6c1d58259ba30e6adb86e52367f4e65ba96ed979936e079c82e08',
  voteSignBytes:
    '97b16169646c65646765722f766f74652f7631aa6169642d676f6c64656ea9707265636f6d6d6974070192c4205534fb' +
    '7de04920ed7bf0200167fe347c8cb1572b6fad32cf056b780016e7448d9202c4200e8a7a9bead527da43918f98edac00' +
    '8248a7e96976c1ea457808cf1babdd45c6d30000018bcfe5687b',
  voteSignature:
    '5df555ac76dc6f32c9cf8c9e59d84ade1150f04323bab6cf31be226914a5d3075724a11d85d6c1d58259ba30e6adb86e' +
    '52367f4e65ba96ed979936e079c82e08',
  proposalEncoding:
    '9607010092c4205534fb7de04920ed7bf0200167fe347c8cb1572b6fad32cf056b780016e7448d9202c4200e8a7a9bea' +
    'd527da43918f98edac008248a7e96976c1ea457808cf1babdd45c6d30000018bcfe56864c44032fb33b6765137253e15' +
    '3e03847e5e1e5771ebb59dfc34ba09cda9c539811dab63903055f176ab57a8c6ed5a8c048c2e1615349ca107f23a739c' +
    'fda55baef303',
  proposalSignBytes:
    '97b56169646c65646765722f70726f706f73616c2f7631aa6169642d676f6c64656e07010092c4205534fb7de04920ed' +
    '7bf0200167fe347c8cb1572b6fad32cf056b780016e7448d9202c4200e8a7a9bead527da43918f98edac008248a7e969' +
    '76c1ea457808cf1babdd45c6d30000018bcfe56864',
  proposalSignature:
    '32fb33b6765137253e153e03847e5e1e5771ebb59dfc34ba09cda9c539811dab63903055f176ab57a8c6ed5a8c048c2e' +
    '1615349ca107f23a739cfda55baef303',
  commitEncoding:
    '94070192c4205534fb7de04920ed7bf0200167fe347c8cb1572b6fad32cf056b780016e7448d9202c4200e8a7a9bead5' +
    '27da43918f98edac008248a7e96976c1ea457808cf1babdd45c69494a6636f6d6d6974c4144f67593a3caface4f9e736' +
    '1f537d7e00a3a701f8d30000018bcfe568c8c44027904cc845b053cd0b65c374b4cd7e06f3490cd7db37cee422957539' +
    '054d309ab8e9342911789b06e74fd85ba63552f0d667c4973182a7b69b62fbd83cd8410694a36e696cc41460036141a2' +
    'a56cd25bc8e9b363e72bed9a7aeb21d30000018bcfe568c9c440554ff12c0a520df3ec3c412b455b01efd0f2af418c3d' +
    '50565874951f7bf522a5403f3b8baf6e5682a587962beb1bf9c74c7288e26d3763cd9342a999cf9ea30394a661627365' +
    '6e74c414000000000000000000000000000000000000000000c40094a6636f6d6d6974c414ca8eaf9a8e19748cdd2060' +
    'e2091e971b24401995d30000018bcfe568cbc440ba081934a684799dae5e4732b0917cf656197ba31a8c4b88ce875994' +
    'c9ae61c537b94c8ca8c06eef7f2f0ebaced0171e879fdab4da8c1ada665db93cab6abf09',
  commitHash: '0176a1c1432b979979baf9f2cda7a5c7241c7e10c39316c9efa7459acfc9ee9d',
  headerEncoding:
    '9daa6169642d676f6c64656e08d30000018bcfe56be892c4205534fb7de04920ed7bf0200167fe347c8cb1572b6fad32' +
    'cf056b780016e7448d9202c4200e8a7a9bead527da43918f98edac008248a7e96976c1ea457808cf1babdd45c6c42001' +
    '76a1c1432b979979baf9f2cda7a5c7241c7e10c39316c9efa7459acfc9ee9dc420c63d064c9a558b1c4e026e0d018429' +
    '9c5b500dddd030d00a0448fa2985b7c5f4c4202a360b1c8bdbb89307ce18b810349e84086233344b2a683ff7798fd971' +
    'b6d8e9c4202a360b1c8bdbb89307ce18b810349e84086233344b2a683ff7798fd971b6d8e9c42007ffaae81f4cffcdc8' +
    'adeb71083bc550bd1351e2b4b77963206a3b0aee8b7a82c420468ec9051ef06f9e36eb1b2cfcc14032cf80e63ef8d261' +
    '4d5a638b6c19a0a8a3c42088b7f28a975e13a4ec5891300c0f6223d5956c54b5f34e52f32f0dc0c0d2dd46c420e3b0c4' +
    '4298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855c41460036141a2a56cd25bc8e9b363e72bed9a' +
    '7aeb21',
  headerHash: 'c35cbf2f7644cfa63b5809ef22c1e0d09bcd8c2ad0997d488777ffba232cee47',
  dataHash: 'c63d064c9a558b1c4e026e0d0184299c5b500dddd030d00a0448fa2985b7c5f4',
  blockEncoding:
    '949daa6169642d676f6c64656e08d30000018bcfe56be892c4205534fb7de04920ed7bf0200167fe347c8cb1572b6fad' +
    '32cf056b780016e7448d9202c4200e8a7a9bead527da43918f98edac008248a7e96976c1ea457808cf1babdd45c6c420' +
    '0176a1c1432b979979baf9f2cda7a5c7241c7e10c39316c9efa7459acfc9ee9dc420c63d064c9a558b1c4e026e0d0184' +
    '299c5b500dddd030d00a0448fa2985b7c5f4c4202a360b1c8bdbb89307ce18b810349e84086233344b2a683ff7798fd9' +
    '71b6d8e9c4202a360b1c8bdbb89307ce18b810349e84086233344b2a683ff7798fd971b6d8e9c42007ffaae81f4cffcd' +
    'c8adeb71083bc550bd1351e2b4b77963206a3b0aee8b7a82c420468ec9051ef06f9e36eb1b2cfcc14032cf80e63ef8d2' +
    '614d5a638b6c19a0a8a3c42088b7f28a975e13a4ec5891300c0f6223d5956c54b5f34e52f32f0dc0c0d2dd46c420e3b0' +
    'c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855c41460036141a2a56cd25bc8e9b363e72bed' +
    '9a7aeb2192c40b676f6c64656e2074782061c40b676f6c64656e20747820629094070192c4205534fb7de04920ed7bf0' +
    '200167fe347c8cb1572b6fad32cf056b780016e7448d9202c4200e8a7a9bead527da43918f98edac008248a7e96976c1' +
    'ea457808cf1babdd45c69494a6636f6d6d6974c4144f67593a3caface4f9e7361f537d7e00a3a701f8d30000018bcfe5' +
    '68c8c44027904cc845b053cd0b65c374b4cd7e06f3490cd7db37cee422957539054d309ab8e9342911789b06e74fd85b' +
    'a63552f0d667c4973182a7b69b62fbd83cd8410694a36e696cc41460036141a2a56cd25bc8e9b363e72bed9a7aeb21d3' +
    '0000018bcfe568c9c440554ff12c0a520df3ec3c412b455b01efd0f2af418c3d50565874951f7bf522a5403f3b8baf6e' +
    '5682a587962beb1bf9c74c7288e26d3763cd9342a999cf9ea30394a6616273656e74c414000000000000000000000000' +
    '000000000000000000c40094a6636f6d6d6974c414ca8eaf9a8e19748cdd2060e2091e971b24401995d30000018bcfe5' +
    '68cbc440ba081934a684799dae5e4732b0917cf656197ba31a8c4b88ce875994c9ae61c537b94c8ca8c06eef7f2f0eba' +
    'ced0171e879fdab4da8c1ada665db93cab6abf09',
  validatorSetEncoding:
    '919494c4144f67593a3caface4f9e7361f537d7e00a3a701f8c420c21ec6a23bd478c794e5bfa4efdf7695fffc079a20' +
    'e7e12580ab49f0cd7c873d280094c41460036141a2a56cd25bc8e9b363e72bed9a7aeb21c42094e1d5e5fc20dbecaa71' +
    '4877f217731a785e07716fa8f31e5e3996f207c767601e0094c41405816d2e4b55f383775ef4079685eaef3db3b65ac4' +
    '20a359f3af180c059446661b1f544360ec1de1ceeef759da9481536a5acd218b9f140094c414ca8eaf9a8e19748cdd20' +
    '60e2091e971b24401995c4208309965bd0e10d0e0c898a66ba1992e20b58528990f87edf4e825900620932080a00',
  validatorSetHash: '2a360b1c8bdbb89307ce18b810349e84086233344b2a683ff7798fd971b6d8e9',
  txEncoding:
    '96aa6169642d676f6c64656ec42015d4db46116d154515301840950f772b8e3a59fcd2528c07b40a3d3b855d0e5d6403' +
    'c40b676f6c64656e20626f6479c4409cdf8c985122b3d52270f5fe34afbaca6e2e82d0b4988d543f25244f699fe5f205' +
    'cd7d7a2be161e66e52f0f0ea19451d96ec16a6c62913fc66fffbb53156a60a',
  txSignBytes:
    '96af6169646c65646765722f74782f7631aa6169642d676f6c64656ec42015d4db46116d154515301840950f772b8e3a' +
    '59fcd2528c07b40a3d3b855d0e5d6403c40b676f6c64656e20626f6479',
  txSignature:
    '9cdf8c985122b3d52270f5fe34afbaca6e2e82d0b4988d543f25244f699fe5f205cd7d7a2be161e66e52f0f0ea19451d' +
    '96ec16a6c62913fc66fffbb53156a60a',
  txHash: 'f545fc82f562e125edb5c2803c3388f687f03caa8e9c925efd79e2f890107855',
}

if (process.env.GOLDEN_PRINT === '1') console.log(JSON.stringify(computed, null, 2))

t.test('golden vectors are unchanged', async (t) => {
  for (const [name, hex] of Object.entries(GOLDEN)) {
    t.equal(computed[name as keyof typeof computed], hex, name)
  }
  t.equal(Object.keys(GOLDEN).length, Object.keys(computed).length, 'every computed value is pinned')
})

t.test('the Vote vector, read field by field against the msgpack spec', async (t) => {
  const parts = [
    '98', // fixarray of 8: the Vote's fields in declaration order
    'a9' + toHex(utf8('precommit')), // type: fixstr(9)
    '07', '01', // height 7, round 1: positive fixint
    '92', 'c420' + toHex(blockId.hash), // blockId: [hash as bin8(32), partSetHeader]
    '92', '02', 'c420' + toHex(blockId.partSetHeader.hash), // partSetHeader: [total 2, hash]
    'd3' + '0000018bcfe5687b', // timestamp 1_700_000_000_123 > 2^32: int64
    'c414' + toHex(vote.validatorAddress), // bin8(20)
    '00', // validatorIndex 0
    'c440' + toHex(vote.signature), // bin8(64)
  ]
  t.equal(GOLDEN.voteEncoding, parts.join(''))
  const sb = [
    '97', // fixarray of 7: tag, chainId, then the signed fields (no address, index or signature)
    'b1' + toHex(utf8('aidledger/vote/v1')), 'aa' + toHex(utf8(CHAIN)),
    'a9' + toHex(utf8('precommit')), '07', '01', '92', 'c420' + toHex(blockId.hash), '92', '02', 'c420' + toHex(blockId.partSetHeader.hash),
    'd3' + '0000018bcfe5687b',
  ]
  t.equal(GOLDEN.voteSignBytes, sb.join(''))
})

/** RFC 6962 Merkle root, recursive definition, over @noble/hashes. */
function nobleMerkleRoot (items: Uint8Array[]): Uint8Array {
  if (items.length === 0) return nobleSha256(new Uint8Array(0))
  if (items.length === 1) return nobleSha256(new Uint8Array([0x00, ...(items[0] as Uint8Array)]))
  let k = 1
  while (k * 2 < items.length) k *= 2
  return nobleSha256(new Uint8Array([0x01, ...nobleMerkleRoot(items.slice(0, k)), ...nobleMerkleRoot(items.slice(k))]))
}
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'))

t.test('hashes cross-checked with @noble/hashes and an independent RFC 6962 tree', async (t) => {
  const headerBytes = unhex(GOLDEN.headerEncoding)
  t.equal(toHex(nobleSha256(new Uint8Array([...utf8('aidledger/header/v1'), ...headerBytes]))), GOLDEN.headerHash, 'header hash = SHA-256(tag || encoding)')
  t.equal(toHex(nobleMerkleRoot(txs.map((x) => nobleSha256(x)))), GOLDEN.dataHash, 'data hash = root over SHA-256(tx)')
  t.equal(toHex(nobleMerkleRoot(commit.signatures.map((s) => encode(CommitSigSchema, s)))), GOLDEN.commitHash, 'last commit hash = root over encoded slots')
  // the validator-set hash commits to [pubKey, power] per validator, in set order, without priorities
  // (spelled out by hand: fixarray(2), bin8(32) key, power as a positive fixint since all are < 128)
  t.ok(set.validators.every((v) => v.votingPower < 128))
  const simple = set.validators.map((v) => unhex('92' + 'c420' + toHex(v.pubKey) + v.votingPower.toString(16).padStart(2, '0')))
  t.equal(toHex(nobleMerkleRoot(simple)), GOLDEN.validatorSetHash, 'validator set hash')
  t.equal(toHex(nobleSha256(unhex(GOLDEN.txEncoding))), GOLDEN.txHash, 'tx hash = SHA-256(tx bytes)')
  t.equal(toHex(nobleMerkleRoot([])), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'empty root = SHA-256()')
  t.equal(toHex(header.evidenceHash), toHex(nobleMerkleRoot([])), 'no evidence: empty root')
})

t.test('pinned signatures verify under ZIP-215 with @noble/curves', async (t) => {
  const cases: Array<[string, string, Uint8Array]> = [
    ['vote', GOLDEN.voteSignBytes, set.validators[0]!.pubKey],
    ['proposal', GOLDEN.proposalSignBytes, set.validators[3]!.pubKey],
    ['tx', GOLDEN.txSignBytes, office.publicKey],
  ]
  const sigs = { vote: GOLDEN.voteSignature, proposal: GOLDEN.proposalSignature, tx: GOLDEN.txSignature }
  for (const [name, msg, pub] of cases) {
    t.ok(ed25519.verify(unhex(sigs[name as keyof typeof sigs]), unhex(msg), pub, { zip215: true }), name)
  }
  for (const [i, cs] of commit.signatures.entries()) {
    if (cs.flag === 'absent') continue
    const sb = voteSignBytes(CHAIN, { type: 'precommit', height: 7, round: 1, blockId: cs.flag === 'commit' ? blockId : { hash: new Uint8Array(0), partSetHeader: { total: 0, hash: new Uint8Array(0) } }, timestamp: cs.timestamp })
    t.ok(ed25519.verify(cs.signature, sb, set.validators[i]!.pubKey, { zip215: true }), `commit slot ${i}`)
  }
})

t.test('the golden block passes validateBlock', async (t) => {
  const r = validateBlock(block)
  t.ok(r.ok, r.ok ? 'valid' : r.error.message)
})
