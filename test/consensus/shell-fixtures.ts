/**
 * Shared fixtures for the consensus shell tests (WAL, private validator, mempool, evidence):
 * temp dirs, and builders for votes, proposals and block ids. (Seeded randomness:
 * test/helpers/prng.ts.)
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sha256 } from '../../src/crypto/hash.ts'
import type { BlockId, Proposal, Vote, VoteType } from '../../src/types/index.ts'

/**
 * A temp dir removed when the test ends. `memory` puts it on /dev/shm where there is one:
 * for tests about ordering under SIGKILL (the page cache survives a killed process), where
 * disk fsyncs only cost time (~50 ms each on this VM's disk under load, ~0 on tmpfs).
 */
export async function tempDir (t: { teardown: (fn: () => Promise<void>) => void }, prefix = 'aid-shell-', memory = false): Promise<string> {
  const base = memory && existsSync('/dev/shm') ? '/dev/shm' : tmpdir()
  const dir = await mkdtemp(join(base, prefix))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

/** A complete block id derived from a label, so tests can say "block A" and "block B". */
export function blockId (label: string): BlockId {
  return { hash: sha256(new TextEncoder().encode(`block:${label}`)), partSetHeader: { total: 1, hash: sha256(new TextEncoder().encode(`parts:${label}`)) } }
}

export function sampleVote (over: Partial<Vote> = {}): Vote {
  return {
    type: 'prevote' as VoteType,
    height: 1,
    round: 0,
    blockId: blockId('a'),
    timestamp: 1_700_000_000_000,
    validatorAddress: new Uint8Array(20).fill(7),
    validatorIndex: 0,
    signature: new Uint8Array(64).fill(9),
    ...over,
  }
}

export function sampleProposal (over: Partial<Proposal> = {}): Proposal {
  return {
    height: 1,
    round: 0,
    polRound: -1,
    blockId: blockId('a'),
    timestamp: 1_700_000_000_000,
    signature: new Uint8Array(64).fill(5),
    ...over,
  }
}
