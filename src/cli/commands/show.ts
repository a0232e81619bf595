/**
 * `aidledger show-node-id` and `show-validator` (CometBFT cmd/cometbft/commands
 * show_node_id.go, show_validator.go): print the node id, and the validator's public key
 * as CometBFT JSON. Both load (and so check) the key file, including its mode.
 */
import { homePaths } from '../../config/home.ts'
import { pubKeyToJson } from '../../config/genesis.ts'
import { loadNodeKey, loadPrivValidatorKey } from '../../config/keys.ts'
import { requiredOption, type Command } from '../command.ts'

const home = { type: 'string', valueName: 'DIR', required: true, description: 'Node home directory.' } as const

export const showNodeIdCommand: Command = {
  name: 'show-node-id',
  summary: 'Print this node\'s id (the id other nodes list in persistent_peers).',
  options: { home },
  async run (ctx) {
    const key = await loadNodeKey(homePaths(requiredOption(ctx, 'home')).nodeKeyFile)
    ctx.io.out(`${key.id}\n`)
  },
}

export const showValidatorCommand: Command = {
  name: 'show-validator',
  summary: 'Print this node\'s validator public key as CometBFT JSON.',
  options: { home },
  async run (ctx) {
    const key = await loadPrivValidatorKey(homePaths(requiredOption(ctx, 'home')).privValidatorKeyFile)
    ctx.io.out(`${JSON.stringify(pubKeyToJson(key.publicKey))}\n`)
  },
}
