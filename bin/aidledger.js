#!/usr/bin/env node
// CLI entry: runs the TypeScript sources through tsx (no build step needed after npm install).
import { register } from 'tsx/esm/api'
register()
await import('../src/polyfills.ts')
const { main } = await import('../src/cli/main.ts')
process.exitCode = await main(process.argv.slice(2))
