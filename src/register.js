// Loader for running the TypeScript sources directly: `node --import ./src/register.js x.ts`.
// Registers tsx, then loads the polyfills before any application module.
import { register } from 'tsx/esm/api'
register()
await import('./polyfills.ts')
