/**
 * The request stream of the private validator's crash test, shared by the child process
 * (privval-child.ts) and the test. Heights 1..4, rounds 0..1, propose/prevote/precommit.
 * What a request asks for depends on the run: every third request keeps the block and
 * moves only the timestamp (the same-HRS re-sign must return the saved signature and
 * timestamp); the others vote for a block named after the run (a conflict once signed).
 */
import { proposalSignBytes, voteSignBytes, type Proposal, type Vote, type VoteType } from '../../src/types/index.ts'
import { blockId } from './shell-fixtures.ts'

export const CHAIN_ID = 'privval-crash'
export const PRIVVAL_CHILD_SEED = new Uint8Array(32).fill(42)

export type StreamItem = { hrs: string, timestamp: number, signBytes: (timestamp: number) => Uint8Array } & (
  | { kind: 'proposal', proposal: Omit<Proposal, 'signature'> }
  | { kind: 'vote', vote: Omit<Vote, 'signature'> }
)

export function privvalStream (run: number): StreamItem[] {
  const out: StreamItem[] = []
  for (let height = 1; height <= 4; height++) {
    for (let round = 0; round <= 1; round++) {
      for (const step of ['propose', 'prevote', 'precommit'] as const) {
        const i = out.length
        const timeOnly = i % 3 === 0
        const id = blockId(timeOnly ? `h${height}r${round}` : `h${height}r${round}-run${run}`)
        const timestamp = 1_700_000_000_000 + i * 1000 + run
        const hrs = `${height}/${round}/${step}`
        if (step === 'propose') {
          const proposal = { height, round, polRound: -1, blockId: id, timestamp }
          out.push({ kind: 'proposal', hrs, timestamp, proposal, signBytes: (t) => proposalSignBytes(CHAIN_ID, { ...proposal, timestamp: t }) })
        } else {
          const type: VoteType = step
          const vote = { type, height, round, blockId: id, timestamp, validatorAddress: new Uint8Array(20), validatorIndex: 0 }
          out.push({ kind: 'vote', hrs, timestamp, vote, signBytes: (t) => voteSignBytes(CHAIN_ID, { type, height, round, blockId: id, timestamp: t }) })
        }
      }
    }
  }
  return out
}
