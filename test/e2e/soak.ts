/**
 * Soak: a 4-validator loopback testnet under crash faults and a steady tx load.
 *
 *   npm run soak -- --minutes 10 [--validators 4] [--kill-every 20] [--seed N] [--tx-rate 10] [--keep]
 *
 * Every --kill-every seconds one validator, picked by a seeded PRNG (the seed is printed;
 * pass it back with --seed to replay the same schedule), is killed with SIGKILL and
 * restarted after a short seeded pause. Meanwhile valid `household.register` txs
 * (test/e2e/txs.ts) go at --tx-rate per second to random live nodes through
 * `broadcast_tx_sync`. At the end the killing and the load stop, every node must catch up
 * to one height, and then the block hash, header app hash and each node's own app hash are
 * compared at every height on every node (over RPC, then from the stores after a clean
 * shutdown); every block's evidence list must be empty (no double signing by any key).
 * Prints a summary; exits 1 on any mismatch, evidence, unexpected exit or failure to converge.
 */
import { randomInt } from 'node:crypto'
import { parseArgs } from 'node:util'
import { createPrng } from '../helpers/prng.ts'
import { compareChains, compareStores, createTestnet, delay, type E2ENode, type Testnet } from './harness.ts'
import type { BlockInfo } from './probes.ts'
import { householdTx, soakOffices, type SoakOffices } from './txs.ts'

interface Options { minutes: number, validators: number, killEvery: number, seed: number, txRate: number, keep: boolean }

function parse (): Options {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      minutes: { type: 'string', default: '10' },
      validators: { type: 'string', default: '4' },
      'kill-every': { type: 'string', default: '20' },
      seed: { type: 'string' },
      'tx-rate': { type: 'string', default: '10' },
      keep: { type: 'boolean', default: false },
    },
  })
  const n = (name: string, v: string | undefined, min: number, max: number): number => {
    const x = Number(v)
    if (!Number.isFinite(x) || x < min || x > max) throw new Error(`--${name}: expected a number in [${min}, ${max}], got ${String(v)}`)
    return x
  }
  return {
    minutes: n('minutes', values.minutes, 0.1, 24 * 60),
    validators: Math.floor(n('validators', values.validators, 1, 20)),
    killEvery: n('kill-every', values['kill-every'], 1, 3600),
    seed: values.seed === undefined ? randomInt(2 ** 31) : Math.floor(n('seed', values.seed, 0, 2 ** 32 - 1)),
    txRate: n('tx-rate', values['tx-rate'], 0, 1000),
    keep: values.keep ?? false,
  }
}

const log = (msg: string): void => { process.stdout.write(`${msg}\n`) }

/** How long a restarted validator may take to start and get back to the tip. */
const CATCH_UP_BOUND_MS = 300_000

interface Kill { atS: number, node: string, downMs: number, restartAt?: number, readyAfterMs?: number, caughtUpMs?: number }

interface TxStats {
  sent: number
  accepted: number
  rejected: number
  /** No answer (node killed mid-request, connection refused, timeout). */
  errors: number
  /** Not sent: too many requests already in flight. */
  skipped: number
  rejectCodes: Map<string, number>
  acceptedHashes: Set<string>
}

async function broadcast (node: E2ENode, tx: Uint8Array): Promise<{ code: number, log: string }> {
  const res = await fetch(`${node.rpcUrl}/`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'broadcast_tx_sync', params: { tx: Buffer.from(tx).toString('base64') } }),
    signal: AbortSignal.timeout(10_000),
  })
  const body = await res.json() as { result?: { code?: number, log?: string }, error?: { message?: string, data?: string } }
  if (body.error !== undefined) return { code: -1, log: `${body.error.message ?? ''} ${body.error.data ?? ''}` }
  return { code: Number(body.result?.code ?? 0), log: String(body.result?.log ?? '') }
}

async function run (net: Testnet, o: Options, offices: SoakOffices, stopRequested: () => boolean): Promise<number> {
  const t0 = Date.now()
  const secs = (): number => (Date.now() - t0) / 1000
  const killPrng = createPrng(o.seed)
  const txPrng = createPrng((o.seed ^ 0x5eed5eed) >>> 0)
  const nodes = net.nodes
  const problems: string[] = []

  log(`starting ${nodes.length} validators in ${net.dir} (ports from ${net.basePort})`)
  await net.start()
  await net.waitHeight(2, { timeoutMs: 180_000 })
  const useRpc = nodes.every((n) => n.probe.kind === 'rpc')
  log(`all validators committing (probe: ${nodes[0]?.probe.kind ?? '?'}) after ${secs().toFixed(1)} s`)
  if (!useRpc) log('WARNING: the nodes do not answer RPC: no txs will be sent; hashes are read from logs and stores')

  const durationMs = o.minutes * 60_000
  const loadStart = Date.now()
  const active = (): boolean => Date.now() - loadStart < durationMs && !stopRequested() && problems.length === 0
  /** Nodes that are up and answered their first probe since their last start. */
  const ready = new Set<E2ENode>(nodes)
  let tip = Math.max(...(await net.heights()))
  const tipAtLoadStart = tip
  let maxLagSteady = 0
  let maxLagAny = 0
  const catchingUp = new Map<E2ENode, Kill>()
  const kills: Kill[] = []
  const tx: TxStats = { sent: 0, accepted: 0, rejected: 0, errors: 0, skipped: 0, rejectCodes: new Map(), acceptedHashes: new Set() }
  let nonce = 0
  let inflight = 0

  // -- sampler: heights, tip, lag, catch-up times
  const sampler = (async () => {
    while (active()) {
      const up = nodes.filter((n) => ready.has(n))
      const hs = await net.heights(up)
      tip = Math.max(tip, ...hs)
      for (const [i, n] of up.entries()) {
        const h = hs[i] ?? -1
        if (h < 0) continue
        const lag = tip - h
        maxLagAny = Math.max(maxLagAny, lag)
        const k = catchingUp.get(n)
        if (k !== undefined) {
          if (h >= tip - 1) { // back at the tip, not just past where the tip was
            k.caughtUpMs = Date.now() - (k.restartAt ?? Date.now())
            catchingUp.delete(n)
          }
        } else {
          maxLagSteady = Math.max(maxLagSteady, lag)
        }
      }
      const f = net.failure()
      if (f !== undefined) { problems.push(f); return }
      await delay(1000)
    }
  })()

  // -- status line every 10 s
  const status = (async () => {
    while (active()) {
      await delay(10_000)
      if (!active()) break
      const d = await net.describeHeights()
      log(`[${secs().toFixed(0)}s] ${d}  kills=${kills.length}  txs sent=${tx.sent} accepted=${tx.accepted} rejected=${tx.rejected} errors=${tx.errors}`)
    }
  })()

  // -- tx pump: a steady rate, each tx to a random ready node
  const pump = (async () => {
    if (!useRpc || o.txRate === 0) return
    const started = Date.now()
    let due = 0
    while (active()) {
      await delay(100)
      const target = Math.floor(((Date.now() - started) / 1000) * o.txRate)
      for (; due < target; due++) {
        const candidates = nodes.filter((n) => ready.has(n))
        if (candidates.length === 0 || inflight >= 200) { tx.skipped += 1; continue }
        const node = txPrng.pick(candidates)
        const built = householdTx({ chainId: net.result.chainId, offices, prng: txPrng, nonce: ++nonce, expiresAtHeight: tip + 200 })
        tx.sent += 1
        inflight += 1
        void broadcast(node, built.bytes).then((r) => {
          if (r.code === 0) {
            tx.accepted += 1
            tx.acceptedHashes.add(built.hash)
          } else {
            tx.rejected += 1
            const key = `${r.code}: ${r.log.slice(0, 80)}`
            tx.rejectCodes.set(key, (tx.rejectCodes.get(key) ?? 0) + 1)
          }
        }, () => { tx.errors += 1 }).finally(() => { inflight -= 1 })
      }
    }
  })()

  // -- killer: every killEvery s, SIGKILL a random validator and restart it after a short
  // pause. One fault at a time (f = 1 of 4): a kill waits until the previous victim is
  // back at the tip; a victim that does not get there within CATCH_UP_BOUND_MS is a failure.
  let deferredKills = 0
  let deferredMs = 0
  const killer = (async () => {
    let next = Date.now() + o.killEvery * 1000
    let waitingSince: number | undefined
    while (active()) {
      await delay(250)
      if (Date.now() < next || !active()) continue
      const recovering = [...catchingUp.keys()].map((n) => n.name)
      if (recovering.length > 0) {
        waitingSince ??= Date.now()
        if (Date.now() - waitingSince > CATCH_UP_BOUND_MS) {
          problems.push(`${recovering.join(', ')} did not catch up to the tip within ${CATCH_UP_BOUND_MS / 1000} s of coming back (${await net.describeHeights()})`)
          return
        }
        continue
      }
      if (waitingSince !== undefined) {
        deferredKills += 1
        deferredMs += Date.now() - waitingSince
        waitingSince = undefined
      }
      const victim = killPrng.pick(nodes)
      const downMs = killPrng.range(500, 3000)
      const k: Kill = { atS: Math.round(secs() * 10) / 10, node: victim.name, downMs }
      kills.push(k)
      next = Date.now() + o.killEvery * 1000
      ready.delete(victim)
      await victim.kill()
      log(`[${secs().toFixed(0)}s] kill -9 ${victim.name} at height ${tip}; restarting in ${downMs} ms`)
      await delay(downMs)
      k.restartAt = Date.now()
      victim.start()
      try {
        await victim.ready(CATCH_UP_BOUND_MS)
      } catch (err) {
        problems.push(`${victim.name} did not come back after kill #${kills.length}: ${(err as Error).message}`)
        return
      }
      k.readyAfterMs = Date.now() - k.restartAt
      catchingUp.set(victim, k)
      ready.add(victim)
    }
  })()

  await Promise.all([sampler, status, pump, killer])
  while (inflight > 0) await delay(100)
  const loadSecs = (Date.now() - loadStart) / 1000
  const loadBlocks = tip - tipAtLoadStart
  log(`load phase over after ${loadSecs.toFixed(0)} s: ${kills.length} kills; waiting for every node to catch up`)

  // -- converge
  let converged = problems.length === 0
  let finalHeights: number[] = []
  let target = 0
  if (converged) {
    const tipEnd = Math.max(...(await net.heights()))
    try {
      finalHeights = await net.waitHeight(tipEnd + 2, { timeoutMs: 300_000, what: `every node to pass the end tip ${tipEnd}` })
      target = Math.min(...finalHeights)
    } catch (err) {
      problems.push(`did not converge: ${(err as Error).message}`)
      converged = false
    }
  }

  // -- compare every height on every node, live
  let liveChecked = 0
  const evidence: Array<{ height: number, validator: string, evHeight: number }> = []
  const committedHashes = new Map<string, number>()
  let committedTotal = 0
  let committedFailed = 0
  let signersTotal = 0
  let blocksScanned = 0
  if (converged) {
    const live = await compareChains(nodes.map((n) => ({ name: n.name, probe: n.probe })), 1, target)
    liveChecked = live.checked
    for (const m of live.mismatches.slice(0, 20)) problems.push(`live: ${m}`)
    if (live.mismatches.length > 20) problems.push(`live: … and ${live.mismatches.length - 20} more mismatches`)
    const first = nodes[0]
    if (first !== undefined && first.probe.kind === 'rpc') {
      for (let h = 1; h <= target; h++) {
        const b: BlockInfo | undefined = await first.probe.block(h)
        if (b === undefined) { problems.push(`${first.name}: no block ${h} over RPC`); continue }
        blocksScanned += 1
        signersTotal += b.lastCommitSigners?.length ?? 0
        for (const e of b.evidence ?? []) evidence.push({ height: h, validator: e.validator, evHeight: e.height })
        for (const [i, hash] of (b.txHashes ?? []).entries()) {
          committedTotal += 1
          committedHashes.set(hash, b.txCodes?.[i] ?? -1)
          if ((b.txCodes?.[i] ?? 0) !== 0) committedFailed += 1
        }
      }
    }
  }

  // -- then from the stores, after a clean shutdown of every node
  const stored = await compareStores(nodes)
  // Error and warning lines in the node logs (reported, not failures by themselves).
  const logLines = new Map<string, number>()
  for (const n of nodes) {
    for (const e of n.log.find((x) => x.level === 'error' || x.level === 'warn')) {
      const key = `${String(e.level)} [${String(e.module ?? '')}] ${e.msg}`
      logLines.set(key, (logLines.get(key) ?? 0) + 1)
    }
  }
  for (const m of stored.mismatches.slice(0, 20)) problems.push(`stores: ${m}`)
  if (!stored.cleanStops.every(Boolean)) problems.push(`unclean stop: ${stored.cleanStops.map((c, i) => `${nodes[i]?.name ?? i}=${c ? 'ok' : 'NOT CLEAN'}`).join(' ')}`)
  if (blocksScanned === 0) {
    // No RPC: scan node0's store for evidence.
    const first = nodes[0]
    if (first !== undefined) {
      const s = await first.openStore()
      try {
        const top = await s.height()
        for (let h = 1; h <= top; h++) {
          const b = await s.block(h)
          blocksScanned += 1
          signersTotal += b?.lastCommitSigners?.length ?? 0
          for (const e of b?.evidence ?? []) evidence.push({ height: h, validator: e.validator, evHeight: e.height })
        }
      } finally {
        await s.close()
      }
    }
  }
  for (const e of evidence) problems.push(`double-sign evidence in block ${e.height} against ${e.validator} (height ${e.evHeight})`)

  const ourCommitted = [...tx.acceptedHashes].filter((h) => committedHashes.has(h)).length
  if (useRpc && o.txRate > 0 && ourCommitted === 0) problems.push('no submitted tx was committed')
  if (committedFailed > 0) problems.push(`${committedFailed} committed txs failed in the app (all were built valid)`)

  // -- summary
  const catchUps = kills.map((k) => k.caughtUpMs).filter((x): x is number => x !== undefined)
  const readies = kills.map((k) => k.readyAfterMs).filter((x): x is number => x !== undefined)
  const max = (xs: number[]): string => xs.length === 0 ? '-' : (Math.max(...xs) / 1000).toFixed(1)
  const avg = (xs: number[]): string => xs.length === 0 ? '-' : (xs.reduce((a, b) => a + b, 0) / xs.length / 1000).toFixed(1)
  const perNode = new Map<string, number>()
  for (const k of kills) perNode.set(k.node, (perNode.get(k.node) ?? 0) + 1)
  log('')
  log('================ soak summary ================')
  log(`seed            ${o.seed}   (replay: npm run soak -- --minutes ${o.minutes} --validators ${o.validators} --kill-every ${o.killEvery} --seed ${o.seed} --tx-rate ${o.txRate})`)
  log(`duration        load ${(loadSecs / 60).toFixed(2)} min; total ${(secs() / 60).toFixed(2)} min`)
  log(`kills           ${kills.length} (${[...perNode].map(([n, c]) => `${n}×${c}`).join(' ')}); restart → RPC up avg ${avg(readies)} s, max ${max(readies)} s; → back at the tip avg ${avg(catchUps)} s, max ${max(catchUps)} s`)
  if (deferredKills > 0) log(`                ${deferredKills} kills deferred ${(deferredMs / 1000).toFixed(0)} s in all, waiting for the previous victim to catch up`)
  log(`heights         final ${finalHeights.join(' ') || '-'}; stores ${stored.heights.join(' ')}; ${loadBlocks} blocks in the load phase (${tipAtLoadStart} → ${tip}), ${loadBlocks > 0 ? (loadSecs / loadBlocks).toFixed(2) : '-'} s/block`)
  log(`compared        live (${nodes[0]?.probe.kind ?? '?'}) ${liveChecked} heights; stores ${stored.checked} heights × ${nodes.length} nodes (app hashes at ${stored.appHashesChecked})`)
  log(`txs             sent ${tx.sent}, accepted ${tx.accepted}, rejected ${tx.rejected}, no answer ${tx.errors}, skipped ${tx.skipped}; committed ${ourCommitted} of ours (${committedTotal} in blocks, ${committedFailed} failed); accepted but never committed ${tx.accepted - ourCommitted}`)
  if (tx.rejectCodes.size > 0) log(`rejections      ${[...tx.rejectCodes].slice(0, 5).map(([k, c]) => `${c}× ${k}`).join('; ')}`)
  log(`lag             max ${maxLagSteady} heights (nodes not recovering from a kill), ${maxLagAny} including restarted nodes`)
  log(`commits         avg ${blocksScanned > 0 ? (signersTotal / blocksScanned).toFixed(2) : '-'} precommits per last_commit over ${blocksScanned} blocks`)
  log(`evidence        ${evidence.length} double-sign evidence items`)
  log(`node logs       ${logLines.size === 0 ? 'no warnings or errors' : [...logLines].sort((a, b) => b[1] - a[1]).map(([k, c]) => `${c}× ${k}`).join('; ')}`)
  log(`result          ${problems.length === 0 ? 'PASS' : 'FAIL'}`)
  for (const p of problems) log(`  - ${p}`)
  return problems.length === 0 ? 0 : 1
}

async function main (): Promise<number> {
  let o: Options
  try {
    o = parse()
  } catch (err) {
    process.stderr.write(`soak: ${(err as Error).message}\n`)
    return 2
  }
  log(`soak: seed ${o.seed}, ${o.minutes} min, ${o.validators} validators, kill -9 every ${o.killEvery} s, ${o.txRate} tx/s`)
  const offices = soakOffices(o.seed)
  const net = await createTestnet({ validators: o.validators, label: 'soak', appState: offices.appState, keep: o.keep })
  let stop = false
  const onSignal = (): void => {
    if (stop) process.exit(130) // second Ctrl-C: the exit hook SIGKILLs the nodes
    stop = true
    log('soak: stopping early (signal); Ctrl-C again to abort')
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  let code = 1
  try {
    code = await run(net, o, offices, () => stop)
  } catch (err) {
    log(`soak: FAIL: ${(err as Error).stack ?? String(err)}`)
  } finally {
    await net.destroy({ printLogs: code !== 0, keep: o.keep })
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  return code
}

process.exitCode = await main()
