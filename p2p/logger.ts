/**
 * The logger p2p/ takes by injection: the kernel's structured logger (src/log.ts), of
 * which p2p needs only the four level methods. No-op by default, so tests and benches stay
 * quiet unless they pass one.
 */
import { silentLogger, type Logger as KernelLogger } from '../src/log.ts'

export type { LogFields } from '../src/log.ts'
export type Logger = Pick<KernelLogger, 'debug' | 'info' | 'warn' | 'error'>

export const NOOP_LOGGER: Logger = silentLogger
