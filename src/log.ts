/**
 * Structured logging (DESIGN §9): JSON lines with time, level, module and fields, or a
 * plain human format. Components take a `Logger` in their dependencies; `child()` adds a
 * module or fixed fields (height, round, peer). No global logger: tests pass `silentLogger`.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
export type LogLevel = typeof LOG_LEVELS[number]
export type LogFormat = 'json' | 'plain'
export type LogFields = Record<string, unknown>

export interface Logger {
  debug: (msg: string, fields?: LogFields) => void
  info: (msg: string, fields?: LogFields) => void
  warn: (msg: string, fields?: LogFields) => void
  error: (msg: string, fields?: LogFields) => void
  child: (fields: LogFields) => Logger
}

export interface LoggerOptions {
  level?: LogLevel
  format?: LogFormat
  /** Where lines go (default: stderr, so stdout stays free for command output). */
  write?: (line: string) => void
  /** Time source for the `time` field (default: wall clock). */
  now?: () => number
}

function jsonSafe (_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex')
  if (value instanceof Error) return { message: value.message, code: (value as { code?: unknown }).code }
  return value
}

function plainValue (v: unknown): string {
  if (typeof v === 'string') return /\s/.test(v) ? JSON.stringify(v) : v
  return JSON.stringify(v, jsonSafe) ?? String(v)
}

export function createLogger (opts: LoggerOptions = {}, base: LogFields = {}): Logger {
  const min = LOG_LEVELS.indexOf(opts.level ?? 'info')
  const format = opts.format ?? 'json'
  const write = opts.write ?? ((line: string) => { process.stderr.write(line + '\n') })
  const now = opts.now ?? Date.now

  const emit = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    if (LOG_LEVELS.indexOf(level) < min) return
    const time = new Date(now()).toISOString()
    if (format === 'json') {
      write(JSON.stringify({ time, level, ...base, msg, ...fields }, jsonSafe))
      return
    }
    const { module, ...rest } = { ...base, ...fields }
    const kv = Object.entries(rest).map(([k, v]) => `${k}=${plainValue(v)}`).join(' ')
    const mod = module === undefined ? '' : ` [${String(module)}]`
    write(`${time} ${level.toUpperCase().padEnd(5)}${mod} ${msg}${kv === '' ? '' : ' ' + kv}`)
  }

  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(opts, { ...base, ...fields }),
  }
}

const noop = (): void => {}
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop, child: () => silentLogger }
