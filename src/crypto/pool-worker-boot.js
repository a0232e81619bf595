// Worker entry when the node runs from TypeScript sources: a worker thread starts without
// the parent's loader hooks (the pool spawns it with an empty execArgv so tap's or the
// CLI's --import preloads do not run twice), so register tsx and the polyfills in this
// thread exactly as src/register.js does for the main one, then load the TypeScript worker.
await import('../register.js')
await import('./pool-worker.ts')
