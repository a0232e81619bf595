/**
 * CometBFT v0.38 JSON shapes for the node's types (types/*.go through libs/json, the
 * abci/types jsonpb overrides, rpc/core/types/responses.go, rpc/openapi/openapi.yaml).
 *
 * Encoding rules, as CometBFT's libs/json applies them:
 *   - int64/uint64/int fields are decimal strings; int32/uint32 (round, parts.total,
 *     validator_index, block_id_flag, vote type, code, tx index) are JSON numbers;
 *   - hashes and addresses (HexBytes) are upper-case hex, "" when empty;
 *   - other byte strings ([]byte) are standard base64, null when absent;
 *   - times are RFC 3339 in UTC; keys are {type, value} with the amino type name;
 *   - CheckTx, ExecTxResult, ResponseQuery and EventAttribute go through jsonpb with
 *     EmitDefaults (every field present, nil bytes as null, int64 as strings, and
 *     ResponseQuery's `proofOps` in camelCase), everything else through libs/json, which
 *     honours `omitempty` (abci_info's ResponseInfo, validator updates, TxResult in events).
 *
 * Where aidledger's types differ from CometBFT's, the closest CometBFT shape is rendered:
 *   - Header has no `version`: rendered as {block: "11", app: <node's app protocol version>}.
 *   - Times are unix milliseconds: rendered RFC 3339 with at most 3 fraction digits
 *     (Go's RFC3339Nano style, trailing zeros dropped). Absent commit slots render Go's
 *     zero time "0001-01-01T00:00:00Z", as CometBFT's absent CommitSig.
 *   - The first block's last_commit is null in aidledger; rendered as CometBFT's empty
 *     commit {height "0", round 0, empty block_id, signatures []}.
 *   - Votes carry no extensions: extension and extension_signature are always null.
 *   - Only Ed25519 keys exist: pub_key {type "tendermint/PubKeyEd25519", value base64};
 *     validator updates use the proto shape {Sum: {type "tendermint.crypto.PublicKey_Ed25519",
 *     value: {ed25519}}} as CometBFT renders them.
 *   - Consensus params: aidledger has no gas (max_gas "-1"), no vote extensions
 *     (abci.vote_extensions_enable_height "0"); version.app is the app protocol version;
 *     validator also shows aidledger's max_validators (an extra field CometBFT lacks).
 *   - Tx results carry no gas: gas_wanted and gas_used are "0"; info is "".
 *   - connection_status of peers is rendered with zero flow-rate monitors (libp2p does not
 *     keep CometBFT's flowrate statistics); only Duration is real.
 *   - The round state of consensus_state/dump_consensus_state is a summary the node gives
 *     (no proposal block bodies, no peer round states: `peers` is []).
 */
import type { AppEvent, AppInfo, CheckTxResult, QueryResponse, TxResult } from '../src/abci.ts'
import { toBase64, toHex } from '../src/bytes.ts'
import { formatRfc3339Ms, PUBKEY_TYPE_ED25519 } from '../src/config/genesis.ts'
import type { JsonValue } from '../src/config/json.ts'
import { merkleProof } from '../src/crypto/merkle.ts'
import { sha256 } from '../src/crypto/hash.ts'
import { addressFromPubKey } from '../src/crypto/address.ts'
import type { BlockResults, NodeInfo, PeerInfo, RoundStateView } from '../src/node-api.ts'
import { ROUND_STEPS } from '../src/node-api.ts'
import {
  dataHash, type Block, type BlockId, type BlockMeta, type Commit, type CommitSig, type ConsensusParams,
  type DuplicateVoteEvidence, type Header, type Validator, type ValidatorUpdate, type Vote,
} from '../src/types/index.ts'

export type Json = JsonValue
type Obj = { [key: string]: JsonValue }

/** CometBFT's block protocol version (version.BlockProtocol). */
export const BLOCK_PROTOCOL = 11
export const GO_ZERO_TIME = '0001-01-01T00:00:00Z'
export const EVIDENCE_TYPE_DUPLICATE_VOTE = 'tendermint/DuplicateVoteEvidence'

export const hex = (b: Uint8Array): string => toHex(b).toUpperCase()
/** []byte: base64, null when empty (nil after a proto round trip). */
export const b64OrNull = (b: Uint8Array): string | null => b.length === 0 ? null : toBase64(b)
export const b64 = (b: Uint8Array): string => toBase64(b)
export const time = (ms: number): string => formatRfc3339Ms(ms)
export const int64 = (n: number | bigint): string => String(n)

export function pubKeyJson (pub: Uint8Array): Obj {
  return { type: PUBKEY_TYPE_ED25519, value: b64(pub) }
}

export function blockIdJson (id: BlockId): Obj {
  return { hash: hex(id.hash), parts: { total: id.partSetHeader.total, hash: hex(id.partSetHeader.hash) } }
}

export function emptyBlockIdJson (): Obj {
  return { hash: '', parts: { total: 0, hash: '' } }
}

export function headerJson (h: Header, appVersion: number): Obj {
  return {
    version: { block: int64(BLOCK_PROTOCOL), app: int64(appVersion) },
    chain_id: h.chainId,
    height: int64(h.height),
    time: time(h.time),
    last_block_id: blockIdJson(h.lastBlockId),
    last_commit_hash: hex(h.lastCommitHash),
    data_hash: hex(h.dataHash),
    validators_hash: hex(h.validatorsHash),
    next_validators_hash: hex(h.nextValidatorsHash),
    consensus_hash: hex(h.consensusHash),
    app_hash: hex(h.appHash),
    last_results_hash: hex(h.lastResultsHash),
    evidence_hash: hex(h.evidenceHash),
    proposer_address: hex(h.proposerAddress),
  }
}

const BLOCK_ID_FLAG = { absent: 1, commit: 2, nil: 3 } as const

export function commitSigJson (s: CommitSig): Obj {
  if (s.flag === 'absent') return { block_id_flag: 1, validator_address: '', timestamp: GO_ZERO_TIME, signature: null }
  return {
    block_id_flag: BLOCK_ID_FLAG[s.flag],
    validator_address: hex(s.validatorAddress),
    timestamp: time(s.timestamp),
    signature: b64OrNull(s.signature),
  }
}

export function commitJson (c: Commit | null): Obj {
  if (c === null) return { height: '0', round: 0, block_id: emptyBlockIdJson(), signatures: [] }
  return { height: int64(c.height), round: c.round, block_id: blockIdJson(c.blockId), signatures: c.signatures.map(commitSigJson) }
}

export function voteJson (v: Vote): Obj {
  return {
    type: v.type === 'prevote' ? 1 : 2,
    height: int64(v.height),
    round: v.round,
    block_id: blockIdJson(v.blockId),
    timestamp: time(v.timestamp),
    validator_address: hex(v.validatorAddress),
    validator_index: v.validatorIndex,
    signature: b64OrNull(v.signature),
    extension: null,
    extension_signature: null,
  }
}

export function evidenceJson (ev: DuplicateVoteEvidence): Obj {
  return {
    type: EVIDENCE_TYPE_DUPLICATE_VOTE,
    value: {
      vote_a: voteJson(ev.voteA),
      vote_b: voteJson(ev.voteB),
      TotalVotingPower: int64(ev.totalVotingPower),
      ValidatorPower: int64(ev.validatorPower),
      Timestamp: time(ev.timestamp),
    },
  }
}

export function blockJson (b: Block, appVersion: number): Obj {
  return {
    header: headerJson(b.header, appVersion),
    data: { txs: b.txs.map(b64) },
    evidence: { evidence: b.evidence.map(evidenceJson) },
    last_commit: commitJson(b.lastCommit),
  }
}

export function blockMetaJson (m: BlockMeta, appVersion: number): Obj {
  return {
    block_id: blockIdJson(m.blockId),
    block_size: int64(m.blockSize),
    header: headerJson(m.header, appVersion),
    num_txs: int64(m.numTxs),
  }
}

export function validatorJson (v: Validator): Obj {
  return {
    address: hex(v.address),
    pub_key: pubKeyJson(v.pubKey),
    voting_power: int64(v.votingPower),
    proposer_priority: int64(v.proposerPriority),
  }
}

/** abci.ValidatorUpdate through libs/json: the proto PublicKey oneof, power omitempty. */
export function validatorUpdateJson (u: ValidatorUpdate): Obj {
  const out: Obj = { pub_key: { Sum: { type: 'tendermint.crypto.PublicKey_Ed25519', value: { ed25519: b64(u.pubKey) } } } }
  if (u.power !== 0) out.power = int64(u.power)
  return out
}

/** The block and evidence sections, written alike by both consensus-params encodings below. */
function blockAndEvidenceParamsJson (p: ConsensusParams): Obj {
  return {
    block: { max_bytes: int64(p.block.maxBytes), max_gas: p.block.maxGas === 0 ? '-1' : int64(p.block.maxGas) },
    evidence: {
      max_age_num_blocks: int64(p.evidence.maxAgeNumBlocks),
      max_age_duration: (BigInt(p.evidence.maxAgeDurationMs) * 1_000_000n).toString(),
      max_bytes: int64(p.evidence.maxBytes),
    },
  }
}

/** types.ConsensusParams (consensus_params, genesis). */
export function consensusParamsJson (p: ConsensusParams, appVersion: number): Obj {
  return {
    ...blockAndEvidenceParamsJson(p),
    validator: { pub_key_types: ['ed25519'], max_validators: int64(p.validator.maxValidators) },
    version: { app: int64(appVersion) },
    abci: { vote_extensions_enable_height: '0' },
  }
}

/** cmtproto.ConsensusParams (block_results' consensus_param_updates): libs/json with omitempty. */
export function consensusParamUpdatesJson (p: ConsensusParams): Obj {
  return { ...blockAndEvidenceParamsJson(p), validator: { pub_key_types: ['ed25519'] } }
}

// ---- ABCI ----------------------------------------------------------------------------------

/** abci.Event through libs/json (finalize_block_events): type/attributes omitempty, attributes via jsonpb. */
export function eventJson (e: AppEvent): Obj {
  const out: Obj = {}
  if (e.type !== '') out.type = e.type
  if (e.attributes.length > 0) out.attributes = e.attributes.map((a) => ({ key: a.key, value: a.value, index: a.index }))
  return out
}

/** abci.Event inside a jsonpb message: every field present. */
function eventPbJson (e: AppEvent): Obj {
  return { type: e.type, attributes: e.attributes.map((a) => ({ key: a.key, value: a.value, index: a.index })) }
}

/** abci.ExecTxResult (jsonpb, EmitDefaults). */
export function execTxResultJson (r: TxResult): Obj {
  return {
    code: r.code,
    data: b64OrNull(r.data),
    log: r.log,
    info: '',
    gas_wanted: '0',
    gas_used: '0',
    events: r.events.map(eventPbJson),
    codespace: r.codespace,
  }
}

/** The zero ExecTxResult (broadcast_tx_commit when the tx did not make it into a block). */
export function emptyExecTxResultJson (): Obj {
  return execTxResultJson({ code: 0, codespace: '', log: '', data: new Uint8Array(0), events: [] })
}

/** abci.ResponseCheckTx (jsonpb, EmitDefaults). */
export function checkTxJson (r: CheckTxResult): Obj {
  return { code: r.code, data: null, log: r.log, info: '', gas_wanted: '0', gas_used: '0', events: [], codespace: r.codespace }
}

/** abci.ResponseInfo through libs/json (omitempty everywhere). */
export function responseInfoJson (i: AppInfo): Obj {
  const out: Obj = {}
  if (i.version !== '') out.version = i.version
  if (i.appVersion !== 0) out.app_version = int64(i.appVersion)
  if (i.lastBlockHeight !== 0) out.last_block_height = int64(i.lastBlockHeight)
  if (i.lastBlockAppHash.length > 0) out.last_block_app_hash = b64(i.lastBlockAppHash)
  return out
}

/** abci.ResponseQuery (jsonpb, EmitDefaults; `proofOps` is its camelCase JSON name). */
export function responseQueryJson (q: QueryResponse): Obj {
  return {
    code: q.code,
    log: q.log,
    info: '',
    index: '0',
    key: b64OrNull(q.key),
    value: b64OrNull(q.value),
    proofOps: q.proofOps.length === 0
      ? null
      : { ops: q.proofOps.map((op) => ({ type: op.type, key: b64OrNull(op.key), data: b64OrNull(op.data) })) },
    height: int64(q.height),
    codespace: q.codespace,
  }
}

/** ResultBlockResults: lists empty after a proto round trip are null, as CometBFT shows them. */
export function blockResultsJson (r: BlockResults): Obj {
  return {
    height: int64(r.height),
    txs_results: r.txResults.length === 0 ? null : r.txResults.map(execTxResultJson),
    finalize_block_events: r.events.length === 0 ? null : r.events.map(eventJson),
    validator_updates: r.validatorUpdates.length === 0 ? null : r.validatorUpdates.map(validatorUpdateJson),
    consensus_param_updates: r.consensusParamUpdates === null ? null : consensusParamUpdatesJson(r.consensusParamUpdates),
    app_hash: b64(r.appHash),
  }
}

/** abci.ResponseFinalizeBlock through libs/json (in the NewBlock event). */
export function finalizeBlockJson (r: BlockResults): Obj {
  const out: Obj = {}
  if (r.events.length > 0) out.events = r.events.map(eventJson)
  if (r.txResults.length > 0) out.tx_results = r.txResults.map(execTxResultJson)
  out.validator_updates = r.validatorUpdates.length === 0 ? null : r.validatorUpdates.map(validatorUpdateJson)
  if (r.consensusParamUpdates !== null) out.consensus_param_updates = consensusParamUpdatesJson(r.consensusParamUpdates)
  if (r.appHash.length > 0) out.app_hash = b64(r.appHash)
  return out
}

// ---- txs ---------------------------------------------------------------------------------

/** types.TxProof for tx `index` of `txs`: the Merkle tree over tx hashes (our data_hash). */
export function txProofJson (txs: readonly Uint8Array[], index: number): Obj {
  const hashes = txs.map((t) => sha256(t))
  const p = merkleProof(hashes, index)
  return {
    root_hash: hex(dataHash(txs)),
    data: b64(txs[index] ?? new Uint8Array(0)),
    proof: { total: int64(p.total), index: int64(p.index), leaf_hash: b64(p.leafHash), aunts: p.aunts.map(b64) },
  }
}

export interface IndexedTx { hash: Uint8Array, height: number, index: number, tx: Uint8Array, result: TxResult }

/** ResultTx (tx, tx_search); `proof` only when asked for (omitempty on the zero TxProof). */
export function resultTxJson (t: IndexedTx, proof?: Obj): Obj {
  const out: Obj = { hash: hex(t.hash), height: int64(t.height), index: t.index, tx_result: execTxResultJson(t.result), tx: b64(t.tx) }
  if (proof !== undefined) out.proof = proof
  return out
}

// ---- node ----------------------------------------------------------------------------------

export function nodeInfoJson (n: Partial<NodeInfo> & { id: string }, other: { txIndex: string, rpcAddress: string }): Obj {
  const pv = n.protocolVersion ?? { p2p: 0, block: 0, app: 0 }
  return {
    protocol_version: { p2p: int64(pv.p2p), block: int64(pv.block), app: int64(pv.app) },
    id: n.id,
    listen_addr: n.listenAddr ?? '',
    network: n.network ?? '',
    version: n.version ?? '',
    channels: hex(n.channels ?? new Uint8Array(0)),
    moniker: n.moniker ?? '',
    other: { tx_index: other.txIndex, rpc_address: other.rpcAddress },
  }
}

function flowStatusJson (startMs: number): Obj {
  return {
    Start: time(startMs), Bytes: '0', Samples: '0', InstRate: '0', CurRate: '0', AvgRate: '0', PeakRate: '0',
    BytesRem: '0', Duration: '0', Idle: '0', TimeRem: '0', Progress: 0, Active: false,
  }
}

export function peerJson (p: PeerInfo, nowMs: number): Obj {
  const start = Math.max(0, nowMs - p.connectedMs)
  return {
    node_info: nodeInfoJson(p.nodeInfo, { txIndex: '', rpcAddress: '' }),
    is_outbound: p.isOutbound,
    connection_status: {
      Duration: (BigInt(Math.max(0, Math.trunc(p.connectedMs))) * 1_000_000n).toString(),
      SendMonitor: flowStatusJson(start),
      RecvMonitor: flowStatusJson(start),
      Channels: [],
    },
    remote_ip: p.remoteIp,
  }
}

// ---- round state ---------------------------------------------------------------------------

/** Go's cmtbytes.Fingerprint: the first 6 bytes, zero-padded. */
function fingerprint (b: Uint8Array): string {
  const out = new Uint8Array(6)
  out.set(b.subarray(0, 6))
  return hex(out)
}

/** Go's `Vote.String()`: Vote{idx:ADDR6 h/rr/type(Name) HASH6 SIG6 EXT6 @ time}. */
export function voteString (v: Vote): string {
  const typeName = v.type === 'prevote' ? 'SIGNED_MSG_TYPE_PREVOTE' : 'SIGNED_MSG_TYPE_PRECOMMIT'
  const label = v.type === 'prevote' ? 'Prevote' : 'Precommit'
  return `Vote{${v.validatorIndex}:${fingerprint(v.validatorAddress)} ${v.height}/${String(v.round).padStart(2, '0')}/${typeName}(${label}) ` +
    `${fingerprint(v.blockId.hash)} ${fingerprint(v.signature)} 000000000000 @ ${time(v.timestamp)}}`
}

/** Go's VoteSet.BitArrayString: "BA{4:xx_x} 30/40 = 0.75". */
function bitArrayString (votes: ReadonlyArray<Vote | null>, powers: readonly number[]): string {
  let voted = 0
  let total = 0
  for (const [i, p] of powers.entries()) {
    total += p
    if (votes[i] !== null && votes[i] !== undefined) voted += p
  }
  const bits = votes.map((v) => v === null ? '_' : 'x').join('')
  const frac = total === 0 ? 0 : voted / total // display only, as Go's %.2f
  return `BA{${votes.length}:${bits}} ${voted}/${total} = ${frac.toFixed(2)}`
}

function heightVoteSetJson (rs: RoundStateView): JsonValue {
  const powers = rs.validators.validators.map((v) => v.votingPower)
  return rs.votes.map((r) => ({
    round: r.round,
    prevotes: r.prevotes.map((v) => v === null ? 'nil-Vote' : voteString(v)),
    prevotes_bit_array: bitArrayString(r.prevotes, powers),
    precommits: r.precommits.map((v) => v === null ? 'nil-Vote' : voteString(v)),
    precommits_bit_array: bitArrayString(r.precommits, powers),
  }))
}

const stepNumber = (s: RoundStateView['step']): number => ROUND_STEPS.indexOf(s) + 1

/** RoundStateSimple (consensus_state). */
export function roundStateSimpleJson (rs: RoundStateView): Obj {
  return {
    'height/round/step': `${rs.height}/${rs.round}/${stepNumber(rs.step)}`,
    start_time: time(rs.startTimeMs),
    proposal_block_hash: hex(rs.proposalBlockHash),
    locked_block_hash: hex(rs.lockedBlockHash),
    valid_block_hash: hex(rs.validBlockHash),
    height_vote_set: heightVoteSetJson(rs),
    proposer: { address: hex(rs.proposer.address), index: rs.proposer.index },
  }
}

/** RoundState (dump_consensus_state), without block bodies and part sets. */
export function roundStateJson (rs: RoundStateView): Obj {
  const proposer = rs.validators.validators[rs.proposer.index]
  return {
    height: int64(rs.height),
    round: rs.round,
    step: stepNumber(rs.step),
    start_time: time(rs.startTimeMs),
    commit_time: rs.commitTimeMs === 0 ? GO_ZERO_TIME : time(rs.commitTimeMs),
    validators: {
      validators: rs.validators.validators.map(validatorJson),
      proposer: proposer === undefined ? null : validatorJson(proposer),
    },
    proposal: null,
    proposal_block: null,
    proposal_block_parts: null,
    locked_round: rs.lockedRound,
    locked_block: null,
    locked_block_parts: null,
    valid_round: rs.validRound,
    valid_block: null,
    valid_block_parts: null,
    votes: heightVoteSetJson(rs),
    commit_round: rs.commitRound,
    last_commit: null,
    last_validators: null,
    triggered_timeout_precommit: false,
  }
}

/** Validator derived from an update, as CometBFT's ValidatorSetUpdates event (priority 0). */
export function validatorFromUpdateJson (u: ValidatorUpdate): Obj {
  return { address: hex(addressFromPubKey(u.pubKey)), pub_key: pubKeyJson(u.pubKey), voting_power: int64(u.power), proposer_priority: '0' }
}
