/**
 * `aidledger reset` (CometBFT `unsafe-reset-all`): delete the databases and WAL under
 * data/ and set the double-sign guard back to height 0. Keys and config are never touched.
 * Refuses without --yes, because resetting the guard on a validator whose chain is still
 * running can make it double-sign.
 */
import { homePaths, resetHome } from '../../config/home.ts'
import { EXIT_USAGE, flag, requiredOption, type Command } from '../command.ts'

export const resetCommand: Command = {
  name: 'reset',
  summary: 'Delete all chain data and reset the double-sign guard (keeps keys and config).',
  description:
    'Removes every database and the consensus WAL under HOME/data and writes\n' +
    'data/priv_validator_state.json back to height 0. config/ (keys, config.toml,\n' +
    'genesis.json) is never touched.\n' +
    '\n' +
    'DANGER: with the guard at height 0 the validator will sign heights it may already have\n' +
    'signed. Only reset a validator for a new chain, never to rejoin one that is still running.',
  options: {
    home: { type: 'string', valueName: 'DIR', required: true, description: 'Node home directory.' },
    yes: { type: 'boolean', description: 'Really delete the data (required).' },
  },
  async run (ctx) {
    const home = requiredOption(ctx, 'home')
    if (!flag(ctx, 'yes')) {
      ctx.io.err([
        `reset would DELETE every database and the WAL under ${homePaths(home).dataDir}`,
        'and set the double-sign guard (priv_validator_state.json) back to height 0.',
        'Keys and config are kept. Nothing was changed; re-run with --yes to do it.',
        '',
      ].join('\n'))
      return EXIT_USAGE
    }
    const res = await resetHome(home)
    const prev = res.previousState
    ctx.io.out([
      `Reset ${homePaths(home).home}`,
      `  removed from data/: ${res.removed.length === 0 ? '(nothing)' : res.removed.join(', ')}`,
      `  priv_validator_state.json: height ${prev?.height ?? '?'} -> 0`,
      '',
    ].join('\n'))
    if (prev !== undefined && prev.height > 0) {
      ctx.io.err(`WARNING: this validator had signed up to height ${prev.height}. Do not start it on that chain again.\n`)
    }
  },
}
