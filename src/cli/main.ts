/**
 * The `aidledger` CLI entry (bin/aidledger.js calls `main(argv)` and exits with its
 * result). DESIGN §9 lists the commands; this file is where they are assembled, and the
 * one place the CLI wires in the application's genesis hooks.
 *
 * To add a command: write src/cli/commands/<name>.ts exporting a `Command` (./command.ts)
 * and append it to `commandTable` below, or call `registerCommand` before `main` runs.
 * Multi-word names make groups: `keys add`, `keys list`, `tx send`, `query enrollment`.
 *
 * To give `init` and `testnet` the app's genesis: set `defaultHooks` from what the app
 * (state/) exports. Both hooks may be async; the check's errors come out as
 * ERR_GENESIS_INVALID at `app_state…`. For state/genesis.ts as it stands, for instance:
 *
 *   defaultAppState: (ctx) => defaultAppState({ operators: ctx.validators.map((v) =>
 *     ({ operatorKey: v.pubKey, validatorPubKey: v.pubKey })) }),
 *   validateAppState: (appState, ctx) => validateAppState(appState, ctx.validators),
 */
import type { CliHooks, CliIo, Command } from './command.ts'
import type { JsonValue } from '../config/json.ts'
import { createCli } from './router.ts'
import { initCommand } from './commands/init.ts'
import { testnetCommand } from './commands/testnet.ts'
import { showNodeIdCommand, showValidatorCommand } from './commands/show.ts'
import { resetCommand } from './commands/reset.ts'
import { startCommand } from './commands/start.ts'
import { devnetCommand } from './commands/devnet.ts'
import { packageVersion, versionCommand } from './commands/version.ts'
import { keysCommands } from './commands/keys.ts'
import { txCommands } from './commands/tx.ts'
import { queryCommands } from './commands/query.ts'
import { defaultAppState, validateAppState } from '../../state/genesis.ts'

export type { CliHooks, CliIo, Command, CommandContext, OptionSpec, PositionalSpec } from './command.ts'
export { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, usageError, stringOption, requiredOption, intOption, flag, chainIdOption } from './command.ts'
export { createCli, commandHelp } from './router.ts'

/** The commands `aidledger` knows. */
export const commandTable: Command[] = [
  initCommand,
  startCommand,
  testnetCommand,
  devnetCommand,
  showNodeIdCommand,
  showValidatorCommand,
  resetCommand,
  versionCommand,
  ...keysCommands,
  ...txCommands,
  ...queryCommands,
]

/** Add a command to the table `main` uses (throws on a duplicate name). */
export function registerCommand (cmd: Command): void {
  if (commandTable.some((c) => c.name === cmd.name)) throw new TypeError(`command ${JSON.stringify(cmd.name)} is already registered`)
  commandTable.push(cmd)
}

/**
 * Genesis app_state from the social-assistance app: each genesis validator is its own
 * operator. Root offices need office keys, which belong in an operator's keyring rather
 * than in a generated home, so `init`/`testnet` start with none; a network adds its
 * ministry offices in genesis by hand or through `defaultAppState({ ministryKeys })`.
 */
export const defaultHooks: CliHooks = {
  defaultAppState: (ctx) => defaultAppState({
    operators: ctx.validators.map((v) => ({ operatorKey: v.pubKey, validatorPubKey: v.pubKey })),
  }) as JsonValue,
  validateAppState: async (appState, ctx) => { await validateAppState(appState, ctx.validators) },
}

export const processIo: CliIo = {
  out: (text) => { process.stdout.write(text) },
  err: (text) => { process.stderr.write(text) },
}

export interface MainOptions {
  io?: CliIo
  hooks?: Partial<CliHooks>
  /** Commands to use instead of `commandTable` (tests). */
  commands?: readonly Command[]
}

/** Run the CLI once; resolves to the process exit code (0 ok, 1 failed, 2 usage). */
export async function main (argv: readonly string[], opts: MainOptions = {}): Promise<number> {
  const cli = createCli({
    commands: opts.commands ?? commandTable,
    // Hooks given by a caller replace the app's as a pair, so a custom app_state is not
    // checked against the social-assistance app's rules.
    hooks: opts.hooks === undefined ? defaultHooks : { defaultAppState: () => ({}), ...opts.hooks },
    io: opts.io ?? processIo,
    version: packageVersion(),
  })
  return await cli.run(argv)
}
