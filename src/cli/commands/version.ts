/** `aidledger version`: the package version (package.json). */
import { readFileSync } from 'node:fs'
import type { Command } from '../command.ts'

let cached: string | undefined

export function packageVersion (): string {
  if (cached === undefined) {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: unknown }
    cached = typeof pkg.version === 'string' ? pkg.version : 'unknown'
  }
  return cached
}

export const versionCommand: Command = {
  name: 'version',
  summary: 'Print the aidledger version.',
  options: {},
  run (ctx) {
    ctx.io.out(`${packageVersion()}\n`)
  },
}
