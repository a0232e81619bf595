/**
 * The simulator's application, safety checks and byzantine forgeries, without an engine:
 * the sim app is deterministic and rejects bad blocks; the checker reports honest double
 * signs (not byzantine ones, not forged signatures), agreement and app-hash splits, and
 * invalid blocks; the byzantine forgeries are validly signed and really conflict.
 */
import t from 'tap'
import { equalBytes, toHex, utf8 } from '../../src/bytes.ts'
import { keyPairFromSeed, sign, verify, type Ed25519KeyPair } from '../../src/crypto/ed25519.ts'
import { sha256 } from '../../src/crypto/hash.ts'
import { decode, encode } from '../../src/codec/index.ts'
import type { ChannelId, PeerId, Transport } from '../../src/transport.ts'
import {
  BlockSchema, commitHash, dataHash, defaultConsensusParams, consensusParamsHash, headerHash, makePartSet, newValidatorSet,
  nilBlockId, proposalSignBytes, validatorSetHash, voteSignBytes, voteToCommitSig,
  type Block, type BlockId, type Header, type Proposal, type Vote, type VoteType,
} from '../../src/types/index.ts'
import { decodeChannelMessage, encodeBlockPart, encodeConsensus, encodeVoteMessage } from '../../consensus/messages.ts'
import { blockTxsProblem, createSimApp, genesisAppHash, makeTx, newAppDisk, txProblem } from './app.ts'
import { decodeSigned } from './binding.ts'
import { byzantineTransport, equivocalBlock, forgeConflictingVote, forgeProposal } from './byzantine.ts'
import { addressHex, SafetyChecker, SimViolation } from './checks.ts'
import { describeScenario, generateScenario, FAULT_MIXES } from './scenario.ts'
import { streamSeed } from './rng.ts'

const CHAIN = 'sim-test'
const keys: Ed25519KeyPair[] = [0, 1, 2, 3].map((i) => keyPairFromSeed(sha256(utf8(`checks-test/${i}`))))
const client = keyPairFromSeed(sha256(utf8('checks-test/client')))
const valSet = newValidatorSet(keys.map((k) => ({ pubKey: k.publicKey, votingPower: 10 })))
const keyOf = (i: number): Ed25519KeyPair => keys.find((k) => equalBytes(sha256(k.publicKey).subarray(0, 20), valSet.validators[i]?.address ?? new Uint8Array())) as Ed25519KeyPair

function makeVote (i: number, type: VoteType, height: number, round: number, blockId: BlockId, timestamp = 1000): Vote {
  const unsigned = { type, height, round, blockId, timestamp }
  const val = valSet.validators[i]
  if (val === undefined) throw new Error('no validator')
  return { ...unsigned, validatorAddress: val.address, validatorIndex: i, signature: sign(keyOf(i), voteSignBytes(CHAIN, unsigned)) }
}

function makeProposal (i: number, height: number, round: number, blockId: BlockId): Proposal {
  const unsigned = { height, round, polRound: -1, blockId, timestamp: 1000 }
  return { ...unsigned, signature: sign(keyOf(i), proposalSignBytes(CHAIN, unsigned)) }
}

function header (height: number, txs: Uint8Array[], lastBlockId: BlockId, lastCommit: Block['lastCommit'], appHash: Uint8Array, time: number): Header {
  return {
    chainId: CHAIN,
    height,
    time,
    lastBlockId,
    lastCommitHash: commitHash(lastCommit),
    dataHash: dataHash(txs),
    validatorsHash: validatorSetHash(valSet),
    nextValidatorsHash: validatorSetHash(valSet),
    consensusHash: consensusParamsHash(defaultConsensusParams()),
    appHash,
    lastResultsHash: sha256(new Uint8Array(0)),
    evidenceHash: sha256(new Uint8Array(0)),
    proposerAddress: (valSet.validators[0] as { address: Uint8Array }).address,
  }
}

function blockWithId (b: Block): { block: Block, blockId: BlockId } {
  const parts = makePartSet(encode(BlockSchema, b))
  return { block: b, blockId: { hash: headerHash(b.header), partSetHeader: parts.header } }
}

function newChecker (byz: string[] = []): SafetyChecker {
  return new SafetyChecker({
    chainId: CHAIN,
    validatorSet: valSet,
    byzantineKeys: new Set(byz),
    honestNodes: new Set(['n0', 'n1', 'n2', 'n3']),
    decode: decodeSigned,
    genesisAppHash: genesisAppHash(CHAIN),
    now: () => 0,
  })
}

const bid = (label: string): BlockId => ({ hash: sha256(utf8(label)), partSetHeader: { total: 1, hash: sha256(utf8(`p${label}`)) } })

t.test('sim app: deterministic app hash, rejects bad txs and blocks, survives restart via its disk', async (t) => {
  const txs = [makeTx(CHAIN, client, 'a', '1', 0), makeTx(CHAIN, client, 'b', '2', 1)]
  t.equal(txProblem(txs[0] as Uint8Array, CHAIN), null)
  t.match(txProblem(txs[0] as Uint8Array, 'other'), /wrong chain/)
  t.match(txProblem(utf8('junk'), CHAIN), /undecodable/)
  const tampered = new Uint8Array(txs[0] as Uint8Array)
  tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1
  t.match(txProblem(tampered, CHAIN), /bad signature/)
  t.match(blockTxsProblem([txs[0] as Uint8Array, txs[0] as Uint8Array], CHAIN), /repeated/)

  const run = async (): Promise<string[]> => {
    const disk = newAppDisk()
    const seen: string[] = []
    const app = createSimApp({ node: 'x', chainId: CHAIN, disk, observer: { onFinalize: (o) => seen.push(toHex(o.appHash)) } })
    const init = await app.initChain({ chainId: CHAIN, time: 0, initialHeight: 1, consensusParams: defaultConsensusParams(), validators: [], appStateBytes: utf8('{}') })
    t.strictSame(init.appHash, genesisAppHash(CHAIN))
    t.equal(await app.processProposal({ txs, height: 1, time: 1, hash: sha256(utf8('b1')), proposerAddress: new Uint8Array(20) }), 'accept')
    t.equal(await app.processProposal({ txs: [utf8('junk')], height: 1, time: 1, hash: sha256(utf8('b1')), proposerAddress: new Uint8Array(20) }), 'reject')
    const req = { txs, height: 1, time: 1, hash: sha256(utf8('b1')), proposerAddress: new Uint8Array(20), misbehavior: [], nextValidatorsHash: new Uint8Array(32) }
    await app.finalizeBlock(req)
    // a crash before commit: the new app object starts from the disk again
    const again = createSimApp({ node: 'x', chainId: CHAIN, disk, observer: { onFinalize: (o) => seen.push(toHex(o.appHash)) } })
    t.equal((await again.info()).lastBlockHeight, 0)
    await again.finalizeBlock(req)
    await again.commit()
    t.equal((await again.info()).lastBlockHeight, 1)
    t.equal((await again.query({ path: '', data: utf8('b'), height: 0, prove: false })).code, 0)
    await again.finalizeBlock({ ...req, height: 2, txs: [] })
    await again.commit()
    return seen
  }
  const a = await run()
  const b = await run()
  t.strictSame(a, b, 'same blocks, same app hashes')
  t.equal(a[0], a[1], 're-executing the block after a crash gives the same app hash')
  t.not(a[1], a[2])
})

t.test('checker: honest double sign is a violation; byzantine ones are counted; forgeries are not attributed', async (t) => {
  const c = newChecker([addressHex(keyOf(3).publicKey)])
  const v1 = makeVote(0, 'prevote', 5, 0, bid('A'))
  c.onSend('n0', 'votes', encodeVoteMessage({ type: 'vote', value: v1 }))
  c.onSend('n1', 'votes', encodeVoteMessage({ type: 'vote', value: v1 }))
  t.equal(c.violations.length, 0, 'the same vote relayed is fine')
  // a forged vote in validator 0's name (signature by another key) frames nobody
  const forged = { ...makeVote(1, 'prevote', 5, 0, bid('B')), validatorAddress: v1.validatorAddress, validatorIndex: 0 }
  c.onSend('n3', 'votes', encodeVoteMessage({ type: 'vote', value: forged }))
  t.equal(c.violations.length, 0, 'a badly signed vote is not attributed')
  // byzantine validator 3 equivocates: counted, not a violation
  c.onSend('n3', 'votes', encodeVoteMessage({ type: 'vote', value: makeVote(3, 'precommit', 5, 0, bid('A')) }))
  c.onSend('n3', 'votes', encodeVoteMessage({ type: 'vote', value: makeVote(3, 'precommit', 5, 0, nilBlockId()) }))
  t.equal(c.violations.length, 0)
  t.equal(c.stats.byzantineEquivocations, 1)
  // honest validator 0 signs another prevote in the same round: a violation
  c.onSend('n0', 'votes', encodeVoteMessage({ type: 'vote', value: makeVote(0, 'prevote', 5, 0, nilBlockId()) }))
  t.equal(c.violations.length, 1)
  t.equal(c.violations[0]?.kind, 'double-sign')
  // and for proposals
  c.onSend('n1', 'consensus', encodeConsensus({ type: 'proposal', value: makeProposal(1, 6, 2, bid('X')) }))
  c.onSend('n1', 'consensus', encodeConsensus({ type: 'proposal', value: makeProposal(1, 6, 2, bid('Y')) }))
  t.equal(c.violations.length, 2)
  t.match(c.violations[1]?.detail, /6\/2\/proposal/)
  const err = new SimViolation(42, c.violations[0] as never, 'n=4 mix=all')
  t.match(err.message, /seed: 42/)
  t.match(err.message, /npm run sim -- --seed 42/)
  t.match(err.message, /n=4 mix=all/)
})

t.test('checker: lock discipline of honest validators', async (t) => {
  const send = (c: SafetyChecker, v: Vote): void => c.onSend('n', 'votes', encodeVoteMessage({ type: 'vote', value: v }))
  const polka = (c: SafetyChecker, h: number, r: number, id: BlockId, who = [0, 1, 2]): void => { for (const i of who) send(c, makeVote(i, 'prevote', h, r, id)) }

  const ok = newChecker([addressHex(keyOf(3).publicKey)])
  polka(ok, 1, 0, bid('A'))
  send(ok, makeVote(0, 'precommit', 1, 0, bid('A'))) // locks validator 0 on A in round 0
  send(ok, makeVote(0, 'prevote', 1, 1, nilBlockId())) // nil is always allowed
  send(ok, makeVote(0, 'prevote', 1, 2, bid('A'))) // its own lock again
  polka(ok, 1, 3, bid('B'), [1, 2, 3]) // a newer polka for B (byzantine 3 included)
  send(ok, makeVote(0, 'prevote', 1, 4, bid('B'))) // L28 with vr = 3 ≥ lockedRound
  send(ok, makeVote(0, 'prevote', 2, 0, bid('C'))) // a new height has no lock
  send(ok, makeVote(3, 'precommit', 1, 5, bid('Z'))) // byzantine: not checked
  t.strictSame(ok.violations, [], 'legal votes pass')

  const bad = newChecker()
  polka(bad, 1, 0, bid('A'))
  send(bad, makeVote(0, 'precommit', 1, 0, bid('A')))
  send(bad, makeVote(0, 'prevote', 1, 1, bid('B')))
  t.equal(bad.violations[0]?.kind, 'lock')
  t.match(bad.violations[0]?.detail, /locked on .* in round 0 prevoted .* at 1\/1 with no polka/)

  const nopolka = newChecker()
  send(nopolka, makeVote(0, 'prevote', 1, 0, bid('A')))
  send(nopolka, makeVote(1, 'prevote', 1, 0, bid('A')))
  send(nopolka, makeVote(0, 'precommit', 1, 0, bid('A')))
  t.equal(nopolka.violations[0]?.kind, 'lock')
  t.match(nopolka.violations[0]?.detail, /without a polka/)

  const counted = newChecker()
  // own votes reach the checks through the engine's counted-vote events too
  for (const i of [0, 1, 2]) counted.onCountedVote('n', makeVote(i, 'prevote', 1, 0, bid('A')))
  send(counted, makeVote(1, 'precommit', 1, 0, bid('A')))
  t.strictSame(counted.violations, [])
})

t.test('checker: agreement and app-hash splits among honest nodes', async (t) => {
  const c = newChecker()
  c.onFinalize('n0', 1, sha256(utf8('A')), sha256(utf8('app1')))
  c.onFinalize('n1', 1, sha256(utf8('A')), sha256(utf8('app1')))
  t.equal(c.violations.length, 0)
  c.onFinalize('n2', 1, sha256(utf8('B')), sha256(utf8('app1')))
  t.equal(c.violations[0]?.kind, 'agreement')
  c.onFinalize('n3', 1, sha256(utf8('A')), sha256(utf8('app2')))
  t.equal(c.violations[1]?.kind, 'app-hash')
  const c2 = new SafetyChecker({ chainId: CHAIN, validatorSet: valSet, byzantineKeys: new Set(), honestNodes: new Set(['n0']), decode: decodeSigned, genesisAppHash: genesisAppHash(CHAIN), now: () => 0 })
  c2.onFinalize('n0', 1, sha256(utf8('A')), sha256(utf8('app1')))
  c2.onFinalize('byz', 1, sha256(utf8('B')), sha256(utf8('app1')))
  t.equal(c2.violations.length, 0, 'byzantine nodes do not count')
})

t.test('checker: block validity', async (t) => {
  const txs = [makeTx(CHAIN, client, 'a', '1', 0)]
  const b1 = blockWithId({ header: header(1, txs, nilBlockId(), null, genesisAppHash(CHAIN), 2000), txs, evidence: [], lastCommit: null })
  const app1 = sha256(utf8('app after 1'))
  const precommits = [0, 1, 2].map((i) => makeVote(i, 'precommit', 1, 0, b1.blockId, 3000 + i))
  const commit = { height: 1, round: 0, blockId: b1.blockId, signatures: valSet.validators.map((_, i) => { const v = precommits[i]; return v === undefined ? { flag: 'absent' as const, validatorAddress: new Uint8Array(20), timestamp: 0, signature: new Uint8Array(0) } : voteToCommitSig(v, b1.blockId) }) }
  const b2 = blockWithId({ header: header(2, [], b1.blockId, commit, app1, 2500), txs: [], evidence: [], lastCommit: commit })

  const scenario = (mutate: (b: Block) => Block, opts: { propose2?: boolean } = {}): string[] => {
    const c = newChecker()
    c.onSend('n0', 'consensus', encodeConsensus({ type: 'proposal', value: makeProposal(0, 1, 0, b1.blockId) }))
    const bad = blockWithId(mutate(b2.block))
    if (opts.propose2 !== false) c.onSend('n0', 'consensus', encodeConsensus({ type: 'proposal', value: makeProposal(0, 2, 0, bad.blockId) }))
    c.onFinalize('n0', 1, b1.blockId.hash, app1)
    c.onFinalize('n0', 2, bad.blockId.hash, sha256(utf8('app after 2')))
    t.strictSame(c.pendingValidation().map((p) => p.height), [1, 2])
    c.validateBlock({ height: 1, block: b1.block, blockId: b1.blockId, prev: null, validators: valSet, lastValidators: null })
    c.validateBlock({ height: 2, block: bad.block, blockId: bad.blockId, prev: b1, validators: valSet, lastValidators: valSet })
    t.equal(c.pendingValidation().length, 0)
    return c.violations.map((v) => v.detail)
  }
  t.strictSame(scenario((b) => b), [], 'a good chain passes')
  t.match(scenario((b) => b, { propose2: false })[0], /no signed proposal/)
  t.match(scenario((b) => ({ ...b, header: { ...b.header, time: 1999 } }))[0], /not after the previous block/)
  t.match(scenario((b) => ({ ...b, header: { ...b.header, appHash: sha256(utf8('wrong')) } }))[0], /app hash is not the app hash after the previous height/)
  t.match(scenario((b) => ({ ...b, header: { ...b.header, lastBlockId: bid('Z') } }))[0], /last block id/)
  t.match(scenario((b) => ({ ...b, txs: [utf8('junk')], header: { ...b.header, dataHash: dataHash([utf8('junk')]) } }))[0], /invalid tx/)
  t.match(scenario((b) => ({ ...b, txs: [utf8('junk')] }))[0], /data hash/)
  const weak = { ...commit, signatures: commit.signatures.map((s, i) => (i === 0 ? s : { flag: 'absent' as const, validatorAddress: new Uint8Array(20), timestamp: 0, signature: new Uint8Array(0) })) }
  t.match(scenario((b) => ({ ...b, lastCommit: weak, header: { ...b.header, lastCommitHash: commitHash(weak) } }))[0], /last commit does not verify/)
})

t.test('byzantine forgeries: a second valid block and proposal; a conflicting vote', async (t) => {
  const txs = [makeTx(CHAIN, client, 'a', '1', 0), makeTx(CHAIN, client, 'b', '1', 1)]
  const b1 = blockWithId({ header: header(1, txs, nilBlockId(), null, genesisAppHash(CHAIN), 2000), txs, evidence: [], lastCommit: null })
  const p = makeProposal(0, 1, 0, b1.blockId)
  const f = forgeProposal(CHAIN, keyOf(0), p, b1.block)
  t.not(toHex(f.blockId.hash), toHex(b1.blockId.hash))
  t.ok(verify(keyOf(0).publicKey, proposalSignBytes(CHAIN, f.proposal), f.proposal.signature), 'forged proposal is validly signed')
  const forgedBlock = decode(BlockSchema, f.parts.parts[0]?.bytes as Uint8Array)
  t.equal(forgedBlock.txs.length, 1)
  t.equal(blockTxsProblem(forgedBlock.txs, CHAIN), null)
  t.strictSame(forgedBlock.header.dataHash, dataHash(forgedBlock.txs))
  t.strictSame(headerHash(forgedBlock.header), f.blockId.hash)
  t.equal(equivocalBlock(b1.block).header.time, 2001)

  const v = makeVote(1, 'prevote', 3, 1, bid('A'))
  const w = forgeConflictingVote(CHAIN, keyOf(1), v)
  t.equal(w.blockId.hash.length, 0, 'a block vote conflicts with nil')
  t.ok(verify(keyOf(1).publicKey, voteSignBytes(CHAIN, w), w.signature))
  const nilVote = makeVote(1, 'prevote', 3, 1, nilBlockId())
  t.equal(forgeConflictingVote(CHAIN, keyOf(1), nilVote).blockId.hash.length, 32, 'a nil vote conflicts with a made-up block')
})

t.test('byzantine transport: per-slot halves get different stories', async (t) => {
  const sent: Array<{ peer: PeerId, channel: ChannelId, data: Uint8Array }> = []
  const peers = ['n1', 'n2', 'n3']
  const inner: Transport = {
    localPeerId: 'n0',
    peers: () => peers,
    send: (peer, channel, data) => { sent.push({ peer, channel, data }); return true },
    broadcast: () => {},
    subscribe: () => () => {},
    reportMisbehavior: () => {},
  }
  const forgedFor = (seed: number, slot: string, peer: string): boolean => (streamSeed(seed, `n0|${slot}|${peer}`) & 1) === 1
  // a seed whose split for the slots used below is not all-or-nothing
  const mixed = (seed: number, slot: string): boolean => new Set(peers.map((p) => forgedFor(seed, slot, p))).size === 2
  let seed = 1
  while (!mixed(seed, '2/0/prevote') || !mixed(seed, '1/0/proposal')) seed++
  const stats = { forgedProposals: 0, forgedVotes: 0 }
  const addr = (valSet.validators[0] as { address: Uint8Array }).address
  const dv = byzantineTransport(inner, { behavior: 'double-prevote', chainId: CHAIN, key: keyOf(0), address: addr, seed, stats })
  dv.broadcast('votes', encodeVoteMessage({ type: 'vote', value: makeVote(0, 'prevote', 2, 0, bid('A')) }))
  dv.broadcast('votes', encodeVoteMessage({ type: 'vote', value: makeVote(0, 'precommit', 2, 0, bid('A')) }))
  const got = sent.filter((s) => s.channel === 'votes').map((s) => {
    const r = decodeChannelMessage('votes', s.data)
    if (!r.ok || r.value.channel !== 'votes') throw new Error('bad')
    const v = r.value.message.value
    t.ok(verify(keyOf(0).publicKey, voteSignBytes(CHAIN, v), v.signature), 'every vote sent is validly signed')
    return `${s.peer}:${v.type}:${v.blockId.hash.length}`
  })
  t.strictSame(got, [
    ...peers.map((p) => `${p}:prevote:${forgedFor(seed, '2/0/prevote', p) ? 0 : 32}`),
    ...peers.map((p) => `${p}:precommit:32`),
  ], 'the forged half gets nil instead of the block; precommits untouched')
  t.equal(stats.forgedVotes, peers.filter((p) => forgedFor(seed, '2/0/prevote', p)).length)

  sent.length = 0
  const txs = [makeTx(CHAIN, client, 'a', '1', 0)]
  const b1 = blockWithId({ header: header(1, txs, nilBlockId(), null, genesisAppHash(CHAIN), 2000), txs, evidence: [], lastCommit: null })
  const parts = makePartSet(encode(BlockSchema, b1.block))
  const eq = byzantineTransport(inner, { behavior: 'equivocate-proposer', chainId: CHAIN, key: keyOf(0), address: addr, seed, stats })
  eq.broadcast('consensus', encodeConsensus({ type: 'proposal', value: makeProposal(0, 1, 0, b1.blockId) }))
  const forgedPeers = peers.filter((p) => forgedFor(seed, '1/0/proposal', p))
  t.strictSame(sent.map((s) => s.peer), peers.filter((p) => !forgedPeers.includes(p)), 'the forged half waits for the forgery')
  for (const part of parts.parts) eq.broadcast('block-parts', encodeBlockPart({ type: 'part', value: { height: 1, round: 0, partSetHeader: parts.header, part } }))
  const byPeer = new Map<string, string[]>()
  for (const s of sent) {
    const r = decodeChannelMessage(s.channel, s.data)
    if (!r.ok) throw new Error('undecodable')
    const m = r.value
    const label = m.channel === 'consensus' && m.message.type === 'proposal'
      ? `proposal:${toHex(m.message.value.blockId.hash).slice(0, 8)}:${m.message.value.polRound}`
      : m.channel === 'block-parts' ? `part:${toHex(m.message.value.partSetHeader.hash).slice(0, 8)}` : 'other'
    byPeer.set(s.peer, [...(byPeer.get(s.peer) ?? []), label])
  }
  const honestStory = byPeer.get(peers.find((p) => !forgedPeers.includes(p)) as string)
  for (const p of peers) {
    const story = byPeer.get(p)
    t.equal(story?.length, 2, `${p} got one proposal and one part`)
    if (forgedPeers.includes(p)) {
      t.not(story?.[0], honestStory?.[0], `${p} got the other proposal`)
      t.match(story?.[0], /:-1$/, 'a fresh one (no proof-of-lock round)')
      t.not(story?.[1], honestStory?.[1], 'and its parts')
    } else {
      t.strictSame(story, honestStory)
    }
  }
  t.equal(stats.forgedProposals, 1)
})

t.test('scenarios: deterministic, f bounded, every mix and behaviour reachable', async (t) => {
  t.strictSame(generateScenario(9), generateScenario(9))
  const behaviours = new Set<string>()
  const mixes = new Set<string>()
  for (let seed = 0; seed < 400; seed++) {
    const s = generateScenario(seed)
    mixes.add(s.mix)
    const f = Math.floor((s.validators - 1) / 3)
    const byzKeys = new Set(s.nodes.filter((n) => n.byzantine !== null).map((n) => n.key))
    t.ok(byzKeys.size <= f, `seed ${seed}: ${byzKeys.size} byzantine keys ≤ f=${f}`)
    for (const n of s.nodes) if (n.byzantine !== null) behaviours.add(n.byzantine)
    t.ok(s.healMs >= s.network.gstMs)
    for (const p of s.partitions) t.ok(s.healMs >= p.endMs)
    t.type(describeScenario(s), 'string')
  }
  t.strictSame([...mixes].sort(), [...FAULT_MIXES].sort())
  t.strictSame([...behaviours].sort(), ['amnesia', 'double-precommit', 'double-prevote', 'double-vote', 'equivocate-proposer', 'twins'])
  t.equal(generateScenario(5, { validators: 10, mix: 'crash' }).validators, 10)
})
