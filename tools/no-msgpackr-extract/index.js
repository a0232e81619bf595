// msgpackr loads its optional native accelerator `msgpackr-extract` in a try/catch and
// falls back to its pure-JS decoder when the load throws. The real package's platform
// binaries are not all on the registry this project installs from, which makes `npm ci`
// reject the lock file; this stand-in (wired by "overrides" in package.json) keeps every
// platform on the same pure-JS decoding path.
throw new Error('msgpackr-extract is disabled in aidledger (pure-JS msgpackr decoding)')
