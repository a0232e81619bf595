/**
 * What a CLI command is: a name (one word, or several for groups such as `keys add`), its
 * options, a help text and a run function. The router (./router.ts) parses options with
 * node:util parseArgs (strict), prints help, and maps errors to exit codes:
 *
 *   0  success
 *   1  the command failed (bad config, genesis or key file, I/O, …)
 *   2  bad command-line usage (ERR_CLI_USAGE)
 *
 * Commands write through `ctx.io` (never to process.stdout directly) so tests can run the
 * CLI in-process and read what it printed.
 */
import { AidError } from '../errors.ts'
import { chainIdField } from '../types/primitives.ts'
import type { DefaultAppState, ValidateAppState } from '../config/genesis.ts'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

export interface CliIo {
  /** Write to standard output (text is written as given; include the newline). */
  out: (text: string) => void
  /** Write to standard error. */
  err: (text: string) => void
}

/**
 * Application hooks the CLI passes on: the app (state/) supplies its default genesis
 * app_state and its validator; until it does, app_state is `{}` and is not checked.
 */
export interface CliHooks {
  defaultAppState: DefaultAppState
  validateAppState?: ValidateAppState
}

export interface OptionSpec {
  type: 'string' | 'boolean'
  description: string
  /** Placeholder shown in usage, e.g. `DIR`; string options only. */
  valueName?: string
  short?: string
  required?: boolean
  /** Shown in help; the command applies it (so "absent" stays distinguishable). */
  defaultText?: string
}

export interface PositionalSpec {
  name: string
  description: string
  required?: boolean
  /** Accepts any number (at least one when required). Only the last positional may be. */
  variadic?: boolean
}

export interface CommandContext {
  /** Parsed options: strings for string options, true for given booleans, undefined if absent. */
  values: Record<string, string | boolean | undefined>
  positionals: string[]
  io: CliIo
  hooks: CliHooks
  /** Full command name as invoked, e.g. `init` or `keys add`. */
  name: string
}

export interface Command {
  /** One word, or space-separated words for a command in a group (`keys add`). */
  name: string
  /** One line for the command list. */
  summary: string
  /** Paragraphs for `--help`, after the usage line. */
  description?: string
  options: Record<string, OptionSpec>
  positionals?: PositionalSpec[]
  examples?: string[]
  /** Return an exit code (default 0). Throw AidError('ERR_CLI_USAGE') for usage errors. */
  run: (ctx: CommandContext) => Promise<number | void> | number | void
}

export function usageError (detail: string, at?: string): AidError {
  return new AidError('ERR_CLI_USAGE', detail, at)
}

/** A string option's value, or undefined; empty strings are a usage error. */
export function stringOption (ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name]
  if (v === undefined) return undefined
  if (typeof v !== 'string') throw usageError('expected a value', `--${name}`)
  if (v.trim() === '') throw usageError('must not be empty', `--${name}`)
  return v
}

/** A string option that must be present (the router already enforces `required`). */
export function requiredOption (ctx: CommandContext, name: string): string {
  const v = stringOption(ctx, name)
  if (v === undefined) throw usageError('required option is missing', `--${name}`)
  return v
}

export function intOption (ctx: CommandContext, name: string, o: { min: number, max: number }): number | undefined {
  const v = stringOption(ctx, name)
  if (v === undefined) return undefined
  if (!/^\d{1,15}$/.test(v) || Number(v) < o.min || Number(v) > o.max) {
    throw usageError(`expected an integer in [${o.min}, ${o.max}], got ${JSON.stringify(v.slice(0, 40))}`, `--${name}`)
  }
  return Number(v)
}

export function flag (ctx: CommandContext, name: string): boolean {
  return ctx.values[name] === true
}

/** A chain id option, checked up front so a bad one is a usage error (exit 2), not a genesis error. */
export function chainIdOption (ctx: CommandContext, name = 'chain-id'): string | undefined {
  const v = stringOption(ctx, name)
  if (v === undefined) return undefined
  try {
    chainIdField.toWire(v, `--${name}`)
  } catch {
    throw usageError(`expected 1 to 50 letters, digits, '.', '_' or '-' (starting with a letter or digit), got ${JSON.stringify(v.slice(0, 60))}`, `--${name}`)
  }
  return v
}
