/**
 * The consensus engine shell (DESIGN §3, §4, §8): the pure driver (consensus/core) wired to
 * the WAL, the private validator, the application, the stores, the mempool, the evidence
 * pool and the network, after CometBFT consensus/state.go + reactor.go (split here into
 * engine.ts, gossip.ts, blocksync.ts, block-exec.ts, messages.ts).
 *
 * PUBLIC API (stable; the simulator and the node assembly code against it)
 *
 *   createConsensusEngine(options: ConsensusEngineOptions, deps: ConsensusEngineDeps): ConsensusEngine
 *
 *   deps = { chainId, genesis: { initialHeight, genesisTimeMs, validatorSet, consensusParams,
 *            appStateBytes }, app, blockStore, stateStore, wal, privval | null, mempool,
 *            evidencePool, transport, clock, timers, verify, verifyPool?, logger? }
 *   options = { timeouts?: { propose 3000, proposeDelta 500, prevote 1000, prevoteDelta 500,
 *               precommit 1000, precommitDelta 500, commit 1000 }, skipTimeoutCommit?,
 *               maxClockDriftMs? (10 s), gossipIntervalMs? (100), gossipResendMs?,
 *               maxVotesPerTick?, maxPartsPerTick?, maxTxBytesPerTick?,
 *               blocksync?: { lagThreshold 2, window 8, requestTimeoutMs 5000, statusIntervalMs 1000 },
 *               maxRoundsAhead?, faults? (test only) }
 *   engine = { start(), stop(), idle(), status(), chainState(), subscribe(listener) → unsubscribe }
 *
 * Types: consensus/engine-types.ts. Helpers for the node assembly: `evidencePoolDeps` and
 * `incrementValidatorSet` (the state store's incrementProposerPriority) in block-exec.ts.
 *
 * Determinism contract (for test/sim): the engine reads time only through `clock`, schedules
 * only through `timers`, and does all its async work inside ONE serial input queue; `idle()`
 * resolves when that queue is empty and nothing is in flight. Transport handlers only
 * enqueue. No unawaited promise and no real timer exists in the engine.
 */
export * from './engine-types.ts'
