/**
 * The simulator's link to the consensus engine shell (consensus/engine.ts, API in its
 * header and consensus/engine-types.ts) and to the wire codec (consensus/messages.ts).
 * The implementation is loaded on first use, so the rest of test/sim compiles and its
 * unit tests run against the published types alone.
 */
import type { ChannelId } from '../../src/transport.ts'
import type { ValidatorSet } from '../../src/types/index.ts'
import type { ConsensusEngine, ConsensusEngineDeps, ConsensusEngineOptions } from '../../consensus/engine-types.ts'
import type { EvidencePoolDeps } from '../../consensus/evidence-pool.ts'
import { decodeChannelMessage } from '../../consensus/messages.ts'
import type { SignedMessage } from './checks.ts'

export type EngineFactory = (options: ConsensusEngineOptions, deps: ConsensusEngineDeps) => ConsensusEngine

export interface EngineBinding {
  createConsensusEngine: EngineFactory
  /** The state store's incrementProposerPriority (CometBFT IncrementProposerPriority). */
  incrementValidatorSet: (set: ValidatorSet, times: number) => ValidatorSet
  /** Evidence pool dependencies over the stores and a chain-state getter. */
  evidencePoolDeps: (args: EvidenceDepsArgs) => EvidencePoolDeps
}

/** What the sim can hand to block-exec's evidencePoolDeps helper. */
export interface EvidenceDepsArgs {
  chainId: string
  blockStore: ConsensusEngineDeps['blockStore']
  stateStore: ConsensusEngineDeps['stateStore']
  state: () => ReturnType<ConsensusEngine['chainState']> | undefined
  consensusParams: ConsensusEngineDeps['genesis']['consensusParams']
  verify: ConsensusEngineDeps['verify']
}

let loaded: Promise<EngineBinding> | undefined

function need<T> (mod: Record<string, unknown>, name: string, file: string): T {
  const v = mod[name]
  if (typeof v !== 'function') throw new Error(`test/sim: ${file} does not export ${name} (yet)`)
  return v as T
}

/** Loads consensus/engine.ts and consensus/block-exec.ts once. */
export async function loadBinding (): Promise<EngineBinding> {
  loaded ??= (async () => {
    const engine = await import('../../consensus/engine.ts') as unknown as Record<string, unknown>
    const exec = await import('../../consensus/block-exec.ts' as string) as Record<string, unknown>
    const createConsensusEngine = need<EngineFactory>(engine, 'createConsensusEngine', 'consensus/engine.ts')
    const incrementValidatorSet = need<EngineBinding['incrementValidatorSet']>(exec, 'incrementValidatorSet', 'consensus/block-exec.ts')
    const evidencePoolDepsRaw = need<(...args: unknown[]) => EvidencePoolDeps>(exec, 'evidencePoolDeps', 'consensus/block-exec.ts')
    return {
      createConsensusEngine,
      incrementValidatorSet,
      evidencePoolDeps: (a) => evidencePoolDepsRaw({
        chainId: a.chainId,
        blockStore: a.blockStore,
        stateStore: a.stateStore,
        chainState: a.state,
        consensusParams: a.consensusParams,
        verify: a.verify,
      }),
    }
  })()
  return await loaded
}

/**
 * The union tag of a wire frame without decoding it: every channel message is the
 * canonical encoding of a tagged union, [tag, value] (fixarray(2), fixstr tag). Lets the
 * checks and the byzantine wrappers skip the frames they do not look at (status messages
 * are most of the traffic) without a full strict decode.
 */
export function peekTag (data: Uint8Array): string | undefined {
  const s = data[1]
  if (data[0] !== 0x92 || s === undefined || (s & 0xe0) !== 0xa0) return undefined
  const len = s & 0x1f
  if (data.length < 2 + len) return undefined
  return Buffer.from(data.buffer, data.byteOffset + 2, len).toString('latin1')
}

/** Votes and proposals inside a wire frame (votes channel, proposals, evidence). */
export function decodeSigned (channel: ChannelId, data: Uint8Array): SignedMessage[] {
  if (channel !== 'consensus' && channel !== 'votes' && channel !== 'evidence') return []
  if (channel === 'consensus' && peekTag(data) !== 'proposal') return []
  const r = decodeChannelMessage(channel, data)
  if (!r.ok) return []
  const m = r.value
  switch (m.channel) {
    case 'consensus':
      return m.message.type === 'proposal' ? [{ kind: 'proposal', proposal: m.message.value }] : []
    case 'votes':
      return [{ kind: 'vote', vote: m.message.value }]
    case 'evidence':
      return m.message.value.flatMap((ev) => [{ kind: 'vote' as const, vote: ev.voteA }, { kind: 'vote' as const, vote: ev.voteB }])
    default:
      return []
  }
}
