/**
 * Seeded random runs of 4 engines: message loss, duplication, delays (so reordering),
 * a partition that heals, crash-restarts (unsynced WAL records lost) and clean restarts,
 * txs submitted along the way. After each run: every pair of nodes agrees on every height,
 * every tx is committed exactly once, no validator signed two different votes or
 * proposals for one (height, round, step), and the network made progress once healed.
 * SEEDS=1-50 runs more; a failure prints its seed.
 */
import t from 'tap'
import { toHex } from '../../src/bytes.ts'
import { blockIdKey } from '../../src/types/index.ts'
import { decodeChannelMessage } from '../../consensus/messages.ts'
import { createPrng } from '../helpers/prng.ts'
import { TestNet } from './helpers/network.ts'

function seeds (): number[] {
  const spec = process.env.SEEDS ?? '1-4'
  const [a, b] = spec.split('-').map(Number) as [number, number | undefined]
  const out: number[] = []
  for (let s = a; s <= (b ?? a); s++) out.push(s)
  return out
}

for (const seed of seeds()) {
  t.test(`seed ${seed}`, async (t) => {
    const prng = createPrng(seed)
    const tn = await TestNet.create(t, { validators: 4 })
    const loss = prng.float() * 0.25
    tn.net.filter = () => {
      const x = prng.float()
      return x < loss ? 'drop' : x < loss + 0.05 ? 'dup' : 'deliver'
    }
    const maxDelay = prng.range(0, 300)
    tn.net.delay = () => prng.range(0, maxDelay)
    // no double signing: (validator, h, r, step) → the block id signed
    const signed = new Map<string, string>()
    const doubles: string[] = []
    tn.net.tap = (d) => {
      if (d.channel !== 'votes' && d.channel !== 'consensus') return
      const m = decodeChannelMessage(d.channel, d.data)
      if (!m.ok) return
      let key: string | null = null
      let value = ''
      if (m.value.channel === 'votes') {
        const v = m.value.message.value
        key = `${toHex(v.validatorAddress)}/${v.height}/${v.round}/${v.type}`
        value = blockIdKey(v.blockId)
      } else if (m.value.message.type === 'proposal') {
        const p = m.value.message.value
        key = `proposer-of/${p.height}/${p.round}`
        value = `${blockIdKey(p.blockId)}/${p.polRound}`
      }
      if (key === null) return
      const prev = signed.get(key)
      if (prev === undefined) signed.set(key, value)
      else if (prev !== value) doubles.push(`${key}: ${prev} vs ${value}`)
    }
    await tn.startAll()
    const victim = prng.int(4)
    const other = (victim + 1 + prng.int(3)) % 4
    const txs = new Set<string>()
    // Txs go to nodes that are never stopped: a stopped node's mempool is gone (as in CometBFT).
    const submit = async (): Promise<void> => {
      const live = tn.running().filter((n) => n.index !== victim && n.index !== other)
      const n = live[prng.int(live.length)]
      if (n === undefined) return
      txs.add(toHex(await tn.submit(n.index, `s${seed}-${txs.size}=${prng.int(1000)}`)))
    }
    for (let i = 0; i < 5; i++) await submit()
    t.ok(await tn.runUntil(() => tn.allAt(2), 120_000), `seed ${seed}: all reach 2`)

    // a crash-restart and a clean restart of random nodes, a partition, more txs
    await tn.time.advance(prng.range(0, 2000))
    await tn.crash(victim)
    await tn.time.advance(prng.range(500, 4000))
    for (let i = 0; i < 5; i++) await submit()
    await tn.start(victim)
    await tn.stop(other)
    await tn.time.advance(prng.range(0, 2000))
    await tn.start(other)
    const side = [`n${prng.int(4)}`]
    tn.net.partition(side, tn.nodes.map((n) => n.id).filter((id) => !side.includes(id)))
    await tn.time.advance(prng.range(1000, 6000))
    for (let i = 0; i < 5; i++) await submit()
    tn.net.heal()
    // then healing: no more loss, so liveness must follow
    tn.net.filter = () => 'deliver'
    const target = Math.max(...tn.nodes.map((n) => n.height())) + 3
    t.ok(await tn.runUntil(() => tn.allAt(target) && tn.nodes.every((n) => n.disk.committed.size >= txs.size), 300_000),
      `seed ${seed}: all reach ${target} with every tx (heights ${tn.nodes.map((n) => n.height()).join(',')}, txs ${tn.nodes.map((n) => n.disk.committed.size).join(',')}/${txs.size})`)
    for (let h = 1; h <= target; h++) {
      const hashes = new Set(tn.nodes.map((n) => n.blocks.get(h)?.hash).filter((x) => x !== undefined))
      if (hashes.size !== 1) t.fail(`seed ${seed}: height ${h} has ${hashes.size} blocks`)
    }
    for (const n of tn.nodes) {
      const all = [...n.blocks.values()].flatMap((b) => b.txs)
      const ok = all.length === new Set(all).size && [...txs].every((x) => all.includes(x))
      if (!ok) t.fail(`seed ${seed}: ${n.id} has ${all.length} txs in blocks, ${new Set(all).size} distinct, of ${txs.size}`)
      t.equal(n.disk.appHash.length, 32)
    }
    t.same(doubles, [], `seed ${seed}: nobody signed twice`)
    t.same(tn.net.misbehavior, [], `seed ${seed}: no honest node reported`)
  })
}
