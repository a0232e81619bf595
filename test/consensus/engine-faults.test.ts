/**
 * The engine under faults: a byzantine double prevote, a peer sending invalid messages of
 * every kind, a lossy and duplicating network, a partition that heals.
 */
import t from 'tap'
import { toHex } from '../../src/bytes.ts'
import { sign } from '../../src/crypto/ed25519.ts'
import { sha256 } from '../../src/crypto/hash.ts'
import { utf8 } from '../../src/bytes.ts'
import type { Transport } from '../../src/transport.ts'
import { concatBytes } from '../../src/bytes.ts'
import { decode } from '../../src/codec/index.ts'
import {
  BlockSchema, encodeBlock, headerHash, makePartSet, nilBlockId, proposalSignBytes, voteSignBytes, type Part, type Proposal, type Vote,
} from '../../src/types/index.ts'
import {
  decodeChannelMessage, encodeBlockPart, encodeBlocksync, encodeConsensus, encodeMempool, encodeVoteMessage,
} from '../../consensus/messages.ts'
import { createPrng } from '../helpers/prng.ts'
import { CHAIN_ID, TestNet, type TestNode } from './helpers/network.ts'

t.test('a byzantine double prevote becomes duplicate-vote evidence, committed exactly once', async (t) => {
  let injected = 0
  let evidenceHeight = 0
  const byzantine = (node: TestNode, inner: Transport): Transport => {
    if (node.index !== 3 || node.key === null) return inner
    const key = node.key
    const conflicting = (v: Vote): Uint8Array => {
      const fake = { hash: sha256(utf8(`fake-${v.height}`)), partSetHeader: { total: 1, hash: sha256(utf8(`fake-parts-${v.height}`)) } }
      const unsigned = { ...v, blockId: fake }
      return encodeVoteMessage({ type: 'vote', value: { ...unsigned, signature: sign(key, voteSignBytes(CHAIN_ID, unsigned)) } })
    }
    return {
      ...inner,
      broadcast: (channel, data, except) => {
        inner.broadcast(channel, data, except)
        if (channel !== 'votes' || injected > 0) return
        const m = decodeChannelMessage(channel, data)
        if (!m.ok || m.value.channel !== 'votes') return
        const v = m.value.message.value
        if (v.type === 'prevote' && v.height >= 2 && v.blockId.hash.length > 0) {
          evidenceHeight = v.height
          injected++
          inner.broadcast('votes', conflicting(v), except)
        }
      },
    }
  }
  const tn = await TestNet.create(t, { validators: 4, wrapTransport: byzantine })
  await tn.startAll()
  t.ok(await tn.runUntil(() => tn.allAt(8)), 'all reach height 8')
  t.equal(injected, 1, 'one conflicting prevote was sent')
  for (const n of tn.nodes) {
    const inBlocks = [...n.blocks.keys()].sort((a, b) => a - b).flatMap((h) => {
      const evs = n.events.filter((e) => e.type === 'new-block' && e.height === h).flatMap((e) => e.type === 'new-block' ? e.block.evidence : [])
      return evs.map((ev) => ({ h, ev }))
    })
    t.equal(inBlocks.length, 1, `${n.id}: one piece of evidence in the chain`)
    const ev = inBlocks[0]?.ev
    t.equal(ev?.voteA.height, evidenceHeight, `${n.id}: it is for the height of the double prevote`)
    t.equal(toHex(ev?.voteA.validatorAddress ?? new Uint8Array()), toHex(tn.nodes[3]!.current!.privval!.address), `${n.id}: against node 3`)
    t.equal(n.events.filter((e) => e.type === 'evidence-committed').length, 1, `${n.id}: one evidence-committed event`)
    t.equal(n.current!.evidencePool.pendingEvidence(-1).evidence.length, 0, `${n.id}: nothing left pending`)
  }
  for (let h = 1; h <= 8; h++) t.equal(new Set(tn.nodes.map((n) => n.blocks.get(h)?.hash)).size, 1, `one block at ${h}`)
})

t.test('invalid messages are reported as misbehavior and do not stall consensus', async (t) => {
  const tn = await TestNet.create(t, { validators: 4 })
  const evil = tn.net.connect('evil')
  const done = new Set<string>()
  const inject = (kind: string, to: string, channel: Parameters<Transport['send']>[1], data: Uint8Array): void => {
    if (done.has(kind)) return
    done.add(kind)
    evil.send(to, channel, data)
  }
  tn.net.tap = (d) => {
    if (d.from === 'evil' || d.to === 'evil') return
    const m = decodeChannelMessage(d.channel, d.data)
    if (!m.ok) return
    const v = m.value
    if (v.channel === 'votes') {
      const vote = v.message.value
      const sig = new Uint8Array(vote.signature)
      sig[0] = (sig[0] as number) ^ 1
      inject('bad-vote-signature', d.to, 'votes', encodeVoteMessage({ type: 'vote', value: { ...vote, round: vote.round, signature: sig } }))
      inject('wrong-validator-index', d.to, 'votes', encodeVoteMessage({ type: 'vote', value: { ...vote, validatorIndex: (vote.validatorIndex + 1) % 4 } }))
    }
    if (v.channel === 'consensus' && v.message.type === 'proposal') {
      const p = v.message.value
      const sig = new Uint8Array(p.signature)
      sig[5] = (sig[5] as number) ^ 1
      inject('bad-proposal-signature', d.to, 'consensus', encodeConsensus({ type: 'proposal', value: { ...p, timestamp: p.timestamp + 1, signature: sig } }))
    }
    if (v.channel === 'block-parts') {
      const bp = v.message.value
      const bytes = new Uint8Array(bp.part.bytes)
      bytes[0] = (bytes[0] as number) ^ 1
      // sent before the real part arrives, so the corrupted copy is the one checked
      inject('bad-part', d.to, 'block-parts', encodeBlockPart({ type: 'part', value: { ...bp, part: { ...bp.part, bytes } } }))
    }
  }
  await tn.startAll()
  evil.send('n0', 'consensus', new Uint8Array([0xc1, 0x00, 0x01]))
  evil.send('n1', 'votes', encodeConsensus({ type: 'status', value: { height: 1, round: 0, step: 'propose', proposals: [], parts: [], votes: [], lastCommit: null, maj23: [] } }))
  evil.send('n2', 'mempool', encodeMempool({ type: 'txs', value: [new Uint8Array([1, 2, 3])] }))
  evil.send('n3', 'blocksync', new Uint8Array([0x92, 0xa6, 0x73, 0x74, 0x61, 0x74, 0x75, 0x73, 0x92, 0x05, 0x01])) // status base 5 > height 1
  t.ok(await tn.runUntil(() => tn.allAt(3), 60_000), `all reach height 3 (heights ${tn.nodes.map((n) => n.height()).join(',')})`)
  // a peer that claims far more blocks than it can serve must not hold a node in block sync
  evil.send('n1', 'blocksync', encodeBlocksync({ type: 'status', value: { base: 1, height: 1000 } }))
  t.ok(await tn.runUntil(() => tn.allAt(6), 60_000), `all reach height 6 (heights ${tn.nodes.map((n) => n.height()).join(',')})`)
  const n1 = tn.nodes[1]!.events.filter((e) => e.type === 'catching-up').map((e) => e.type === 'catching-up' && e.catchingUp)
  t.same(n1, [true, false], 'n1 went into block sync on the lie and came back')
  const by = (reporter: string, kind?: string): number => tn.net.misbehavior.filter((m) => m.peer === 'evil' && m.reporter === reporter && (kind === undefined || m.kind === kind)).length
  t.equal(by('n0', 'malformed'), 1, 'undecodable frame: malformed')
  t.equal(by('n1', 'malformed'), 1, 'a consensus message on the votes channel: malformed')
  t.equal(by('n2', 'protocol'), 1, 'a tx that is not an envelope: protocol')
  t.equal(by('n3', 'protocol'), 1, 'a blocksync status with base above height: protocol')
  const all = tn.net.misbehavior.filter((m) => m.peer === 'evil')
  t.ok(all.some((m) => m.kind === 'invalid-signature' && /^vote/.test(m.detail)), 'bad vote signature reported')
  t.ok(all.some((m) => m.kind === 'protocol' && /index/.test(m.detail)), 'wrong validator index reported')
  t.ok(all.some((m) => m.kind === 'invalid-signature' && /^proposal/.test(m.detail)), 'bad proposal signature reported')
  t.ok(all.some((m) => m.kind === 'protocol' && /block part/.test(m.detail)), 'bad block part reported')
  t.same(tn.net.misbehavior.filter((m) => m.peer !== 'evil'), [], 'no honest node was reported')
  for (let h = 1; h <= 6; h++) t.equal(new Set(tn.nodes.map((n) => n.blocks.get(h)?.hash)).size, 1, `one block at ${h}`)
})

t.test('a lossy, duplicating network still commits, and the same blocks everywhere', async (t) => {
  const prng = createPrng(Number(process.env.SEED ?? 7))
  const tn = await TestNet.create(t, { validators: 4 })
  tn.net.filter = () => {
    const x = prng.float()
    return x < 0.2 ? 'drop' : x < 0.3 ? 'dup' : 'deliver'
  }
  await tn.startAll()
  for (let i = 0; i < 10; i++) await tn.submit(i % 4, `lossy${i}=${i}`)
  t.ok(await tn.runUntil(() => tn.allAt(8), 300_000), `all reach height 8 (heights ${tn.nodes.map((n) => n.height()).join(',')})`)
  for (let h = 1; h <= 8; h++) t.equal(new Set(tn.nodes.map((n) => n.blocks.get(h)?.hash)).size, 1, `one block at ${h}`)
  t.same(tn.net.misbehavior, [], 'loss and duplicates are nobody\'s misbehavior')
})

t.test('a partition without a quorum side stalls; healed, the network goes on without forking', async (t) => {
  const tn = await TestNet.create(t, { validators: 4, fullNodes: 1 })
  await tn.startAll()
  t.ok(await tn.runUntil(() => tn.allAt(2)), 'all at 2')
  tn.net.partition(['n0', 'n1'], ['n2', 'n3', 'n4'])
  await tn.time.advance(10_000)
  const h = Math.max(...tn.nodes.map((n) => n.height()))
  await tn.time.advance(10_000)
  t.equal(Math.max(...tn.nodes.map((n) => n.height())), h, 'no side commits alone')
  tn.net.heal()
  t.ok(await tn.runUntil(() => tn.allAt(h + 3), 120_000), `all go on (heights ${tn.nodes.map((n) => n.height()).join(',')})`)
  for (let x = 1; x <= h + 3; x++) t.equal(new Set(tn.nodes.map((n) => n.blocks.get(x)?.hash)).size, 1, `one block at ${x}`)
  t.equal(tn.nodes[4]!.engine.status().validator, null, 'the full node is no validator')
  t.notOk(tn.nodes[4]!.events.some((e) => e.type === 'vote' && e.vote.validatorIndex >= 4), 'and never votes')
})

t.test('an equivocating proposer: a node that got the other block takes the agreed one once a quorum backs it', async (t) => {
  let equivocatedAt = 0
  const equivocator = (node: TestNode, inner: Transport): Transport => {
    if (node.index !== 0 || node.key === null) return inner
    const key = node.key
    let held: { proposal: Proposal, except: string | undefined } | null = null
    const parts: Part[] = []
    return {
      ...inner,
      broadcast: (channel, data, except) => {
        if (equivocatedAt !== 0 || (channel !== 'consensus' && channel !== 'block-parts')) return inner.broadcast(channel, data, except)
        const m = decodeChannelMessage(channel, data)
        if (!m.ok) return inner.broadcast(channel, data, except)
        const v = m.value
        if (v.channel === 'consensus' && v.message.type === 'proposal' && v.message.value.height >= 2) {
          held = { proposal: v.message.value, except }
          return
        }
        if (v.channel === 'block-parts' && held !== null) {
          parts.push(v.message.value.part)
          if (parts.length < held.proposal.blockId.partSetHeader.total) return
          // all of block B: build B' (one ms later), sign a proposal for it, split the network
          const b = decode(BlockSchema, concatBytes(...parts.map((p) => p.bytes)))
          const b2 = { ...b, header: { ...b.header, time: b.header.time + 1 } }
          const ps2 = makePartSet(encodeBlock(b2))
          const p = held.proposal
          const unsigned = { height: p.height, round: p.round, polRound: p.polRound, blockId: { hash: headerHash(b2.header), partSetHeader: ps2.header }, timestamp: p.timestamp }
          const p2 = { ...unsigned, signature: sign(key, proposalSignBytes(CHAIN_ID, unsigned)) }
          const send = (to: string, prop: Proposal, ps: Part[]): void => {
            inner.send(to, 'consensus', encodeConsensus({ type: 'proposal', value: prop }))
            for (const part of ps) inner.send(to, 'block-parts', encodeBlockPart({ type: 'part', value: { height: prop.height, round: prop.round, partSetHeader: prop.blockId.partSetHeader, part } }))
          }
          send('n1', p, parts)
          send('n2', p, parts)
          send('n3', p2, ps2.parts)
          equivocatedAt = p.height
          held = null
        }
      },
    }
  }
  const tn = await TestNet.create(t, { validators: 4, wrapTransport: equivocator })
  await tn.startAll()
  t.ok(await tn.runUntil(() => equivocatedAt > 0 && tn.allAt(equivocatedAt + 2), 60_000), `all go on past the equivocation (heights ${tn.nodes.map((n) => n.height()).join(',')})`)
  t.ok(equivocatedAt >= 2, `node 0 equivocated at height ${equivocatedAt}`)
  for (let h = 1; h <= equivocatedAt + 2; h++) t.equal(new Set(tn.nodes.map((n) => n.blocks.get(h)?.hash)).size, 1, `one block at ${h}`)
  const n3 = tn.nodes[3]!.events.filter((e) => e.type === 'complete-proposal' && e.height === equivocatedAt).length
  t.ok(n3 >= 2, `n3 assembled both blocks of height ${equivocatedAt} (${n3} complete proposals)`)
  const n3addr = toHex(tn.nodes[3]!.current!.privval!.address)
  const own = tn.nodes[3]!.events.flatMap((e) => e.type === 'vote' && e.vote.height === equivocatedAt && toHex(e.vote.validatorAddress) === n3addr ? [e.vote] : [])
  const committed = tn.nodes[3]!.blocks.get(equivocatedAt)?.hash
  t.ok(own.some((v) => v.type === 'prevote' && v.round === 0 && toHex(v.blockId.hash) !== committed), 'n3 prevoted the block it got first')
  const seen = await tn.nodes[3]!.current!.blockStore.loadSeenCommit(equivocatedAt)
  t.equal(seen?.round, 0, 'and committed the agreed block in round 0')
})

t.test('a polka that only one honest node sees (it counted an equivocator\'s other prevote): the maj23 votes reach the others and the height commits', async (t) => {
  let target = 0
  let split = false
  const forger = (node: TestNode, inner: Transport): Transport => {
    if (node.index !== 3 || node.key === null) return inner
    const key = node.key
    return {
      ...inner,
      broadcast: (channel, data, except) => {
        if (channel === 'votes' && target > 0 && !split) {
          const m = decodeChannelMessage(channel, data)
          if (m.ok && m.value.channel === 'votes') {
            const v = m.value.message.value
            if (v.type === 'prevote' && v.height === target && v.round === 0 && v.blockId.hash.length > 0) {
              split = true
              const unsigned = { ...v, blockId: nilBlockId() }
              const nilVote = encodeVoteMessage({ type: 'vote', value: { ...unsigned, signature: sign(key, voteSignBytes(CHAIN_ID, unsigned)) } })
              inner.send('n0', 'votes', data) // the real prevote for the block: to n0 only
              inner.send('n1', 'votes', nilVote) // a nil prevote to the others, first
              inner.send('n2', 'votes', nilVote)
              return
            }
          }
        }
        inner.broadcast(channel, data, except)
      },
    }
  }
  const tn = await TestNet.create(t, { validators: 4, wrapTransport: forger })
  tn.net.filter = (d) => {
    if (d.channel !== 'consensus' && d.channel !== 'block-parts' && d.channel !== 'votes') return 'deliver'
    const m = decodeChannelMessage(d.channel, d.data)
    if (!m.ok) return 'deliver'
    const v = m.value
    if (target === 0 && v.channel === 'consensus' && v.message.type === 'proposal') {
      const p = v.message.value
      if (p.height >= 3 && p.round === 0 && (d.from === 'n0' || d.from === 'n1')) target = p.height
    }
    if (target === 0) return 'deliver'
    // n2 never gets round 0's proposal (it prevotes nil on its timeout)
    if (d.to === 'n2' && v.channel === 'consensus' && v.message.type === 'proposal' && v.message.value.height === target && v.message.value.round === 0) return 'drop'
    // the real prevote of n3 reaches n1 and n2 only later, through n0's maj23 gossip (not through n3's own re-gossip)
    if (d.from === 'n3' && (d.to === 'n1' || d.to === 'n2') && v.channel === 'votes') {
      const x = v.message.value
      if (x.height === target && x.round === 0 && x.type === 'prevote' && x.blockId.hash.length > 0) return 'drop'
    }
    return 'deliver'
  }
  await tn.startAll()
  t.ok(await tn.runUntil(() => target > 0 && tn.allAt(target + 2), 120_000), `all go past the split height (target ${target}, heights ${tn.nodes.map((n) => n.height()).join(',')})`)
  t.ok(split, 'n3 sent its two prevotes')
  const n0 = tn.nodes[0]!
  const n0addr = toHex(n0.current!.privval!.address)
  t.ok(n0.events.some((e) => e.type === 'vote' && e.vote.height === target && e.vote.round === 0 && e.vote.type === 'precommit' &&
    toHex(e.vote.validatorAddress) === n0addr && e.vote.blockId.hash.length > 0), 'n0 saw the polka and precommitted the block in round 0 (it is locked)')
  for (let h = 1; h <= target + 2; h++) t.equal(new Set(tn.nodes.map((n) => n.blocks.get(h)?.hash)).size, 1, `one block at ${h}`)
  t.same(tn.net.misbehavior, [], 'no misbehavior reports')
})
