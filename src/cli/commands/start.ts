/**
 * `aidledger start --home DIR` (CometBFT `start`): assembles the node from its home
 * (src/node.ts), runs it until SIGINT or SIGTERM, then shuts down cleanly — services,
 * consensus, network, then the databases — and exits 0. A restart resumes from the stores
 * and the WAL. If consensus halts on an error it must not continue past, the node stops
 * and the command exits 1 with that error.
 */
import { createLogger, LOG_LEVELS, type LogFormat, type LogLevel } from '../../log.ts'
import { loadConfig } from '../../config/config.ts'
import { homePaths } from '../../config/home.ts'
import { EXIT_FAILURE, EXIT_OK, requiredOption, stringOption, usageError, type Command } from '../command.ts'

export const startCommand: Command = {
  name: 'start',
  summary: 'Run the node: consensus, p2p, RPC and metrics.',
  description: 'Runs until SIGINT (Ctrl-C) or SIGTERM, then stops cleanly; the next start resumes where it stopped.',
  options: {
    home: { type: 'string', valueName: 'DIR', required: true, description: 'Node home directory.' },
    'log-level': { type: 'string', valueName: 'LEVEL', description: 'debug, info, warn or error (overrides config.toml).' },
    'log-format': { type: 'string', valueName: 'FORMAT', description: 'json or plain (overrides config.toml).' },
  },
  examples: ['aidledger start --home ~/.aidledger'],
  async run (ctx) {
    const home = requiredOption(ctx, 'home')
    const level = stringOption(ctx, 'log-level')
    const format = stringOption(ctx, 'log-format')
    if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) throw usageError(`expected one of ${LOG_LEVELS.join(', ')}`, '--log-level')
    if (format !== undefined && format !== 'json' && format !== 'plain') throw usageError('expected json or plain', '--log-format')
    const config = await loadConfig(homePaths(home).configFile)
    const logger = createLogger({
      level: (level ?? config.log_level) as LogLevel,
      format: (format ?? config.log_format) as LogFormat,
    }).child({ moniker: config.moniker })

    // Loaded here, not at the top: the node pulls in libp2p, LevelDB and the whole app,
    // which every other command (keys, tx, query, version) would otherwise load too.
    const { createNode } = await import('../../node.ts')
    const node = await createNode({ home, logger })
    let failure: Error | undefined
    let wake: () => void = () => {}
    const stopped = new Promise<void>((resolve) => { wake = resolve })
    const onSignal = (sig: NodeJS.Signals): void => {
      logger.info('signal received, stopping', { module: 'node', signal: sig })
      wake()
    }
    process.once('SIGINT', onSignal)
    process.once('SIGTERM', onSignal)
    const unsubscribe = node.engine.subscribe((ev) => {
      if (ev.type === 'halted') {
        failure = ev.error
        logger.error('consensus halted', { module: 'node', err: ev.error })
        wake()
      }
    })
    try {
      await node.start()
      await stopped
    } catch (err) {
      failure = err instanceof Error ? err : new Error(String(err))
    } finally {
      unsubscribe()
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
      await node.stop()
    }
    if (failure !== undefined) {
      ctx.io.err(`error: ${failure.message}\n`)
      return EXIT_FAILURE
    }
    return EXIT_OK
  },
}
