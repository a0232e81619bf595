/**
 * `aidledger init`: a one-validator home (CometBFT cmd/cometbft/commands/init.go), with
 * the app's default genesis app_state from the CLI hooks.
 */
import { initHome } from '../../config/home.ts'
import { chainIdOption, flag, requiredOption, stringOption, type Command } from '../command.ts'

export const initCommand: Command = {
  name: 'init',
  summary: 'Create a node home: config, genesis, node and validator keys.',
  description:
    'Writes config/config.toml, config/genesis.json (this node as the only validator),\n' +
    'config/node_key.json and config/priv_validator_key.json (mode 0600),\n' +
    'data/priv_validator_state.json and data/cs.wal/.\n' +
    '\n' +
    'An existing home is left alone unless --force is given; --force rewrites config.toml\n' +
    'and genesis.json but keeps the keys already there (a validator key is never replaced).',
  options: {
    home: { type: 'string', valueName: 'DIR', required: true, description: 'Home directory to create.' },
    'chain-id': { type: 'string', valueName: 'ID', required: true, description: 'Chain id, e.g. aid-prod-1 (letters, digits, . _ -; at most 50).' },
    moniker: { type: 'string', valueName: 'NAME', description: 'Node name for peers, logs and metrics.', defaultText: 'this host name' },
    force: { type: 'boolean', description: 'Rewrite config.toml and genesis.json of an existing home (keys are kept).' },
  },
  examples: ['aidledger init --home ~/.aidledger --chain-id aid-prod-1 --moniker mca-beijing'],
  async run (ctx) {
    const res = await initHome({
      home: requiredOption(ctx, 'home'),
      chainId: chainIdOption(ctx) ?? requiredOption(ctx, 'chain-id'),
      moniker: stringOption(ctx, 'moniker'),
      force: flag(ctx, 'force'),
      appState: ctx.hooks.defaultAppState,
      validateAppState: ctx.hooks.validateAppState,
    })
    const p = res.paths
    ctx.io.out([
      `Initialized node home ${p.home}${res.reusedKeys ? ' (existing keys kept)' : ''}`,
      `  node id:        ${res.nodeId}`,
      `  validator:      ${res.validatorAddress}`,
      `  genesis hash:   ${res.genesisHash}`,
      `  config:         ${p.configFile}`,
      `  genesis:        ${p.genesisFile}`,
      `  keys:           ${p.nodeKeyFile}, ${p.privValidatorKeyFile}`,
      '',
    ].join('\n'))
    for (const w of res.warnings) ctx.io.err(`WARNING: ${w}\n`)
  },
}
