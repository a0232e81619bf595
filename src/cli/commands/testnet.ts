/**
 * `aidledger testnet`: N validator homes sharing one genesis, wired to each other on one
 * machine (CometBFT cmd/cometbft/commands/testnet.go; ports per DESIGN §9).
 */
import { DEFAULT_P2P_PORT } from '../../config/config.ts'
import { generateTestnet, MAX_TESTNET_VALIDATORS } from '../../config/testnet.ts'
import { chainIdOption, intOption, requiredOption, stringOption, type Command } from '../command.ts'

export const testnetCommand: Command = {
  name: 'testnet',
  summary: 'Create N validator homes that form one network on this machine.',
  description:
    'Writes OUTPUT/node0 … OUTPUT/node{N-1}, each a full home sharing one genesis.json.\n' +
    'Node i listens for peers on base+100·i, serves RPC on base+1+100·i and metrics on\n' +
    'base+4+100·i (RPC and metrics on 127.0.0.1); every node lists the others as\n' +
    'persistent_peers (id@HOSTNAME:port) and allows only their node ids.',
  options: {
    validators: { type: 'string', valueName: 'N', required: true, description: `Number of validators (1 to ${MAX_TESTNET_VALIDATORS}).` },
    output: { type: 'string', valueName: 'DIR', required: true, description: 'Directory to create the node homes in.' },
    'chain-id': { type: 'string', valueName: 'ID', description: 'Chain id.', defaultText: 'aidledger-testnet' },
    'base-port': { type: 'string', valueName: 'P', description: 'First P2P port.', defaultText: String(DEFAULT_P2P_PORT) },
    hostname: { type: 'string', valueName: 'HOST', description: 'Host the nodes dial each other on.', defaultText: '127.0.0.1' },
  },
  examples: ['aidledger testnet --validators 4 --output ./testnet', 'aidledger testnet --validators 7 --output /tmp/net --base-port 36656'],
  async run (ctx) {
    const res = await generateTestnet({
      validators: intOption(ctx, 'validators', { min: 1, max: MAX_TESTNET_VALIDATORS }) ?? 0,
      output: requiredOption(ctx, 'output'),
      chainId: chainIdOption(ctx),
      basePort: intOption(ctx, 'base-port', { min: 1, max: 65535 }),
      hostname: stringOption(ctx, 'hostname'),
      appState: ctx.hooks.defaultAppState,
      validateAppState: ctx.hooks.validateAppState,
    })
    const rows = res.nodes.map((n) => [n.moniker, n.nodeId, String(n.ports.p2p), String(n.ports.rpc), String(n.ports.metrics), n.paths.home])
    const head = ['node', 'node id', 'p2p', 'rpc', 'metrics', 'home']
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
    const fmt = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()
    ctx.io.out([
      `Created a ${res.nodes.length}-validator testnet, chain id ${res.chainId}, in ${res.output}`,
      `genesis hash ${res.genesisHash}`,
      '',
      fmt(head),
      ...rows.map(fmt),
      '',
      'Start each node with: aidledger start --home <home>',
      '',
    ].join('\n'))
  },
}
