/**
 * The logger p2p/ takes by injection (DESIGN §9: structured lines, levels, module field —
 * the kernel's logging module adapts to this shape). No-op by default, so tests and benches
 * stay quiet unless they pass one.
 */
export type LogFields = Record<string, unknown>

export interface Logger {
  debug: (msg: string, fields?: LogFields) => void
  info: (msg: string, fields?: LogFields) => void
  warn: (msg: string, fields?: LogFields) => void
  error: (msg: string, fields?: LogFields) => void
}

const noop = (): void => {}

export const NOOP_LOGGER: Logger = { debug: noop, info: noop, warn: noop, error: noop }
