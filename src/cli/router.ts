/**
 * The CLI router: finds the command (the longest run of leading words that names one, so
 * groups like `keys add` / `keys list` work), parses its options strictly with node:util
 * parseArgs, prints `--help`, and turns errors into messages and exit codes (./command.ts).
 * A factory with no global state (DESIGN §10): main.ts builds the real one.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util'
import { AidError, isAidError } from '../errors.ts'
import {
  type CliHooks, type CliIo, type Command, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, type OptionSpec, usageError,
} from './command.ts'

export interface CliOptions {
  commands?: readonly Command[]
  hooks: CliHooks
  io: CliIo
  programName?: string
  version?: string
}

export interface Cli {
  /** Add a command; throws on a duplicate name. */
  register: (cmd: Command) => void
  /** Run one invocation; resolves to the exit code. */
  run: (argv: readonly string[]) => Promise<number>
  readonly commands: readonly Command[]
}

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'Show this help.' }
const NAME = /^[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)*$/

function optionLabel (name: string, o: OptionSpec): string {
  const long = o.type === 'string' ? `--${name} ${o.valueName ?? 'VALUE'}` : `--${name}`
  return o.short === undefined ? `    ${long}` : `-${o.short}, ${long}`
}

function usageLine (program: string, cmd: Command): string {
  const parts = [program, cmd.name]
  for (const [name, o] of Object.entries(cmd.options)) {
    const text = o.type === 'string' ? `--${name} ${o.valueName ?? 'VALUE'}` : `--${name}`
    parts.push(o.required === true ? text : `[${text}]`)
  }
  for (const p of cmd.positionals ?? []) {
    const text = p.variadic === true ? `${p.name}...` : p.name
    parts.push(p.required === true ? text : `[${text}]`)
  }
  return `Usage: ${parts.join(' ')}`
}

function wrapDescription (label: string, width: number, text: string): string {
  const pad = ' '.repeat(width + 4)
  return `  ${label.padEnd(width)}  ${text.split('\n').join(`\n${pad}`)}`
}

export function commandHelp (program: string, cmd: Command): string {
  const lines = [usageLine(program, cmd), '', cmd.summary]
  if (cmd.description !== undefined) lines.push('', cmd.description)
  const opts: Array<[string, string]> = Object.entries(cmd.options).map(([n, o]) => {
    const extra = o.defaultText !== undefined ? ` (default: ${o.defaultText})` : o.required === true ? ' (required)' : ''
    return [optionLabel(n, o), o.description + extra]
  })
  opts.push([optionLabel('help', HELP), HELP.description])
  const pos: Array<[string, string]> = (cmd.positionals ?? []).map((p) => [p.name, p.description])
  const width = Math.max(...[...opts, ...pos].map(([l]) => l.length))
  if (pos.length > 0) lines.push('', 'Arguments:', ...pos.map(([l, d]) => wrapDescription(l, width, d)))
  lines.push('', 'Options:', ...opts.map(([l, d]) => wrapDescription(l, width, d)))
  if (cmd.examples !== undefined && cmd.examples.length > 0) lines.push('', 'Examples:', ...cmd.examples.map((e) => `  ${e}`))
  return lines.join('\n') + '\n'
}

export function createCli (o: CliOptions): Cli {
  const program = o.programName ?? 'aidledger'
  const table = new Map<string, Command>()
  const { io, hooks } = o

  function register (cmd: Command): void {
    if (!NAME.test(cmd.name)) throw new TypeError(`bad command name ${JSON.stringify(cmd.name)}`)
    if (table.has(cmd.name)) throw new TypeError(`command ${JSON.stringify(cmd.name)} is already registered`)
    if ('help' in cmd.options) throw new TypeError(`command ${cmd.name}: --help is built in`)
    table.set(cmd.name, cmd)
  }
  for (const c of o.commands ?? []) register(c)

  function topHelp (): string {
    const cmds = [...table.values()].sort((a, b) => a.name.localeCompare(b.name))
    const width = Math.max(...cmds.map((c) => c.name.length), 4)
    return [
      `Usage: ${program} COMMAND [OPTIONS]`,
      '',
      'A permissioned BFT ledger node for the social-assistance network.',
      '',
      'Commands:',
      ...cmds.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
      '',
      `Run '${program} COMMAND --help' for a command's options.`,
      `Global: ${program} --help, ${program} --version.`,
      '',
    ].join('\n')
  }

  /** Longest leading run of words naming a command. */
  function resolve (argv: readonly string[]): { cmd: Command, rest: string[], words: string[] } | { group: string[] } | undefined {
    const words: string[] = []
    for (const a of argv) {
      if (a.startsWith('-')) break
      words.push(a)
    }
    for (let n = words.length; n > 0; n--) {
      const cmd = table.get(words.slice(0, n).join(' '))
      if (cmd !== undefined) return { cmd, rest: argv.slice(n), words: words.slice(0, n) }
    }
    const first = words[0]
    if (first !== undefined && [...table.keys()].some((k) => k.startsWith(`${first} `))) return { group: [first] }
    return undefined
  }

  function groupHelp (group: string): string {
    const cmds = [...table.values()].filter((c) => c.name.startsWith(`${group} `))
    const width = Math.max(...cmds.map((c) => c.name.length))
    return [`Usage: ${program} ${group} SUBCOMMAND [OPTIONS]`, '', 'Subcommands:',
      ...cmds.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`), ''].join('\n')
  }

  async function runCommand (cmd: Command, args: readonly string[]): Promise<number> {
    const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } }
    for (const [n, spec] of Object.entries(cmd.options)) {
      options[n] = spec.short === undefined ? { type: spec.type } : { type: spec.type, short: spec.short }
    }
    let parsed: { values: Record<string, string | boolean | undefined>, positionals: string[] }
    try {
      parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: (cmd.positionals ?? []).length > 0 }) as typeof parsed
    } catch (err) {
      throw usageError(parseArgsMessage(err))
    }
    if (parsed.values.help === true) {
      io.out(commandHelp(program, cmd))
      return EXIT_OK
    }
    const missing = Object.entries(cmd.options).filter(([n, spec]) => spec.required === true && parsed.values[n] === undefined).map(([n]) => `--${n}`)
    if (missing.length === 1) throw usageError('required option is missing', missing[0])
    if (missing.length > 1) throw usageError(`required options are missing: ${missing.join(', ')}`)
    checkPositionals(cmd, parsed.positionals)
    const { help: _help, ...values } = parsed.values
    const code = await cmd.run({ values, positionals: parsed.positionals, io, hooks, name: cmd.name })
    return code ?? EXIT_OK
  }

  async function run (argv: readonly string[]): Promise<number> {
    let cmdName: string | undefined
    try {
      const first = argv[0]
      if (first === undefined) {
        io.err(topHelp())
        return EXIT_USAGE
      }
      if (first === '--help' || first === '-h' || first === 'help') {
        const target = first === 'help' ? argv.slice(1) : []
        if (target.length === 0) {
          io.out(topHelp())
          return EXIT_OK
        }
        return await run([...target, '--help'])
      }
      if (first === '--version' || first === '-v') {
        io.out(`${o.version ?? 'unknown'}\n`)
        return EXIT_OK
      }
      const found = resolve(argv)
      if (found === undefined) {
        throw usageError(first.startsWith('-')
          ? `expected a command before ${JSON.stringify(first)}; run '${program} --help'`
          : `unknown command ${JSON.stringify(first.slice(0, 60))}; run '${program} --help' for the list`)
      }
      if ('group' in found) {
        const group = found.group.join(' ')
        if (argv.includes('--help') || argv.includes('-h')) {
          io.out(groupHelp(group))
          return EXIT_OK
        }
        io.err(groupHelp(group))
        throw usageError(argv.length > 1 && !(argv[1] ?? '').startsWith('-')
          ? `unknown subcommand ${JSON.stringify((argv[1] ?? '').slice(0, 60))} of ${group}`
          : `${group} needs a subcommand`)
      }
      cmdName = found.cmd.name
      return await runCommand(found.cmd, found.rest)
    } catch (err) {
      return report(err, cmdName)
    }
  }

  function report (err: unknown, cmdName: string | undefined): number {
    if (isAidError(err, 'ERR_CLI_USAGE')) {
      io.err(`error: ${err.message}\n`)
      io.err(cmdName !== undefined ? `Run '${program} ${cmdName} --help' for usage.\n` : '')
      return EXIT_USAGE
    }
    if (err instanceof AidError) {
      io.err(`error: ${err.message}\n`)
      return EXIT_FAILURE
    }
    const e = err instanceof Error ? err : new Error(String(err))
    io.err(`error: unexpected failure: ${e.message}\n${e.stack ?? ''}\n`)
    return EXIT_FAILURE
  }

  return { register, run, get commands () { return [...table.values()] } }
}

function checkPositionals (cmd: Command, given: string[]): void {
  const specs = cmd.positionals ?? []
  const last = specs[specs.length - 1]
  const required = specs.filter((p) => p.required === true).length
  if (given.length < required) {
    throw usageError(`missing argument ${specs[given.length]?.name ?? ''}`.trim())
  }
  if (last?.variadic !== true && given.length > specs.length) {
    throw usageError(`unexpected argument ${JSON.stringify((given[specs.length] ?? '').slice(0, 60))}`)
  }
}

/** node:util parseArgs messages, reworded for operators. */
function parseArgsMessage (err: unknown): string {
  const e = err as { code?: string, message?: string }
  const msg = e.message ?? String(err)
  const opt = /'(-[^' ]+)/.exec(msg)?.[1]
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': return `unknown option ${opt ?? msg}`
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (/argument missing/.test(msg)) return `option ${opt ?? ''} needs a value`
      if (/ambiguous/.test(msg)) return `option ${opt ?? ''} is followed by something starting with "-"; write ${opt ?? '--option'}=VALUE if that is its value`
      return `option ${opt ?? ''} takes no value`
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': return `unexpected argument ${/'([^']*)'/.exec(msg)?.[1] ?? ''}`
    default: return msg
  }
}
