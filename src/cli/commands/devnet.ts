/**
 * `aidledger devnet` (what `npm start` runs): a local network of N validators on loopback,
 * one process each. The first run creates the homes (as `testnet` does, under --home,
 * default .devnet/); later runs resume them. Prints each node's RPC and metrics URL and
 * log file, then the nodes' heights as they commit; Ctrl-C (or SIGTERM) stops every node
 * with SIGTERM, waiting for their clean shutdown (SIGKILL after a grace period).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, openSync, closeSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateTestnet, MAX_TESTNET_VALIDATORS, testnetPorts } from '../../config/testnet.ts'
import { DEFAULT_P2P_PORT } from '../../config/config.ts'
import { EXIT_FAILURE, EXIT_OK, intOption, stringOption, usageError, type Command } from '../command.ts'

const BIN = fileURLToPath(new URL('../../../bin/aidledger.js', import.meta.url))
const STOP_GRACE_MS = 20_000
const STATUS_EVERY_MS = 5_000

interface Running { index: number, child: ChildProcess, rpc: string, exited: Promise<number | null> }

async function heightOf (rpc: string): Promise<string> {
  try {
    const res = await fetch(`${rpc}/status`, { signal: AbortSignal.timeout(1000) })
    const body = await res.json() as { result?: { sync_info?: { latest_block_height?: string } } }
    return body.result?.sync_info?.latest_block_height ?? '?'
  } catch {
    return '-'
  }
}

export const devnetCommand: Command = {
  name: 'devnet',
  summary: 'Run a local N-validator network on loopback (created on first run, resumed after).',
  options: {
    validators: { type: 'string', valueName: 'N', description: 'Number of validators.', defaultText: '4' },
    home: { type: 'string', valueName: 'DIR', description: 'Where the node homes live.', defaultText: '.devnet' },
    'base-port': { type: 'string', valueName: 'P', description: 'Node i uses P2P P+100·i, RPC P+1+100·i, metrics P+4+100·i.', defaultText: String(DEFAULT_P2P_PORT) },
  },
  examples: ['aidledger devnet', 'aidledger devnet --validators 7 --home /tmp/dn --base-port 36656'],
  async run (ctx) {
    const n = intOption(ctx, 'validators', { min: 1, max: MAX_TESTNET_VALIDATORS }) ?? 4
    const home = resolve(stringOption(ctx, 'home') ?? '.devnet')
    const basePort = intOption(ctx, 'base-port', { min: 1, max: 65535 }) ?? DEFAULT_P2P_PORT
    const dirs = Array.from({ length: n }, (_, i) => join(home, `node${i}`))

    if (!existsSync(home) || readdirSync(home).length === 0) {
      const res = await generateTestnet({
        output: home,
        validators: n,
        chainId: 'aidledger-devnet',
        basePort,
        appState: ctx.hooks.defaultAppState,
        ...(ctx.hooks.validateAppState === undefined ? {} : { validateAppState: ctx.hooks.validateAppState }),
        // N nodes share this machine: one verify worker each rather than one per core each.
        configure: (cfg) => { cfg.log_format = 'plain'; cfg.mempool.verify_workers = 1 },
      })
      ctx.io.out(`Created a ${n}-validator devnet in ${home} (chain ${res.chainId}, genesis ${res.genesisHash.slice(0, 16)}…)\n`)
    } else {
      const existing = readdirSync(home).filter((d) => /^node\d+$/.test(d)).length
      if (existing !== n || !dirs.every((d) => existsSync(join(d, 'config', 'genesis.json')))) {
        throw usageError(`${home} holds a ${existing}-node devnet; use --validators ${existing}, or another --home (or delete it to start over)`, '--validators')
      }
      ctx.io.out(`Resuming the devnet in ${home}\n`)
    }

    const running: Running[] = dirs.map((dir, index) => {
      const ports = testnetPorts(basePort, index)
      const logFile = join(dir, 'node.log')
      const fd = openSync(logFile, 'a')
      const child = spawn(process.execPath, [BIN, 'start', '--home', dir], { stdio: ['ignore', fd, fd] })
      closeSync(fd)
      const rpc = `http://127.0.0.1:${ports.rpc}`
      ctx.io.out(`node${index}  rpc ${rpc}  metrics http://127.0.0.1:${ports.metrics}/metrics  log ${logFile}\n`)
      const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)))
      return { index, child, rpc, exited }
    })
    ctx.io.out('Press Ctrl-C to stop all nodes.\n')

    let stopping = false
    for (const r of running) {
      void r.exited.then((code) => {
        if (!stopping) ctx.io.err(`node${r.index} exited unexpectedly (code ${String(code)}); see ${join(dirs[r.index] ?? '', 'node.log')}\n`)
      })
    }
    let wake: () => void = () => {}
    const stop = new Promise<void>((res) => { wake = res })
    process.once('SIGINT', wake)
    process.once('SIGTERM', wake)
    const ticker = setInterval(() => {
      void Promise.all(running.map(async (r) => `node${r.index}=${await heightOf(r.rpc)}`)).then((hs) => {
        if (!stopping) ctx.io.out(`heights: ${hs.join(' ')}\n`)
      })
    }, STATUS_EVERY_MS)

    await stop
    stopping = true
    clearInterval(ticker)
    process.off('SIGINT', wake)
    process.off('SIGTERM', wake)
    ctx.io.out('Stopping the devnet…\n')
    for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGTERM')
    const codes = await Promise.all(running.map(async (r) => {
      const timer = setTimeout(() => { r.child.kill('SIGKILL') }, STOP_GRACE_MS)
      const code = await r.exited
      clearTimeout(timer)
      return code
    }))
    ctx.io.out(`Stopped (exit codes ${codes.map(String).join(' ')}). Run again to resume.\n`)
    return codes.every((c) => c === 0) ? EXIT_OK : EXIT_FAILURE
  },
}
